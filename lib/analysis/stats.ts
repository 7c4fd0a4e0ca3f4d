/**
 * Small statistics: means, quantiles and a seeded bootstrap confidence interval.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { check } from "../util/errors.ts";

/**
 * Arithmetic mean.
 *
 * @example
 * ```ts
 * import { mean } from "@tokenlab/tokenlab/analysis";
 * console.log(mean([1, 2, 3])); // 2
 * ```
 */
export function mean(values: ArrayLike<number>): number {
  checkValues(values, "mean");
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/**
 * Quantile `q` in [0, 1] with linear interpolation (type 7, as NumPy's default).
 *
 * @example
 * ```ts
 * import { quantile } from "@tokenlab/tokenlab/analysis";
 * console.log(quantile([1, 2, 3, 4], 0.5)); // 2.5
 * ```
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  checkValues(values, "quantile");
  check(q >= 0 && q <= 1, `quantile q must be in [0, 1], got ${q}`);
  const sorted = Float64Array.from(values).sort();
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Median.
 *
 * @example
 * ```ts
 * import { median } from "@tokenlab/tokenlab/analysis";
 * console.log(median([5, 1, 3])); // 3
 * ```
 */
export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/** Options for {@linkcode bootstrapCi}. */
export interface BootstrapOptions {
  /** The statistic (default: mean). */
  statistic?: (sample: Float64Array) => number;
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Confidence level in (0, 1) (default 0.95). */
  level?: number;
  /** Seed (default 0). */
  seed?: number;
}

/** A confidence interval. */
export interface ConfidenceInterval {
  /** The statistic on the full sample. */
  estimate: number;
  /** Lower bound. */
  low: number;
  /** Upper bound. */
  high: number;
  /** Confidence level. */
  level: number;
}

/**
 * Seeded percentile-bootstrap confidence interval of a statistic.
 *
 * @example
 * ```ts
 * import { bootstrapCi } from "@tokenlab/tokenlab/analysis";
 * const ci = bootstrapCi([2.1, 2.5, 1.9, 2.8, 2.2], { seed: 1 });
 * console.log(ci.estimate, ci.low, ci.high);
 * ```
 */
export function bootstrapCi(
  values: ArrayLike<number>,
  options: BootstrapOptions = {},
): ConfidenceInterval {
  checkValues(values, "bootstrapCi");
  const statistic = options.statistic ?? ((s: Float64Array) => mean(s));
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  check(
    Number.isInteger(resamples) && resamples >= 10,
    `resamples must be an integer >= 10, got ${resamples}`,
  );
  check(level > 0 && level < 1, `level must be in (0, 1), got ${level}`);
  const data = Float64Array.from(values);
  const rng = new Rng(options.seed ?? 0);
  const stats = new Float64Array(resamples);
  const sample = new Float64Array(data.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < data.length; i++) sample[i] = data[rng.int(data.length)];
    stats[r] = statistic(sample);
  }
  const alpha = (1 - level) / 2;
  return {
    estimate: statistic(data),
    low: quantile(stats, alpha),
    high: quantile(stats, 1 - alpha),
    level,
  };
}

function checkValues(values: ArrayLike<number>, fn: string): void {
  check(
    values !== null && typeof values === "object" && typeof values.length === "number",
    `${fn} needs an array of numbers`,
  );
  check(values.length > 0, `${fn} needs at least one value, got an empty array`);
  for (let i = 0; i < values.length; i++) {
    check(Number.isFinite(values[i]), `${fn}: value ${i} is ${values[i]}, not a finite number`);
  }
}

/** Summary of a sample (see {@linkcode describeSample}). */
export interface SampleSummary {
  /** Number of values. */
  n: number;
  /** Arithmetic mean. */
  mean: number;
  /** Population standard deviation (divides by n). */
  sd: number;
  /** Sample standard deviation (divides by n − 1; 0 for one value). */
  sampleSd: number;
  /** Coefficient of variation, `sd / mean` (null when the mean is 0). */
  cv: number | null;
  /** Smallest value. */
  min: number;
  /** First quartile (type 7, as {@linkcode quantile}). */
  q1: number;
  /** Median. */
  median: number;
  /** Third quartile. */
  q3: number;
  /** Largest value. */
  max: number;
  /** Interquartile range, `q3 − q1`. */
  iqr: number;
}

