/**
 * The training loop of a tiny Llama-style model: documents → token stream → seeded random
 * windows → {@linkcode Trainer} steps under a learning-rate schedule, with held-out
 * evaluation, progress, and HF checkpoints. The model (`tiny_lm.ts`), its layout
 * (`param_layout.ts`), the optimizer (`optimizer.ts`), the data (`token_stream.ts`) and the CPU
 * and GPU trainers (`trainer.ts`, `train_gpu.ts`) each live in their own file.
 *
 * @example
 * ```ts
 * import { trainTinyLM } from "@tokenlab/tokenlab/models";
 * import { trainBpe } from "@tokenlab/tokenlab/tokenizers";
 * const texts = ["the cat sat on the mat.", "the dog sat on the log."];
 * const tokenizer = trainBpe(texts, { vocabSize: 270 });
 * const { history } = await trainTinyLM({
 *   config: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, vocab_size: 270 },
 *   tokenizer, texts, steps: 3, batchSize: 2, seqLen: 8, lr: 1e-2, onProgress: () => {},
 * });
 * console.log(history.length); // 3
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { progress } from "../util/progress.ts";
import { type ModelConfig, parseConfig } from "./config.ts";
import type { Model, ModelTokenizer } from "./model.ts";
import { saveModel } from "./save.ts";
import { TinyLM } from "./tiny_lm.ts";
import { lrAt, type LrSchedule } from "./optimizer.ts";
import { tokenStream } from "./token_stream.ts";
import { fillRandomWindows, streamWindows } from "./_token_windows.ts";
import { createTrainer } from "./trainer.ts";
import type { TrainBatch, Trainer } from "./train_types.ts";

/** A tokenizer {@linkcode trainTinyLM} can use; `save` (lib/tokenizers) writes tokenizer.json. */
export interface TrainTokenizer extends ModelTokenizer {
  /** Writes tokenizer.json (optional). */
  save?(path: string): Promise<void>;
  /** Vocabulary size (optional; checked against the config). */
  readonly vocabSize?: number;
}

/** One logged training step. */
export interface TrainStep {
  /** 1-based step. */
  step: number;
  /** Training loss of the step's batch (nats/token). */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Tokens trained on so far. */
  tokens: number;
  /** Seconds since the start. */
  seconds: number;
}

/** One held-out evaluation. */
export interface EvalPoint {
  /** Step after which it was measured. */
  step: number;
  /** Mean loss (nats/token) on the held-out tokens. */
  loss: number;
  /** exp(loss). */
  perplexity: number;
}

/** What {@linkcode TrainTinyLMOptions.onProgress} receives. */
export interface TrainProgress extends TrainStep {
  /** Total steps. */
  steps: number;
  /** Training tokens per second so far. */
  tokensPerSecond: number;
  /** Estimated seconds left. */
  etaSeconds: number;
}

