/**
 * The roofline of the current adapter: peak compute (a WGSL FMA-chain kernel, f32 and f16)
 * and peak memory bandwidth (a vec4 copy kernel), measured rather than looked up, plus the
 * helpers that place a kernel under that roof and time kernels the same way everywhere.
 *
 * The roofline model (Williams, Waterman and Patterson, 2009): a kernel that does F
 * floating-point operations and must move B bytes cannot finish faster than
 * max(F / peak, B / bandwidth). Its attainable rate is min(peak, I × bandwidth) with the
 * arithmetic intensity I = F / B; {@linkcode rooflinePoint} reports how much of that a
 * measured time achieves.
 *
 * @module
 */

import { check } from "../util/errors.ts";
import { currentDevice, type GpuContext } from "./device.ts";
import { Profiler } from "./profiler.ts";
import { dispatch } from "./dispatch.ts";

/** Options for {@linkcode measureRoofline}. */
export interface RooflineOptions {
  /** Timed repetitions of each kernel after calibration; the fastest is kept (default 5). */
  repeats?: number;
  /**
   * Shortest time, in ms, one timed FMA dispatch should take; the chain length doubles until
   * it does (default 20 on a hardware adapter, 40 on a software one and on the CPU path).
   */
  minMs?: number;
  /**
   * Bytes of each buffer of the copy kernel (read once and written once, so 2× this crosses
   * memory). Default: 512 MiB on a hardware adapter (far beyond any L2), 64 MiB on a software
   * adapter and on the CPU path, always capped by the adapter's binding limit.
   */
  copyBytes?: number;
  /** Time with the wall clock around the queue even when timestamp queries exist. */
  wallClock?: boolean;
  /** Skip the f16 compute measurement (it is also skipped without `shader-f16`). */
  skipF16?: boolean;
}

/** A measured roofline: what the adapter (or the CPU reference path) can do at best. */
export interface Roofline {
  /** Adapter name, or "CPU (JavaScript reference path)" without an adapter. */
  device: string;
  /** "gpu" when measured with WGSL kernels, "cpu" when measured with the JavaScript loops. */
  backend: "gpu" | "cpu";
  /** Whether the adapter is a software rasteriser (llvmpipe, SwiftShader …). */
  software: boolean;
  /** Peak f32 compute in GFLOP/s (an FMA counts 2 FLOPs). */
  peakGflopsF32: number;
  /** Peak f16 compute in GFLOP/s; null without `shader-f16` (and on the CPU path). */
  peakGflopsF16: number | null;
  /** Peak memory bandwidth in GB/s (bytes read plus bytes written, 10⁹ bytes per GB). */
  bandwidthGBps: number;
  /** Ridge point: the f32 arithmetic intensity (FLOP/byte) where compute and memory roofs meet. */
  ridge: number;
  /** How the kernels were timed. */
  timing: "timestamp" | "wall-clock";
  /** What was run: FLOPs per FMA dispatch (f32) and bytes per copy (read + written). */
  work: { fmaFlops: number; copyBytes: number };
}

/** A kernel's work and measured time, for {@linkcode rooflinePoint}. */
export interface KernelCost {
  /** Floating-point operations per call (0 for pure data movement). */
  flops: number;
  /** Bytes that must cross memory per call (compulsory traffic: inputs once, outputs once). */
  bytes: number;
  /** Measured milliseconds per call. */
  ms: number;
  /**
   * Precision of the arithmetic, choosing the compute roof (default "f32"; tokenlab's kernels
   * accumulate in f32 even with f16 storage).
   */
  compute?: "f32" | "f16";
}

/** Where a kernel sits under the roofline. */
export interface RooflinePoint {
  /** Arithmetic intensity, FLOP per byte (0 when the kernel counts no FLOPs). */
  intensity: number;
  /** Achieved GFLOP/s. */
  gflops: number;
  /** Achieved GB/s. */
  gbps: number;
  /** Attainable GFLOP/s at this intensity: min(peak, intensity × bandwidth). */
  attainableGflops: number;
  /** Which roof limits the kernel at its intensity. */
  bound: "compute" | "memory";
  /**
   * Percentage of the roofline achieved: 100 × max(F / peak, B / bandwidth) / time. With
   * FLOPs counted this equals 100 × achieved / attainable GFLOP/s; with none it is the share
   * of the bandwidth achieved.
   */
  percent: number;
}

