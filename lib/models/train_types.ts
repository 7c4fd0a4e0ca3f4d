/**
 * The types the CPU trainer (`trainer.ts`) and the GPU trainer (`train_gpu.ts`) share: the
 * parameter layout, a training batch, AdamW's hyper-parameters, what a trainer needs of a
 * model, and the {@linkcode Trainer} interface the training loop (`train.ts`) drives. A leaf,
 * so that neither trainer imports the other's module for its types.
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
import type { FloatArray } from "../../kernels/_common.ts";

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
  /**
   * Early-exit training (LayerSkip): the loss becomes Σ_ℓ w[ℓ] · CE(layer ℓ's exit logits), each
   * exit through the final norm and LM head, w of length numLayers (the last entry weighs the
   * ordinary loss). Absent: the ordinary loss. CPU trainer only.
   */
  exitLossWeights?: number[];
  /**
   * SkipDecode training: per token, how many of the lowest layers it skips (its residual stream
   * enters layer `skipLayers[i]` as the embedding), [batchSize × seqLen], non-decreasing along
   * each sequence. Absent: no layer is skipped. CPU trainer only.
   */
  skipLayers?: Int32Array;
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

/** Options of one {@linkcode Trainer.step}: AdamW's hyper-parameters and the clip. */
export interface TrainerStepOptions extends AdamWOptions {
  /** Global gradient-norm clip (default 1; `Infinity` disables clipping). */
  gradClip?: number;
}

/** What {@linkcode Trainer.step} returns. */
export interface TrainerStepResult {
  /** Mean cross-entropy of the batch (nats per predicted token), before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/**
 * One optimizer step at a time on some backend: what `trainTinyLM`'s loop drives, the same
 * way for the CPU trainer (`CpuTrainer`) and the GPU trainer (`GpuTrainer`).
 */
export interface Trainer {
  /** Where the step runs. */
  readonly backend: "cpu" | "gpu";
  /** The model whose `params` hold the weights after {@linkcode Trainer.download}. */
  readonly lm: TrainableModel;
  /** Forward, backward, gradient clipping and one AdamW update. */
  step(batch: TrainBatch, options: TrainerStepOptions): Promise<TrainerStepResult>;
  /** Mean cross-entropy of a batch with the current weights, without updating them. */
  loss(batch: TrainBatch): Promise<number>;
  /** Makes `lm.params` hold the current weights (a no-op on the CPU). */
  download(): Promise<void>;
  /** Frees what the trainer holds (device buffers); it cannot step afterwards. */
  release(): void;
}