/** Options for {@linkcode trainTinyLM}. */
export interface TrainTinyLMOptions {
  /** HF-style config (`config.json` fields; model_type defaults to "llama") or a parsed one. */
  config: Record<string, unknown> | ModelConfig;
  /** Tokenizer encoding `texts`; saved into checkpoints when it has `save`. */
  tokenizer: TrainTokenizer;
  /** Training documents. */
  texts: string[];
  /** Held-out documents for periodic evaluation (optional). */
  evalTexts?: string[];
  /** Optimizer steps. */
  steps: number;
  /** Sequences per step. */
  batchSize: number;
  /** Tokens per sequence. */
  seqLen: number;
  /** Peak learning rate. */
  lr: number;
  /** Schedule after warmup (default "cosine"). */
  schedule?: LrSchedule;
  /** Warmup steps (default min(100, steps/10)). */
  warmupSteps?: number;
  /** Final lr as a fraction of `lr` (default 0.1). */
  minLrRatio?: number;
  /** AdamW weight decay (default 0.1). */
  weightDecay?: number;
  /** Global gradient-norm clip (default 1; `Infinity` disables clipping). */
  gradClip?: number;
  /** Seed for initialisation and batch sampling (default 0). */
  seed?: number;
  /** Start from these weights (same config) instead of a random initialisation. */
  init?: Model;
  /** Token id placed between documents (default: the tokenizer's `<|endoftext|>` when it has one, else none). */
  separatorId?: number;
  /** Evaluate every this many steps (default steps/10), and at the end. */
  evalEvery?: number;
  /** Cap on held-out tokens per evaluation (default 16384). */
  evalTokens?: number;
  /** Write an HF checkpoint here at the end (and every `checkpointEvery` steps). */
  checkpointDir?: string;
  /** Checkpoint interval in steps (default: only at the end). */
  checkpointEvery?: number;
  /** Called after every step. When absent a progress bar shows. */
  onProgress?: (p: TrainProgress) => void;
  /** Show the progress bar even with `onProgress` (default: only without it). */
  progressBar?: boolean;
  /**
   * Where forward, backward and AdamW run (default "cpu"). "gpu" keeps weights, gradients and
   * optimizer state on the WebGPU device and reads back only the loss and gradient norm per
   * step (held-out evaluation runs there too); same math in f32, so losses match the CPU path
   * to f32 rounding. Without an adapter (or with `TOKENLAB_NO_GPU=1`) it prints a notice and
   * trains on the CPU; `TrainResult.backend` says which ran. Configs the GPU kernels cannot run
   * (rope scaling, head_dim > 256) throw. On a software adapter (llvmpipe) both take about
   * the same time (`deno task bench:train`); "cpu" is the default as it needs no driver.
   */
  backend?: "cpu" | "gpu";
}

/** What {@linkcode trainTinyLM} returns. */
export interface TrainResult {
  /** The trained model (runtime form, f32). */
  model: Model;
  /** The trainable form (continue training, or compute losses quickly). */
  lm: TinyLM;
  /** Per-step log. */
  history: TrainStep[];
  /** Held-out evaluations. */
  evals: EvalPoint[];
  /** Wall-clock seconds of training (evaluation included). */
  seconds: number;
  /** Training tokens per second. */
  tokensPerSecond: number;
  /** Training tokens in the token stream. */
  trainTokens: number;
  /** Where training ran ("gpu" only when asked for and an adapter was found). */
  backend: "cpu" | "gpu";
}

/**
 * Completes a partial HF llama config with defaults (model_type llama, SiLU, rope_theta 10000,
 * rms_norm_eps 1e-5, tied embeddings, no biases) so that it loads in transformers.
 *
 * @example
 * ```ts
 * import { tinyConfig } from "@tokenlab/tokenlab/models";
 * console.log(tinyConfig({ hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
 *   intermediate_size: 128, vocab_size: 1000 }).architectures);
 * ```
 */
export function tinyConfig(partial: Record<string, unknown>): Record<string, unknown> {
  const type = String(partial.model_type ?? "llama");
  const arch = { llama: "LlamaForCausalLM", mistral: "MistralForCausalLM" }[type];
  check(arch, `tinyConfig: model_type "${type}" cannot be trained`, {
    hint: 'use "llama" or "mistral"',
  });
  return {
    architectures: [arch],
    model_type: type,
    hidden_act: "silu",
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    max_position_embeddings: 2048,
    initializer_range: 0.02,
    torch_dtype: "float32",
    use_cache: true,
    ...partial,
  };
}

/**
 * Trains a small Llama-style model from scratch on the CPU (default) or the GPU
 * (`backend: "gpu"`, see `GpuTrainer`) and returns it with its loss history.
 * Each step samples `batchSize` random windows of `seqLen + 1` tokens from the training stream
 * (seeded), runs forward and backward, clips the gradient norm, and takes an AdamW step.
 *
 * @example
 * ```ts
 * import { trainTinyLM } from "@tokenlab/tokenlab/models";
 * import { trainBpe } from "@tokenlab/tokenlab/tokenizers";
 * const texts = ["the cat sat on the mat.", "the dog sat on the log."];
 * const tokenizer = trainBpe(texts, { vocabSize: 270 });
 * const { history } = await trainTinyLM({
 *   config: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, vocab_size: 270 },
 *   tokenizer, texts, steps: 5, batchSize: 2, seqLen: 8, lr: 1e-2, onProgress: () => {},
 * });
 * console.log(history.at(-1)?.loss);
 * ```
 */