/**
 * Places a measured kernel under a roofline: its intensity, achieved rates, the attainable
 * rate min(peak, intensity × bandwidth), and the percentage of it achieved.
 *
 * @example
 * ```ts
 * import { rooflinePoint, type Roofline } from "@tokenlab/tokenlab/gpu";
 * const roof: Roofline = {
 *   device: "example", backend: "gpu", software: false, peakGflopsF32: 1000,
 *   peakGflopsF16: null, bandwidthGBps: 100, ridge: 10, timing: "timestamp",
 *   work: { fmaFlops: 0, copyBytes: 0 },
 * };
 * // 2 GFLOP over 0.1 GB in 4 ms: intensity 20 (compute-bound), 500 of 1000 GFLOP/s attainable
 * const p = rooflinePoint(roof, { flops: 2e9, bytes: 1e8, ms: 4 });
 * console.log(p.bound, p.gflops, p.percent); // "compute" 500 50
 * ```
 */
export function rooflinePoint(roofline: Roofline, cost: KernelCost): RooflinePoint {
  check(roofline && typeof roofline === "object", "rooflinePoint needs a Roofline", {
    hint: "measure one with `await measureRoofline(gpu)`",
  });
  const compute = cost?.compute ?? "f32";
  check(compute === "f32" || compute === "f16", `compute must be "f32" or "f16", got ${compute}`);
  const peak = compute === "f16" ? roofline.peakGflopsF16 : roofline.peakGflopsF32;
  check(
    typeof peak === "number" && peak > 0 && roofline.bandwidthGBps > 0,
    `the roofline has no positive ${compute} peak and bandwidth (${peak}, ${roofline.bandwidthGBps})`,
    { hint: 'use compute: "f32", or a roofline measured on an adapter with shader-f16' },
  );
  const { flops, bytes, ms } = cost;
  check(
    Number.isFinite(flops) && flops >= 0 && Number.isFinite(bytes) && bytes >= 0,
    `flops and bytes must be finite and ≥ 0, got ${flops} and ${bytes}`,
  );
  check(flops > 0 || bytes > 0, "a kernel cost needs flops or bytes above 0");
  check(Number.isFinite(ms) && ms > 0, `ms must be a positive time, got ${ms}`, {
    hint: "time at least one call; a zero time means nothing was measured",
  });
  const bw = roofline.bandwidthGBps;
  const intensity = bytes > 0 ? flops / bytes : Infinity;
  const tCompute = flops / (peak * 1e6), tMemory = bytes / (bw * 1e6); // ms
  return {
    intensity: bytes > 0 ? intensity : 0,
    gflops: flops / (ms * 1e6),
    gbps: bytes / (ms * 1e6),
    attainableGflops: Math.min(peak, intensity * bw),
    bound: tCompute >= tMemory ? "compute" : "memory",
    percent: (100 * Math.max(tCompute, tMemory)) / ms,
  };
}

/** Options for {@linkcode timeKernel}. */
export interface TimeKernelOptions {
  /**
   * The device whose queue is timed; null times the call with the wall clock alone (CPU path).
   * Default: {@linkcode currentDevice}.
   */
  gpu?: GpuContext | null;
  /** Timed calls (default 5). */
  iters?: number;
  /** Untimed calls first, to compile pipelines and fill pools (default 1). */
  warmup?: number;
  /**
   * Time each call with the wall clock (after draining the queue, until the queue drains)
   * even when timestamp queries exist: includes host work, dispatch and read-back.
   */
  wallClock?: boolean;
}

/** Result of {@linkcode timeKernel}. */
export interface KernelTiming {
  /** Median milliseconds per call. */
  ms: number;
  /** Fastest call, ms. */
  minMs: number;
  /** Every timed call, ms. */
  samples: number[];
  /** "timestamp": GPU time of the passes given the profiler; "wall-clock": the whole call. */
  mode: "timestamp" | "wall-clock";
}

/**
 * Times a kernel call the way the benchmarks and notebooks do: `run(profiler)` is called
 * `warmup + iters` times; in timestamp mode it must hand `profiler` to every kernel it
 * launches (`{ profiler }` in the kernel options), and the call's time is the sum of those
 * passes on the GPU; in wall-clock mode (no timestamp queries, `wallClock`, or no adapter)
 * the whole call is timed until the queue is idle. Release outputs inside `run`.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor, timeKernel } from "@tokenlab/tokenlab/gpu";
 * import { softmax } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const x = Tensor.fromArray(new Float32Array(4096), { shape: [4, 1024] });
 * const t = await timeKernel(async (profiler) => (await softmax(x, { profiler })).release(), {
 *   gpu,
 *   iters: 3,
 * });
 * console.log(t.mode, t.ms);
 * ```
 */
