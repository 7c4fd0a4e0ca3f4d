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

Deno.test("backward and optimizer wrappers run their CPU references on CPU tensors", async () => {
  const rng = new Rng(9);
  const cpu = (h: HostTensor) => Tensor.fromArray(h.data, { shape: h.shape, gpu: null });
  const t2 = (...v: number[]) => ({ data: Float32Array.from(v), shape: [1, v.length] });
  const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
    ok(a.length === b.length, `${what}: length`);
    for (let i = 0; i < b.length; i++) ok(Math.abs(a[i] - b[i]) < 1e-6, `${what}[${i}]`);
  };
  const x = rand(rng, [3, 4]), w = rand(rng, [4]), dy = rand(rng, [3, 4]), acc = rand(rng, [3, 4]);
  const into = cpu(acc);
  const r = await rmsnormBackward({ dy: cpu(dy), x: cpu(x), weight: cpu(w), dx: into });
  const want = rmsnormBackwardReference({ dy, x, weight: w, dx: acc });
  ok(r.dx === into);
  same(await r.dx.toArray(), want.dx.data, "rmsnorm dx");
  same(await r.dweight.toArray(), want.dweight.data, "rmsnorm dweight");
  const q = rand(rng, [2, 3, 2, 4]), k = rand(rng, [2, 3, 1, 4]), v = rand(rng, [2, 3, 1, 4]);
  const f = await causalAttention({ q: cpu(q), k: cpu(k), v: cpu(v) });
  const fw = causalAttentionReference({ q, k, v });
  same(await f.out.toArray(), fw.out.data, "attention out");
  const g = await causalAttentionBackward({
    q: cpu(q),
    k: cpu(k),
    v: cpu(v),
    out: f.out,
    lse: f.lse,
    dout: cpu(q),
  });
  same(
    await g.dk.toArray(),
    causalAttentionBackwardReference({ q, k, v, ...fw, dout: q }).dk.data,
    "dk",
  );
  const table = cpu(rand(rng, [5, 2]));
  const head = cpu(rand(rng, [5, 2]));
  const before = Float32Array.from(head.host);
  await embeddingBackward({ dy: await embedding({ table, ids: [4, 4] }), ids: [4, 4] }, {
    vocab: 5,
    accumulate: head,
  });
  const t = table.host as Float32Array, hh = head.host as Float32Array;
  same(hh.slice(8), [before[8] + 2 * t[8], before[9] + 2 * t[9]], "embedding scatter-add");
  const c = cpu({ data: new Float32Array([1, 1]), shape: [1, 2] });
  const mm = await matmul({
    a: cpu(t2(1, 2)),
    b: cpu({ data: new Float32Array([1, 0, 0, 1]), shape: [2, 2] }),
  }, {
    accumulate: c,
  });
  ok(mm === c);
  same(c.host, [2, 3], "matmul accumulate");
  const p = cpu(rand(rng, [4])), grad = cpu(rand(rng, [4]));
  const m = Tensor.zeros([4], { gpu: null }), vv = Tensor.zeros([4], { gpu: null });
  const stats = await gradNorm([grad], { maxNorm: 0.5 });
  const p0 = Float32Array.from(p.host);
  await adamw({ param: p, grad, m, v: vv, clip: stats }, { lr: 0.1, step: 1 });
  same(
    p.host,
    adamwReference({
      param: { data: p0, shape: [4] },
      grad: { data: grad.host as Float32Array, shape: [4] },
      m: { data: new Float32Array(4), shape: [4] },
      v: { data: new Float32Array(4), shape: [4] },
      clip: { data: stats.host as Float32Array, shape: [2] },
    }, { lr: 0.1, step: 1 }).param.data,
    "adamw",
  );
});
