/**
 * What a training step needs besides the gradient: learning-rate schedules with warmup, AdamW
 * with decoupled weight decay over a model's flat parameters, and global-norm gradient
 * clipping. The arithmetic is the kernels' CPU references (`adamwReference`'s update and
 * `gradNormReference`), so the CPU and GPU trainers step identically.
 *
 * @example
 * ```ts
 * import { AdamW, clipGradNorm, lrAt, parseConfig, TinyLM } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * const opt = new AdamW(lm);
 * const batch = { inputs: new Int32Array([1, 2]), targets: new Int32Array([2, 3]), batchSize: 1, seqLen: 2 };
 * lm.lossAndGrad(batch);
 * clipGradNorm(lm.grads, 1);
 * opt.step({ lr: lrAt(0, { lr: 1e-2, steps: 10 }) });
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";
import type { FloatArray } from "../../kernels/_common.ts";
import { gradNormReference } from "../../kernels/optimizer.ts";
import { adamwUpdate } from "../../kernels/_adamw_update.ts";
import type { AdamWOptions, TrainableModel } from "./train_types.ts";

/** Learning-rate schedule after warmup. */
export type LrSchedule = "cosine" | "linear" | "constant";

/** Options for {@linkcode lrAt}. */
export interface LrScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Total steps. */
  steps: number;
  /** Linear warmup steps from 0 to `lr` (default 0). */
  warmupSteps?: number;
  /** Shape after warmup (default "cosine"). */
  schedule?: LrSchedule;
  /** Final learning rate as a fraction of `lr` (default 0.1). */
  minLrRatio?: number;
}

/**
 * The learning rate at `step` (0-based): linear warmup, then cosine or linear decay to
 * `lr · minLrRatio` at the last step, or constant.
 *
 * @example
 * ```ts
 * import { lrAt } from "@tokenlab/tokenlab/models";
 * console.log(lrAt(0, { lr: 1e-3, steps: 100, warmupSteps: 10 }), lrAt(99, { lr: 1e-3, steps: 100 }));
 * ```
 */
export function lrAt(step: number, options: LrScheduleOptions): number {
  const { lr, steps } = options;
  check(
    Number.isFinite(step) && step >= 0,
    `lrAt: step must be a non-negative number, got ${step}`,
  );
  check(
    lr > 0 && Number.isInteger(steps) && steps > 0,
    `lrAt: lr must be positive and steps a positive integer, got lr ${lr}, steps ${steps}`,
  );
  check(
    options.schedule === undefined || ["cosine", "linear", "constant"].includes(options.schedule),
    `lrAt: schedule must be "cosine", "linear" or "constant", got ${
      JSON.stringify(options.schedule)
    }`,
  );
  const warm = options.warmupSteps ?? 0;
  const minLr = lr * (options.minLrRatio ?? 0.1);
  if (step < warm) return (lr * (step + 1)) / warm;
  const schedule = options.schedule ?? "cosine";
  if (schedule === "constant") return lr;
  const span = Math.max(1, steps - 1 - warm);
  const frac = Math.min(1, Math.max(0, (step - warm) / span));
  if (schedule === "linear") return lr + (minLr - lr) * frac;
  return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * frac));
}

/** A model {@linkcode AdamW} can step: flat parameters, their layout, and their gradient. */
export interface OptimizableModel extends TrainableModel {
  /** Gradients, same layout as `params`. */
  readonly grads: FloatArray;
}

/**
 * AdamW state for a model's flat parameters (a `TinyLM`): first and second moments
 * and the step counter. Each slot is updated by the kernels' AdamW arithmetic, with weight
 * decay on the slots marked `decay` (matrices) only.
 *
 * @example
 * ```ts
 * import { AdamW, parseConfig, TinyLM } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({
 *   model_type: "llama", hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
 *   intermediate_size: 16, vocab_size: 20,
 * }));
 * const opt = new AdamW(lm);
 * const batch = { inputs: new Int32Array([1, 2]), targets: new Int32Array([2, 3]), batchSize: 1, seqLen: 2 };
 * lm.lossAndGrad(batch);
 * opt.step({ lr: 1e-2 });
 * console.log(lm.loss(batch));
 * ```
 */
export class AdamW {
  readonly #model: OptimizableModel;
  readonly #m: FloatArray;
  readonly #v: FloatArray;
  /** Steps taken. */
  t = 0;

  /** Zero moments for the model's parameters (in the parameters' float type). */
  constructor(model: OptimizableModel) {
    check(
      model?.params != null && model.grads?.length === model.params.length,
      "AdamW: the model needs params and grads of the same length (a TinyLM has both)",
    );
    this.#model = model;
    const make = (n: number) =>
      model.params instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
    this.#m = make(model.params.length);
    this.#v = make(model.params.length);
  }

  /** One update from the model's `grads`. */
  step(options: AdamWOptions): void {
    check(
      Number.isFinite(options.lr) && options.lr >= 0,
      `AdamW.step: lr must be a non-negative number, got ${options.lr}`,
    );
    const beta1 = options.beta1 ?? 0.9, beta2 = options.beta2 ?? 0.95;
    const wd = options.weightDecay ?? 0.1, lr = options.lr;
    this.t++;
    const base = {
      lr,
      beta1,
      beta2,
      eps: options.eps ?? 1e-8,
      c1: 1 - Math.pow(beta1, this.t),
      c2: 1 - Math.pow(beta2, this.t),
      scale: 1,
    };
    const { params, grads } = this.#model;
    for (const s of this.#model.slots) {
      const at = (a: FloatArray) => a.subarray(s.offset, s.offset + s.size);
      adamwUpdate(
        { param: at(params), grad: at(grads), m: at(this.#m), v: at(this.#v) },
        { ...base, shrink: s.decay ? 1 - lr * wd : 1 },
      );
    }
  }
}

/**
 * Scales `grads` in place so that their global L2 norm is at most `maxNorm`; returns the norm
 * before clipping.
 *
 * @example
 * ```ts
 * import { clipGradNorm } from "@tokenlab/tokenlab/models";
 * const g = new Float32Array([3, 4]);
 * console.log(clipGradNorm(g, 1), g); // 5, [0.6, 0.8]
 * ```
 */
export function clipGradNorm(grads: FloatArray, maxNorm: number): number {
  const [norm, scale] = gradNormReference([{ data: grads, shape: [grads.length] }], { maxNorm })
    .data;
  if (scale !== 1) { for (let i = 0; i < grads.length; i++) grads[i] *= scale; }
  return norm;
}
