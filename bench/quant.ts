/**
 * Quantised-weight benchmark: the fused dequantise-and-multiply matvec (`quantMatmul`, one row
 * of activations × an `[N, K]` weight, HF layout) per format, and the DFloat11 GPU decoder.
 * Reports time (timestamp queries when the adapter has them), GB/s of weight bytes read
 * (codes + scales; for DFloat11, of bf16 output written, the paper's measure, and of the
 * compressed stream read) and % of the adapter's copy bandwidth measured first with
 * `measureRoofline`. A dense f16 row (kernels/matmul with M = 1) is the WebGPU baseline;
 * PyTorch's fp16 GEMV on the same shapes is `bench/peers/quant_torch.py` (run side by side by
 * `deno task gpu-check`).
 *
 * Shapes: `--large` (default on a hardware adapter) 4096² and 8192²; `--small` (default on a
 * software adapter) 512² and 1024².
 *
 * Run: `deno task bench:quant [--small | --large] [--iters N] [--json file]`
 *
 * @module
 */
import { getDevice, measureRoofline, Tensor, timeKernel } from "../lib/gpu/mod.ts";
import { matmul } from "../kernels/mod.ts";
import {
  compressBf16,
  decompressBf16Gpu,
  quantize,
  type QuantizeOptions,
  quantMatmul,
  releaseDf11,
  releaseQuantized,
  toBf16Bits,
  uploadDf11,
  uploadQuantized,
} from "../lib/quant/mod.ts";
import { Rng } from "../lib/util/rng.ts";

const args = Deno.args;
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const gpu = await getDevice();
if (!gpu) {
  console.log("no WebGPU adapter: nothing to benchmark (the CPU references are not timed here)");
  Deno.exit(0);
}
const large = args.includes("--large") || (!gpu.adapter.software && !args.includes("--small"));
const iters = Number(flag("--iters") ?? (large ? 20 : 3));
const jsonPath = flag("--json");
const sizes = large ? [4096, 8192] : [512, 1024];

const FORMATS: { name: string; options: QuantizeOptions }[] = [
  { name: "nf4", options: { format: "nf4" } },
  { name: "nf4-dq", options: { format: "nf4", doubleQuant: true } },
  { name: "fp4", options: { format: "fp4" } },
  { name: "fp4-dq", options: { format: "fp4", doubleQuant: true } },
  { name: "int8-blockwise", options: { format: "int8-blockwise" } },
  { name: "int8-rowwise", options: { format: "int8-rowwise" } },
];

console.log(`adapter: ${gpu.adapter.name}${gpu.adapter.software ? " (software)" : ""}`);
const roof = await measureRoofline(gpu, {});
console.log(`copy bandwidth ${roof.bandwidthGBps.toFixed(1)} GB/s (${roof.timing})`);

interface Row {
  kernel: string;
  shape: string;
  ms: number;
  /** Weight (or, for DFloat11, bf16 output) bytes per call. */
  bytes: number;
  gbps: number;
  bandwidthPercent: number;
  timing: string;
  /** DFloat11 only: GB/s of the compressed stream read. */
  compressedGbps?: number;
}
const rows: Row[] = [];
function report(r: Omit<Row, "gbps" | "bandwidthPercent">, extra = ""): void {
  const gbps = r.bytes / (r.ms * 1e6);
  const row = { ...r, gbps, bandwidthPercent: (100 * gbps) / roof.bandwidthGBps };
  rows.push(row);
  console.log(
    `${r.kernel.padEnd(26)} ${r.shape.padEnd(12)} ${r.ms.toFixed(4).padStart(10)} ms ${
      gbps.toPrecision(3).padStart(9)
    } GB/s ${row.bandwidthPercent.toFixed(1).padStart(6)}%${extra}`,
  );
}

const rng = new Rng(7);
// one N(0, 0.02) draw for the largest shape; smaller shapes take its first n² values
const nMax = Math.max(...sizes);
const wAll = Float32Array.from({ length: nMax * nMax }, () => rng.normal() * 0.02);
for (const n of sizes) {
  const shape = `${n}×${n}`;
  const w = wAll.subarray(0, n * n);
  const xh = Float32Array.from({ length: n }, () => rng.normal());
  const x = Tensor.fromArray(xh, { shape: [1, n], gpu });
  if (gpu.hasF16) {
    const wd = Tensor.fromArray(w, { shape: [n, n], dtype: "f16", gpu });
    const xd = Tensor.fromArray(xh, { shape: [1, n], dtype: "f16", gpu });
    const t = await timeKernel(
      async (profiler) =>
        (await matmul({ a: xd, b: wd }, { transposeB: true, profiler })).release(),
      { gpu, iters },
    );
    report({
      kernel: "dense f16 (kernels/matmul)",
      shape,
      ms: t.ms,
      bytes: 2 * n * n,
      timing: t.mode,
    });
    wd.release();
    xd.release();
  }
  for (const f of FORMATS) {
    const q = quantize(w, { ...f.options, shape: [n, n] });
    const gw = uploadQuantized(q, gpu);
    const t = await timeKernel(
      async (profiler) => (await quantMatmul({ x, w: gw }, { profiler })).release(),
      { gpu, iters },
    );
    report({ kernel: `${f.name} matvec`, shape, ms: t.ms, bytes: gw.weightBytes, timing: t.mode });
    releaseQuantized(gw);
  }
  x.release();
  const packed = compressBf16(toBf16Bits(w));
  const g = uploadDf11(packed, gpu);
  const t = await timeKernel(
    async (profiler) => (await decompressBf16Gpu(g, { profiler })).release(),
    { gpu, iters },
  );
  const compressedGbps = packed.byteLength / (t.ms * 1e6);
  report(
    {
      kernel: "dfloat11 decode (bf16 out)",
      shape,
      ms: t.ms,
      bytes: 2 * n * n,
      timing: t.mode,
      compressedGbps,
    },
    `  (${compressedGbps.toPrecision(3)} GB/s compressed in, ${
      (packed.byteLength / (2 * n * n) * 100).toFixed(1)
    }% of bf16)`,
  );
  releaseDf11(g);
}
if (jsonPath) {
  await Deno.writeTextFile(
    jsonPath,
    JSON.stringify({ adapter: gpu.adapter, roofline: roof, large, iters, results: rows }, null, 1),
  );
}
