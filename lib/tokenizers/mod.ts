/**
 * Tokenizers: pre-tokenizers, byte-level BPE with exact tiktoken / HF parity, tokenizer.json
 * and tiktoken I/O, pretrained vocabularies, trainers and metrics.
 *
 * @example
 * ```ts
 * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await loadPretrained("o200k_base");
 * const ids = tok.encode("Tokenizers are compressors.");
 * console.log(ids.length, tok.decode(ids));
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
export * from "./parallel.ts";
export * from "./dynamic.ts";
export * from "./supertokens.ts";
export * from "./mixture.ts";
export * from "./lib_learner.ts";
export * from "./morphology.ts";