export async function timeKernel(
  run: (profiler: Profiler | undefined) => unknown,
  options: TimeKernelOptions = {},
): Promise<KernelTiming> {
  check(typeof run === "function", "timeKernel needs a function that launches the kernel", {
    hint: "pass `async (profiler) => { … kernel(inputs, { profiler }) … }`",
  });
  const iters = options.iters ?? 5, warmup = options.warmup ?? 1;
  check(Number.isInteger(iters) && iters >= 1, `iters must be an integer ≥ 1, got ${iters}`);
  check(Number.isInteger(warmup) && warmup >= 0, `warmup must be an integer ≥ 0, got ${warmup}`);
  const gpu = options.gpu === undefined ? currentDevice() : options.gpu;
  const samples: number[] = [];
  if (!gpu) {
    for (let i = 0; i < warmup; i++) await run(undefined);
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      await run(undefined);
      samples.push(performance.now() - t0);
    }
    return summarise(samples, "wall-clock");
  }
  const prof = new Profiler(gpu, { wallClock: options.wallClock });
  try {
    for (let i = 0; i < warmup; i++) await run(undefined);
    if (prof.mode === "wall-clock") {
      for (let i = 0; i < iters; i++) samples.push(await prof.measure("call", () => run(prof)));
      return summarise(samples, "wall-clock");
    }
    let before = 0;
    for (let i = 0; i < iters; i++) {
      await run(prof);
      const entries = await prof.read();
      const total = entries.reduce((s, e) => s + e.totalMs, 0);
      const count = entries.reduce((s, e) => s + e.count, 0);
      check(count > 0, "timeKernel recorded no GPU pass in timestamp mode", {
        hint: "hand the profiler to each kernel ({ profiler }), or pass wallClock: true",
      });
      samples.push(total - before);
      before = total;
    }
    return summarise(samples, "timestamp");
  } finally {
    prof.destroy();
  }
}

function summarise(samples: number[], mode: "timestamp" | "wall-clock"): KernelTiming {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const ms = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { ms, minMs: sorted[0], samples, mode };
}

const FMA_CHAINS = 8, FMA_UNROLL = 4;

/**
 * WGSL of the peak-compute kernel: each thread runs 8 independent chains of vec4 FMAs
 * (`a = fma(a, m, c)`, which converges and cannot be folded: m and c are uniforms), the loop
 * body unrolled 4 times, and stores the sum so nothing is dead code. FLOPs per thread:
 * `iters × 4 (unroll) × 8 (chains) × 4 (lanes) × 2`.
 */
export function fmaPeakWgsl(dtype: "f32" | "f16"): string {
  check(dtype === "f32" || dtype === "f16", `dtype must be "f32" or "f16", got ${dtype}`);
  const T = dtype;
  const chains = Array.from({ length: FMA_CHAINS }, (_, i) => i);
  const body = chains.map((i) => `a${i} = fma(a${i}, m, c);`).join(" ");
  return `${
    dtype === "f16" ? "enable f16;\n" : ""
  }struct Params { iters: u32, mul: f32, add: f32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<${T}>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let id = (wg.x + wg.y * params.gridX) * 256u + tid;
  let m = vec4<${T}>(${T}(params.mul));
  let c = vec4<${T}>(${T}(params.add));
  let base = vec4<${T}>(${T}(id & 15u), ${T}(1), ${T}(2), ${T}(3)) * ${T}(0.0625);
${chains.map((i) => `  var a${i} = base + vec4<${T}>(${T}(${i}) * ${T}(0.125));`).join("\n")}
  for (var i = 0u; i < params.iters; i++) {
${Array.from({ length: FMA_UNROLL }, () => `    ${body}`).join("\n")}
  }
  out[id] = ${chains.map((i) => `a${i}`).join(" + ")};
}
`;
}

/**
 * WGSL of the bandwidth kernel: a grid-stride copy of `n` vec4<f32> elements from `src` to `dst`.
 */
export const COPY_BANDWIDTH_WGSL = `struct Params { n: u32, stride: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u) {
  var i = g.x;
  while (i < params.n) {
    dst[i] = src[i];
    i += params.stride;
  }
}
`;

