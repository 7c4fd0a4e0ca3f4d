/**
 * Decoding algorithms: speculative decoding, KV-cache policies, constrained decoding (planned; see the catalogue).
 *
 * @example
 * ```ts
 * import * as area from "@tokenlab/tokenlab/decoding";
 * console.log(Object.keys(area));
 * ```
 *
 * @module
 */
export {};
