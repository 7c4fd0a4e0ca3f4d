// Child process for the backward/optimizer kernel tests: registers case kinds on the shared
// kernel-case server (tests/kernels/_gpu_cases.ts) and serves the specs read on stdin.
import { type GpuContext, roundToFloat16, Tensor } from "../../lib/gpu/mod.ts";
import type { Rng } from "../../lib/util/rng.ts";
import * as K from "../../kernels/mod.ts";
import { registerCase, serve } from "./_gpu_cases.ts";

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function input(gpu: GpuContext, rng: Rng, shape: number[], scale = 1) {
  const data = randn(rng, shape.reduce((a, b) => a * b, 1), scale);
  return { host: { data, shape }, dev: Tensor.fromArray(data, { shape, gpu }) };
}

const arr = async (t: Tensor) => await t.toArray();

registerCase("matmulAccumulate", async (gpu, s, rng) => {
  const { m, n, k } = s;
  const a = input(gpu, rng, s.transposeA ? [k, m] : [m, k]);
  const b = input(gpu, rng, [k, n]);
  const c = input(gpu, rng, [m, n]);
  const opts = { transposeA: s.transposeA, alpha: s.alpha };
  const r = await K.matmul({ a: a.dev, b: b.dev }, { ...opts, accumulate: c.dev });
  if (r !== c.dev) throw new Error("accumulate did not return the given tensor");
  const p = K.matmulReference({ a: a.host, b: b.host }, opts).data;
  return [{ got: await arr(c.dev), want: p.map((v, i) => v + c.host.data[i]) }];
});

registerCase("matmulRegisters", async (gpu, s, rng) => {
  const { m, n, k, batchA = 0, batchB = 0 } = s;
  const dt = s.dtype ?? "f32";
  const shapeA = s.transposeA ? [k, m] : [m, k], shapeB = s.transposeB ? [n, k] : [k, n];
  const up = (shape: number[]) => {
    const data = randn(rng, shape.reduce((x, y) => x * y, 1));
    const t = Tensor.fromArray(data, { shape, dtype: dt, gpu });
    return { dev: t, host: { data: dt === "f16" ? roundToFloat16(data) : data, shape } };
  };
  const a = up(batchA ? [batchA, ...shapeA] : shapeA),
    b = up(batchB ? [batchB, ...shapeB] : shapeB);
  const opts = { transposeA: s.transposeA, transposeB: s.transposeB, alpha: s.alpha };
  const want = K.matmulReference({ a: a.host, b: b.host }, opts);
  const c = await K.matmul({ a: a.dev, b: b.dev }, {
    ...opts,
    kernel: "registers",
    outDtype: "f32",
  });
  const outs = [{ got: await arr(c), want: want.data }];
  if (s.accumulate) {
    await K.matmul({ a: a.dev, b: b.dev }, { ...opts, kernel: "registers", accumulate: c });
    outs.push({ got: await arr(c), want: want.data.map((v) => 2 * v) });
  }
  return outs;
});

registerCase("rmsnormBackward", async (gpu, s, rng) => {
  const x = input(gpu, rng, [s.rows, s.d]), dy = input(gpu, rng, [s.rows, s.d]);
  const w = input(gpu, rng, [s.d]);
  const acc = s.accumulate ? input(gpu, rng, [s.rows, s.d]) : undefined;
  const inputs = { dy: dy.dev, x: x.dev, weight: w.dev, dx: acc?.dev };
  const r = await K.rmsnormBackward(inputs, { eps: s.eps });
  const want = K.rmsnormBackwardReference(
    { dy: dy.host, x: x.host, weight: w.host, dx: acc?.host },
    { eps: s.eps },
  );
  return [
    { got: await arr(r.dx), want: want.dx.data },
    { got: await arr(r.dweight), want: want.dweight.data },
  ];
});

registerCase("ropeBackward", async (gpu, s, rng) => {
  const dy = input(gpu, rng, [s.tokens, s.heads, s.d]);
  const positions = Array.from({ length: s.tokens }, () => rng.int(s.maxPos ?? 64));
  const opts = { base: s.base, layout: s.layout };
  const r = await K.ropeBackward({ dy: dy.dev, positions }, opts);
  return [{
    got: await arr(r),
    want: K.ropeBackwardReference({ dy: dy.host, positions }, opts).data,
  }];
});