export async function trainTinyLM(options: TrainTinyLMOptions): Promise<TrainResult> {
  const o = options;
  for (const k of ["steps", "batchSize", "seqLen"] as const) {
    check(
      Number.isInteger(o[k]) && o[k] > 0,
      `trainTinyLM: ${k} must be a positive integer, got ${o[k]}`,
    );
  }
  check(o.lr > 0, `trainTinyLM: lr must be positive, got ${o.lr}`);
  check(
    o.gradClip === undefined || o.gradClip > 0,
    `trainTinyLM: gradClip must be positive, got ${o.gradClip}`,
    { hint: "pass Infinity to disable clipping" },
  );
  check(
    Array.isArray(o.texts) && o.texts.length > 0,
    "trainTinyLM: texts must be a non-empty array of strings",
  );
  const config = "hiddenSize" in o.config
    ? o.config as ModelConfig
    : parseConfig(tinyConfig(o.config as Record<string, unknown>), "trainTinyLM config");
  if (o.tokenizer.vocabSize != null) {
    check(
      o.tokenizer.vocabSize <= config.vocabSize,
      `tokenizer has ${o.tokenizer.vocabSize} tokens but vocab_size is ${config.vocabSize}`,
      { hint: "set vocab_size to at least the tokenizer's vocabulary size" },
    );
  }
  const sep = o.separatorId ?? specialId(o.tokenizer, "<|endoftext|>");
  const train = tokenStream(o.texts, { tokenizer: o.tokenizer, separatorId: sep });
  check(
    train.length > o.seqLen + 1,
    `trainTinyLM: the texts give ${train.length} tokens, fewer than seqLen + 1 = ${o.seqLen + 1}`,
    { hint: "pass more text or a shorter seqLen" },
  );
  const held = o.evalTexts?.length
    ? tokenStream(o.evalTexts, { tokenizer: o.tokenizer, separatorId: sep })
    : null;
  const seed = o.seed ?? 0;
  const lm = new TinyLM(config, { seed });
  if (o.init) {
    check(
      o.init.config.vocabSize === config.vocabSize &&
        o.init.config.numLayers === config.numLayers &&
        o.init.config.hiddenSize === config.hiddenSize,
      "trainTinyLM: init model's config differs from config",
      { hint: "pass the config of the model you continue from" },
    );
    lm.loadWeights(o.init);
  }
  const trainer = await createTrainer(lm, { backend: o.backend });
  const rng = new Rng(seed + 1);
  const { steps, batchSize: B, seqLen: S } = o;
  const warmupSteps = o.warmupSteps ?? Math.min(100, Math.floor(steps / 10));
  const evalEvery = o.evalEvery ?? Math.max(1, Math.floor(steps / 10));
  const evalTokens = o.evalTokens ?? 16384;
  const history: TrainStep[] = [];
  const evals: EvalPoint[] = [];
  const bar = (o.progressBar ?? !o.onProgress)
    ? progress(steps, { label: "trainTinyLM", unit: "steps" })
    : null;
  const start = performance.now();
  let evalSeconds = 0;
  const evaluate = async (step: number) => {
    if (!held) return;
    const t0 = performance.now();
    const loss = await heldOutLoss(trainer, {
      tokens: held,
      seqLen: S,
      maxTokens: evalTokens,
    });
    evals.push({ step, loss, perplexity: Math.exp(loss) });
    evalSeconds += (performance.now() - t0) / 1000;
  };
  const batch: TrainBatch = {
    inputs: new Int32Array(B * S),
    targets: new Int32Array(B * S),
    batchSize: B,
    seqLen: S,
  };
  for (let step = 0; step < steps; step++) {
    fillRandomWindows(batch, { tokens: train, rng });
    const lr = lrAt(step, {
      lr: o.lr,
      steps,
      warmupSteps,
      schedule: o.schedule,
      minLrRatio: o.minLrRatio,
    });
    const { loss, gradNorm } = await trainer.step(batch, {
      lr,
      weightDecay: o.weightDecay,
      gradClip: o.gradClip ?? 1,
    });
    check(Number.isFinite(loss), `trainTinyLM: loss became ${loss} at step ${step + 1}`, {
      hint: "lower lr or gradClip",
    });
    const seconds = (performance.now() - start) / 1000;
    const rec: TrainStep = {
      step: step + 1,
      loss,
      lr,
      gradNorm,
      tokens: (step + 1) * B * S,
      seconds,
    };
    history.push(rec);
    if ((step + 1) % evalEvery === 0 || step + 1 === steps) await evaluate(step + 1);
    const trainSeconds = Math.max(1e-9, seconds - evalSeconds);
    const tps = rec.tokens / trainSeconds;
    const eta = (trainSeconds / (step + 1)) * (steps - step - 1);
    if (bar) {
      const ev = evals.at(-1);
      bar.note(
        `loss ${loss.toFixed(3)} ${tps.toFixed(0)} tok/s${
          ev ? ` held-out ppl ${ev.perplexity.toFixed(1)}` : ""
        }`,
      );
      bar.tick();
    }
    o.onProgress?.({ ...rec, steps, tokensPerSecond: tps, etaSeconds: eta });
    if (o.checkpointDir && o.checkpointEvery && (step + 1) % o.checkpointEvery === 0) {
      await trainer.download();
      await saveCheckpoint(lm, { dir: o.checkpointDir, tokenizer: o.tokenizer });
    }
    if (step % 8 === 7) await new Promise((r) => setTimeout(r, 0)); // let the event loop breathe
  }
  bar?.finish();
  const seconds = (performance.now() - start) / 1000;
  await trainer.download();
  trainer.release();
  const model = lm.toModel();
  model.tokenizer = o.tokenizer;
  if (o.checkpointDir) await saveCheckpoint(lm, { dir: o.checkpointDir, tokenizer: o.tokenizer });
  return {
    model,
    lm,
    history,
    evals,
    seconds,
    tokensPerSecond: (steps * B * S) / Math.max(1e-9, seconds - evalSeconds),
    trainTokens: train.length,
    backend: trainer.backend,
  };
}

