/**
 * A partial top-k over one row of logits in the kernels' order (larger value first, lower
 * index on ties), without sorting the vocabulary: k ≪ V insertions into a sorted buffer.
 *
 * @module
 */

/**
 * Writes the indices of the k largest values of `row` (best first, ties by lower index) into
 * `out[0..k)`; returns how many were written (min(k, row length)). NaN values are skipped.
 */
export function topKIndices(row: ArrayLike<number>, k: number, out: Int32Array): number {
  const vals = new Float64Array(k);
  let n = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (v !== v) continue;
    // a later index with an equal value ranks after, so only a strictly larger value enters
    if (n === k && !(v > vals[k - 1])) continue;
    let j = n < k ? n++ : k - 1;
    while (j > 0 && v > vals[j - 1]) {
      vals[j] = vals[j - 1];
      out[j] = out[j - 1];
      j--;
    }
    vals[j] = v;
    out[j] = i;
  }
  return n;
}
