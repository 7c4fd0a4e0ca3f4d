/**
 * Weight quantisation (CPU references and GPU paths):
 *
 * - {@linkcode quantize} / {@linkcode dequantize}: bitsandbytes' nf4, fp4 (blockwise absmax,
 *   optional double quantisation), blockwise dynamic int8 and LLM.int8() row-wise int8, byte
 *   for byte, with the codebooks ({@linkcode NF4_CODEBOOK}, {@linkcode FP4_CODEBOOK},
 *   {@linkcode dynamicMap}) in the open;
 * - {@linkcode compressBf16} / {@linkcode decompressBf16}: lossless DFloat11 compression of
 *   bfloat16 weights (Huffman-coded exponents, a per-block offset index for parallel decoding),
 *   with {@linkcode toBf16Bits} / {@linkcode fromBf16Bits} to get bf16 patterns;
 * - {@linkcode loadBnb4bit} / {@linkcode saveBnb4bit}: the safetensors layout bitsandbytes and
 *   transformers use for 4-bit Linear weights;
 * - {@linkcode quantMatmul} (fused dequantise-and-multiply, matvec and tiled, against
 *   {@linkcode quantMatmulReference}) and {@linkcode decompressBf16Gpu} (the DFloat11 decoder):
 *   the GPU paths.
 *
 * @example
 * ```ts
 * import {
 *   compressBf16,
 *   decompressBf16,
 *   dequantize,
 *   quantize,
 *   toBf16Bits,
 * } from "@tokenlab/tokenlab/quant";
 * const w = Float32Array.from({ length: 4096 }, (_, i) => 0.02 * Math.sin(i * 1.7));
 * const q = quantize(w, { format: "nf4", blockSize: 64, doubleQuant: true });
 * const err = dequantize(q).reduce((m, v, i) => Math.max(m, Math.abs(v - w[i])), 0);
 * const bits = toBf16Bits(w);
 * const packed = compressBf16(bits);
 * console.log(err < 0.01, packed.byteLength / bits.byteLength, decompressBf16(packed).length);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./codebooks.ts";
export * from "./quantize.ts";
export * from "./bnb_format.ts";
export * from "./bf16.ts";
export * from "./dfloat11.ts";
export * from "./gpu_matmul.ts";
export * from "./gpu_dfloat11.ts";
