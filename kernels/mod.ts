/**
 * WGSL kernels: each op has a typed wrapper (GPU tensors run the kernel, CPU tensors the CPU
 * reference, both after the same input checks) and its CPU reference. The WGSL sources stay in
 * their modules; to write a kernel of your own, launch it with `dispatch` from `/gpu`.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { rmsnorm, rmsnormReference } from "@tokenlab/tokenlab/kernels";
 * // the workflow of every kernel: run it on the GPU, compare with its CPU reference
 * const x = Float32Array.from({ length: 3 * 5 }, (_, i) => Math.sin(i));
 * const weight = new Float32Array(5).fill(1);
 * const want = rmsnormReference({ x: { data: x, shape: [3, 5] }, weight: { data: weight, shape: [5] } });
 * const gpu = await getDevice(); // null without an adapter: the wrapper then runs the reference
 * const t = (data: Float32Array, shape: number[]) => Tensor.fromArray(data, { shape, gpu });
 * const got = await rmsnorm({ x: t(x, [3, 5]), weight: t(weight, [5]) });
 * const out = await got.out.toArray();
 * console.log(Math.max(...out.map((v, i) => Math.abs(v - want.out.data[i])))); // ≈ 1e-7
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
  samplingProbabilities,
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
