/**
 * tokenlab: a notebook-style research workbench for token-level LLM research.
 *
 * The root entry re-exports the small helpers every area shares (seeded randomness,
 * errors with hints). Each research area has its own entry point:
 * `@tokenlab/tokenlab/tokenizers`, `/gpu`, `/kernels`, `/models`, `/decoding`, `/analysis`
 * and `/data` (quantisation codecs are planned and have no entry point yet).
 *
 * @example
 * ```ts
 * import { Rng } from "@tokenlab/tokenlab";
 * const rng = new Rng(7);
 * console.log(rng.shuffle([1, 2, 3, 4]));
 * ```
 *
 * @module
 */
export * from "./lib/util/mod.ts";
