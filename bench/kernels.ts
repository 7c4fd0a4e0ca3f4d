/**
 * Kernel benchmark: times each WGSL kernel with the GPU profiler (timestamp queries when the
 * adapter has them, else wall clock around the queue) and reports GFLOP/s, GB/s and the
 * percentage of the adapter's roofline (measured first with `measureRoofline`: peak f32 FMA
 * rate and vec4-copy bandwidth; % = 100 × max(FLOPs / peak, bytes / bandwidth) / time, so
 * memory-bound kernels are judged against the bandwidth and compute-bound ones against the
 * peak; every kernel accumulates in f32, so the f32 peak is the compute roof). Default shapes are small enough for a software adapter (llvmpipe); `--large` runs
 * the H100 shapes (matmul 8192³, flash attention 32 heads d=128 S=4096, decode attention over
 * a 64K f16 KV cache), matching bench/peers/kernels_torch.py.
 *
 * Run: `deno task bench:kernels [--large] [--wall] [--iters N] [--only name,name] [--json file]`
 * (`--wall` times with the wall clock even when timestamp queries exist).
 *
 * @module
 */
import {
  type DType,
  getDevice,
  type GpuContext,
  measureRoofline,
  Profiler,
  rooflinePoint,
  Tensor,
} from "../lib/gpu/mod.ts";
import { Rng } from "../lib/util/rng.ts";
import * as K from "../kernels/mod.ts";

const args = Deno.args;
const large = args.includes("--large");
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const iters = Number(flag("--iters") ?? (large ? 10 : 3));
const only = flag("--only")?.split(",");
const jsonPath = flag("--json");

const gpu = await getDevice();
if (!gpu) {
  console.log("no WebGPU adapter: nothing to benchmark (the CPU references are not timed here)");
  Deno.exit(0);
}

interface Case {
  name: string;
  shape: string;
  /**
   * Floating-point operations per call; for the element-wise kernels a nominal count per
   * element (rmsnorm 4, +residual 5, rope 3, swiglu 5, softmax 5, cross-entropy 4); 0 for
   * top-k and sampling, which compare rather than compute.
   */
  flops: number;
  /** Bytes that must cross memory per call (inputs read once, outputs written once). */
  bytes: number;
  setup: (g: GpuContext) => Tensor[];
  call: (t: Tensor[], prof: Profiler) => Promise<Tensor[]>;
}

const rng = new Rng(1);
function rand(g: GpuContext, shape: number[], dtype: DType = "f32"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.next() * 2 - 1;
  return Tensor.fromArray(data, { shape, dtype, gpu: g });
}
const bytesOf = (dtype: DType) => (dtype === "f16" ? 2 : 4);

function matmulCase(m: number, n: number, k: number, dtype: DType): Case {
  const b = bytesOf(dtype);
  return {
    name: `matmul ${dtype}`,
    shape: `${m}×${n}×${k}`,
    flops: 2 * m * n * k,
    bytes: (m * k + k * n + m * n) * b,
    setup: (g) => [rand(g, [m, k], dtype), rand(g, [k, n], dtype)],
    call: async ([a, bb], profiler) => [await K.matmul({ a, b: bb }, { profiler })],
  };
}

function flashCase(s: number, h: number, d: number, dtype: DType): Case {
  return {
    name: `flash attention causal ${dtype}`,
    shape: `H=${h} S=${s} d=${d}`,
    flops: (4 * s * s * d * h) / 2,
    bytes: 4 * s * h * d * bytesOf(dtype),
    setup: (g) => [rand(g, [s, h, d], dtype), rand(g, [s, h, d], dtype), rand(g, [s, h, d], dtype)],
    call: async ([q, k, v], profiler) => {
      const r = await K.flashAttention({ q, k, v }, { causal: true, profiler });
      return [r.out, r.lse];
    },
  };
}

function decodeCase(len: number, hq: number, hkv: number, d: number, dtype: DType): Case {
  return {
    name: `decode attention ${dtype}`,
    shape: `KV=${len} Hq=${hq} Hkv=${hkv} d=${d}`,
    flops: 4 * len * hq * d,
    bytes: 2 * len * hkv * d * bytesOf(dtype),
    setup: (g) => [
      rand(g, [1, hq, d], dtype),
      rand(g, [len, hkv, d], dtype),
      rand(g, [len, hkv, d], dtype),
    ],
    call: async ([q, k, v], profiler) => [await K.decodeAttention({ q, k, v }, { profiler })],
  };
}

