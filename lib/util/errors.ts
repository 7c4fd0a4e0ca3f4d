/**
 * Errors that say what was wrong and what to do about it.
 *
 * @module
 */

/** Options for {@linkcode TokenlabError}. */
export interface TokenlabErrorOptions {
  /** What the user can do to fix the problem, shown after the message. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The error every tokenlab function throws for bad input: the message names the input
 * and `hint` says how to fix it.
 *
 * @example Throwing with a hint
 * ```ts
 * import { TokenlabError } from "@tokenlab/tokenlab";
 * const err = new TokenlabError("vocabSize must be at least 256, got 10", {
 *   hint: "byte-level BPE needs one token per byte before any merge",
 * });
 * console.log(err.message);
 * ```
 */
export class TokenlabError extends Error {
  /** What the user can do to fix the problem. */
  readonly hint?: string;

  /** Builds the error; the hint is appended to the message so it shows in any stack trace. */
  constructor(message: string, options: TokenlabErrorOptions = {}) {
    super(options.hint ? `${message} (${options.hint})` : message, { cause: options.cause });
    this.name = "TokenlabError";
    this.hint = options.hint;
  }
}

/**
 * Throws a {@linkcode TokenlabError} unless `condition` holds.
 *
 * @example
 * ```ts
 * import { check } from "@tokenlab/tokenlab";
 * const n = 4;
 * check(Number.isInteger(n) && n > 0, `n must be a positive integer, got ${n}`);
 * ```
 */
export function check(
  condition: unknown,
  message: string,
  options: TokenlabErrorOptions = {},
): asserts condition {
  if (!condition) throw new TokenlabError(message, options);
}
