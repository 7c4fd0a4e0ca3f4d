/**
 * Analysis helpers for notebooks: result records with their environment, claim-vs-measured
 * tables (headline rows declared in advance, intervals judged against the paper's band,
 * leave-one-out fragility), a paper's status derived from its record, Observable Plot figures
 * (headless SVG and Jupyter display with one call), Arquero tables, statistics with a seeded
 * bootstrap, timings of async work with intervals, and progress bars.
 *
 * @example
 * ```ts
 * import { compareClaims, figure, Plot, table } from "@tokenlab/tokenlab/analysis";
 * const claims = compareClaims([
 *   { quantity: "bytes/token", paper: 4.2, measured: 4.0, rule: { kind: "relative", tolerance: 0.1 } },
 * ]);
 * const fig = figure({ marks: [Plot.barY([3, 1, 2])] });
 * const t = table([{ a: 1 }]);
 * console.log(claims.rows[0].verdict, fig.svg.length, t.numRows());
 * ```
 *
 * @module
 */
export * from "./environment.ts";
export * from "./record.ts";
export * from "./claims.ts";
export * from "./status.ts";
export * from "./figure.ts";
export * from "./table.ts";
export * from "./stats.ts";
export * from "./timing.ts";
export { progress, type ProgressBar, type ProgressOptions } from "../util/progress.ts";
