/**
 * Tokenizers: pre-tokenizers, byte-level BPE with exact tiktoken / HF parity, tokenizer.json
 * and tiktoken I/O, pretrained vocabularies, trainers and metrics.
 *
 * A typical session loads (or trains) a tokenizer, encodes a corpus and compares the numbers:
 *
 * @example
 * ```ts
 * import { bytesPerToken, loadPretrained, trainBpe } from "@tokenlab/tokenlab/tokenizers";
 * const texts = ["Tokenizers are compressors.", "The cat sat on the mat."];
 * const o200k = await loadPretrained("o200k_base");
 * const tiny = trainBpe(texts, { vocabSize: 300 });
 * console.log(o200k.decode(o200k.encode(texts[0])) === texts[0]);
 * console.log(bytesPerToken(o200k, texts).toFixed(2), bytesPerToken(tiny, texts).toFixed(2));
 * ```
 *
 * @module
 */
export * from "./pretokenizers.ts";
export * from "./tokenizer.ts";
export * from "./pretrained.ts";
export * from "./train_bpe.ts";
export * from "./superbpe.ts";
export * from "./char_bpe.ts";
export * from "./metrics.ts";
export * from "./entropy_estimates.ts";
export * from "./parallel.ts";
export * from "./dynamic.ts";
export * from "./supertokens.ts";
export * from "./mixture.ts";
export * from "./lib_learner.ts";
export * from "./morphology.ts";