/**
 * Describes a sample: size, mean, standard deviations (population and sample), coefficient
 * of variation, quartiles (type 7) with the interquartile range, and the extremes.
 *
 * @example
 * ```ts
 * import { describeSample } from "@tokenlab/tokenlab/analysis";
 * const d = describeSample([2, 4, 4, 4, 5, 5, 7, 9]);
 * console.log(d.mean, d.sd, d.iqr); // 5 2 1.5
 * ```
 */
export function describeSample(values: ArrayLike<number>): SampleSummary {
  checkValues(values, "describeSample");
  const n = values.length;
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - m) ** 2;
  const sd = Math.sqrt(ss / n);
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => {
    const pos = (n - 1) * q;
    const lo = Math.floor(pos), hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  const q1 = at(0.25), q3 = at(0.75);
  return {
    n,
    mean: m,
    sd,
    sampleSd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0,
    cv: m === 0 ? null : sd / m,
    min: sorted[0],
    q1,
    median: at(0.5),
    q3,
    max: sorted[n - 1],
    iqr: q3 - q1,
  };
}

/** Options for {@linkcode bootstrapOver}. */
export interface BootstrapOverOptions<T> {
  /** The statistic over a resample of the items (e.g. a ratio of sums over documents). */
  statistic: (sample: T[]) => number;
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Confidence level in (0, 1) (default 0.95). */
  level?: number;
  /** Seed (default 0). */
  seed?: number;
}

/**
 * Seeded percentile-bootstrap interval of any statistic over a list of items: resamples the
 * items (documents, languages, seeds, paired runs) with replacement and recomputes the
 * statistic on each resample. Use it when the statistic is not a function of one number per
 * item, e.g. a ratio of token totals over documents, or a paired difference between two
 * tokenizers on the same documents.
 *
 * @example
 * ```ts
 * import { bootstrapOver } from "@tokenlab/tokenlab/analysis";
 * const docs = [{ a: 120, b: 100 }, { a: 90, b: 80 }, { a: 300, b: 240 }, { a: 50, b: 49 }];
 * // fewer tokens with b than with a, in %, over the documents
 * const ci = bootstrapOver(docs, {
 *   statistic: (s) => 100 * (1 - s.reduce((t, d) => t + d.b, 0) / s.reduce((t, d) => t + d.a, 0)),
 *   seed: 1,
 * });
 * console.log(ci.estimate.toFixed(1), ci.low.toFixed(1), ci.high.toFixed(1));
 * ```
 */
export function bootstrapOver<T>(
  items: readonly T[],
  options: BootstrapOverOptions<T>,
): ConfidenceInterval {
  check(Array.isArray(items) && items.length > 0, "bootstrapOver needs a non-empty array of items");
  check(
    options !== null && typeof options === "object" && typeof options.statistic === "function",
    "bootstrapOver needs a statistic function",
    { hint: "pass { statistic: (sample) => number }" },
  );
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  check(
    Number.isInteger(resamples) && resamples >= 10,
    `resamples must be an integer >= 10, got ${resamples}`,
  );
  check(level > 0 && level < 1, `level must be in (0, 1), got ${level}`);
  const estimate = options.statistic([...items]);
  check(Number.isFinite(estimate), `bootstrapOver: the statistic of the items is ${estimate}`);
  const rng = new Rng(options.seed ?? 0);
  const stats = new Float64Array(resamples);
  const sample: T[] = new Array(items.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < items.length; i++) sample[i] = items[rng.int(items.length)];
    const s = options.statistic(sample);
    check(
      Number.isFinite(s),
      `bootstrapOver: the statistic of resample ${r} is ${s}, not a finite number`,
      { hint: "make the statistic defined for every resample (e.g. guard empty sums)" },
    );
    stats[r] = s;
  }
  const alpha = (1 - level) / 2;
  return { estimate, low: quantile(stats, alpha), high: quantile(stats, 1 - alpha), level };
}