/**
 * Measures the roofline of `gpu`: peak f32 (and f16 with `shader-f16`) compute with an
 * FMA-chain kernel ({@linkcode fmaPeakWgsl}) whose chain length is doubled until one dispatch
 * lasts `minMs`, and peak bandwidth with a vec4 copy ({@linkcode COPY_BANDWIDTH_WGSL}) over
 * buffers larger than the caches; each is the fastest of `repeats` timed runs. With
 * `gpu = null` it measures the CPU reference path instead: the same FMA chains and a copy
 * loop written in JavaScript on one thread, which is what the CPU references can reach.
 *
 * @example
 * ```ts
 * import { getDevice, measureRoofline } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice();
 * const roof = await measureRoofline(gpu, { repeats: 2, minMs: 5, copyBytes: 1 << 22 });
 * console.log(roof.device, roof.peakGflopsF32, roof.bandwidthGBps);
 * ```
 */
export async function measureRoofline(
  gpu: GpuContext | null,
  options: RooflineOptions = {},
): Promise<Roofline> {
  const repeats = options.repeats ?? 5;
  check(
    Number.isInteger(repeats) && repeats >= 1,
    `repeats must be an integer ≥ 1, got ${repeats}`,
  );
  const software = gpu ? gpu.adapter.software : true;
  const minMs = options.minMs ?? (software ? 40 : 20);
  check(minMs > 0 && Number.isFinite(minMs), `minMs must be a positive number, got ${minMs}`);
  if (options.copyBytes !== undefined) {
    check(
      Number.isInteger(options.copyBytes) && options.copyBytes >= 4096,
      `copyBytes must be an integer ≥ 4096, got ${options.copyBytes}`,
    );
  }
  return gpu ? await measureGpu(gpu, { ...options, repeats, minMs }) : measureCpu({
    ...options,
    repeats,
    minMs,
  });
}

type Resolved = RooflineOptions & { repeats: number; minMs: number };

async function measureGpu(gpu: GpuContext, o: Resolved): Promise<Roofline> {
  const prof = new Profiler(gpu, { wallClock: o.wallClock });
  const device = gpu.device;
  const timeOne = async (encode: (p: Profiler) => Promise<void>): Promise<number> => {
    if (prof.mode === "wall-clock") return await prof.measure("roofline", () => encode(prof));
    prof.reset();
    await encode(prof);
    const entries = await prof.read();
    return entries.reduce((s, e) => s + e.totalMs, 0);
  };
  try {
    // compute: 1M threads on hardware, 16K on a software adapter
    const groups = gpu.adapter.software ? 64 : 4096;
    const gx = Math.min(groups, 65535), gy = Math.ceil(groups / gx);
    const threads = gx * gy * 256;
    const out = device.createBuffer({ size: threads * 16, usage: GPUBufferUsage.STORAGE });
    const fma = async (dtype: "f32" | "f16"): Promise<{ gflops: number; flops: number }> => {
      const src = fmaPeakWgsl(dtype);
      const launch = (iters: number) => async (p: Profiler) => {
        await dispatch(gpu, {
          label: `roofline.fma.${dtype}`,
          source: src,
          uniforms: { iters, mul: 0.9, add: 0.1, gridX: gx },
          bindings: { out: { buffer: out, size: threads * (dtype === "f16" ? 8 : 16) } },
          workgroups: [gx, gy],
          profiler: p,
        });
      };
      // compile outside the timed runs
      await gpu.pipelines.get(src, { label: `roofline.fma.${dtype}` });
      let iters = 16;
      let ms = await timeOne(launch(iters)); // also the warm-up
      while (ms < o.minMs && iters < 1 << 24) {
        iters *= ms > 0 ? Math.min(16, Math.max(2, 2 ** Math.ceil(Math.log2(o.minMs / ms)))) : 2;
        ms = await timeOne(launch(iters));
      }
      for (let r = 0; r < o.repeats; r++) ms = Math.min(ms, await timeOne(launch(iters)));
      const flops = threads * iters * FMA_UNROLL * FMA_CHAINS * 4 * 2;
      return { gflops: flops / (ms * 1e6), flops };
    };
    const f32 = await fma("f32");
    const f16 = gpu.hasF16 && !o.skipF16 ? await fma("f16") : null;
    out.destroy();

    // bandwidth: two buffers beyond the caches, capped by the binding limits
    const limit = Math.min(
      device.limits.maxStorageBufferBindingSize,
      device.limits.maxBufferSize,
    );
    const want = o.copyBytes ?? (gpu.adapter.software ? 64 << 20 : 512 << 20);
    const bytes = Math.floor(Math.min(want, limit) / 16) * 16;
    const n = bytes / 16;
    const usage = GPUBufferUsage.STORAGE;
    const src = device.createBuffer({ size: bytes, usage });
    const dst = device.createBuffer({ size: bytes, usage });
    // a software adapter spreads ~1K workgroups over its threads best (measured on llvmpipe)
    const copyGroups = Math.min(Math.ceil(n / 256), gpu.adapter.software ? 1024 : 65535);
    const copy = async (p: Profiler) => {
      await dispatch(gpu, {
        label: "roofline.copy",
        source: COPY_BANDWIDTH_WGSL,
        uniforms: { n, stride: copyGroups * 256 },
        bindings: { src, dst },
        workgroups: [copyGroups],
        profiler: p,
      });
    };
    await gpu.pipelines.get(COPY_BANDWIDTH_WGSL, { label: "roofline.copy" });
    let ms = await timeOne(copy); // warm-up (first touch of the pages)
    ms = Infinity;
    for (let r = 0; r < Math.max(o.repeats, 3); r++) ms = Math.min(ms, await timeOne(copy));
    src.destroy();
    dst.destroy();
    const bandwidthGBps = (2 * bytes) / (ms * 1e6);
    return {
      device: gpu.adapter.name,
      backend: "gpu",
      software: gpu.adapter.software,
      peakGflopsF32: f32.gflops,
      peakGflopsF16: f16?.gflops ?? null,
      bandwidthGBps,
      ridge: f32.gflops / bandwidthGBps,
      timing: prof.mode,
      work: { fmaFlops: f32.flops, copyBytes: 2 * bytes },
    };
  } finally {
    prof.destroy();
  }
}

