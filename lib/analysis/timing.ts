/**
 * Timing plain async work the way DESIGN.md asks: repeated runs, warm-up discarded, several
 * variants interleaved in a seeded random order, a median with an interval, and the backend
 * named as what it is. GPU work is timed by passing a `settle` that waits for the queue
 * (e.g. `() => gpu.device.queue.onSubmittedWorkDone()`); per-pass GPU time with timestamp
 * queries is `timeKernel` in `@tokenlab/tokenlab/gpu`.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { check } from "../util/errors.ts";
import { softwareBackend } from "./_software.ts";
import { bootstrapCi, bootstrapOver, median } from "./stats.ts";

/** Options for {@linkcode timeRuns} and {@linkcode timeRun}. */
export interface TimeRunsOptions<T = unknown> {
  /** Timed runs of each variant (default 5). */
  iters?: number;
  /** Untimed runs of each variant first, discarded (default 1). */
  warmup?: number;
  /**
   * Awaited before the clock starts and before it stops, e.g. draining a GPU queue so the
   * time covers the work submitted (default: nothing).
   */
  settle?: () => unknown;
  /** Called with each run's result after the clock stopped (releasing tensors, checks). */
  release?: (result: T) => unknown;
  /**
   * What ran the work, stored with each timing: the adapter's name for GPU work (e.g.
   * `"llvmpipe (LLVM 15.0.6, 256 bits)"`, from `describeEnvironment().adapter.name`) or the CPU
   * path (e.g. `"CPU (JavaScript)"`) (default `"unnamed"`).
   */
  backend?: string;
  /**
   * Whether `backend` is a software adapter (lavapipe/llvmpipe, SwiftShader, WARP): such a
   * timing is never a hardware result (default: recognised from the backend's name).
   */
  software?: boolean;
  /** Seed of the run order and of the bootstrap interval (default 0). */
  seed?: number;
  /** Confidence level of the interval of the median (default 0.95). */
  level?: number;
}

/** The timing of one variant (see {@linkcode timeRuns}). */
export interface RunTiming {
  /** Median milliseconds per run. */
  ms: number;
  /** Lower end of the seeded bootstrap interval of the median, ms. */
  low: number;
  /** Upper end of that interval, ms. */
  high: number;
  /** Confidence level of the interval. */
  level: number;
  /** Fastest timed run, ms. */
  minMs: number;
  /** Every timed run in the order it ran, ms (warm-up left out). */
  samples: number[];
  /** What ran the work, as the caller named it. */
  backend: string;
  /** Whether `backend` is a software adapter: the timing is not a hardware result. */
  software: boolean;
  /** Untimed warm-up runs discarded before the timed ones. */
  warmup: number;
}

/**
 * Times several variants of some async work: each runs `warmup` untimed times, then
 * `iters` rounds run every variant once in a seeded random order (so drift and caches do not
 * favour the one that runs first). Each run is timed from `settle()` to `settle()` with the
 * wall clock; `release` gets the run's result after the clock stops. Returns each variant's
 * median with a bootstrap interval of the median.
 *
 * @example
 * ```ts
 * import { timeRuns } from "@tokenlab/tokenlab/analysis";
 * const t = await timeRuns({
 *   sort: () => Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000).sort((a, b) => a - b),
 *   copy: () => Array.from({ length: 1000 }, (_, i) => i).slice(),
 * }, { iters: 5, backend: "CPU (JavaScript)" });
 * console.log(t.sort.ms, t.sort.low, t.sort.high, t.copy.backend);
 * ```
 */
export async function timeRuns<T>(
  variants: Record<string, () => T | Promise<T>>,
  options: TimeRunsOptions<Awaited<T>> = {},
): Promise<Record<string, RunTiming>> {
  check(
    variants !== null && typeof variants === "object" && !Array.isArray(variants),
    "timeRuns needs an object of named variants",
    { hint: "pass `{ name: async () => work() }`" },
  );
  const names = Object.keys(variants);
  check(names.length > 0, "timeRuns needs at least one variant");
  for (const n of names) {
    check(typeof variants[n] === "function", `timeRuns: variant "${n}" is not a function`);
  }
  const iters = options.iters ?? 5, warmup = options.warmup ?? 1;
  const level = options.level ?? 0.95, seed = options.seed ?? 0;
  check(Number.isInteger(iters) && iters >= 1, `iters must be an integer ≥ 1, got ${iters}`);
  check(Number.isInteger(warmup) && warmup >= 0, `warmup must be an integer ≥ 0, got ${warmup}`);
  check(level > 0 && level < 1, `level must be in (0, 1), got ${level}`);
  check(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
  for (const f of ["settle", "release"] as const) {
    check(
      options[f] === undefined || typeof options[f] === "function",
      `timeRuns: ${f} must be a function`,
    );
  }
  const backend = options.backend ?? "unnamed";
  check(typeof backend === "string" && backend.length > 0, "backend must be a non-empty string");
  check(
    options.software === undefined || typeof options.software === "boolean",
    "timeRuns: software must be true or false",
  );
  const software = options.software ?? softwareBackend(backend);
  const settle = options.settle ?? (() => undefined);
  const release = options.release ?? (() => undefined);
  const once = async (name: string): Promise<number> => {
    await settle();
    const t0 = performance.now();
    const result = await variants[name]();
    await settle();
    const ms = performance.now() - t0;
    await release(result as Awaited<T>);
    return ms;
  };
  for (const n of names) for (let i = 0; i < warmup; i++) await once(n);
  const samples = new Map(names.map((n) => [n, [] as number[]]));
  const rng = new Rng(seed);
  for (let r = 0; r < iters; r++) {
    const order = [...names];
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const n of order) samples.get(n)!.push(await once(n));
  }
  const out: Record<string, RunTiming> = {};
  for (const n of names) {
    const s = samples.get(n)!;
    const ci = bootstrapCi(s, { statistic: median, level, seed, resamples: 1000 });
    out[n] = {
      ms: median(s),
      low: ci.low,
      high: ci.high,
      level,
      minMs: Math.min(...s),
      samples: s,
      backend,
      software,
      warmup,
    };
  }
  return out;
}

