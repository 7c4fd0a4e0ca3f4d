/**
 * bfloat16 bit patterns: float32 rounded to the upper 16 bits, and back.
 *
 * @module
 */

/**
 * Rounds values to bfloat16 (round to nearest, ties to even) and returns the bit patterns;
 * NaN stays NaN (its payload's upper bits kept, made quiet), ±Infinity and ±0 stay as they are.
 *
 * @example
 * ```ts
 * import { toBf16Bits } from "@tokenlab/tokenlab/quant";
 * console.log(Array.from(toBf16Bits([1, -2, 0.1]), (b) => b.toString(16))); // ["3f80", "c000", "3dcd"]
 * ```
 */
export function toBf16Bits(values: ArrayLike<number>): Uint16Array {
  const f = new Float32Array(values);
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(f.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
      out[i] = (x >>> 16) | 0x40; // NaN: keep it NaN after truncation
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return out;
}

/**
 * Widens bfloat16 bit patterns to float32 (exact).
 *
 * @example
 * ```ts
 * import { fromBf16Bits } from "@tokenlab/tokenlab/quant";
 * console.log(fromBf16Bits(Uint16Array.of(0x3f80, 0xc000))); // Float32Array [ 1, -2 ]
 * ```
 */
export function fromBf16Bits(bits: ArrayLike<number>): Float32Array {
  const u = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) u[i] = (bits[i] & 0xffff) << 16;
  return new Float32Array(u.buffer);
}