function sparseCase(len: number, selected: number, hq: number, hkv: number, d: number): Case {
  const positions = Array.from(
    { length: hkv },
    () => Array.from({ length: selected }, () => Math.floor(rng.next() * len)),
  );
  return {
    name: "sparse attention f16",
    shape: `KV=${len} sel=${selected} Hq=${hq} Hkv=${hkv} d=${d}`,
    flops: 4 * selected * hq * d,
    bytes: 2 * selected * hkv * d * 2,
    setup: (g) => [
      rand(g, [1, hq, d], "f16"),
      rand(g, [len, hkv, d], "f16"),
      rand(g, [len, hkv, d], "f16"),
    ],
    call: async ([q, k, v], profiler) => [
      await K.sparseAttention({ q, k, v, positions }, { profiler }),
    ],
  };
}

const NOMINAL_FLOPS: Record<string, number> = {
  rmsnorm: 4,
  "rmsnorm+residual": 5,
  rope: 3,
  swiglu: 5,
  softmax: 5,
};

function rowCase(name: string, rows: number, cols: number, streams: number): Case {
  return {
    name,
    shape: `${rows}×${cols}`,
    flops: NOMINAL_FLOPS[name] * rows * cols,
    bytes: streams * rows * cols * 4,
    setup: (g) => [rand(g, [rows, cols]), rand(g, [rows, cols]), rand(g, [cols])],
    call: async ([x, y, w], profiler) => {
      if (name === "rmsnorm") return [(await K.rmsnorm({ x, weight: w }, { profiler })).out];
      if (name === "rmsnorm+residual") {
        const r = await K.rmsnorm({ x, weight: w, residual: y }, { profiler });
        return [r.out, r.residual!];
      }
      if (name === "swiglu") return [await K.swiglu({ gate: x, up: y }, { profiler })];
      if (name === "softmax") return [await K.softmax(x, { profiler })];
      const heads = cols / 128;
      const positions = Array.from({ length: rows }, (_, i) => i);
      return [await K.rope({ x: x.reshape([rows, heads, 128]), positions }, { profiler })];
    },
  };
}

function crossEntropyCase(rows: number, vocab: number): Case {
  const targets = Array.from({ length: rows }, () => Math.floor(rng.next() * vocab));
  return {
    name: "cross-entropy",
    shape: `${rows}×${vocab}`,
    flops: 4 * rows * vocab,
    bytes: rows * vocab * 4,
    setup: (g) => [rand(g, [rows, vocab])],
    call: async (
      [x],
      profiler,
    ) => [(await K.crossEntropy({ logits: x, targets }, { profiler })).loss],
  };
}

function samplingCase(name: "top-k" | "sample", rows: number, vocab: number): Case {
  return {
    name,
    shape: `${rows}×${vocab}${name === "top-k" ? " k=50" : " k=50 p=0.9"}`,
    flops: 0,
    bytes: rows * vocab * 4,
    setup: (g) => [rand(g, [rows, vocab])],
    call: async ([x], profiler) => {
      if (name === "sample") {
        return [await K.sample(x, { temperature: 0.8, topK: 50, topP: 0.9, profiler })];
      }
      const r = await K.topK(x, { k: 50, profiler });
      return [r.values, r.indices];
    },
  };
}

