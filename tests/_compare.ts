// Shared numeric comparisons for the tests and their GPU child processes. Every one of them
// refuses arrays of different lengths (or different shapes, where shapes are given): comparing
// only a prefix would let a kernel that writes too few or too many values pass.

/** Numbers to compare: typed arrays, plain arrays. */
export type Values = ArrayLike<number>;

/** Throws unless `got` and `want` have the same length. */
export function checkLength(got: Values, want: Values, what = "values"): void {
  if (got.length !== want.length) {
    throw new Error(`${what}: got ${got.length} values, want ${want.length}`);
  }
}

/** Throws unless two shapes are identical (same rank, same sizes). */
export function checkShape(
  got: readonly number[],
  want: readonly number[],
  what = "shape",
): void {
  if (got.length !== want.length || got.some((n, i) => n !== want[i])) {
    throw new Error(`${what}: got [${got.join(", ")}], want [${want.join(", ")}]`);
  }
}

/** Result of {@linkcode toleranceRatio}. */
export interface Ratio {
  /** max over elements of |got − want| / (atol + rtol·|want|); ≤ 1 passes; NaN counts as Infinity. */
  worst: number;
  maxAbsErr: number;
  elements: number;
}

/** The worst error of `got` against `want` in units of the tolerance `atol + rtol·|want|`. */
export function toleranceRatio(
  pair: { got: Values; want: Values; what?: string },
  tol: { atol: number; rtol: number },
): Ratio {
  const { got, want } = pair;
  checkLength(got, want, pair.what);
  let worst = 0, maxAbsErr = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const r = d === 0 ? 0 : d / (tol.atol + tol.rtol * Math.abs(want[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
    if (d > maxAbsErr) maxAbsErr = d;
  }
  return { worst, maxAbsErr, elements: want.length };
}

/** max |a − b| / max |b| over one or several pairs, each pair of equal length. */
export function relErr(pairs: [Values, Values][]): number {
  let num = 0, den = 0;
  for (const [a, b] of pairs) {
    checkLength(a, b);
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      num = Number.isNaN(d) ? Infinity : Math.max(num, d);
      den = Math.max(den, Math.abs(b[i]));
    }
  }
  return num / den;
}

/** Throws unless `got` has `want`'s length and every |got − want| ≤ atol + rtol·|want|. */
export function assertClose(
  got: Values,
  want: Values,
  options: { atol?: number; rtol?: number; what?: string } = {},
): void {
  const { atol = 1e-6, rtol = 0, what = "values" } = options;
  checkLength(got, want, what);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]))) {
      throw new Error(`${what}[${i}]: got ${got[i]}, want ${want[i]} (atol ${atol}, rtol ${rtol})`);
    }
  }
}
