/**
 * tokenlab: a notebook-style research workbench for token-level LLM research.
 *
 * The root entry re-exports the small helpers every area shares (seeded randomness,
 * errors with hints). Each research area has its own entry point:
 * `@tokenlab/tokenlab/tokenizers`, `/gpu`, `/kernels`, `/quant`, `/models`, `/decoding`,
 * `/analysis` and `/data`.
 *
 * @example
 * ```ts
 * import { Rng } from "@tokenlab/tokenlab";
 * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * import { describeSample } from "@tokenlab/tokenlab/analysis";
 * // corpus → tokenizer → tokens → records: bytes per token over a seeded sample of sentences
 * const sentences = ["The cat sat on the mat.", "Tokenizers are compressors.", "Ünïcödé too."];
 * const sample = new Rng(7).shuffle(sentences).slice(0, 2);
 * const o200k = await loadPretrained("o200k_base");
 * const bpt = sample.map((s) => new TextEncoder().encode(s).length / o200k.encode(s).length);
 * console.log(describeSample(bpt));
 * ```
 *
 * @module
 */
export * from "./lib/util/mod.ts";
