import { deepEqual, ok, throws } from "node:assert/strict";
import {
  adamw,
  adamwReference,
  causalAttention,
  causalAttentionBackward,
  causalAttentionBackwardReference,
  causalAttentionReference,
  embedding,
  embeddingBackward,
  embeddingBackwardReference,
  embeddingReference,
  flashAttentionReference,
  gradNorm,
  gradNormReference,
  type HostTensor,
  matmul,
  rmsnormBackward,
  rmsnormBackwardReference,
  rmsnormReference,
  ropeBackwardReference,
  ropeReference,
  swigluBackwardReference,
  swigluReference,
} from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { Tensor } from "../../lib/gpu/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { assertClose } from "../_compare.ts";

function rand(rng: Rng, shape: number[], scale = 1): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => rng.normal() * scale), shape };
}

/** Σ dy·f(x) in f64. */
function dotf(dy: HostTensor, y: HostTensor): number {
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += dy.data[i] * y.data[i];
  return s;
}

/**
 * Central differences of `loss` with respect to every element of `x` (in place, restored),
 * compared with `analytic`: |num − ana| ≤ 3e-3 + 2e-2·|num|.
 */
function fdCheck(x: HostTensor, analytic: ArrayLike<number>, loss: () => number, what: string) {
  const h = 1e-2;
  for (let i = 0; i < x.data.length; i++) {
    const keep = x.data[i];
    x.data[i] = keep + h;
    const up = loss();
    x.data[i] = keep - h;
    const down = loss();
    x.data[i] = keep;
    const num = (up - down) / (2 * h);
    ok(
      Math.abs(num - analytic[i]) <= 3e-3 + 2e-2 * Math.abs(num),
      `${what}[${i}]: finite difference ${num} vs analytic ${analytic[i]}`,
    );
  }
}

Deno.test("rmsnormBackwardReference matches finite differences of rmsnormReference", () => {
  const rng = new Rng(1);
  const x = rand(rng, [3, 5]), w = rand(rng, [5]), dy = rand(rng, [3, 5]);
  const acc = rand(rng, [3, 5]);
  const f = () => dotf(dy, rmsnormReference({ x, weight: w }, { eps: 1e-5 }).out);
  const g = rmsnormBackwardReference({ dy, x, weight: w }, { eps: 1e-5 });
  fdCheck(x, g.dx.data, f, "dx");
  fdCheck(w, g.dweight.data, f, "dweight");
  // accumulate adds the input gradient to what dx held
  const g2 = rmsnormBackwardReference({ dy, x, weight: w, dx: acc }, { eps: 1e-5 });
  g2.dx.data.forEach((v, i) => ok(Math.abs(v - (acc.data[i] + g.dx.data[i])) < 1e-6));
  throws(() => rmsnormBackwardReference({ dy, x, weight: rand(rng, [4]) }), /weight must have/);
});

Deno.test("ropeBackwardReference is the adjoint of ropeReference (⟨Rx, y⟩ = ⟨x, Rᵀy⟩)", () => {
  const rng = new Rng(2);
  for (const layout of ["half", "interleaved"] as const) {
    const x = rand(rng, [4, 3, 8]), y = rand(rng, [4, 3, 8]);
    const positions = [0, 5, 17, 300];
    const lhs = dotf(y, ropeReference({ x, positions }, { layout }));
    const rhs = dotf(x, ropeBackwardReference({ dy: y, positions }, { layout }));
    ok(Math.abs(lhs - rhs) < 1e-4, `${layout}: ${lhs} vs ${rhs}`);
  }
});

Deno.test("swigluBackwardReference matches finite differences", () => {
  const rng = new Rng(3);
  const gate = rand(rng, [2, 6], 2), up = rand(rng, [2, 6]), dout = rand(rng, [2, 6]);
  const f = () => dotf(dout, swigluReference({ gate, up }));
  const g = swigluBackwardReference({ gate, up, dout });
  fdCheck(gate, g.dgate.data, f, "dgate");
  fdCheck(up, g.dup.data, f, "dup");
});

