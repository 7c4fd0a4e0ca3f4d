// Child process for the CPU-fallback test: run with TOKENLAB_NO_GPU=1. Every kernel wrapper is
// called on CPU tensors exactly as on GPU tensors; results are checked against hand-derived
// values and the CPU references. Prints one line per check and "done" at the end.
import { deepEqual, equal, fail, ok, throws } from "node:assert/strict";
import { currentDevice, getDevice, Tensor } from "../../lib/gpu/mod.ts";
import * as K from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";

const near = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};
const checks: [string, () => Promise<void> | void][] = [];
const test = (name: string, fn: () => Promise<void> | void) => checks.push([name, fn]);

equal(await getDevice({ quiet: true }), null);
equal(currentDevice(), null);

const rng = new Rng(4);
const rand = (shape: number[]) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());

test("tensors: CPU storage, dtypes, f16 rounding, reshape, zeros, bytes, release", async () => {
  const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
  ok(t.isCpu);
  equal(t.dtype, "f32");
  deepEqual([...await t.reshape([3, 2]).toArray()], [1, 2, 3, 4, 5, 6]);
  const h = Tensor.fromArray([0.1], { shape: [1], dtype: "f16" });
  deepEqual([...await h.toArray()], [1638 / 16384]);
  deepEqual([...new Uint16Array(await h.readBytes())], [0x2e66]); // 0.1 in half precision
  equal(Tensor.fromArray(Int32Array.of(-1), { shape: [1] }).dtype, "i32");
  deepEqual([...await Tensor.zeros([3], { dtype: "u32" }).toArray()], [0, 0, 0]);
  throws(() => t.gpu, /lives on the CPU/);
  throws(() => t.buffer, /lives on the CPU/);
  t.release();
  await Promise.resolve();
  throws(() => t.host, /released/);
});

test("matmul, rmsnorm, rope, swiglu, softmax: hand-derived values", async () => {
  const a = Tensor.fromArray([1, 2, 3, 4], { shape: [2, 2] });
  const b = Tensor.fromArray([0, 1, 1, 0], { shape: [2, 2] });
  deepEqual([...await (await K.matmul({ a, b })).toArray()], [2, 1, 4, 3]);
  const x = Tensor.fromArray([3, 4], { shape: [1, 2] });
  const w = Tensor.fromArray([1, 1], { shape: [2] });
  const n = await K.rmsnorm({ x, weight: w }, { eps: 0 });
  near(await n.out.toArray(), [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)]);
  const r = await K.rope({
    x: Tensor.fromArray([1, 0, 0, 1], { shape: [1, 1, 4] }),
    positions: [0],
  });
  near(await r.toArray(), [1, 0, 0, 1]);
  const mismatch = K.swiglu({ gate: Tensor.fromArray([0], { shape: [1] }), up: x.reshape([2]) });
  await mismatch.then(() => fail("shapes [1] and [2] were accepted"), () => {});
  const y = await K.swiglu({ gate: Tensor.fromArray([0, 1], { shape: [2] }), up: x.reshape([2]) });
  near(await y.toArray(), [0, 4 / (1 + Math.exp(-1))]);
  const sm = await K.softmax(Tensor.fromArray([0, Math.log(3)], { shape: [1, 2] }));
  near(await sm.toArray(), [0.25, 0.75]);
});

test("attention kernels and cross-entropy equal their references", async () => {
  const qd = rand([3, 4, 8]), kd = rand([5, 2, 8]), vd = rand([5, 2, 8]);
  const host = (data: Float32Array, shape: number[]) => ({ data, shape });
  const q = Tensor.fromArray(qd, { shape: [3, 4, 8] });
  const k = Tensor.fromArray(kd, { shape: [5, 2, 8] });
  const v = Tensor.fromArray(vd, { shape: [5, 2, 8] });
  const H = { q: host(qd, [3, 4, 8]), k: host(kd, [5, 2, 8]), v: host(vd, [5, 2, 8]) };
  const f = await K.flashAttention({ q, k, v }, { causal: true, keyMass: true });
  const fr = K.flashAttentionReference(H, { causal: true, keyMass: true });
  near(await f.out.toArray(), fr.out.data);
  near(await f.lse.toArray(), fr.lse.data);
  near(await f.keyMass!.toArray(), fr.keyMass!.data);
  near(await (await K.decodeAttention({ q, k, v })).toArray(), K.decodeAttentionReference(H).data);
  const positions = [[0, 4], []];
  const sp = await K.sparseAttention({ q, k, v, positions });
  near(await sp.toArray(), K.sparseAttentionReference({ ...H, positions }).data);
  const logits = Tensor.fromArray([0, 0, 0, 0], { shape: [1, 4] });
  const ce = await K.crossEntropy({ logits, targets: [2] }, { grad: true });
  near(await ce.loss.toArray(), [Math.log(4)]);
  near(await ce.grad!.toArray(), [0.25, 0.25, -0.75, 0.25]);
});

test("f16 inputs give f16-rounded outputs", async () => {
  const x = Tensor.fromArray([0, 1], { shape: [1, 2], dtype: "f16" });
  const y = await K.softmax(x);
  equal(y.dtype, "f16");
  const want = 1 / (1 + Math.E);
  const got = (await y.toArray())[0];
  ok(Math.abs(got - want) < 1e-3 && got !== Math.fround(want), `${got}`);
});

test("top-k and sampling", async () => {
  const x = Tensor.fromArray([1, 5, 3, 5, 0, 2, 9, 2], { shape: [2, 4] });
  const t = await K.topK(x, { k: 2 });
  deepEqual([...await t.values.toArray()], [5, 5, 9, 2]);
  deepEqual([...await t.indices.toArray()], [1, 3, 2, 1]);
  equal(t.indices.dtype, "i32");
  const g = await K.sample(x, { temperature: 0 });
  deepEqual([...await g.toArray()], [1, 2]);
  const opts = { temperature: 0.9, topK: 3, topP: 0.95, seed: 12, counter: 3 };
  const d = await K.sample(x, opts);
  deepEqual(
    [...await d.toArray()],
    [...K.sampleReference({ data: x.host as Float32Array, shape: [2, 4] }, opts)],
  );
});

let failed = 0;
for (const [name, fn] of checks) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAILED ${name}: ${e instanceof Error ? e.stack : e}`);
  }
}
console.log(failed ? `${failed} failed` : "done");
Deno.exit(failed ? 1 : 0);
