/**
 * WGSL kernels, each with its source, a typed dispatch wrapper and a CPU reference.
 *
 * @example
 * ```ts
 * import { matmulReference } from "@tokenlab/tokenlab/kernels";
 * const c = matmulReference({
 *   a: { data: new Float32Array([1, 2]), shape: [1, 2] },
 *   b: { data: new Float32Array([3, 4]), shape: [2, 1] },
 * });
 * console.log(c.data[0]); // 11
 * ```
 *
 * @module
 */
export type { FloatArray, HostTensor, KernelOptions } from "./_common.ts";
export * from "./matmul.ts";
export * from "./rmsnorm.ts";
export * from "./rope.ts";
export * from "./swiglu.ts";
export * from "./softmax.ts";
export * from "./flash_attention.ts";
export * from "./decode_attention.ts";
export * from "./cross_entropy.ts";
export * from "./sampling.ts";
export * from "./sparse_attention.ts";
export * from "./elementwise.ts";
export * from "./row_reduce.ts";
export * from "./rotate_half.ts";
export * from "./unfused_baselines.ts";
export * from "./linear_cross_entropy.ts";
export * from "./embedding.ts";
export * from "./causal_attention.ts";
export * from "./optimizer.ts";
