// 4-bit blockwise codecs (nf4, fp4) as bitsandbytes' CUDA kernels compute them
// (csrc/kernels.cu: kQuantizeBlockwise / kQuantizeBlockwiseSmall with dQuantizeNF4 and
// dQuantizeFP4; kDequantizeBlockwise with dDequantizeNF4 and dDequantizeFP4Tree).
import { FP4_CODEBOOK, NF4_CODEBOOK } from "./codebooks.ts";

const f32 = Math.fround;

/**
 * The float32 thresholds of `dQuantizeNF4`'s decision tree (csrc/kernels.cu), ascending. The
 * tree is a binary search over them with `x > t`, so the code of x is the number of thresholds
 * it exceeds: a value exactly at a threshold takes the lower code, and NaN gets code 0.
 */
export const NF4_THRESHOLDS: Float32Array = Float32Array.of(
  -0.8480964004993439,
  -0.6106329262256622,
  -0.4599952697753906,
  -0.33967943489551544,
  -0.23460740596055984,
  -0.13791173323988914,
  -0.045525018125772476,
  0.03979014977812767,
  0.1202552504837513,
  0.2035212516784668,
  0.2920137718319893,
  0.3893125355243683,
  0.5016634166240692,
  0.6427869200706482,
  0.8614784181118011,
);

/**
 * The float32 thresholds of `dQuantizeFP4`'s tree on |x| (csrc/kernels.cu), ascending; the
 * magnitude rank r (thresholds exceeded) maps to the 3-bit code `FP4_RANK_CODE[r]`.
 */
export const FP4_THRESHOLDS: Float32Array = Float32Array.of(
  0.00260417,
  0.0859375,
  0.20833333,
  0.29166667,
  0.4166667,
  0.583333,
  0.8333333,
);
/** 3-bit FP4 codes in ascending magnitude: 0, 0.0625, 2, 3, 4, 6, 8, 12 (all / 12). */
export const FP4_RANK_CODE: Uint8Array = Uint8Array.of(
  0b000,
  0b001,
  0b110,
  0b111,
  0b100,
  0b101,
  0b010,
  0b011,
);

function rank(x: number, thresholds: Float32Array): number {
  // binary search for the number of thresholds t with x > t (NaN exceeds none)
  let lo = 0, hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x > thresholds[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The NF4 code of a value already scaled into [−1, 1]. */
export function nf4Code(x: number): number {
  return rank(x, NF4_THRESHOLDS);
}

/** The FP4 code of a value already scaled into [−1, 1]: sign from `x < 0`, then the tree. */
export function fp4Code(x: number): number {
  return (x < 0 ? 0b1000 : 0) | FP4_RANK_CODE[rank(Math.abs(x), FP4_THRESHOLDS)];
}

/** Block absmax as the kernels reduce it: fmaxf from −FLT_MAX, so NaN is skipped. */
export function blockAbsmax(values: Float32Array, start: number, end: number): number {
  let m = -3.4028234663852886e38;
  for (let i = start; i < end; i++) {
    const a = Math.abs(values[i]);
    if (a > m) m = a;
  }
  return m;
}

/** Encodes blockwise 4-bit codes and the exact float32 absmax of each block. */
export function encode4bit(
  values: Float32Array,
  blockSize: number,
  format: "nf4" | "fp4",
): { codes: Uint8Array; absmax: Float32Array } {
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const absmax = new Float32Array(blocks);
  const codes = new Uint8Array(Math.ceil(n / 2));
  const code = format === "nf4" ? nf4Code : fp4Code;
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize, end = Math.min(n, start + blockSize);
    const m = blockAbsmax(values, start, end);
    absmax[b] = m;
    const inv = f32(1 / m); // 1/0 = Infinity: an all-zero block scales 0 to NaN (code 0), as on CUDA
    for (let i = start; i < end; i++) {
      const c = code(f32(values[i] * inv));
      codes[i >> 1] |= (i & 1) === 0 ? c << 4 : c;
    }
    // an odd total count: the kernel loads the missing last element as 0.0
    if (end === n && (n & 1) === 1) codes[n >> 1] |= code(f32(0 * inv));
  }
  return { codes, absmax };
}

/** Decodes 4-bit codes: codebook value × block absmax, rounded to float32. */
export function decode4bit(
  codes: Uint8Array,
  absmax: Float32Array,
  blockSize: number,
  n: number,
  format: "nf4" | "fp4",
): Float32Array {
  const book = format === "nf4" ? NF4_CODEBOOK : FP4_CODEBOOK;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const byte = codes[i >> 1];
    const c = (i & 1) === 0 ? byte >> 4 : byte & 0x0f;
    out[i] = book[c] * absmax[Math.floor(i / blockSize)];
  }
  return out;
}
