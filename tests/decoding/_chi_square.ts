// Pearson's chi-square goodness of fit for the decoding tests: cells with small expected counts
// are pooled, and the 0.1% critical value comes from the Wilson–Hilferty approximation.

/** Chi-square statistic and its 0.1% critical value for observed counts vs probabilities. */
export function chiSquare(
  counts: ArrayLike<number>,
  probs: ArrayLike<number>,
): { chi: number; critical: number; df: number } {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i];
  let chi = 0, cells = 0, poolObs = 0, poolExp = 0;
  for (let i = 0; i < probs.length; i++) {
    const e = n * probs[i];
    if (e === 0) {
      if (counts[i] > 0) return { chi: Infinity, critical: 0, df: 0 }; // an impossible outcome
      continue;
    }
    if (e < 5) {
      poolObs += counts[i];
      poolExp += e;
      continue;
    }
    chi += (counts[i] - e) ** 2 / e;
    cells++;
  }
  if (poolExp > 0) {
    chi += (poolObs - poolExp) ** 2 / poolExp;
    cells++;
  }
  const df = Math.max(1, cells - 1), z = 3.0902; // upper 0.1% of the standard normal
  const critical = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
  return { chi, critical, df };
}
