// Child process for the kernel tests: reads case specs (JSON array) on stdin, runs each
// kernel on the GPU and its CPU reference on the same data, prints one JSON line per case.
import { getDevice, type GpuContext, roundToFloat16, Tensor } from "../../lib/gpu/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import * as K from "../../kernels/mod.ts";
import { checkShape, type Ratio, toleranceRatio } from "../_compare.ts";

// deno-lint-ignore no-explicit-any
type Spec = { name: string; kind: string; seed?: number; atol: number; rtol: number } & any;
/** One compared output; `shapes` (got, want), when given, must be identical too. */
type Output = {
  got: ArrayLike<number>;
  want: ArrayLike<number>;
  shapes?: [readonly number[], readonly number[]];
};
type CaseFn = (gpu: GpuContext, spec: Spec, rng: Rng) => Promise<Output[]>;

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/** Random data as uploaded: rounded to f16 when the dtype is f16. */
function input(gpu: GpuContext, rng: Rng, shape: number[], dtype: "f32" | "f16", scale = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  let data = randn(rng, n, scale);
  if (dtype === "f16") data = roundToFloat16(data);
  return { host: { data, shape }, dev: Tensor.fromArray(data, { shape, dtype, gpu }) };
}

const cases: Record<string, CaseFn> = {
  async matmul(gpu, s, rng) {
    const { batchA = 0, batchB = 0, m, n, k, transposeA = false, transposeB = false } = s;
    const dt = s.dtype ?? "f32";
    const shapeA = transposeA ? [k, m] : [m, k], shapeB = transposeB ? [n, k] : [k, n];
    const a = input(gpu, rng, batchA ? [batchA, ...shapeA] : shapeA, dt);
    const b = input(gpu, rng, batchB ? [batchB, ...shapeB] : shapeB, dt);
    const opts = { transposeA, transposeB, alpha: s.alpha, outDtype: s.outDtype };
    const c = await K.matmul({ a: a.dev, b: b.dev }, opts);
    const want = K.matmulReference({ a: a.host, b: b.host }, opts);
    return [{ got: await c.toArray(), want: want.data, shapes: [c.shape, want.shape] }];
  },
  async matmulAccumulate(gpu, s, rng) {
    const { m, n, k } = s;
    const a = input(gpu, rng, s.transposeA ? [k, m] : [m, k], "f32");
    const b = input(gpu, rng, [k, n], "f32");
    const c = input(gpu, rng, [m, n], "f32");
    const opts = { transposeA: s.transposeA, alpha: s.alpha };
    const r = await K.matmul({ a: a.dev, b: b.dev }, { ...opts, accumulate: c.dev });
    if (r !== c.dev) throw new Error("accumulate did not return the given tensor");
    const p = K.matmulReference({ a: a.host, b: b.host }, opts).data;
    return [{ got: await c.dev.toArray(), want: p.map((v, i) => v + c.host.data[i]) }];
  },
  async matmulRegisters(gpu, s, rng) {
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
    const outs = [{ got: await c.toArray(), want: want.data }];
    if (s.accumulate) {
      await K.matmul({ a: a.dev, b: b.dev }, { ...opts, kernel: "registers", accumulate: c });
      outs.push({ got: await c.toArray(), want: want.data.map((v) => 2 * v) });
    }
    return outs;
  },
  async rmsnorm(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const x = input(gpu, rng, [s.rows, s.d], dt);
    const w = input(gpu, rng, [s.d], dt);
    const res = s.residual ? input(gpu, rng, [s.rows, s.d], dt) : undefined;
    const r = await K.rmsnorm({ x: x.dev, weight: w.dev, residual: res?.dev }, { eps: s.eps });
    const want = K.rmsnormReference({ x: x.host, weight: w.host, residual: res?.host }, {
      eps: s.eps,
    });
    const outs: Output[] = [{
      got: await r.out.toArray(),
      want: want.out.data,
      shapes: [r.out.shape, want.out.shape],
    }];
    if (res) outs.push({ got: await r.residual!.toArray(), want: want.residual!.data });
    return outs;
  },
  async rmsnormBackward(gpu, s, rng) {
    const x = input(gpu, rng, [s.rows, s.d], "f32"), dy = input(gpu, rng, [s.rows, s.d], "f32");
    const w = input(gpu, rng, [s.d], "f32");
    const acc = s.accumulate ? input(gpu, rng, [s.rows, s.d], "f32") : undefined;
    const inputs = { dy: dy.dev, x: x.dev, weight: w.dev, dx: acc?.dev };
    const r = await K.rmsnormBackward(inputs, { eps: s.eps });
    const want = K.rmsnormBackwardReference(
      { dy: dy.host, x: x.host, weight: w.host, dx: acc?.host },
      { eps: s.eps },
    );
    return [
      { got: await r.dx.toArray(), want: want.dx.data },
      { got: await r.dweight.toArray(), want: want.dweight.data },
    ];
  },
  async rope(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const x = input(gpu, rng, [s.tokens, s.heads, s.d], dt);
    const positions = Array.from({ length: s.tokens }, () => rng.int(s.maxPos ?? 64));
    const opts = { layout: s.layout, rotaryDim: s.rotaryDim, theta: s.theta };
    const y = await K.rope({ x: x.dev, positions }, opts);
    return [{ got: await y.toArray(), want: K.ropeReference({ x: x.host, positions }, opts).data }];
  },
  async ropeBackward(gpu, s, rng) {
    const dy = input(gpu, rng, [s.tokens, s.heads, s.d], "f32");
    const positions = Array.from({ length: s.tokens }, () => rng.int(s.maxPos ?? 64));
    const opts = { theta: s.theta, layout: s.layout };
    const r = await K.ropeBackward({ dy: dy.dev, positions }, opts);
    return [{
      got: await r.toArray(),
      want: K.ropeBackwardReference({ dy: dy.host, positions }, opts).data,
    }];
  },
  async swiglu(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const g = input(gpu, rng, s.shape, dt, 3), u = input(gpu, rng, s.shape, dt);
    const y = await K.swiglu({ gate: g.dev, up: u.dev });
    return [{ got: await y.toArray(), want: K.swigluReference({ gate: g.host, up: u.host }).data }];
  },
  async swigluBackward(gpu, s, rng) {
    const g = input(gpu, rng, s.shape, "f32", 3), u = input(gpu, rng, s.shape, "f32");
    const d = input(gpu, rng, s.shape, "f32");
    const r = await K.swigluBackward({ gate: g.dev, up: u.dev, dout: d.dev });
    const want = K.swigluBackwardReference({ gate: g.host, up: u.host, dout: d.host });
    return [
      { got: await r.dgate.toArray(), want: want.dgate.data },
      { got: await r.dup.toArray(), want: want.dup.data },
    ];
  },
  async unary(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const x = input(gpu, rng, s.shape, dt, 2);
    if (s.positive) {
      for (let i = 0; i < x.host.data.length; i++) x.host.data[i] = Math.abs(x.host.data[i]) + 0.5;
      x.dev.release();
      x.dev = Tensor.fromArray(x.host.data, { shape: s.shape, dtype: dt, gpu });
    }
    const opts = { op: s.op, scalar: s.scalar };
    const y = await K.unary(x.dev, opts);
    return [{ got: await y.toArray(), want: K.unaryReference(x.host, opts).data }];
  },
  async binary(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const a = input(gpu, rng, s.shapeA, dt), b = input(gpu, rng, s.shapeB, dt);
    const y = await K.binary({ a: a.dev, b: b.dev }, { op: s.op });
    const want = K.binaryReference({ a: a.host, b: b.host }, { op: s.op });
    return [{ got: await y.toArray(), want: want.data }];
  },
  async rowReduce(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const x = input(gpu, rng, s.shape, dt);
    const y = await K.rowReduce(x.dev, { op: s.op });
    if (y.shape.join() !== [...s.shape.slice(0, -1), 1].join()) throw new Error(`shape ${y.shape}`);
    return [{ got: await y.toArray(), want: K.rowReduceReference(x.host, { op: s.op }).data }];
  },
  async rotateHalf(gpu, s, rng) {
    const x = input(gpu, rng, s.shape, s.dtype ?? "f32");
    const y = await K.rotateHalf(x.dev);
    return [{ got: await y.toArray(), want: K.rotateHalfReference(x.host).data }];
  },
  async unfused(gpu, s, rng) {
    // the unfused compositions against the fused kernels' CPU references
    const dt = s.dtype ?? "f32";
    if (s.which === "rmsnorm") {
      const x = input(gpu, rng, [s.rows, s.d], dt), w = input(gpu, rng, [s.d], dt);
      const y = await K.rmsnormUnfused({ x: x.dev, weight: w.dev }, { eps: s.eps });
      const want = K.rmsnormReference({ x: x.host, weight: w.host }, { eps: s.eps });
      return [{ got: await y.toArray(), want: want.out.data }];
    }
    if (s.which === "swiglu") {
      const g = input(gpu, rng, s.shape, dt, 3), u = input(gpu, rng, s.shape, dt);
      const y = await K.swigluUnfused({ gate: g.dev, up: u.dev });
      return [{
        got: await y.toArray(),
        want: K.swigluReference({ gate: g.host, up: u.host }).data,
      }];
    }
    const x = input(gpu, rng, [s.tokens, s.heads, s.d], dt);
    const positions = Array.from({ length: s.tokens }, () => rng.int(64));
    const t = K.ropeTables(positions, { headDim: s.d, theta: s.theta });
    const cos = Tensor.fromArray(t.cos.data, { shape: t.cos.shape, dtype: dt, gpu });
    const sin = Tensor.fromArray(t.sin.data, { shape: t.sin.shape, dtype: dt, gpu });
    const y = await K.ropeUnfused({ x: x.dev, cos, sin });
    const want = K.ropeReference({ x: x.host, positions }, { theta: s.theta });
    return [{ got: await y.toArray(), want: want.data }];
  },
  async ropeQk(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const q = input(gpu, rng, [s.tokens, s.hq, s.d], dt);
    const k = input(gpu, rng, [s.tokens, s.hk, s.d], dt);
    const positions = Array.from({ length: s.tokens }, () => rng.int(s.maxPos ?? 64));
    const opts = { layout: s.layout, rotaryDim: s.rotaryDim, theta: s.theta };
    const r = await K.ropeQk({ q: q.dev, k: k.dev, positions }, opts);
    // the fused result must equal the single-tensor rope kernel on each
    const want = K.ropeQkReference({ q: q.host, k: k.host, positions }, opts);
    return [
      { got: await r.q.toArray(), want: want.q.data },
      { got: await r.k.toArray(), want: want.k.data },
    ];
  },
  async linearCE(gpu, s, rng) {
    const hidden = input(gpu, rng, [s.rows, s.hidden], "f32");
    const weight = input(gpu, rng, [s.vocab, s.hidden], "f32", s.wscale ?? 0.5);
    const targets = Array.from(
      { length: s.rows },
      (_, i) => (i % 4 === 3 ? -100 : rng.int(s.vocab)),
    );
    const opts = { chunk: s.chunk, grad: s.grad };
    const r = await K.linearCrossEntropy({ hidden: hidden.dev, weight: weight.dev, targets }, opts);
    const want = K.linearCrossEntropyReference({
      hidden: hidden.host,
      weight: weight.host,
      targets,
    }, {
      grad: s.grad,
    });
    const outs: Output[] = [{ got: await r.loss.toArray(), want: want.loss.data }];
    if (s.grad) {
      outs.push({ got: await r.gradHidden!.toArray(), want: want.gradHidden!.data });
      outs.push({ got: await r.gradWeight!.toArray(), want: want.gradWeight!.data });
    }
    // scratch: chunk logits + weight chunk + state + targets (+ partial sums with grad)
    const C = Math.min(s.chunk, s.vocab);
    if (!(r.scratchBytes < s.rows * s.vocab * 4 || C === s.vocab)) {
      throw new Error(`scratch ${r.scratchBytes} not below the logits' ${s.rows * s.vocab * 4}`);
    }
    return outs;
  },
  async softmax(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const x = input(gpu, rng, [s.rows, s.cols], dt, s.spread ?? 3);
    const y = await K.softmax(x.dev, { scale: s.scale });
    const want = K.softmaxReference(x.host, { scale: s.scale });
    return [{ got: await y.toArray(), want: want.data, shapes: [y.shape, want.shape] }];
  },
  async attention(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const { sq, skv = s.sq, hq, hkv = hq, d } = s;
    const q = input(gpu, rng, [sq, hq, d], dt), k = input(gpu, rng, [skv, hkv, d], dt);
    const v = input(gpu, rng, [skv, hkv, d], dt);
    const opts: K.FlashAttentionOptions = { causal: s.causal, keyMass: s.keyMass, scale: s.scale };
    if (s.tree) opts.parents = Array.from({ length: sq }, (_, i) => rng.int(i + 1) - 1);
    if (s.seqLens) {
      // recurIds: ids 0, 1, 0, 1, … so that one id occurs in several separate runs
      const id = (i: number) => (s.recurIds ? i % 2 : i);
      opts.seqIds = (s.seqLens as number[]).flatMap((n, i) => Array(n).fill(id(i)));
    }
    const r = await K.flashAttention({ q: q.dev, k: k.dev, v: v.dev }, opts);
    const want = K.flashAttentionReference({ q: q.host, k: k.host, v: v.host }, opts);
    const outs: Output[] = [
      { got: await r.out.toArray(), want: want.out.data, shapes: [r.out.shape, want.out.shape] },
      { got: await r.lse.toArray(), want: want.lse.data, shapes: [r.lse.shape, want.lse.shape] },
    ];
    if (s.keyMass) {
      const [g, w] = [r.keyMass!, want.keyMass!];
      outs.push({ got: await g.toArray(), want: w.data, shapes: [g.shape, w.shape] });
    }
    return outs;
  },
  async decode(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const { nq, cache, hq, hkv = hq, d } = s;
    const q = input(gpu, rng, [nq, hq, d], dt), k = input(gpu, rng, [cache, hkv, d], dt);
    const v = input(gpu, rng, [cache, hkv, d], dt);
    const opts = { kvLength: s.kvLength, causal: s.causal, splitSize: s.splitSize };
    const y = await K.decodeAttention({ q: q.dev, k: k.dev, v: v.dev }, opts);
    const want = K.decodeAttentionReference({ q: q.host, k: k.host, v: v.host }, opts);
    return [{ got: await y.toArray(), want: want.data, shapes: [y.shape, want.shape] }];
  },
  async crossEntropy(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const x = input(gpu, rng, [s.rows, s.vocab], dt, s.spread ?? 4);
    const targets = Array.from(
      { length: s.rows },
      (_, i) => (i % 5 === 4 ? -100 : rng.int(s.vocab)),
    );
    const r = await K.crossEntropy({ logits: x.dev, targets }, { grad: s.grad });
    const want = K.crossEntropyReference({ logits: x.host, targets }, { grad: s.grad });
    const outs: Output[] = [{ got: await r.loss.toArray(), want: want.loss.data }];
    if (s.grad) outs.push({ got: await r.grad!.toArray(), want: want.grad!.data });
    return outs;
  },
  async sparse(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const { nq, cache, hq, hkv = hq, d } = s;
    const kvLength = s.kvLength ?? cache;
    const q = input(gpu, rng, [nq, hq, d], dt), k = input(gpu, rng, [cache, hkv, d], dt);
    const v = input(gpu, rng, [cache, hkv, d], dt);
    const lens = s.lens as number[];
    const positions = Array.from(
      { length: s.perQueryHead ? hq : hkv },
      (_, h) => Array.from({ length: lens[h % lens.length] }, () => rng.int(kvLength)),
    );
    const opts = { kvLength: s.kvLength, causal: s.causal, splitSize: s.splitSize };
    const y = await K.sparseAttention({ q: q.dev, k: k.dev, v: v.dev, positions }, opts);
    const want = K.sparseAttentionReference({ q: q.host, k: k.host, v: v.host, positions }, opts);
    return [{ got: await y.toArray(), want: want.data, shapes: [y.shape, want.shape] }];
  },
  async topK(gpu, s, rng) {
    const dt = s.dtype ?? "f32";
    const shape = [s.rows, s.cols];
    const n = s.rows * s.cols;
    // `levels` draws from few distinct values so that ties are common
    const raw = s.levels
      ? Float32Array.from({ length: n }, () => rng.int(s.levels) - 2)
      : randn(rng, n, 3);
    const data = dt === "f16" ? roundToFloat16(raw) : raw;
    const x = Tensor.fromArray(data, { shape, dtype: dt, gpu });
    const r = await K.topK(x, { k: s.k });
    const want = K.topKReference({ data, shape }, { k: s.k });
    return [
      {
        got: await r.values.toArray(),
        want: want.values.data,
        shapes: [r.values.shape, want.values.shape],
      },
      { got: await r.indices.toArray(), want: want.indices },
    ];
  },
  async sample(gpu, s, rng) {
    // logits: one given row repeated `rows` times, or random rows; reports the count of
    // tokens differing from the CPU reference, and with `expect` the chi-square statistic
    // of the token counts against the expected probabilities
    const dt = s.dtype ?? "f32";
    const cols = s.row ? s.row.length : s.cols;
    const shape = [s.rows, cols];
    const raw = s.row
      ? Float32Array.from({ length: s.rows * cols }, (_, i) => s.row[i % cols])
      : randn(rng, s.rows * cols, s.spread ?? 3);
    const data = dt === "f16" ? roundToFloat16(raw) : raw;
    const x = Tensor.fromArray(data, { shape, dtype: dt, gpu });
    const opts = {
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      seed: s.seed,
      counter: s.counter,
    };
    const got = await (await K.sample(x, opts)).toArray();
    const want = K.sampleReference({ data, shape }, opts);
    let differ = 0;
    for (let i = 0; i < want.length; i++) differ += got[i] === want[i] ? 0 : 1;
    if (s.expect) {
      const counts = new Array(cols).fill(0);
      for (const t of got) counts[t]++;
      let chi2 = 0;
      (s.expect as number[]).forEach((p, i) => {
        if (p === 0 && counts[i]) throw new Error(`token ${i} has probability 0 but was drawn`);
        if (p > 0) chi2 += (counts[i] - p * s.rows) ** 2 / (p * s.rows);
      });
      if (!(chi2 <= s.chi2Bound)) {
        throw new Error(`chi-square ${chi2.toFixed(2)} > ${s.chi2Bound}; counts ${counts}`);
      }
    }
    // the tolerance (atol) is the number of tokens allowed to differ from the reference
    const outs: Output[] = [{ got: [differ], want: [0] }];
    return outs;
  },
  async embedding(gpu, s, rng) {
    const table = input(gpu, rng, [s.vocab, s.d], "f32");
    const ids = Array.from({ length: s.n }, () => rng.int(s.vocab));
    const dy = input(gpu, rng, [s.n, s.d], "f32");
    const acc = s.accumulate ? input(gpu, rng, [s.vocab, s.d], "f32") : undefined;
    const out = await K.embedding({ table: table.dev, ids });
    const g = await K.embeddingBackward({ dy: dy.dev, ids }, {
      vocab: s.vocab,
      accumulate: acc?.dev,
    });
    return [
      { got: await out.toArray(), want: K.embeddingReference({ table: table.host, ids }).data },
      {
        got: await g.toArray(),
        want: K.embeddingBackwardReference({ dy: dy.host, ids }, {
          vocab: s.vocab,
          accumulate: acc?.host,
        }).data,
      },
    ];
  },
  async causalAttention(gpu, s, rng) {
    const { b, seq, h, kh, d } = s;
    const q = input(gpu, rng, [b, seq, h, d], "f32"), k = input(gpu, rng, [b, seq, kh, d], "f32");
    const v = input(gpu, rng, [b, seq, kh, d], "f32"),
      dout = input(gpu, rng, [b, seq, h, d], "f32");
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
      { got: await f.out.toArray(), want: fw.out.data },
      { got: await f.lse.toArray(), want: fw.lse.data },
      { got: await g.dq.toArray(), want: gw.dq.data },
      { got: await g.dk.toArray(), want: gw.dk.data },
      { got: await g.dv.toArray(), want: gw.dv.data },
    ];
  },
  async gradNormAdamw(gpu, s, rng) {
    const sizes: number[] = s.sizes;
    const grads = sizes.map((n) => input(gpu, rng, [n], "f32", s.scale ?? 1));
    const stats = await K.gradNorm(grads.map((g) => g.dev), { maxNorm: s.maxNorm });
    const want = K.gradNormReference(grads.map((g) => g.host), { maxNorm: s.maxNorm });
    const outs = [{ got: await stats.toArray(), want: want.data }];
    // two AdamW steps on the first tensor with the clip scale, weight decay on
    const n = sizes[0];
    const p = input(gpu, rng, [n], "f32");
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
    outs.push({ got: await p.dev.toArray(), want: ref.param.data });
    outs.push({ got: await m.toArray(), want: ref.m.data });
    outs.push({ got: await v.toArray(), want: ref.v.data });
    return outs;
  },
};

