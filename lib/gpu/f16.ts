/**
 * IEEE 754 half-precision (binary16) conversion on the CPU side: the bits a `f16` GPU buffer
 * holds, to and from ordinary numbers, with round-to-nearest-even like the hardware.
 *
 * @module
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * Converts a number to the 16 bits of the nearest binary16 value (ties to even; overflow gives
 * ±Infinity, values below half the smallest subnormal give ±0, NaN stays NaN).
 *
 * @example
 * ```ts
 * import { float32ToFloat16Bits } from "@tokenlab/tokenlab/gpu";
 * console.log(float32ToFloat16Bits(1).toString(16)); // "3c00"
 * ```
 */
export function float32ToFloat16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // subnormal half: value / 2^-24 = full * 2^(e - 14)
    const full = mant | 0x800000;
    const shift = 14 - e;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1))) m++;
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/**
 * Converts 16 binary16 bits to the number they encode.
 *
 * @example
 * ```ts
 * import { float16BitsToFloat32 } from "@tokenlab/tokenlab/gpu";
 * console.log(float16BitsToFloat32(0x3c00)); // 1
 * ```
 */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >>> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * 2 ** (e - 15) * (1 + m / 1024);
}

/**
 * Encodes numbers as binary16 bits, ready to upload to an `f16` buffer.
 *
 * @example
 * ```ts
 * import { toFloat16Bits } from "@tokenlab/tokenlab/gpu";
 * console.log(toFloat16Bits([1, -2, 0.5])); // Uint16Array [15360, 49152, 14336]
 * ```
 */
export function toFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}

/**
 * Decodes binary16 bits (as read back from an `f16` buffer) to 32-bit floats.
 *
 * @example
 * ```ts
 * import { fromFloat16Bits } from "@tokenlab/tokenlab/gpu";
 * console.log(fromFloat16Bits(new Uint16Array([0x3c00, 0xc000]))); // Float32Array [1, -2]
 * ```
 */
export function fromFloat16Bits(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16BitsToFloat32(bits[i]);
  return out;
}

/**
 * Rounds each value to the nearest binary16 value and back: what a value looks like after a
 * trip through `f16` storage (useful for CPU references of f16 kernels).
 *
 * @example
 * ```ts
 * import { roundToFloat16 } from "@tokenlab/tokenlab/gpu";
 * console.log(roundToFloat16([0.1])[0]); // 0.0999755859375
 * ```
 */
export function roundToFloat16(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = float16BitsToFloat32(float32ToFloat16Bits(values[i]));
  }
  return out;
}
