/**
 * Data: deterministic, cached loaders for the bundled corpora (Brown, UDHR, SPDX licenses) and splits.
 *
 * @example
 * ```ts
 * import * as area from "@tokenlab/tokenlab/data";
 * console.log(Object.keys(area));
 * ```
 *
 * @module
 */
export {};