function measureCpu(o: Resolved): Roofline {
  // compute: 8 independent scalar FMA chains per step (what a JS inner loop can overlap)
  const chain = (iters: number): number => {
    let a0 = 0.1, a1 = 0.2, a2 = 0.3, a3 = 0.4, a4 = 0.5, a5 = 0.6, a6 = 0.7, a7 = 0.8;
    const m = 0.9, c = 0.1;
    for (let i = 0; i < iters; i++) {
      a0 = a0 * m + c;
      a1 = a1 * m + c;
      a2 = a2 * m + c;
      a3 = a3 * m + c;
      a4 = a4 * m + c;
      a5 = a5 * m + c;
      a6 = a6 * m + c;
      a7 = a7 * m + c;
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  };
  let sink = 0;
  const timeChain = (iters: number) => {
    const t0 = performance.now();
    sink += chain(iters);
    return performance.now() - t0;
  };
  let iters = 1 << 14;
  let ms = timeChain(iters);
  while (ms < o.minMs && iters < 1 << 30) {
    iters *= ms > 0 ? Math.min(16, Math.max(2, 2 ** Math.ceil(Math.log2(o.minMs / ms)))) : 2;
    ms = timeChain(iters);
  }
  for (let r = 0; r < o.repeats; r++) ms = Math.min(ms, timeChain(iters));
  const flops = iters * 8 * 2;
  // bandwidth: element-wise copy loop over Float32Arrays beyond the caches
  const bytes = Math.floor((o.copyBytes ?? 64 << 20) / 4) * 4;
  const src = new Float32Array(bytes / 4).fill(1), dst = new Float32Array(bytes / 4);
  const copy = () => {
    const t0 = performance.now();
    for (let i = 0; i < src.length; i++) dst[i] = src[i];
    return performance.now() - t0;
  };
  let copyMs = copy();
  for (let r = 0; r < Math.max(o.repeats, 3); r++) copyMs = Math.min(copyMs, copy());
  sink += dst[dst.length - 1];
  if (!Number.isFinite(sink)) throw new Error("unreachable: roofline chains diverged");
  const gflops = flops / (ms * 1e6), bandwidthGBps = (2 * bytes) / (copyMs * 1e6);
  return {
    device: "CPU (JavaScript reference path)",
    backend: "cpu",
    software: true,
    peakGflopsF32: gflops,
    peakGflopsF16: null,
    bandwidthGBps,
    ridge: gflops / bandwidthGBps,
    timing: "wall-clock",
    work: { fmaFlops: flops, copyBytes: 2 * bytes },
  };
}