Deno.test("embedding references: lookup, scatter-add with repeats, accumulate, bad ids", () => {
  const table = { data: Float32Array.from({ length: 8 }, (_, i) => i), shape: [4, 2] };
  deepEqual([...embeddingReference({ table, ids: [3, 0, 3] }).data], [6, 7, 0, 1, 6, 7]);
  const dy = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] };
  deepEqual([...embeddingBackwardReference({ dy, ids: [3, 0, 3] }, { vocab: 4 }).data], [
    3,
    4,
    0,
    0,
    0,
    0,
    6,
    8,
  ]);
  const acc = { data: new Float32Array(8).fill(1), shape: [4, 2] };
  deepEqual(
    [...embeddingBackwardReference({ dy, ids: [3, 0, 3] }, { vocab: 4, accumulate: acc }).data],
    [4, 5, 1, 1, 1, 1, 7, 9],
  );
  throws(() => embeddingReference({ table, ids: [4] }), /outside the vocabulary 0..3/);
});

Deno.test("causalAttentionReference equals flashAttentionReference per sequence (GQA)", () => {
  const rng = new Rng(4);
  const B = 2, S = 7, H = 4, KH = 2, D = 6;
  const q = rand(rng, [B, S, H, D]), k = rand(rng, [B, S, KH, D]), v = rand(rng, [B, S, KH, D]);
  const r = causalAttentionReference({ q, k, v });
  for (let b = 0; b < B; b++) {
    const sl = (t: HostTensor, heads: number) => ({
      data: t.data.slice(b * S * heads * D, (b + 1) * S * heads * D),
      shape: [S, heads, D],
    });
    const f = flashAttentionReference({ q: sl(q, H), k: sl(k, KH), v: sl(v, KH) }, {
      causal: true,
    });
    const mine = r.out.data.slice(b * S * H * D, (b + 1) * S * H * D);
    f.out.data.forEach((x, i) => ok(Math.abs(x - mine[i]) < 1e-5, `out ${b} ${i}`));
  }
});

Deno.test("causalAttentionBackwardReference matches finite differences (GQA, batch 2)", () => {
  const rng = new Rng(5);
  const B = 2, S = 4, H = 4, KH = 2, D = 3;
  const q = rand(rng, [B, S, H, D]), k = rand(rng, [B, S, KH, D]), v = rand(rng, [B, S, KH, D]);
  const dout = rand(rng, [B, S, H, D]);
  const f = () => dotf(dout, causalAttentionReference({ q, k, v }).out);
  const fw = causalAttentionReference({ q, k, v });
  const g = causalAttentionBackwardReference({ q, k, v, ...fw, dout });
  fdCheck(q, g.dq.data, f, "dq");
  fdCheck(k, g.dk.data, f, "dk");
  fdCheck(v, g.dv.data, f, "dv");
  throws(
    () => causalAttentionReference({ q, k: rand(rng, [B, S, 3, D]), v: rand(rng, [B, S, 3, D]) }),
    /not a multiple/,
  );
});

Deno.test("gradNormReference and adamwReference: hand-derived values", () => {
  const t = (...v: number[]) => ({ data: Float32Array.from(v), shape: [v.length] });
  deepEqual([...gradNormReference([t(3), t(0, 4)], { maxNorm: 1 }).data], [5, Math.fround(0.2)]);
  deepEqual([...gradNormReference([t(3), t(0, 4)], { maxNorm: 10 }).data], [5, 1]);
  deepEqual([...gradNormReference([t(3), t(0, 4)]).data], [5, 1]);
  // first step: m̂ = g, v̂ = g², update = lr·g/(|g|+ε) ≈ lr·sign(g); decay shrinks p first
  const r = adamwReference({ param: t(1, -1), grad: t(0.5, -2), m: t(0, 0), v: t(0, 0) }, {
    lr: 0.1,
    step: 1,
    weightDecay: 0.5,
  });
  ok(Math.abs(r.param.data[0] - (0.95 - 0.1)) < 1e-6, `${r.param.data[0]}`);
  ok(Math.abs(r.param.data[1] - (-0.95 + 0.1)) < 1e-6, `${r.param.data[1]}`);
  // the clip scale multiplies the gradient: the moments see g·scale
  const c = adamwReference({ param: t(0), grad: t(2), m: t(0), v: t(0), clip: t(4, 0.25) }, {
    lr: 0.1,
    step: 1,
  });
  ok(Math.abs(c.m.data[0] - 0.1 * 0.5) < 1e-7 && Math.abs(c.v.data[0] - 0.05 * 0.25) < 1e-7);
  throws(() => adamwReference({ param: t(0), grad: t(0), m: t(0), v: t(0) }, { lr: 1, step: 0 }));
});