function specialId(tokenizer: ModelTokenizer, name: string): number | undefined {
  const specials = (tokenizer as { specialTokens?: Record<string, number> }).specialTokens;
  return specials?.[name];
}

/** Mean held-out loss over the stream's windows, computed where the trainer runs. */
async function heldOutLoss(
  trainer: Trainer,
  options: { tokens: Int32Array; seqLen: number; maxTokens: number },
): Promise<number> {
  let total = 0, count = 0;
  for (const w of streamWindows(options)) {
    total += (await trainer.loss(w.batch)) * w.n;
    count += w.n;
  }
  return count ? total / count : NaN;
}

/** The model with its tokenizer, saved as an HF folder. */
function saveCheckpoint(
  lm: TinyLM,
  options: { dir: string; tokenizer?: ModelTokenizer },
): Promise<void> {
  const model = lm.toModel();
  model.tokenizer = options.tokenizer;
  return saveModel(model, options.dir);
}

/**
 * @deprecated Use `saveModel(lm.toModel(), dir)` after setting the model's `tokenizer` (the
 * library's `save…(object, path)` form). Writes config.json, model.safetensors and, when the
 * tokenizer can save itself, tokenizer.json.
 *
 * @example
 * ```ts
 * import { parseConfig, TinyLM, writeCheckpoint } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * await writeCheckpoint(lm, { dir: await Deno.makeTempDir() });
 * ```
 */
export function writeCheckpoint(
  lm: TinyLM,
  options: { dir: string; tokenizer?: TrainTokenizer },
): Promise<void> {
  return saveCheckpoint(lm, options);
}