const cases: Case[] = large
  ? [
    matmulCase(8192, 8192, 8192, "f32"),
    matmulCase(8192, 8192, 8192, "f16"),
    flashCase(4096, 32, 128, "f32"),
    flashCase(4096, 32, 128, "f16"),
    decodeCase(65536, 32, 8, 128, "f16"),
    sparseCase(65536, 4096, 32, 8, 128),
    rowCase("rmsnorm", 4096, 8192, 2),
    rowCase("rmsnorm+residual", 4096, 8192, 4),
    rowCase("rope", 4096, 4096, 2),
    rowCase("swiglu", 4096, 14336, 3),
    rowCase("softmax", 4096, 32768, 2),
    crossEntropyCase(4096, 128256),
    samplingCase("top-k", 64, 128256),
    samplingCase("sample", 64, 128256),
  ]
  : [
    matmulCase(256, 256, 256, "f32"),
    matmulCase(256, 256, 256, "f16"),
    flashCase(256, 4, 64, "f32"),
    flashCase(256, 4, 64, "f16"),
    decodeCase(4096, 8, 2, 128, "f16"),
    sparseCase(4096, 512, 8, 2, 128),
    rowCase("rmsnorm", 64, 4096, 2),
    rowCase("rmsnorm+residual", 64, 4096, 4),
    rowCase("rope", 64, 4096, 2),
    rowCase("swiglu", 64, 4096, 3),
    rowCase("softmax", 64, 4096, 2),
    crossEntropyCase(64, 32000),
    samplingCase("top-k", 8, 32000),
    samplingCase("sample", 8, 32000),
  ];

console.log(`adapter: ${gpu.adapter.name}${gpu.adapter.software ? " (software)" : ""}`);
const roofline = await measureRoofline(gpu, { wallClock: args.includes("--wall") });
console.log(
  `roofline: f32 ${roofline.peakGflopsF32.toFixed(1)} GFLOP/s` +
    (roofline.peakGflopsF16 === null ? "" : `, f16 ${roofline.peakGflopsF16.toFixed(1)} GFLOP/s`) +
    `, copy bandwidth ${roofline.bandwidthGBps.toFixed(1)} GB/s, ridge ${
      roofline.ridge.toFixed(1)
    } FLOP/byte (${roofline.timing})`,
);
console.log(
  `${"kernel".padEnd(32)} ${"shape".padEnd(36)} ${"ms".padStart(10)} ${"GFLOP/s".padStart(10)} ${
    "GB/s".padStart(9)
  } ${"% roofline".padStart(10)}  bound`,
);
const rows: Record<string, unknown>[] = [];
for (const c of cases) {
  if (only && !only.some((o) => c.name.startsWith(o))) continue;
  if (c.name.includes("f16") && !gpu.hasF16) continue;
  const inputs = c.setup(gpu);
  const prof = new Profiler(gpu, { wallClock: args.includes("--wall") });
  for (const t of await c.call(inputs, new Profiler(gpu, { capacity: 1 }))) t.release(); // warm-up
  await gpu.device.queue.onSubmittedWorkDone();
  let ms: number;
  if (prof.mode === "timestamp") {
    for (let i = 0; i < iters; i++) for (const t of await c.call(inputs, prof)) t.release();
    const entries = await prof.read();
    ms = entries.reduce((s, e) => s + e.totalMs, 0) / iters;
  } else {
    await prof.measure("all", async () => {
      for (let i = 0; i < iters; i++) for (const t of await c.call(inputs, prof)) t.release();
    });
    ms = (await prof.read())[0].totalMs / iters;
  }
  prof.destroy();
  for (const t of inputs) t.release();
  const point = rooflinePoint(roofline, { flops: c.flops, bytes: c.bytes, ms });
  const row = {
    kernel: c.name,
    shape: c.shape,
    ms: Number(ms.toFixed(3)),
    gflops: c.flops ? Number(point.gflops.toFixed(2)) : null,
    gbps: Number(point.gbps.toFixed(2)),
    rooflinePercent: Number(point.percent.toFixed(2)),
    bound: point.bound,
    timing: prof.mode,
  };
  rows.push(row);
  console.log(
    `${c.name.padEnd(32)} ${c.shape.padEnd(36)} ${ms.toFixed(3).padStart(10)} ${
      (c.flops ? point.gflops.toFixed(2) : "—").padStart(10)
    } ${point.gbps.toFixed(2).padStart(9)} ${
      point.percent.toFixed(1).padStart(9)
    }%  ${point.bound}`,
  );
}
if (jsonPath) {
  await Deno.writeTextFile(
    jsonPath,
    JSON.stringify({ adapter: gpu.adapter, roofline, large, iters, results: rows }, null, 2),
  );
}