// f32 on both sides; sums over ≤ a few hundred terms: atol 1e-4, rtol 1e-4 (attention 1e-3:
// exp of recomputed scores, sums over S·group terms).
const F32 = { atol: 1e-4, rtol: 1e-4 };
const ATT = { atol: 2e-4, rtol: 1e-3 };
gpuTest(
  "backward and optimizer kernels: GPU vs CPU reference",
  "tests/kernels/_backward_cases.ts",
  [
    { name: "matmul accumulate 37x29x41", kind: "matmulAccumulate", m: 37, n: 29, k: 41, ...F32 },
    {
      name: "matmul accumulate transposeA, alpha",
      kind: "matmulAccumulate",
      m: 70,
      n: 5,
      k: 3,
      transposeA: true,
      alpha: 0.5,
      ...F32,
    },
    { name: "matmul registers 37x29x41", kind: "matmulRegisters", m: 37, n: 29, k: 41, ...F32 },
    {
      name: "matmul registers transposeA, accumulate, alpha",
      kind: "matmulRegisters",
      m: 70,
      n: 5,
      k: 3,
      transposeA: true,
      alpha: 0.5,
      accumulate: true,
      ...F32,
    },
    {
      name: "matmul registers transposeB, batch 3 (B broadcast)",
      kind: "matmulRegisters",
      batchA: 3,
      m: 9,
      n: 130,
      k: 66,
      transposeB: true,
      atol: 2e-3,
      rtol: 1e-4,
    },
    {
      name: "matmul registers both transposed, batched both, 1x1",
      kind: "matmulRegisters",
      batchA: 2,
      batchB: 2,
      m: 1,
      n: 1,
      k: 300,
      transposeA: true,
      transposeB: true,
      atol: 2e-3,
      rtol: 1e-4,
    },
    {
      name: "matmul registers f16 in",
      kind: "matmulRegisters",
      dtype: "f16",
      m: 33,
      n: 17,
      k: 65,
      atol: 2e-3,
      rtol: 1e-4,
    },
    { name: "rmsnorm backward 5x7", kind: "rmsnormBackward", rows: 5, d: 7, eps: 1e-5, ...F32 },
    {
      name: "rmsnorm backward 33x300 accumulate",
      kind: "rmsnormBackward",
      rows: 33,
      d: 300,
      accumulate: true,
      ...F32,
    },
    {
      name: "rmsnorm backward 66000 rows (2-D grid)",
      kind: "rmsnormBackward",
      rows: 66000,
      d: 2,
      eps: 1e-5,
      atol: 1e-3,
      rtol: 1e-3,
    },
    { name: "rope backward half", kind: "ropeBackward", tokens: 9, heads: 3, d: 10, ...F32 },
    {
      name: "rope backward interleaved, base 500",
      kind: "ropeBackward",
      tokens: 4,
      heads: 2,
      d: 6,
      layout: "interleaved",
      base: 500,
      ...F32,
    },
    { name: "swiglu backward 3x77", kind: "swigluBackward", shape: [3, 77], ...F32 },
    { name: "swiglu backward 1", kind: "swigluBackward", shape: [1], ...F32 },
    { name: "embedding 200 ids into 50x7", kind: "embedding", vocab: 50, n: 200, d: 7, ...F32 },
    {
      name: "embedding backward accumulate 1x1",
      kind: "embedding",
      vocab: 1,
      n: 3,
      d: 1,
      accumulate: true,
      ...F32,
    },
    {
      name: "embedding accumulate 300x33",
      kind: "embedding",
      vocab: 300,
      n: 40,
      d: 33,
      accumulate: true,
      ...F32,
    },
    {
      name: "attention B2 S33 H4/KH2 D16",
      kind: "causalAttention",
      b: 2,
      seq: 33,
      h: 4,
      kh: 2,
      d: 16,
      ...ATT,
    },
    { name: "attention S1", kind: "causalAttention", b: 1, seq: 1, h: 2, kh: 2, d: 4, ...ATT },
    {
      name: "attention MQA H6/KH1 odd D5",
      kind: "causalAttention",
      b: 3,
      seq: 17,
      h: 6,
      kh: 1,
      d: 5,
      ...ATT,
    },
    {
      name: "attention S130 D64",
      kind: "causalAttention",
      b: 1,
      seq: 130,
      h: 2,
      kh: 2,
      d: 64,
      ...ATT,
    },
    {
      name: "grad norm clipped + 2 AdamW steps",
      kind: "gradNormAdamw",
      sizes: [5000, 1, 300, 9000],
      maxNorm: 1,
      ...F32,
    },
    {
      name: "grad norm not clipped",
      kind: "gradNormAdamw",
      sizes: [7, 4097],
      maxNorm: 1000,
      scale: 0.01,
      ...F32,
    },
    { name: "grad norm, no maxNorm", kind: "gradNormAdamw", sizes: [3], ...F32 },
  ],
);

