/**
 * Prompt lookup decoding (PLD; Saxena 2023, the "n-gram" drafter of Spec-Bench and vLLM):
 * match the last n tokens of the context against earlier text and propose what followed.
 *
 * @module
 */
import { check } from "../util/errors.ts";

/** Options of {@linkcode promptLookup}. */
export interface PromptLookupOptions {
  /** Longest n-gram to match (default 3, as in Spec-Bench). */
  maxNgram?: number;
  /** Shortest n-gram to match (default 1). */
  minNgram?: number;
  /** Most tokens to propose (default 10). */
  maxDraft?: number;
  /**
   * Which earlier occurrence to continue from: "first" (default, the reference code's
   * choice) or "last" (the most recent).
   */
  occurrence?: "first" | "last";
}

/**
 * Draft tokens for `context` (prompt and committed tokens): for n from `maxNgram` down to
 * `minNgram`, find an earlier occurrence of the context's last n tokens and return up to
 * `maxDraft` tokens that followed it; `[]` when nothing matches.
 *
 * @example
 * ```ts
 * import { promptLookup } from "@tokenlab/tokenlab/decoding";
 * // "… 5 6 7 8 9 … 5 6" → propose what followed "5 6" before
 * console.log(promptLookup([1, 5, 6, 7, 8, 9, 2, 5, 6], { maxDraft: 3 })); // [7, 8, 9]
 * ```
 */
export function promptLookup(
  context: ArrayLike<number>,
  options: PromptLookupOptions = {},
): number[] {
  const { maxNgram = 3, minNgram = 1, maxDraft = 10, occurrence = "first" } = options;
  check(
    Number.isInteger(minNgram) && minNgram >= 1 && Number.isInteger(maxNgram) &&
      maxNgram >= minNgram,
    `promptLookup: need integers 1 ≤ minNgram ≤ maxNgram, got ${minNgram} and ${maxNgram}`,
  );
  check(
    Number.isInteger(maxDraft) && maxDraft >= 0,
    `promptLookup: maxDraft must be a non-negative integer, got ${maxDraft}`,
  );
  check(
    occurrence === "first" || occurrence === "last",
    `promptLookup: occurrence must be "first" or "last", got ${occurrence}`,
  );
  const L = context.length;
  if (maxDraft === 0) return [];
  for (let n = Math.min(maxNgram, L - 1); n >= minNgram; n--) {
    // candidate starts s: context[s..s+n) equals the suffix, and s + n < L (something follows)
    const first = occurrence === "first";
    for (let s = first ? 0 : L - n - 1; first ? s + n < L : s >= 0; s += first ? 1 : -1) {
      let match = true;
      for (let j = 0; j < n; j++) {
        if (context[s + j] !== context[L - n + j]) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      const out: number[] = [];
      for (let j = s + n; j < L && out.length < maxDraft; j++) out.push(context[j]);
      return out;
    }
  }
  return [];
}
