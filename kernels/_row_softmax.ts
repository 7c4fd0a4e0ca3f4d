/**
 * The CPU softmax statistics of one row, shared by the references that normalise rows
 * (`softmaxReference`, `crossEntropyReference`), so they agree to the last bit.
 *
 * @module
 */

/** The row's max m of `x[i]·scale` and Σ exp(x[i]·scale − m), for i in [start, start + n). */
export function rowMaxSumExp(
  x: ArrayLike<number>,
  row: { start: number; n: number; scale?: number },
): { max: number; sum: number } {
  const { start, n } = row, scale = row.scale ?? 1;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[start + i] * scale);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[start + i] * scale - max);
  return { max, sum };
}
