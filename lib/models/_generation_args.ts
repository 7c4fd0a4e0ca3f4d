/**
 * The arguments every generation loop shares (plain, speculative, constrained): a non-empty
 * prompt and a whole number of new tokens, checked once, with the caller named in the errors.
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";

/** The prompt as an array and the number of new tokens, validated. */
export function generationArgs(
  promptIds: ArrayLike<number>,
  options: { maxNewTokens?: number; defaultMax: number; caller: string },
): { prompt: number[]; max: number } {
  const max = options.maxNewTokens ?? options.defaultMax;
  check(
    Number.isInteger(max) && max >= 0,
    `${options.caller}: maxNewTokens must be a non-negative integer, got ${max}`,
  );
  const prompt = Array.from(promptIds);
  if (prompt.length === 0) {
    throw new TokenlabError(`${options.caller} needs a non-empty prompt`, {
      hint: "start with a BOS id",
    });
  }
  return { prompt, max };
}
