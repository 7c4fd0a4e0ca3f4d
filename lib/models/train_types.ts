/**
 * The types the CPU trainer (`train.ts`) and the GPU trainer (`train_gpu.ts`) share: the
 * parameter layout, a training batch, AdamW's hyper-parameters, and what a trainer needs of
 * a model. A leaf, so that neither trainer imports the other's module for its types.
 *
 * @example
 * ```ts
 * import type { TrainBatch } from "@tokenlab/tokenlab/models";
 * const batch: TrainBatch = {
 *   inputs: new Int32Array([1, 2, 3]),
 *   targets: new Int32Array([2, 3, -1]), // -1: no target
 *   batchSize: 1,
 *   seqLen: 3,
 * };
 * console.log(batch.inputs.length === batch.batchSize * batch.seqLen);
 * ```
 *
 * @module
 */
import type { ModelConfig } from "./config.ts";
import type { FloatArray } from "./cpu/matmul.ts";

/** One named parameter tensor inside the flat parameter buffer. */
export interface ParamSlot {
  /** HF tensor name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Shape in HF layout. */
  shape: number[];
  /** Offset into the flat buffer. */
  offset: number;
  /** Number of values. */
  size: number;
  /** Whether weight decay applies (matrices yes, norm gains no). */
  decay: boolean;
}

/** A training batch: `batchSize` sequences of `seqLen` tokens, row-major. */
export interface TrainBatch {
  /** Input ids, [batchSize × seqLen]. */
  inputs: Int32Array;
  /** Target ids, [batchSize × seqLen]; -1 ignores a position. */
  targets: Int32Array;
  /** Sequences in the batch. */
  batchSize: number;
  /** Tokens per sequence. */
  seqLen: number;
}

/** AdamW hyper-parameters. */
export interface AdamWOptions {
  /** Learning rate of this step. */
  lr: number;
  /** β1 (default 0.9). */
  beta1?: number;
  /** β2 (default 0.95). */
  beta2?: number;
  /** ε (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0.1), applied to slots with `decay`. */
  weightDecay?: number;
}

/**
 * What a trainer needs of a model: its config and the flat parameters with their layout
 * (`TinyLM` is one).
 */
export interface TrainableModel {
  /** The model config. */
  readonly config: ModelConfig;
  /** All parameters, flat. */
  readonly params: FloatArray;
  /** Where each named tensor lives in `params`. */
  readonly slots: readonly ParamSlot[];
}
