/**
 * GPU layer: WebGPU adapter acquisition with software/CPU fallback, tensors, buffer pool, pipeline cache, profiling.
 *
 * @example
 * ```ts
 * import * as area from "@tokenlab/tokenlab/gpu";
 * console.log(Object.keys(area));
 * ```
 *
 * @module
 */
export {};