/**
 * The worst error over a case's outputs in units of its tolerance. Throws when an output's
 * length (or its shape, where both shapes are given) differs from the reference's: extra or
 * missing values are a failure, never ignored.
 */
export function compareOutputs(outs: Output[], tol: { atol: number; rtol: number }): Ratio {
  let worst = 0, maxAbsErr = 0, elements = 0;
  outs.forEach((o, n) => {
    if (o.shapes) checkShape(o.shapes[0], o.shapes[1], `output ${n} shape`);
    const r = toleranceRatio({ got: o.got, want: o.want, what: `output ${n}` }, tol);
    worst = Math.max(worst, r.worst);
    maxAbsErr = Math.max(maxAbsErr, r.maxAbsErr);
    elements += r.elements;
  });
  return { worst, maxAbsErr, elements };
}

export function registerCase(kind: string, fn: CaseFn): void {
  cases[kind] = fn;
}

export async function serve(): Promise<void> {
  const specs: Spec[] = JSON.parse(await new Response(Deno.stdin.readable).text());
  const gpu = await getDevice({ quiet: true });
  if (!gpu) {
    console.log(JSON.stringify({ skip: "no WebGPU adapter in this environment" }));
    return;
  }
  for (const spec of specs) {
    const rng = new Rng(spec.seed ?? 1);
    try {
      const fn = cases[spec.kind];
      if (!fn) throw new Error(`unknown case kind ${spec.kind}`);
      const outs = await fn(gpu, spec, rng);
      const { worst, maxAbsErr, elements } = compareOutputs(outs, spec);
      console.log(JSON.stringify({ name: spec.name, worst, maxAbsErr, elements }));
    } catch (e) {
      console.log(
        JSON.stringify({
          name: spec.name,
          worst: Infinity,
          maxAbsErr: NaN,
          elements: 0,
          error: String(e),
        }),
      );
    }
  }
  console.log(JSON.stringify({ done: true, adapter: gpu.adapter.name }));
}

if (import.meta.main) await serve();
