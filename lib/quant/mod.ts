/**
 * Quantisation codecs: nf4, fp4, int8 and entropy-coded bf16 (planned; see the catalogue).
 *
 * @example
 * ```ts
 * import * as area from "@tokenlab/tokenlab/quant";
 * console.log(Object.keys(area));
 * ```
 *
 * @module
 */
export {};