// The wrappers on CPU tensors call the CPU references tested above, so comparing them with those
// references proves nothing: here they are checked against hand-worked values and against
// finite differences of an attention written in the test.
Deno.test("backward and optimizer wrappers on CPU tensors: hand-derived values", async () => {
  const cpu = (data: number[], shape: number[]) => Tensor.fromArray(data, { shape, gpu: null });
  // rmsnorm, x = (3, 4), w = (1, 1), eps 0: r = √((9 + 16)/2) = √12.5, y = x/r. With dy = (1, 0):
  // dx_i = w_i·dy_i/r − x_i·Σ_j dy_j·w_j·x_j/(D·r³) = (1/r − 9/(25r), −12/(25r)) = (16, −12)/(25r);
  // dweight_i = dy_i·x_i/r = (3/r, 0). dx given: the result is added into it, in place.
  const r = Math.sqrt(12.5);
  const into = cpu([1, 1], [1, 2]);
  const g = await rmsnormBackward({
    dy: cpu([1, 0], [1, 2]),
    x: cpu([3, 4], [1, 2]),
    weight: cpu([1, 1], [2]),
    dx: into,
  }, { eps: 0 });
  ok(g.dx === into);
  assertClose(await g.dx.toArray(), [1 + 16 / (25 * r), 1 - 12 / (25 * r)], { what: "dx" });
  assertClose(await g.dweight.toArray(), [3 / r, 0], { what: "dweight" });

  // causal attention, B = S·… = [1, 2, 1, 1], scale 1/√1: q = (1, 1), k = (0, ln 3), v = (4, 8).
  // out = (4, (4 + 3·8)/4 = 7); lse = (0, ln 4). With dout = (0, 1) only query 1 matters, with
  // p = (1/4, 3/4): dv_j = p_j → (1/4, 3/4); dk_j = q·p_j·(v_j − out) → (−3/4, 3/4);
  // dq = Σ_j p_j·(v_j − out)·k_j = 3/4·ln 3 (query 0 has one key: no gradient).
  const q = cpu([1, 1], [1, 2, 1, 1]), k = cpu([0, Math.log(3)], [1, 2, 1, 1]);
  const v = cpu([4, 8], [1, 2, 1, 1]);
  const f = await causalAttention({ q, k, v });
  assertClose(await f.out.toArray(), [4, 7], { what: "out" });
  assertClose(await f.lse.toArray(), [0, Math.log(4)], { what: "lse" });
  const b = await causalAttentionBackward({ q, k, v, ...f, dout: cpu([0, 1], [1, 2, 1, 1]) });
  assertClose(await b.dq.toArray(), [0, 0.75 * Math.log(3)], { what: "dq" });
  assertClose(await b.dk.toArray(), [-0.75, 0.75], { what: "dk" });
  assertClose(await b.dv.toArray(), [0.25, 0.75], { what: "dv" });

  // embedding rows 4, 4 → backward adds 2·row 4 into the head's row 4 (in place)
  const table = cpu([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 2]);
  const head = cpu([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [5, 2]);
  const rows = await embedding({ table, ids: [4, 4] });
  assertClose(await rows.toArray(), [8, 9, 8, 9], { what: "embedding" });
  await embeddingBackward({ dy: rows, ids: [4, 4] }, { vocab: 5, accumulate: head });
  assertClose(head.host, [1, 1, 1, 1, 1, 1, 1, 1, 17, 19], { what: "embedding scatter-add" });

  // matmul (1, 2)·I added into c = (1, 1)
  const c = cpu([1, 1], [1, 2]);
  const mm = await matmul({ a: cpu([1, 2], [1, 2]), b: cpu([1, 0, 0, 1], [2, 2]) }, {
    accumulate: c,
  });
  ok(mm === c);
  assertClose(c.host, [2, 3], { what: "matmul accumulate" });

  // grad (3, −4): norm 5, maxNorm 0.5 → clip scale 0.1. AdamW step 1 from m = v = 0 with the
  // clipped g = (0.3, −0.4): m = (1 − 0.9)·g, v = (1 − 0.95)·g², and the bias-corrected step
  // is lr·g/(|g| + ε) = lr·sign(g), so p = (1, 1) − 0.1·(1, −1) = (0.9, 1.1).
  const grad = cpu([3, -4], [2]);
  const stats = await gradNorm([grad], { maxNorm: 0.5 });
  assertClose(await stats.toArray(), [5, 0.1], { what: "grad norm" });
  const p = cpu([1, 1], [2]), m = Tensor.zeros([2], { gpu: null });
  const vv = Tensor.zeros([2], { gpu: null });
  await adamw({ param: p, grad, m, v: vv, clip: stats }, { lr: 0.1, step: 1 });
  assertClose(p.host, [0.9, 1.1], { what: "adamw param" });
  assertClose(m.host, [0.03, -0.04], { what: "adamw m" });
  assertClose(vv.host, [0.05 * 0.09, 0.05 * 0.16], { what: "adamw v" });
});

Deno.test("causal attention wrappers on CPU tensors: finite differences of a naive attention (GQA)", async () => {
  // attention written from its formula on [B, S, H, D] in f64: query head h reads kv head
  // ⌊h·KH/H⌋, position i sees positions 0..i
  const B = 2, S = 3, H = 4, KH = 2, D = 3;
  const at = (t: ArrayLike<number>, heads: number, b: number, i: number, h: number, d: number) =>
    t[((b * S + i) * heads + h) * D + d];
  const naive = (q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>) => {
    const out: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < S; i++) {
        for (let h = 0; h < H; h++) {
          const kh = Math.floor((h * KH) / H);
          const e = Array.from({ length: i + 1 }, (_, j) => {
            let s = 0;
            for (let d = 0; d < D; d++) s += at(q, H, b, i, h, d) * at(k, KH, b, j, kh, d);
            return Math.exp(s / Math.sqrt(D));
          });
          const z = e.reduce((x, y) => x + y, 0);
          for (let d = 0; d < D; d++) {
            out.push(e.reduce((acc, w, j) => acc + (w / z) * at(v, KH, b, j, kh, d), 0));
          }
        }
      }
    }
    return out;
  };
  const rng = new Rng(9);
  const qh = rand(rng, [B, S, H, D]), kh = rand(rng, [B, S, KH, D]), vh = rand(rng, [B, S, KH, D]);
  const dout = rand(rng, [B, S, H, D]);
  const cpu = (h: HostTensor) => Tensor.fromArray(h.data, { shape: h.shape, gpu: null });
  const q = cpu(qh), k = cpu(kh), v = cpu(vh);
  const f = await causalAttention({ q, k, v });
  assertClose(await f.out.toArray(), naive(qh.data, kh.data, vh.data), { atol: 1e-6, what: "out" });
  const g = await causalAttentionBackward({ q, k, v, ...f, dout: cpu(dout) });
  // d/dx Σ dout·out by central differences in f64 (on copies: the tensors stay as they are)
  const loss = (x: { q: Float64Array; k: Float64Array; v: Float64Array }) =>
    naive(x.q, x.k, x.v).reduce((a, o, i) => a + dout.data[i] * o, 0);
  for (const name of ["q", "k", "v"] as const) {
    const x = {
      q: Float64Array.from(qh.data),
      k: Float64Array.from(kh.data),
      v: Float64Array.from(vh.data),
    };
    const num = Array.from(x[name], (keep, i) => {
      const e = 1e-5;
      x[name][i] = keep + e;
      const up = loss(x);
      x[name][i] = keep - e;
      const down = loss(x);
      x[name][i] = keep;
      return (up - down) / (2 * e);
    });
    assertClose(await g[`d${name}`].toArray(), num, { atol: 1e-5, rtol: 1e-4, what: `d${name}` });
  }
});