registerCase("swigluBackward", async (gpu, s, rng) => {
  const g = input(gpu, rng, s.shape, 3), u = input(gpu, rng, s.shape);
  const d = input(gpu, rng, s.shape);
  const r = await K.swigluBackward({ gate: g.dev, up: u.dev, dout: d.dev });
  const want = K.swigluBackwardReference({ gate: g.host, up: u.host, dout: d.host });
  return [
    { got: await arr(r.dgate), want: want.dgate.data },
    { got: await arr(r.dup), want: want.dup.data },
  ];
});

registerCase("embedding", async (gpu, s, rng) => {
  const table = input(gpu, rng, [s.vocab, s.d]);
  const ids = Array.from({ length: s.n }, () => rng.int(s.vocab));
  const dy = input(gpu, rng, [s.n, s.d]);
  const acc = s.accumulate ? input(gpu, rng, [s.vocab, s.d]) : undefined;
  const out = await K.embedding({ table: table.dev, ids });
  const g = await K.embeddingBackward({ dy: dy.dev, ids }, {
    vocab: s.vocab,
    accumulate: acc?.dev,
  });
  return [
    { got: await arr(out), want: K.embeddingReference({ table: table.host, ids }).data },
    {
      got: await arr(g),
      want: K.embeddingBackwardReference({ dy: dy.host, ids }, {
        vocab: s.vocab,
        accumulate: acc?.host,
      }).data,
    },
  ];
});

registerCase("causalAttention", async (gpu, s, rng) => {
  const { b, seq, h, kh, d } = s;
  const q = input(gpu, rng, [b, seq, h, d]), k = input(gpu, rng, [b, seq, kh, d]);
  const v = input(gpu, rng, [b, seq, kh, d]), dout = input(gpu, rng, [b, seq, h, d]);
  const f = await K.causalAttention({ q: q.dev, k: k.dev, v: v.dev });
  const fw = K.causalAttentionReference({ q: q.host, k: k.host, v: v.host });
  const g = await K.causalAttentionBackward({
    q: q.dev,
    k: k.dev,
    v: v.dev,
    out: f.out,
    lse: f.lse,
    dout: dout.dev,
  });
  const gw = K.causalAttentionBackwardReference({
    q: q.host,
    k: k.host,
    v: v.host,
    ...fw,
    dout: dout.host,
  });
  return [
    { got: await arr(f.out), want: fw.out.data },
    { got: await arr(f.lse), want: fw.lse.data },
    { got: await arr(g.dq), want: gw.dq.data },
    { got: await arr(g.dk), want: gw.dk.data },
    { got: await arr(g.dv), want: gw.dv.data },
  ];
});

registerCase("gradNormAdamw", async (gpu, s, rng) => {
  const sizes: number[] = s.sizes;
  const grads = sizes.map((n) => input(gpu, rng, [n], s.scale ?? 1));
  const stats = await K.gradNorm(grads.map((g) => g.dev), { maxNorm: s.maxNorm });
  const want = K.gradNormReference(grads.map((g) => g.host), { maxNorm: s.maxNorm });
  const outs = [{ got: await arr(stats), want: want.data }];
  // two AdamW steps on the first tensor with the clip scale, weight decay on
  const n = sizes[0];
  const p = input(gpu, rng, [n]);
  const m = Tensor.zeros([n], { gpu }), v = Tensor.zeros([n], { gpu });
  let ref: K.AdamwResult<K.HostTensor> = {
    param: p.host,
    m: { data: new Float32Array(n), shape: [n] },
    v: { data: new Float32Array(n), shape: [n] },
  };
  for (let step = 1; step <= 2; step++) {
    const opts = { lr: 0.01, step, weightDecay: 0.1 };
    await K.adamw({ param: p.dev, grad: grads[0].dev, m, v, clip: stats }, opts);
    ref = K.adamwReference({ ...ref, grad: grads[0].host, clip: want }, opts);
  }
  outs.push({ got: await arr(p.dev), want: ref.param.data });
  outs.push({ got: await arr(m), want: ref.m.data });
  outs.push({ got: await arr(v), want: ref.v.data });
  return outs;
});

if (import.meta.main) await serve();
