/**
 * P31 SkipDecode's building blocks: the monotone per-position schedule of how many of the top
 * layers run (k(t) falling linearly from `kMax` to `kMin` over the generated positions, the
 * prompt running every layer), its lowest-skipped-layer form for training (`skipLayers` of a
 * `TrainBatch`), and its compute ratio. Because k(t) never increases, a later token runs a
 * subset of the layers every earlier token ran, so the keys and values it attends to are
 * always in the cache and nothing is recomputed.
 *
 * @example
 * ```ts
 * import { skipDecodeLayers } from "@tokenlab/tokenlab/decoding";
 * const s = { numLayers: 4, kMax: 4, kMin: 1, span: 3 };
 * console.log([0, 1, 2, 3, 4, 5].map((t) => skipDecodeLayers(t, { ...s, promptLength: 2 })));
 * // [4, 4, 4, 3, 2, 1]
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";

/** A SkipDecode schedule (positions count from 0; the prompt is `promptLength` tokens). */
export interface SkipDecodeSchedule {
  /** Layers of the model L. */
  numLayers: number;
  /** Top layers run by the first generated token (default L). */
  kMax?: number;
  /** Top layers run at the end of the decay (default 1). */
  kMin?: number;
  /** Generated positions over which k falls from kMax to kMin (default 32). */
  span?: number;
}

/** A schedule placed after a prompt. */
export interface SkipDecodePlacement extends SkipDecodeSchedule {
  /** Prompt tokens (they run every layer). */
  promptLength: number;
}

/**
 * The schedule with defaults filled in (kMax = L, kMin = 1, span 32), checked.
 *
 * @example
 * ```ts
 * import { resolveSkipDecodeSchedule } from "@tokenlab/tokenlab/decoding";
 * console.log(resolveSkipDecodeSchedule({ numLayers: 4 })); // { numLayers: 4, kMax: 4, kMin: 1, span: 32 }
 * ```
 */
export function resolveSkipDecodeSchedule(
  schedule: SkipDecodeSchedule,
): Required<SkipDecodeSchedule> {
  const L = schedule.numLayers;
  const kMax = schedule.kMax ?? L, kMin = schedule.kMin ?? 1, span = schedule.span ?? 32;
  check(
    Number.isInteger(L) && L > 0 && Number.isInteger(kMax) && Number.isInteger(kMin) &&
      kMin >= 1 && kMin <= kMax && kMax <= L,
    `SkipDecode schedule needs integers 1 ≤ kMin ≤ kMax ≤ numLayers, got kMin ${kMin}, kMax ${kMax}, numLayers ${L}`,
    { hint: "kMax: layers run by the first generated token; kMin: the fewest run later" },
  );
  check(
    Number.isInteger(span) && span >= 1,
    `SkipDecode schedule: span must be a positive integer, got ${span}`,
  );
  return { numLayers: L, kMax, kMin, span };
}

/**
 * How many of the top layers run at position `t`: L inside the prompt, then
 * round(kMax − (kMax − kMin)·min(1, i / span)) for the i-th generated position (i from 0).
 * Non-increasing in t.
 *
 * @example
 * ```ts
 * import { skipDecodeLayers } from "@tokenlab/tokenlab/decoding";
 * console.log(skipDecodeLayers(10, { numLayers: 4, promptLength: 10, kMax: 3 })); // 3
 * ```
 */
export function skipDecodeLayers(t: number, placement: SkipDecodePlacement): number {
  const s = resolveSkipDecodeSchedule(placement);
  const i = t - placement.promptLength;
  if (i < 0) return s.numLayers;
  return Math.round(s.kMax - (s.kMax - s.kMin) * Math.min(1, i / s.span));
}

/**
 * The `skipLayers` of a training window: token j of a sequence whose prompt part is
 * `promptLength` tokens skips L − k(j) of the lowest layers (see `TrainBatch.skipLayers`).
 *
 * @example
 * ```ts
 * import { skipDecodeSkips } from "@tokenlab/tokenlab/decoding";
 * console.log([...skipDecodeSkips(5, { numLayers: 2, promptLength: 2, span: 2 })]); // [0, 0, 0, 0, 1]
 * ```
 */
export function skipDecodeSkips(length: number, placement: SkipDecodePlacement): Int32Array {
  const L = placement.numLayers;
  return Int32Array.from({ length }, (_, t) => L - skipDecodeLayers(t, placement));
}

/**
 * The compute ratio of generating `newTokens` under the schedule: L / mean layers run per
 * generated token (the speed-up in layer FLOPs, the LM head and embedding not counted).
 *
 * @example
 * ```ts
 * import { skipDecodeComputeRatio } from "@tokenlab/tokenlab/decoding";
 * console.log(skipDecodeComputeRatio(4, { numLayers: 4, kMax: 4, kMin: 1, span: 2 })); // 4 / 2.25 ≈ 1.78
 * ```
 */
export function skipDecodeComputeRatio(newTokens: number, schedule: SkipDecodeSchedule): number {
  check(
    Number.isInteger(newTokens) && newTokens > 0,
    `skipDecodeComputeRatio: newTokens must be a positive integer, got ${newTokens}`,
  );
  let run = 0;
  for (let i = 0; i < newTokens; i++) run += skipDecodeLayers(i, { ...schedule, promptLength: 0 });
  return schedule.numLayers / (run / newTokens);
}

/** What a "skipdecode" run reports (pass an object; it is filled in). */
export interface SkipDecodeReport {
  /** Top layers run by each token fed during generation, in order. */
  layersRun: number[];
  /** Layers of the model. */
  numLayers?: number;
  /** The schedule used. */
  schedule?: { kMax: number; kMin: number; span: number };
}

/** Options of `speculativeGenerate` for method "skipdecode". */
export interface SkipDecodeOptions {
  /** "skipdecode": top layers run by the first generated token (default: the trained schedule's). */
  skipdecodeKMax?: number;
  /** "skipdecode": the fewest top layers run (default: the trained schedule's). */
  skipdecodeKMin?: number;
  /** "skipdecode": generated positions over which k falls (default: the trained schedule's). */
  skipdecodeSpan?: number;
  /** "skipdecode": filled with the layers run per token (compute ratio = L / their mean). */
  skipdecodeReport?: SkipDecodeReport;
  /** "skipdecode": run on a model not trained with the schedule (for comparisons; default false). */
  skipdecodeUntrained?: boolean;
}
