/**
 * The trainers `trainTinyLM` drives through one interface ({@linkcode Trainer}): the CPU one
 * here (the model's reference forward/backward, clipping and AdamW on the host) and the GPU one
 * (`GpuTrainer`, train_gpu.ts), and the choice between them.
 *
 * @example
 * ```ts
 * import { createTrainer, parseConfig, TinyLM } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * const trainer = await createTrainer(lm, { backend: "cpu" });
 * const batch = { inputs: new Int32Array([1, 2]), targets: new Int32Array([2, 3]), batchSize: 1, seqLen: 2 };
 * console.log(await trainer.step(batch, { lr: 1e-2 }));
 * trainer.release();
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { getDevice } from "../gpu/mod.ts";
import type { TinyLM } from "./tiny_lm.ts";
import { AdamW, clipGradNorm } from "./optimizer.ts";
import { GpuTrainer } from "./train_gpu.ts";
import type { TrainBatch, Trainer, TrainerStepOptions, TrainerStepResult } from "./train_types.ts";

/**
 * Trains a {@linkcode TinyLM} on the CPU: `lossAndGrad`, global-norm clipping, then AdamW, all
 * on the model's own arrays.
 *
 * @example
 * ```ts
 * import { CpuTrainer, parseConfig, TinyLM } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * const batch = { inputs: new Int32Array([1, 2]), targets: new Int32Array([2, 3]), batchSize: 1, seqLen: 2 };
 * const { loss, gradNorm } = await new CpuTrainer(lm).step(batch, { lr: 1e-2, gradClip: 1 });
 * console.log(loss, gradNorm);
 * ```
 */
export class CpuTrainer implements Trainer {
  /** Where the steps run. */
  readonly backend = "cpu" as const;
  /** The model trained in place. */
  readonly lm: TinyLM;
  readonly #opt: AdamW;

  /** A trainer with fresh AdamW moments for `lm`. */
  constructor(lm: TinyLM) {
    check(
      lm != null && typeof lm.lossAndGrad === "function",
      "CpuTrainer needs a TinyLM",
    );
    this.lm = lm;
    this.#opt = new AdamW(lm);
  }

  /** One step; the loss is that of the batch before the update. */
  // deno-lint-ignore require-await
  async step(batch: TrainBatch, options: TrainerStepOptions): Promise<TrainerStepResult> {
    check(
      options.gradClip === undefined || options.gradClip > 0,
      `CpuTrainer.step: gradClip must be positive, got ${options.gradClip}`,
      { hint: "pass Infinity to disable clipping" },
    );
    const loss = this.lm.lossAndGrad(batch);
    const gradNorm = clipGradNorm(this.lm.grads, options.gradClip ?? 1);
    this.#opt.step(options);
    return { loss, gradNorm };
  }

  /** The batch's mean loss with the current weights. */
  loss(batch: TrainBatch): Promise<number> {
    return Promise.resolve(this.lm.loss(batch));
  }

  /** Nothing to do: the weights already live in `lm.params`. */
  download(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to free. */
  release(): void {}
}

/** Options of {@linkcode createTrainer}. */
export interface CreateTrainerOptions {
  /**
   * "cpu" (default) or "gpu". "gpu" without a WebGPU adapter (or with `TOKENLAB_NO_GPU=1`)
   * prints a notice and returns the CPU trainer; the trainer's `backend` says which.
   */
  backend?: "cpu" | "gpu";
}

/**
 * The trainer for `lm` on the backend asked for (see {@linkcode CreateTrainerOptions}).
 *
 * @example
 * ```ts
 * import { createTrainer, parseConfig, TinyLM } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * const trainer = await createTrainer(lm, { backend: "gpu" });
 * console.log(trainer.backend); // "gpu" with an adapter, else "cpu"
 * trainer.release();
 * ```
 */
export async function createTrainer(
  lm: TinyLM,
  options: CreateTrainerOptions = {},
): Promise<Trainer> {
  const backend = options.backend ?? "cpu";
  check(
    backend === "cpu" || backend === "gpu",
    `backend must be "cpu" or "gpu", got ${JSON.stringify(options.backend)}`,
  );
  if (backend === "gpu") {
    const gpu = await getDevice();
    if (gpu) return new GpuTrainer(lm, { gpu });
    console.error('tokenlab: backend "gpu": no WebGPU adapter, training on the CPU instead');
  }
  return new CpuTrainer(lm);
}
