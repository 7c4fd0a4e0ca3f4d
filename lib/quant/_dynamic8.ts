// Blockwise 8-bit quantisation with a sorted 256-entry code (bitsandbytes' dynamic map), as
// csrc/kernels.cu `dQuantize<0>` does it inside kQuantizeBlockwise: a 7-step binary search that
// always ends on an even index p with code[p−1] < x ≤ code[p+1], then the nearer of the
// neighbours by the float32 midpoint, a value exactly at the midpoint staying on p (even).
import { blockAbsmax } from "./_four_bit.ts";

const f32 = Math.fround;

/** The dynamic-map index of a value already scaled into [−1, 1]. */
export function nearestCode(code: Float32Array, x: number): number {
  // p = 2 × (number of odd-index entries below x); NaN is below none, so p = 0
  let lo = 0, hi = 127; // count of odd indices 1, 3, …, 253 with code < x
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x > code[2 * mid + 1]) lo = mid + 1;
    else hi = mid;
  }
  const p = 2 * lo;
  const val = code[p];
  if (x > val) {
    const upper = code[p + 1];
    return x > f32(f32(upper + val) * 0.5) ? p + 1 : p;
  }
  if (p === 0) return 0; // below code[0]: the kernel's lower pivot is 0 itself
  return x < f32(f32(code[p - 1] + val) * 0.5) ? p - 1 : p;
}

/** Blockwise dynamic 8-bit codes and the exact float32 absmax of each block. */
export function encodeDynamic(
  values: Float32Array,
  blockSize: number,
  code: Float32Array,
): { codes: Uint8Array; absmax: Float32Array } {
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const absmax = new Float32Array(blocks);
  const codes = new Uint8Array(n);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize, end = Math.min(n, start + blockSize);
    const m = blockAbsmax(values, start, end);
    absmax[b] = m;
    const inv = f32(1 / m);
    for (let i = start; i < end; i++) codes[i] = nearestCode(code, f32(values[i] * inv));
  }
  return { codes, absmax };
}

/** Decodes blockwise 8-bit codes: code value × block absmax, rounded to float32. */
export function decodeDynamic(
  codes: Uint8Array,
  absmax: Float32Array,
  blockSize: number,
  code: Float32Array,
): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    out[i] = code[codes[i]] * absmax[Math.floor(i / blockSize)];
  }
  return out;
}
