/**
 * Analysis: result records, claim-vs-measured tables, Plot figures, Arquero tables, statistics, progress.
 *
 * @example
 * ```ts
 * import * as area from "@tokenlab/tokenlab/analysis";
 * console.log(Object.keys(area));
 * ```
 *
 * @module
 */
export {};
