/**
 * WGSL kernels: each op has a typed wrapper (GPU tensors run the kernel, CPU tensors the CPU
 * reference, both after the same input checks) and its CPU reference. The WGSL sources stay in
 * their modules; to write a kernel of your own, launch it with `dispatch` from `/gpu`.
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
export { matmul, type MatmulInputs, type MatmulOptions, matmulReference } from "./matmul.ts";
export {
  rmsnorm,
  rmsnormBackward,
  type RmsnormBackwardInputs,
  type RmsnormBackwardOptions,
  rmsnormBackwardReference,
  type RmsnormBackwardResult,
  type RmsnormInputs,
  type RmsnormOptions,
  rmsnormReference,
  type RmsnormResult,
} from "./rmsnorm.ts";
export {
  rope,
  ropeBackward,
  type RopeBackwardInputs,
  ropeBackwardReference,
  type RopeInputs,
  ropeInvFreq,
  type RopeInvFreqOptions,
  type RopeLayout,
  type RopeOptions,
  ropeQk,
  type RopeQkInputs,
  ropeQkReference,
  type RopeQkResult,
  ropeReference,
  type RopeScaling,
} from "./rope.ts";
export {
  swiglu,
  swigluBackward,
  type SwigluBackwardInputs,
  swigluBackwardReference,
  type SwigluBackwardResult,
  type SwigluInputs,
  swigluReference,
} from "./swiglu.ts";
export { softmax, type SoftmaxOptions, softmaxReference } from "./softmax.ts";
export {
  attentionAllowed,
  type AttentionInputs,
  type AttentionReferenceOptions,
  type AttentionReferenceResult,
  flashAttention,
  type FlashAttentionOptions,
  flashAttentionReference,
  type FlashAttentionResult,
  treeAncestorMask,
} from "./flash_attention.ts";
export {
  decodeAttention,
  type DecodeAttentionOptions,
  decodeAttentionReference,
} from "./decode_attention.ts";
export {
  crossEntropy,
  type CrossEntropyInputs,
  type CrossEntropyOptions,
  crossEntropyReference,
  type CrossEntropyResult,
} from "./cross_entropy.ts";
export {
  sample,
  type SampleOptions,
  sampleReference,
  samplingUniform,
  topK,
  TOPK_MAX,
  type TopKOptions,
  topKReference,
  type TopKResult,
} from "./sampling.ts";
export {
  sparseAttention,
  type SparseAttentionInputs,
  type SparseAttentionOptions,
  sparseAttentionReference,
} from "./sparse_attention.ts";
export {
  binary,
  type BinaryInputs,
  type BinaryOp,
  type BinaryOptions,
  binaryReference,
  unary,
  type UnaryOp,
  type UnaryOptions,
  unaryReference,
} from "./elementwise.ts";
export {
  type ReduceOp,
  rowReduce,
  type RowReduceOptions,
  rowReduceReference,
} from "./row_reduce.ts";
export { rotateHalf, rotateHalfReference } from "./rotate_half.ts";
export {
  rmsnormUnfused,
  type RmsnormUnfusedInputs,
  type RmsnormUnfusedOptions,
  ropeTables,
  type RopeTablesOptions,
  ropeUnfused,
  type RopeUnfusedInputs,
  swigluUnfused,
} from "./unfused_baselines.ts";
export {
  linearCrossEntropy,
  type LinearCrossEntropyInputs,
  type LinearCrossEntropyOptions,
  linearCrossEntropyReference,
  type LinearCrossEntropyResult,
} from "./linear_cross_entropy.ts";
export {
  embedding,
  embeddingBackward,
  type EmbeddingBackwardInputs,
  type EmbeddingBackwardOptions,
  embeddingBackwardReference,
  type EmbeddingInputs,
  embeddingReference,
} from "./embedding.ts";
export {
  causalAttention,
  causalAttentionBackward,
  type CausalAttentionBackwardInputs,
  causalAttentionBackwardReference,
  type CausalAttentionBackwardResult,
  type CausalAttentionInputs,
  type CausalAttentionOptions,
  causalAttentionReference,
  type CausalAttentionResult,
} from "./causal_attention.ts";
export {
  adamw,
  type AdamwInputs,
  type AdamWOptions,
  type AdamwOptions,
  adamwReference,
  type AdamwResult,
  gradNorm,
  type GradNormOptions,
  gradNormReference,
} from "./optimizer.ts";
