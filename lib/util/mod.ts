/**
 * Low-level helpers every layer may use: seeded randomness, errors with hints, progress bars,
 * Jupyter display helpers.
 *
 * @example
 * ```ts
 * import { Rng } from "@tokenlab/tokenlab";
 * console.log(new Rng(1).int(6));
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./rng.ts";
export * from "./progress.ts";
export * from "./jupyter.ts";
