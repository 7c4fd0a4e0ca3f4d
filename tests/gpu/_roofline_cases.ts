// Child process for the roofline tests (see tests/gpu/_child.ts): measures the adapter's
// roofline at small sizes, runs the FMA kernel with a tiny chain against the same arithmetic
// on the CPU, and times a kernel with timeKernel in both modes.
import { measureRoofline, rooflinePoint, Tensor, timeKernel } from "../../lib/gpu/mod.ts";
import { COPY_BANDWIDTH_WGSL, fmaPeakWgsl } from "../../lib/gpu/roofline.ts";
import { softmax } from "../../kernels/mod.ts";
import { registerCase, serve } from "../kernels/_gpu_cases.ts";

const fail = (msg: string): never => {
  throw new Error(msg);
};

registerCase("roofline", async (gpu) => {
  const roof = await measureRoofline(gpu, { repeats: 2, minMs: 5, copyBytes: 4 << 20 });
  for (const [k, v] of Object.entries({ f32: roof.peakGflopsF32, bw: roof.bandwidthGBps })) {
    if (!(Number.isFinite(v) && v > 0)) fail(`${k} is not a positive rate: ${v}`);
  }
  if ((roof.peakGflopsF16 === null) === gpu.hasF16) {
    fail(`f16 peak ${roof.peakGflopsF16} but hasF16 = ${gpu.hasF16}`);
  }
  if (roof.work.copyBytes !== 2 * (4 << 20)) fail(`copied ${roof.work.copyBytes} bytes`);
  if (Math.abs(roof.ridge - roof.peakGflopsF32 / roof.bandwidthGBps) > 1e-9 * roof.ridge) {
    fail("ridge is not peak / bandwidth");
  }
  // the copy kernel measured at the roofline's own speed sits at 100% (memory-bound)
  const p = rooflinePoint(roof, {
    flops: 0,
    bytes: roof.work.copyBytes,
    ms: roof.work.copyBytes / (roof.bandwidthGBps * 1e6),
  });
  if (p.bound !== "memory") fail(`copy kernel is ${p.bound}-bound`);
  return [{ got: [p.percent, roof.backend === "gpu" ? 1 : 0], want: [100, 1] }];
});

registerCase("fmaValues", async (gpu, s) => {
  // iters loop trips × 4 unrolled FMAs per chain: a ← a·m + c, 8 chains, output their sum
  const dtype = s.dtype as "f32" | "f16";
  // without shader-f16 the f16 case is ignored by gpuTest; here the kernel must be refused
  if (dtype === "f16" && !gpu.hasF16) fail("f16 case run on a device without shader-f16");
  const src = fmaPeakWgsl(dtype);
  const pipeline = await gpu.pipelines.get(src);
  const groups = 2, threads = groups * 256, lanes = threads * 4;
  const out = Tensor.empty([lanes], { dtype, gpu });
  const params = gpu.uniformBuffer(src, { iters: s.iters, mul: 0.5, add: 1, gridX: groups });
  gpu.run([{
    pipeline,
    label: "fma",
    bindings: [{ buffer: params }, { buffer: out.buffer, size: out.bindingSize }],
    workgroups: [groups],
  }], { release: [params] });
  const got = await out.toArray();
  out.release();
  const want = new Float64Array(lanes);
  for (let id = 0; id < threads; id++) {
    for (let lane = 0; lane < 4; lane++) {
      let sum = 0;
      for (let ch = 0; ch < 8; ch++) {
        let a = [id & 15, 1, 2, 3][lane] * 0.0625 + ch * 0.125;
        for (let i = 0; i < 4 * s.iters; i++) a = a * 0.5 + 1;
        sum += a;
      }
      want[id * 4 + lane] = sum;
    }
  }
  return [{ got, want }];
});

registerCase("copyValues", async (gpu) => {
  // the bandwidth kernel copies every element even when the grid is smaller than the data
  const pipeline = await gpu.pipelines.get(COPY_BANDWIDTH_WGSL);
  const n = 5000; // vec4 elements: 20000 floats, grid of 3 workgroups strides over them
  const data = Float32Array.from({ length: 4 * n }, (_, i) => i * 0.5 - 7);
  const src = Tensor.fromArray(data, { shape: [4 * n], gpu });
  const dst = Tensor.zeros([4 * n], { gpu });
  const params = gpu.uniformBuffer(COPY_BANDWIDTH_WGSL, { n, stride: 3 * 256 });
  gpu.run([{
    pipeline,
    label: "copy",
    bindings: [{ buffer: params }, { buffer: src.buffer }, { buffer: dst.buffer }],
    workgroups: [3],
  }], { release: [params] });
  const got = await dst.toArray();
  src.release();
  dst.release();
  return [{ got, want: data }];
});

registerCase("timeKernel", async (gpu, s) => {
  const x = Tensor.fromArray(new Float32Array(64 * 256).fill(1), { shape: [64, 256], gpu });
  let calls = 0;
  const t = await timeKernel(async (profiler) => {
    calls++;
    (await softmax(x, { profiler })).release();
  }, { gpu, iters: 3, warmup: 1, wallClock: s.wallClock });
  x.release();
  const mode = s.wallClock || !gpu.hasTimestamps ? "wall-clock" : "timestamp";
  if (t.mode !== mode) fail(`mode ${t.mode}, expected ${mode}`);
  if (!t.samples.every((ms) => ms > 0)) fail(`non-positive samples ${t.samples}`);
  if (!(t.minMs <= t.ms)) fail(`min ${t.minMs} > median ${t.ms}`);
  // a run that does not hand the profiler to its kernel is refused in timestamp mode
  if (mode === "timestamp") {
    let refused = false;
    await timeKernel(() => {}, { gpu, iters: 1, warmup: 0 }).catch((e) => {
      refused = /no GPU pass/.test(String(e));
    });
    if (!refused) fail("a run without profiled passes was not refused");
  }
  return [{ got: [calls, t.samples.length], want: [4, 3] }];
});

await serve();
