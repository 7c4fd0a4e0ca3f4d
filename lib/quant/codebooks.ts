/**
 * The code tables of bitsandbytes' formats: the 16-value NF4 and FP4 codebooks (as its CUDA
 * kernels decode them) and the signed dynamic 8-bit map that blockwise int8 and double
 * quantisation use.
 *
 * @module
 */

/**
 * NF4 code values, index = 4-bit code. bitsandbytes `csrc/kernels.cu` `nf4_dequantization_lut`
 * (the same list as `get_4bit_type("nf4")` in `bitsandbytes/functional.py`: quantiles of
 * N(0, 1) with an exact zero, from QLoRA), rounded to float32.
 *
 * @example
 * ```ts
 * import { NF4_CODEBOOK } from "@tokenlab/tokenlab/quant";
 * console.log(NF4_CODEBOOK[7], NF4_CODEBOOK[15]); // 0 1
 * ```
 */
export const NF4_CODEBOOK: Readonly<Float32Array> = Float32Array.of(
  -1.0,
  -0.6961928009986877,
  -0.5250730514526367,
  -0.39491748809814453,
  -0.28444138169288635,
  -0.18477343022823334,
  -0.09105003625154495,
  0.0,
  0.07958029955625534,
  0.16093020141124725,
  0.24611230194568634,
  0.33791524171829224,
  0.44070982933044434,
  0.5626170039176941,
  0.7229568362236023,
  1.0,
);

/**
 * FP4 (E2M1, bitsandbytes' bias) code values, index = 4-bit code: bit 3 is the sign, bits 0–2
 * index bitsandbytes `csrc/kernels.cu` `fp4_dequantization_lut` (the magnitudes
 * 0, 0.0625, 8, 12, 4, 6, 2, 3 of `get_4bit_type("fp4")` divided by 12). Codes 8–15 are the
 * negatives (code 8 is −0).
 *
 * @example
 * ```ts
 * import { FP4_CODEBOOK } from "@tokenlab/tokenlab/quant";
 * console.log(FP4_CODEBOOK[3], FP4_CODEBOOK[11]); // 1 -1
 * ```
 */
export const FP4_CODEBOOK: Readonly<Float32Array> = (() => {
  // kernels.cu spells these as float literals (0.005208333333f, 0.66666667f, …), which round
  // to the same float32 values as magnitude / 12.
  const magnitudes = [0, 0.0625, 8, 12, 4, 6, 2, 3].map((m) => Math.fround(m / 12));
  return Float32Array.from([...magnitudes, ...magnitudes.map((m) => -m)]);
})();

/**
 * The quant map bitsandbytes stores in a checkpoint (`weight.quant_map`) for FP4: the same
 * values as {@linkcode FP4_CODEBOOK} except that code 8 is +0 (`get_4bit_type` builds it from
 * the Python integer `-0`).
 *
 * @example
 * ```ts
 * import { FP4_QUANT_MAP } from "@tokenlab/tokenlab/quant";
 * console.log(Object.is(FP4_QUANT_MAP[8], 0)); // true
 * ```
 */
export const FP4_QUANT_MAP: Readonly<Float32Array> = (() => {
  const m = Float32Array.from(FP4_CODEBOOK);
  m[8] = 0;
  return m;
})();

// torch.linspace(start, end, steps, dtype=float32) on the CPU: a float32 step, the first half
// counted up from `start`, the second half down from `end` (ATen RangeFactoriesKernel), each
// value `start + step * i` rounded once (as a fused multiply-add; step * i is exact in f64).
function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const f = Math.fround;
  const s = f(start), e = f(end);
  const step = f(f(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  const out = new Float32Array(steps);
  for (let i = 0; i < steps; i++) {
    out[i] = i < half ? f(s + step * i) : f(e - step * (steps - i - 1));
  }
  return out;
}

/**
 * bitsandbytes' dynamic 8-bit map (`create_dynamic_map` in `bitsandbytes/functional.py`, the
 * `"dynamic"` map of `quantize_blockwise`), rebuilt here in float32 as torch computes it:
 * for exponent group i = 0…6 (signed, 7 exponent bits, 8 bits in all), the midpoints of
 * `linspace(0.1, 1, 2^i + 1)` times 10^(i − 6), with both signs, plus 0 and 1, sorted. 256
 * ascending values: index 0 ≈ −0.993, 127 = 0, 255 = 1.
 *
 * @example
 * ```ts
 * import { dynamicMap } from "@tokenlab/tokenlab/quant";
 * const map = dynamicMap();
 * console.log(map.length, map[127], map[255]); // 256 0 1
 * ```
 */
export function dynamicMap(): Float32Array {
  const f = Math.fround;
  const values: number[] = [0, 1];
  for (let i = 0; i < 7; i++) {
    const bounds = linspaceF32(0.1, 1, 2 ** i + 1);
    const scale = f([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1][i]);
    for (let j = 0; j + 1 < bounds.length; j++) {
      const mean = f(f(bounds[j] + bounds[j + 1]) / 2);
      values.push(f(scale * mean), -f(scale * mean));
    }
  }
  return Float32Array.from(values.sort((a, b) => a - b));
}
