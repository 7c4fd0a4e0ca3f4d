/**
 * Weight quantisation: bitsandbytes' nf4 / fp4 / int8 codecs byte for byte (CPU reference),
 * lossless DFloat11 compression of bf16 weights, and the bitsandbytes 4-bit checkpoint layout.
 *
 * @example
 * ```ts
 * import { compressBf16, decompressBf16, dequantize, quantize, toBf16Bits } from "@tokenlab/tokenlab/quant";
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