/**
 * Times one piece of async work ({@linkcode timeRuns} with a single variant): `warmup`
 * untimed runs, then `iters` timed ones; the median with a bootstrap interval.
 *
 * @example
 * ```ts
 * import { timeRun } from "@tokenlab/tokenlab/analysis";
 * const t = await timeRun(() => new Float64Array(1 << 16).fill(1).reduce((a, b) => a + b), {
 *   iters: 3,
 *   backend: "CPU (JavaScript)",
 * });
 * console.log(`${t.ms.toFixed(2)} ms (${t.low.toFixed(2)}–${t.high.toFixed(2)}) on ${t.backend}`);
 * ```
 */
export async function timeRun<T>(
  run: () => T | Promise<T>,
  options: TimeRunsOptions<Awaited<T>> = {},
): Promise<RunTiming> {
  check(typeof run === "function", "timeRun needs a function that does the work", {
    hint: "pass `async () => work()`",
  });
  return (await timeRuns({ run }, options)).run;
}

/** Options for {@linkcode timingRatio}. */
export interface TimingRatioOptions {
  /** Confidence level of the interval (default 0.95). */
  level?: number;
  /** Seed of the bootstrap (default 0). */
  seed?: number;
  /** Resamples (default 2000). */
  resamples?: number;
}

/**
 * A ratio of two timings with its interval, ready to be a claim's measurement (its `value`,
 * `interval`, `backend` and `software` fields are what `ClaimPlan.measure` takes).
 */
export interface TimingRatio {
  /** median(numerator) / median(denominator), e.g. the speed-up of the second over the first. */
  value: number;
  /** The seeded bootstrap interval of the ratio, over the paired rounds. */
  interval: { low: number; high: number; level: number; over: string };
  /** What ran both variants. */
  backend: string;
  /** Whether that is a software adapter: the ratio is then not a hardware result. */
  software: boolean;
}

/**
 * The ratio `median(numerator) / median(denominator)` of two timings from the same
 * {@linkcode timeRuns} call (so the rounds interleave them), with a paired bootstrap interval:
 * rounds are resampled together, so drift that slows both variants in one round cancels.
 * For a speed-up of `fast` over `slow`, pass `slow` as the numerator.
 *
 * @example
 * ```ts
 * import { timeRuns, timingRatio } from "@tokenlab/tokenlab/analysis";
 * const t = await timeRuns({
 *   slow: () => Array.from({ length: 20000 }, (_, i) => Math.sqrt(i)).sort(),
 *   fast: () => Array.from({ length: 200 }, (_, i) => Math.sqrt(i)).sort(),
 * }, { iters: 7, backend: "CPU (JavaScript)", seed: 3 });
 * const speedup = timingRatio(t.slow, { denominator: t.fast });
 * console.log(speedup.value, speedup.interval, speedup.software); // …, …, false
 * ```
 */
export function timingRatio(
  numerator: RunTiming,
  options: TimingRatioOptions & { denominator: RunTiming },
): TimingRatio {
  const den = options?.denominator;
  for (const [what, t] of [["numerator", numerator], ["denominator", den]] as const) {
    check(
      t !== null && typeof t === "object" && Array.isArray(t.samples) && t.samples.length > 0,
      `timingRatio: the ${what} is not a timing from timeRuns`,
      { hint: "pass timeRuns' results, e.g. timingRatio(t.slow, { denominator: t.fast })" },
    );
  }
  check(
    numerator.samples.length === den.samples.length,
    `timingRatio: ${numerator.samples.length} vs ${den.samples.length} runs; the two timings ` +
      "must come from one timeRuns call",
  );
  check(
    numerator.backend === den.backend,
    `timingRatio: the timings ran on different backends (${numerator.backend} vs ${den.backend})`,
    { hint: "a ratio across backends compares the machines, not the variants: report both" },
  );
  const rounds = numerator.samples.map((a, i) => [a, den.samples[i]] as const);
  const ratio = (s: (readonly [number, number])[]) =>
    median(s.map((r) => r[0])) / median(s.map((r) => r[1]));
  const ci = bootstrapOver(rounds, {
    statistic: ratio,
    level: options.level,
    seed: options.seed,
    resamples: options.resamples,
  });
  return {
    value: ci.estimate,
    interval: {
      low: ci.low,
      high: ci.high,
      level: ci.level,
      over: `${rounds.length} interleaved rounds (paired)`,
    },
    backend: numerator.backend,
    software: numerator.software || den.software,
  };
}
