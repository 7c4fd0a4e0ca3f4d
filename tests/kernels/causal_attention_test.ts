import { ok, throws } from "node:assert/strict";
import {
  causalAttention,
  causalAttentionBackward,
  causalAttentionBackwardReference,
  causalAttentionReference,
  flashAttentionReference,
  type HostTensor,
} from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { Tensor } from "../../lib/gpu/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { assertClose } from "../_compare.ts";
import { dotf, fdCheck, rand } from "./_checks.ts";

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

// The wrappers on CPU tensors call the CPU references, so comparing them with those references
// proves nothing: they are checked against hand-worked values.
Deno.test("causal attention wrappers on CPU tensors: hand-derived values", async () => {
  const cpu = (data: number[], shape: number[]) => Tensor.fromArray(data, { shape, gpu: null });
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

// f32 on both sides; exp of recomputed scores, sums over S·group terms: atol 2e-4, rtol 1e-3.
const ATT = { atol: 2e-4, rtol: 1e-3 };
gpuTest(
  "causal attention forward and backward GPU vs CPU reference",
  "tests/kernels/_gpu_cases.ts",
  [
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
  ],
);
