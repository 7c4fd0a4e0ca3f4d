/**
 * Tokenizers: pre-tokenizers, byte-level BPE encode/decode and training, vocabulary I/O, metrics.
 *
 * @example
 * ```ts
 * import * as area from "@tokenlab/tokenlab/tokenizers";
 * console.log(Object.keys(area));
 * ```
 *
 * @module
 */
export {};
