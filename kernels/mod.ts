/**
 * WGSL kernels, each with its source, a typed dispatch wrapper and a CPU reference.
 *
 * @example
 * ```ts
 * import * as area from "@tokenlab/tokenlab/kernels";
 * console.log(Object.keys(area));
 * ```
 *
 * @module
 */
export {};
