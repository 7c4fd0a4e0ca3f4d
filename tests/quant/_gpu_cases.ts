// GPU child of tests/quant/gpu_test.ts: the fused quantised matmul against its one CPU
// reference (dequantize + matmulReference), the DFloat11 GPU decoder against decompressBf16.
import { Tensor } from "../../lib/gpu/mod.ts";
import {
  compressBf16,
  decompressBf16,
  decompressBf16Gpu,
  quantize,
  quantMatmul,
  quantMatmulReference,
  releaseDf11,
  releaseQuantized,
  toBf16Bits,
  uploadDf11,
  uploadQuantized,
} from "../../lib/quant/mod.ts";
import type { Rng } from "../../lib/util/rng.ts";
import { registerCase, serve } from "../kernels/_gpu_cases.ts";

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

registerCase("quantMatmul", async (gpu, s, rng) => {
  const { m, n, k } = s;
  const format = s.format.startsWith("int8") ? s.format : s.format.slice(0, 3);
  const w = randn(rng, n * k, 0.05);
  const q = quantize(w, {
    format,
    shape: [n, k],
    blockSize: s.blockSize,
    doubleQuant: s.format.endsWith("-dq"),
  });
  const x = randn(rng, m * k);
  const gw = uploadQuantized(q, gpu);
  const xt = Tensor.fromArray(x, { shape: [m, k], gpu });
  const y = await quantMatmul({ x: xt, w: gw }, { kernel: s.kernel, aligned: s.aligned });
  const got = await y.toArray();
  y.release();
  xt.release();
  releaseQuantized(gw);
  const want = quantMatmulReference({ x: { data: x, shape: [m, k] }, w: q });
  return [{ got, want: want.data, shapes: [y.shape, want.shape] }];
});

registerCase("df11", async (gpu, s, rng) => {
  let bits: Uint16Array;
  if (s.data === "all") {
    bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
  } else {
    const w = randn(rng, s.n, 0.02);
    for (let i = 0; i < s.outliers; i++) w[(i * 7919) % s.n] = 1e30 * (i + 1); // rare exponents
    bits = toBf16Bits(w);
  }
  const t = compressBf16(bits, { symbolsPerBlock: s.symbolsPerBlock });
  const want = decompressBf16(t);
  const g = uploadDf11(t, gpu);
  const out = await decompressBf16Gpu(g, { dtype: s.dtype });
  const arr = await out.toArray();
  const raw = new Uint32Array(arr.buffer, arr.byteOffset, arr.length); // the bits, not values
  out.release();
  releaseDf11(g);
  // bf16: packed pairs (the u32 words' halves); f32: each word's upper half
  const got = s.dtype === "f32"
    ? Uint16Array.from(raw, (v) => v >>> 16)
    : new Uint16Array(raw.buffer).subarray(0, bits.length);
  const lowHalves = s.dtype === "f32" ? raw.filter((v) => (v & 0xffff) !== 0).length : 0;
  return [{ got, want }, { got: [lowHalves], want: [0] }];
});

if (import.meta.main) await serve();
