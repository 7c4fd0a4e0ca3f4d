// Child process for the GPU-layer tests (see tests/gpu/_child.ts): same protocol as the
// kernel cases, with cases for tensors, f16 conversion on the device, pool, cache, profiler.
import { float32ToFloat16Bits, PipelineCache, Profiler, Tensor } from "../../lib/gpu/mod.ts";
import { registerCase, serve } from "../kernels/_gpu_cases.ts";

const fail = (msg: string): never => {
  throw new Error(msg);
};

registerCase("roundtrip", async (gpu, s) => {
  const n = s.n as number;
  const data = Array.from({ length: n }, (_, i) => (s.dtype === "i32" ? -i * 7 : i * 3) + 1);
  const t = Tensor.fromArray(data, { shape: [n], dtype: s.dtype, gpu });
  const back = await t.toArray();
  t.release();
  return [{ got: back, want: data }];
});

registerCase("defaults", async (gpu) => {
  // no `gpu`: the settled getDevice() context; dtype inferred from the typed array
  const f = Tensor.fromArray([1.5, -2], { shape: [2] });
  const i = Tensor.fromArray(Int32Array.of(-3, 4), { shape: [2] });
  const u = Tensor.fromArray(Uint32Array.of(7), { shape: [1] });
  const z = Tensor.zeros([2, 2]);
  if (f.gpu !== gpu || z.gpu !== gpu) fail("default device is not the getDevice() context");
  const kinds = [f.dtype, i.dtype, u.dtype, z.dtype].join(",");
  if (kinds !== "f32,i32,u32,f32") fail(`inferred dtypes ${kinds}`);
  const got = [
    ...await f.toArray(),
    ...await i.toArray(),
    ...await u.toArray(),
    ...await z.toArray(),
  ];
  for (const t of [f, i, u, z]) t.release();
  return [{ got, want: [1.5, -2, -3, 4, 7, 0, 0, 0, 0] }];
});

registerCase("f16device", async (gpu, s) => {
  // the GPU converts f32 → f16 with its own rounding; our CPU helper must give the same bits
  const vals = new Float32Array(s.values as number[]);
  const src = `enable f16;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f16>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&x)) { y[g.x] = f16(x[g.x]); }
}`;
  const pipeline = await gpu.pipelines.get(src);
  const x = Tensor.fromArray(vals, { shape: [vals.length], gpu });
  const y = Tensor.empty([vals.length], { dtype: "f16", gpu });
  gpu.run([{
    pipeline,
    label: "convert",
    bindings: [{ buffer: x.buffer, size: x.bindingSize }, {
      buffer: y.buffer,
      size: y.bindingSize,
    }],
    workgroups: [Math.ceil(vals.length / 64)],
  }]);
  const bits = new Uint16Array(await y.readBytes());
  return [{ got: bits, want: Array.from(vals, float32ToFloat16Bits) }];
});

registerCase("pool", async (gpu) => {
  const before = gpu.pool.stats;
  const a = Tensor.empty([1000], { gpu });
  a.release();
  const mid = gpu.pool.stats;
  const b = Tensor.empty([900], { gpu }); // same size class (4000 and 3600 bytes → 4096)
  const reused = b.buffer === a.buffer;
  b.release();
  const after = gpu.pool.stats;
  if (!reused) fail("a released buffer of the same size class was not reused");
  if (after.reused !== mid.reused + 1) fail("reuse counter did not advance");
  await Promise.resolve();
  return [{ got: [after.inUse], want: [before.inUse] }];
});

registerCase("poolPeak", async (gpu) => {
  // bytes in use follow acquire/release; the peak holds the maximum since resetPeak
  const base = gpu.pool.stats.inUseBytes;
  gpu.pool.resetPeak();
  const a = Tensor.empty([1024], { gpu }); // 4096 bytes
  const b = Tensor.empty([2048], { gpu }); // 8192 bytes
  const held = gpu.pool.stats.inUseBytes - base;
  a.release();
  b.release();
  const c = Tensor.empty([256], { gpu }); // 1024 bytes
  const s1 = gpu.pool.stats;
  c.release();
  gpu.pool.resetPeak();
  const s2 = gpu.pool.stats;
  await Promise.resolve();
  return [{
    got: [held, s1.peakInUseBytes - base, s1.inUseBytes - base, s2.peakInUseBytes - base],
    want: [12288, 12288, 1024, 0],
  }];
});

registerCase("pipelines", async (gpu) => {
  const cache = new PipelineCache(gpu.device);
  const src = "override W: u32 = 1u;\n@compute @workgroup_size(1) fn main() { _ = W; }";
  const p1 = await cache.get(src), p2 = await cache.get(src);
  const p3 = await cache.get(src, { constants: { W: 2 } });
  if (p1 !== p2) fail("same source gave two pipelines");
  if (p1 === p3) fail("different override constants shared a pipeline");
  let threw = false;
  try {
    await cache.get("fn main( {");
  } catch (e) {
    threw = String(e).includes("WGSL compilation failed");
  }
  if (!threw) fail("a WGSL syntax error did not raise a TokenlabError");
  return [{ got: [cache.size], want: [2] }];
});

registerCase("profiler", async (gpu, s) => {
  const prof = new Profiler(gpu, { wallClock: s.wallClock });
  const src = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var a = f32(g.x);
  for (var i = 0; i < 2000; i++) { a = a * 0.999 + 1.0; }
  x[g.x] = a;
}`;
  const pipeline = await gpu.pipelines.get(src);
  const buf = gpu.scratch(64 * 64 * 4);
  const dispatch = () =>
    gpu.run([{ pipeline, label: "spin", bindings: [{ buffer: buf }], workgroups: [64] }], {
      profiler: prof,
    });
  await prof.measure("wall", dispatch);
  dispatch();
  const entries = await prof.read();
  gpu.pool.release(buf);
  const spin = entries.find((e) => e.label === "spin");
  const wall = entries.find((e) => e.label === "wall")!;
  if (!(wall.totalMs > 0)) fail(`wall-clock time not positive: ${wall.totalMs}`);
  if (prof.mode === "timestamp") {
    if (!spin || spin.count !== 2 || !(spin.totalMs > 0)) {
      fail(`timestamp entries wrong: ${JSON.stringify(entries)}`);
    }
  } else if (spin) fail("wall-clock mode recorded pass timestamps");
  return [{
    got: [prof.mode === "timestamp" ? 1 : 0],
    want: [s.wallClock || !gpu.hasTimestamps ? 0 : 1],
  }];
});

await serve();
