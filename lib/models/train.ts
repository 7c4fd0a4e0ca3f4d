/**
 * Tiny-model training, on the CPU here (the GPU path is in train_gpu.ts): a reference forward
 * and backward for every op of the Llama-style decoder (embedding, RMSNorm, RoPE, causal GQA
 * attention, SwiGLU MLP, tied or untied head, cross-entropy), AdamW with decoupled weight decay, global-norm gradient clipping,
 * cosine or linear learning-rate schedules with warmup, and checkpoints as HF folders.
 *
 * @module
 */
import { mapLayerTensors } from "./_layer_tensors.ts";
import { check, TokenlabError } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { progress } from "../util/progress.ts";
import { type ModelConfig, parseConfig } from "./config.ts";
import { Model, type ModelTokenizer } from "./model.ts";
import type { ModelWeights } from "./weights.ts";
import { saveModel } from "./save.ts";
import { type FloatArray, matmulNN, matmulNT, matmulTN } from "./cpu/matmul.ts";
import { rmsnormBackwardReference, rmsnormReference } from "../../kernels/rmsnorm.ts";
import { ropeBackwardReference, ropeReference } from "../../kernels/rope.ts";
import {
  causalAttentionBackwardReference,
  causalAttentionReference,
} from "../../kernels/causal_attention.ts";
import { swigluBackwardReference, swigluReference } from "../../kernels/swiglu.ts";
import { crossEntropyReference } from "../../kernels/cross_entropy.ts";
import { embeddingBackwardReference, embeddingReference } from "../../kernels/embedding.ts";
import type { AdamWOptions, ParamSlot, TrainBatch } from "./train_types.ts";
import { getDevice } from "../gpu/mod.ts";
import { GpuTrainer } from "./train_gpu.ts";

/** Options for {@linkcode TinyLM}. */
export interface TinyLMOptions {
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** "f32" (default, for training) or "f64" (for gradient checks). */
  precision?: "f32" | "f64";
  /** Standard deviation of the initial weights (default 0.02; o/down projections get 0.02/√(2L)). */
  initStd?: number;
}

interface LayerViews<T extends FloatArray> {
  inputNorm: T;
  q: T;
  k: T;
  v: T;
  o: T;
  postNorm: T;
  gate: T;
  up: T;
  down: T;
}

interface Views<T extends FloatArray> {
  embed: T;
  layers: LayerViews<T>[];
  norm: T;
  lmHead: T;
}

interface LayerActs<T extends FloatArray> {
  hIn: T;
  x1: T;
  q: T;
  k: T;
  v: T;
  att: T;
  lse: T;
  h1: T;
  x2: T;
  g: T;
  u: T;
  a: T;
}

/**
 * A trainable Llama-style decoder (no biases) with a flat parameter buffer, its gradient, and a
 * CPU forward/backward. `precision: "f64"` gives a double-precision twin for finite-difference
 * gradient checks.
 *
 * @example
 * ```ts
 * import { parseConfig, TinyLM } from "@tokenlab/tokenlab/models";
 * const config = parseConfig({
 *   model_type: "llama", hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2,
 *   intermediate_size: 32, vocab_size: 50, tie_word_embeddings: true,
 * });
 * const lm = new TinyLM(config, { seed: 1 });
 * const batch = { inputs: new Int32Array([1, 2, 3]), targets: new Int32Array([2, 3, 4]), batchSize: 1, seqLen: 3 };
 * console.log(lm.lossAndGrad(batch)); // ≈ ln 50 at initialisation
 * ```
 */
export class TinyLM {
  /** The model config. */
  readonly config: ModelConfig;
  /** All parameters, flat. */
  readonly params: FloatArray;
  /** Gradients, same layout as `params` (filled by {@linkcode TinyLM.lossAndGrad}). */
  readonly grads: FloatArray;
  /** Where each named tensor lives in `params`. */
  readonly slots: ParamSlot[];
  readonly #p: Views<FloatArray>;
  readonly #g: Views<FloatArray>;
  readonly #make: (n: number) => FloatArray;

  /** Allocates and initialises parameters for `config`. */
  constructor(config: ModelConfig, options: TinyLMOptions = {}) {
    const c = config;
    check(
      !c.qkvBias && !c.oBias,
      `TinyLM trains models without attention biases; config ${c.modelType} has them`,
      { hint: 'use model_type "llama" or "mistral" with attention_bias false' },
    );
    check(c.headDim % 2 === 0, `head_dim must be even for RoPE, got ${c.headDim}`);
    this.config = c;
    const f64 = options.precision === "f64";
    this.#make = f64 ? (n) => new Float64Array(n) : (n) => new Float32Array(n);
    const Dm = c.hiddenSize, QD = c.numHeads * c.headDim, KD = c.numKvHeads * c.headDim;
    const I = c.intermediateSize, V = c.vocabSize;
    const slots: ParamSlot[] = [];
    let offset = 0;
    const add = (name: string, shape: number[]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      slots.push({ name, shape, offset, size, decay: shape.length > 1 });
      offset += size;
    };
    add("model.embed_tokens.weight", [V, Dm]);
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}.`;
      add(p + "input_layernorm.weight", [Dm]);
      add(p + "self_attn.q_proj.weight", [QD, Dm]);
      add(p + "self_attn.k_proj.weight", [KD, Dm]);
      add(p + "self_attn.v_proj.weight", [KD, Dm]);
      add(p + "self_attn.o_proj.weight", [Dm, QD]);
      add(p + "post_attention_layernorm.weight", [Dm]);
      add(p + "mlp.gate_proj.weight", [I, Dm]);
      add(p + "mlp.up_proj.weight", [I, Dm]);
      add(p + "mlp.down_proj.weight", [Dm, I]);
    }
    add("model.norm.weight", [Dm]);
    if (!c.tieWordEmbeddings) add("lm_head.weight", [V, Dm]);
    this.slots = slots;
    this.params = this.#make(offset);
    this.grads = this.#make(offset);
    this.#p = this.#views(this.params);
    this.#g = this.#views(this.grads);
    // initialisation
    const rng = new Rng(options.seed ?? 0);
    const std = options.initStd ?? 0.02;
    const projStd = std / Math.sqrt(2 * c.numLayers);
    for (const s of slots) {
      const view = this.params.subarray(s.offset, s.offset + s.size);
      if (s.shape.length === 1) view.fill(1);
      else {
        const sd = /o_proj|down_proj/.test(s.name) ? projStd : std;
        for (let i = 0; i < view.length; i++) view[i] = sd * rng.normal();
      }
    }
  }

  /** Number of parameters (the tied head counted once). */
  get parameterCount(): number {
    return this.params.length;
  }

  #views(buf: FloatArray): Views<FloatArray> {
    const get = (name: string) => {
      const s = this.slots.find((x) => x.name === name)!;
      return buf.subarray(s.offset, s.offset + s.size);
    };
    const layers: LayerViews<FloatArray>[] = [];
    for (let l = 0; l < this.config.numLayers; l++) layers.push(mapLayerTensors(l, get));
    const embed = get("model.embed_tokens.weight");
    return {
      embed,
      layers,
      norm: get("model.norm.weight"),
      lmHead: this.config.tieWordEmbeddings ? embed : get("lm_head.weight"),
    };
  }

  /** Mean cross-entropy (nats per predicted token) of the batch, without gradients. */
  loss(batch: TrainBatch): number {
    return this.#run(batch, false);
  }

  /** Mean cross-entropy of the batch; fills {@linkcode TinyLM.grads} with its gradient. */
  lossAndGrad(batch: TrainBatch): number {
    return this.#run(batch, true);
  }

  /** The logits of one sequence, [ids.length × vocab] (same math as the forward of training). */
  logits(ids: ArrayLike<number>): FloatArray {
    const n = ids.length;
    const batch: TrainBatch = {
      inputs: Int32Array.from(ids),
      targets: new Int32Array(n).fill(-1),
      batchSize: 1,
      seqLen: n,
    };
    let out: FloatArray = this.#make(0);
    this.#run(batch, false, (z) => (out = z.slice()));
    return out;
  }

  /** Copies weights from a loaded model of the same config (e.g. to continue training). */
  loadWeights(model: Model): void {
    const w = model.weights;
    const copy = (dst: FloatArray, src: Float32Array) => dst.set(src);
    copy(this.#p.embed, w.embed);
    w.layers.forEach((L, l) => {
      const P = this.#p.layers[l];
      copy(P.inputNorm, L.inputNorm);
      copy(P.q, L.q);
      copy(P.k, L.k);
      copy(P.v, L.v);
      copy(P.o, L.o);
      copy(P.postNorm, L.postNorm);
      copy(P.gate, L.gate);
      copy(P.up, L.up);
      copy(P.down, L.down);
    });
    copy(this.#p.norm, w.norm);
    if (!this.config.tieWordEmbeddings) copy(this.#p.lmHead, w.lmHead);
  }

  /** A runtime {@linkcode Model} holding a copy of the current weights (f32). */
  toModel(): Model {
    const f = (a: FloatArray) => Float32Array.from(a);
    const P = this.#p;
    const embed = f(P.embed);
    const weights: ModelWeights = {
      embed,
      layers: P.layers.map((L) => ({
        inputNorm: f(L.inputNorm),
        postNorm: f(L.postNorm),
        q: f(L.q),
        k: f(L.k),
        v: f(L.v),
        o: f(L.o),
        gate: f(L.gate),
        up: f(L.up),
        down: f(L.down),
      })),
      norm: f(P.norm),
      lmHead: this.config.tieWordEmbeddings ? embed : f(P.lmHead),
    };
    return new Model(this.config, weights);
  }

  #run(batch: TrainBatch, backward: boolean, onLogits?: (z: FloatArray) => void): number {
    const c = this.config, P = this.#p, G = this.#g, mk = this.#make;
    const B = batch.batchSize, S = batch.seqLen, N = B * S;
    const Dm = c.hiddenSize, H = c.numHeads, KH = c.numKvHeads, D = c.headDim;
    const QD = H * D, KD = KH * D, I = c.intermediateSize, V = c.vocabSize;
    check(
      batch.inputs.length === N && batch.targets.length === N,
      `batch has ${batch.inputs.length} inputs and ${batch.targets.length} targets, expected ${N}`,
      { hint: "inputs and targets are [batchSize × seqLen]" },
    );
    for (let i = 0; i < N; i++) {
      const id = batch.inputs[i], t = batch.targets[i];
      if (id < 0 || id >= V || t < -1 || t >= V) {
        throw new TokenlabError(
          `batch position ${i}: input ${id} / target ${t} outside the vocabulary 0..${V - 1}`,
          { hint: "encode with the model's tokenizer; -1 marks an ignored target" },
        );
      }
    }
    // every op below is the kernels' CPU reference, in the float type of the parameters
    const t = (data: FloatArray, ...shape: number[]) => ({ data, shape });
    const norm = { eps: c.rmsNormEps };
    const rope = { theta: c.ropeTheta, scaling: c.ropeScaling };
    const positions = Array.from({ length: N }, (_, n) => n % S); // each sequence from 0
    // ---- forward ----
    let h = embeddingReference({ table: t(P.embed, V, Dm), ids: batch.inputs }).data;
    const acts: LayerActs<FloatArray>[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const L = P.layers[l];
      const hIn = h;
      const x1 = rmsnormReference({ x: t(hIn, N, Dm), weight: t(L.inputNorm, Dm) }, norm).out.data;
      const q0 = matmulNT(mk(N * QD), { x: x1, w: L.q, rows: N, inDim: Dm, outDim: QD });
      const k0 = matmulNT(mk(N * KD), { x: x1, w: L.k, rows: N, inDim: Dm, outDim: KD });
      const v = matmulNT(mk(N * KD), { x: x1, w: L.v, rows: N, inDim: Dm, outDim: KD });
      const q = ropeReference({ x: t(q0, N, H, D), positions }, rope).data;
      const k = ropeReference({ x: t(k0, N, KH, D), positions }, rope).data;
      const attn = causalAttentionReference({
        q: t(q, B, S, H, D),
        k: t(k, B, S, KH, D),
        v: t(v, B, S, KH, D),
      });
      const att = attn.out.data, lse = attn.lse.data;
      const h1 = matmulNT(mk(N * Dm), { x: att, w: L.o, rows: N, inDim: QD, outDim: Dm });
      for (let i = 0; i < h1.length; i++) h1[i] += hIn[i];
      const x2 = rmsnormReference({ x: t(h1, N, Dm), weight: t(L.postNorm, Dm) }, norm).out.data;
      const g = matmulNT(mk(N * I), { x: x2, w: L.gate, rows: N, inDim: Dm, outDim: I });
      const u = matmulNT(mk(N * I), { x: x2, w: L.up, rows: N, inDim: Dm, outDim: I });
      const a = swigluReference({ gate: t(g, N, I), up: t(u, N, I) }).data;
      const h2 = matmulNT(mk(N * Dm), { x: a, w: L.down, rows: N, inDim: I, outDim: Dm });
      for (let i = 0; i < h2.length; i++) h2[i] += h1[i];
      if (backward) acts.push({ hIn, x1, q, k, v, att, lse, h1, x2, g, u, a });
      h = h2;
    }
    const xf = rmsnormReference({ x: t(h, N, Dm), weight: t(P.norm, Dm) }, norm).out.data;
    const z = matmulNT(mk(N * V), { x: xf, w: P.lmHead, rows: N, inDim: Dm, outDim: V });
    if (onLogits) onLogits(z);
    // mean cross-entropy over the non-ignored targets, and its gradient dL/dz
    const ce = crossEntropyReference({ logits: t(z, N, V), targets: batch.targets }, {
      grad: backward,
    });
    let count = 0, total = 0;
    for (let n = 0; n < N; n++) {
      if (batch.targets[n] < 0) continue;
      count++;
      total += ce.loss.data[n];
    }
    const loss = count > 0 ? total / count : 0;
    if (!backward) return loss;
    // ---- backward ----
    const dz = ce.grad!.data;
    this.grads.fill(0);
    matmulTN(G.lmHead, { dy: dz, x: xf, rows: N, inDim: Dm, outDim: V, accumulate: true });
    const dxf = matmulNN(mk(N * Dm), { dy: dz, w: P.lmHead, rows: N, inDim: Dm, outDim: V });
    // dL/dh through an RMSNorm of x with weight w, added to `acc`; dL/dw added to `dw`
    const normBack = (
      o: { dy: FloatArray; x: FloatArray; w: FloatArray; dw: FloatArray; acc?: FloatArray },
    ) => {
      const r = rmsnormBackwardReference({
        dy: t(o.dy, N, Dm),
        x: t(o.x, N, Dm),
        weight: t(o.w, Dm),
        dx: o.acc && t(o.acc, N, Dm),
      }, norm);
      for (let i = 0; i < Dm; i++) o.dw[i] += r.dweight.data[i];
      return r.dx.data;
    };
    let dh = normBack({ dy: dxf, x: h, w: P.norm, dw: G.norm });
    for (let l = c.numLayers - 1; l >= 0; l--) {
      const L = P.layers[l], GL = G.layers[l], A = acts[l];
      // MLP
      matmulTN(GL.down, { dy: dh, x: A.a, rows: N, inDim: I, outDim: Dm, accumulate: true });
      const da = matmulNN(mk(N * I), { dy: dh, w: L.down, rows: N, inDim: I, outDim: Dm });
      const sw = swigluBackwardReference({
        gate: t(A.g, N, I),
        up: t(A.u, N, I),
        dout: t(da, N, I),
      });
      const dg = sw.dgate.data, du = sw.dup.data;
      matmulTN(GL.gate, { dy: dg, x: A.x2, rows: N, inDim: Dm, outDim: I, accumulate: true });
      matmulTN(GL.up, { dy: du, x: A.x2, rows: N, inDim: Dm, outDim: I, accumulate: true });
      const dx2 = matmulNN(mk(N * Dm), { dy: dg, w: L.gate, rows: N, inDim: Dm, outDim: I });
      matmulNN(dx2, { dy: du, w: L.up, rows: N, inDim: Dm, outDim: I, accumulate: true });
      // residual: dL/dh1 = dh + the post-attention norm's backward
      const dh1 = normBack({ dy: dx2, x: A.h1, w: L.postNorm, dw: GL.postNorm, acc: dh });
      // attention
      matmulTN(GL.o, { dy: dh1, x: A.att, rows: N, inDim: QD, outDim: Dm, accumulate: true });
      const datt = matmulNN(mk(N * QD), { dy: dh1, w: L.o, rows: N, inDim: QD, outDim: Dm });
      const ga = causalAttentionBackwardReference({
        q: t(A.q, B, S, H, D),
        k: t(A.k, B, S, KH, D),
        v: t(A.v, B, S, KH, D),
        out: t(A.att, B, S, H, D),
        lse: t(A.lse, B, H, S),
        dout: t(datt, B, S, H, D),
      });
      const dq = ropeBackwardReference({ dy: t(ga.dq.data, N, H, D), positions }, rope).data;
      const dk = ropeBackwardReference({ dy: t(ga.dk.data, N, KH, D), positions }, rope).data;
      const dv = ga.dv.data;
      matmulTN(GL.q, { dy: dq, x: A.x1, rows: N, inDim: Dm, outDim: QD, accumulate: true });
      matmulTN(GL.k, { dy: dk, x: A.x1, rows: N, inDim: Dm, outDim: KD, accumulate: true });
      matmulTN(GL.v, { dy: dv, x: A.x1, rows: N, inDim: Dm, outDim: KD, accumulate: true });
      const dx1 = matmulNN(mk(N * Dm), { dy: dq, w: L.q, rows: N, inDim: Dm, outDim: QD });
      matmulNN(dx1, { dy: dk, w: L.k, rows: N, inDim: Dm, outDim: KD, accumulate: true });
      matmulNN(dx1, { dy: dv, w: L.v, rows: N, inDim: Dm, outDim: KD, accumulate: true });
      dh = normBack({ dy: dx1, x: A.hIn, w: L.inputNorm, dw: GL.inputNorm, acc: dh1 });
    }
    // the lookup's gradient, added to the tied head's when the head shares the table
    G.embed.set(
      embeddingBackwardReference({ dy: t(dh, N, Dm), ids: batch.inputs }, {
        vocab: V,
        accumulate: t(G.embed, V, Dm),
      }).data,
    );
    return loss;
  }
}

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

/**
 * AdamW state for a {@linkcode TinyLM}: first and second moments, step counter.
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
  readonly #lm: TinyLM;
  readonly #m: Float32Array;
  readonly #v: Float32Array;
  readonly #decay: Uint8Array;
  /** Steps taken. */
  t = 0;

  /** Zero moments for the model's parameters. */
  constructor(lm: TinyLM) {
    this.#lm = lm;
    this.#m = new Float32Array(lm.params.length);
    this.#v = new Float32Array(lm.params.length);
    this.#decay = new Uint8Array(lm.params.length);
    for (const s of lm.slots) if (s.decay) this.#decay.fill(1, s.offset, s.offset + s.size);
  }

  /** One update from `lm.grads`. */
  step(options: AdamWOptions): void {
    const b1 = options.beta1 ?? 0.9, b2 = options.beta2 ?? 0.95, eps = options.eps ?? 1e-8;
    const wd = options.weightDecay ?? 0.1, lr = options.lr;
    this.t++;
    const c1 = 1 - Math.pow(b1, this.t), c2 = 1 - Math.pow(b2, this.t);
    const p = this.#lm.params, g = this.#lm.grads, m = this.#m, v = this.#v, dec = this.#decay;
    const shrink = 1 - lr * wd;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = (m[i] = b1 * m[i] + (1 - b1) * gi);
      const vi = (v[i] = b2 * v[i] + (1 - b2) * gi * gi);
      const pi = dec[i] ? p[i] * shrink : p[i];
      p[i] = pi - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
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
  let ss = 0;
  for (let i = 0; i < grads.length; i++) ss += grads[i] * grads[i];
  const norm = Math.sqrt(ss);
  if (norm > maxNorm && norm > 0) {
    const s = maxNorm / norm;
    for (let i = 0; i < grads.length; i++) grads[i] *= s;
  }
  return norm;
}

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
 * Encodes documents into one token stream (documents joined by `separatorId` when given).
 *
 * @example
 * ```ts
 * import { tokenStream } from "@tokenlab/tokenlab/models";
 * const tok = { encode: (s: string) => Uint32Array.from(s, (c) => c.charCodeAt(0)), decode: () => "" };
 * console.log(tokenStream(["ab", "c"], { tokenizer: tok, separatorId: 0 }));
 * ```
 */
export function tokenStream(
  texts: string[],
  options: { tokenizer: ModelTokenizer; separatorId?: number },
): Int32Array {
  const parts: Uint32Array[] = [];
  let n = 0;
  for (const t of texts) {
    const ids = options.tokenizer.encode(t);
    parts.push(ids);
    n += ids.length + (options.separatorId != null ? 1 : 0);
  }
  const out = new Int32Array(n);
  let pos = 0;
  for (const ids of parts) {
    out.set(ids, pos);
    pos += ids.length;
    if (options.separatorId != null) out[pos++] = options.separatorId;
  }
  return out;
}

/**
 * Mean loss (nats/token) of a model over a token stream, in non-overlapping windows of
 * `seqLen` (each window predicts its tokens 2..seqLen+1 from the ones before, inside the window).
 *
 * @example
 * ```ts
 * import { parseConfig, streamLoss, TinyLM } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * console.log(streamLoss(lm, { tokens: new Int32Array([1, 2, 3, 4, 5]), seqLen: 4 }));
 * ```
 */
export function streamLoss(
  lm: TinyLM,
  options: { tokens: Int32Array; seqLen: number; maxTokens?: number; batchSize?: number },
): number {
  let total = 0, count = 0;
  for (const { batch, n } of streamBatches(options)) {
    total += lm.loss(batch) * n;
    count += n;
  }
  return count ? total / count : NaN;
}

/** The windows of {@linkcode streamLoss} as batches, with their number of predicted tokens. */
function* streamBatches(
  options: { tokens: Int32Array; seqLen: number; maxTokens?: number; batchSize?: number },
): Generator<{ batch: TrainBatch; n: number }> {
  const { tokens, seqLen } = options;
  const limit = Math.min(tokens.length, (options.maxTokens ?? Infinity) + 1);
  const bs = options.batchSize ?? 8;
  const starts: number[] = [];
  for (let s = 0; s + 1 < limit; s += seqLen) starts.push(s);
  for (let i = 0; i < starts.length; i += bs) {
    const group = starts.slice(i, i + bs);
    const inputs = new Int32Array(group.length * seqLen);
    const targets = new Int32Array(group.length * seqLen).fill(-1);
    let n = 0;
    group.forEach((s, b) => {
      for (let j = 0; j < seqLen; j++) {
        if (s + j + 1 >= limit) break;
        inputs[b * seqLen + j] = tokens[s + j];
        targets[b * seqLen + j] = tokens[s + j + 1];
        n++;
      }
    });
    if (n === 0) continue;
    yield { batch: { inputs, targets, batchSize: group.length, seqLen }, n };
  }
}

/**
 * Trains a small Llama-style model from scratch on the CPU (default) or the GPU
 * (`backend: "gpu"`, see {@linkcode GpuTrainer}) and returns it with its loss history.
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
  let trainer: GpuTrainer | null = null;
  if (o.backend === "gpu") {
    const gpu = await getDevice();
    if (gpu) trainer = new GpuTrainer(lm, { gpu });
    else {
      console.error(
        'tokenlab: trainTinyLM backend "gpu": no WebGPU adapter, training on the CPU instead',
      );
    }
  } else {
    check(
      o.backend === undefined || o.backend === "cpu",
      `trainTinyLM: backend must be "cpu" or "gpu", got ${JSON.stringify(o.backend)}`,
    );
  }
  const opt = new AdamW(lm);
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
    let loss: number;
    if (trainer) {
      let total = 0, count = 0;
      for (const w of streamBatches({ tokens: held, seqLen: S, maxTokens: evalTokens })) {
        total += (await trainer.loss(w.batch)) * w.n;
        count += w.n;
      }
      loss = count ? total / count : NaN;
    } else loss = streamLoss(lm, { tokens: held, seqLen: S, maxTokens: evalTokens });
    evals.push({ step, loss, perplexity: Math.exp(loss) });
    evalSeconds += (performance.now() - t0) / 1000;
  };
  const inputs = new Int32Array(B * S), targets = new Int32Array(B * S);
  for (let step = 0; step < steps; step++) {
    for (let b = 0; b < B; b++) {
      const s0 = rng.int(train.length - S);
      for (let j = 0; j < S; j++) {
        inputs[b * S + j] = train[s0 + j];
        targets[b * S + j] = train[s0 + j + 1];
      }
    }
    const lr = lrAt(step, {
      lr: o.lr,
      steps,
      warmupSteps,
      schedule: o.schedule,
      minLrRatio: o.minLrRatio,
    });
    const batch = { inputs, targets, batchSize: B, seqLen: S };
    let loss: number, gradNorm: number;
    if (trainer) {
      ({ loss, gradNorm } = await trainer.step(batch, {
        lr,
        weightDecay: o.weightDecay,
        gradClip: o.gradClip ?? 1,
      }));
    } else loss = lm.lossAndGrad(batch);
    check(Number.isFinite(loss), `trainTinyLM: loss became ${loss} at step ${step + 1}`, {
      hint: "lower lr or gradClip",
    });
    if (!trainer) {
      gradNorm = clipGradNorm(lm.grads, o.gradClip ?? 1);
      opt.step({ lr, weightDecay: o.weightDecay });
    }
    const seconds = (performance.now() - start) / 1000;
    const rec: TrainStep = {
      step: step + 1,
      loss,
      lr,
      gradNorm: gradNorm!,
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
      await trainer?.download();
      await writeCheckpoint(lm, { dir: o.checkpointDir, tokenizer: o.tokenizer });
    }
    if (step % 8 === 7) await new Promise((r) => setTimeout(r, 0)); // let the event loop breathe
  }
  bar?.finish();
  const seconds = (performance.now() - start) / 1000;
  if (trainer) {
    await trainer.download();
    trainer.release();
  }
  const model = lm.toModel();
  model.tokenizer = o.tokenizer;
  if (o.checkpointDir) await writeCheckpoint(lm, { dir: o.checkpointDir, tokenizer: o.tokenizer });
  return {
    model,
    lm,
    history,
    evals,
    seconds,
    tokensPerSecond: (steps * B * S) / Math.max(1e-9, seconds - evalSeconds),
    trainTokens: train.length,
    backend: trainer ? "gpu" : "cpu",
  };
}

function specialId(tokenizer: ModelTokenizer, name: string): number | undefined {
  const specials = (tokenizer as { specialTokens?: Record<string, number> }).specialTokens;
  return specials?.[name];
}

/**
 * Writes a {@linkcode TinyLM} as an HF folder (config.json, model.safetensors, and
 * tokenizer.json when the tokenizer can save itself).
 *
 * @example
 * ```ts
 * import { parseConfig, TinyLM, writeCheckpoint } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * await writeCheckpoint(lm, { dir: await Deno.makeTempDir() });
 * ```
 */
export async function writeCheckpoint(
  lm: TinyLM,
  options: { dir: string; tokenizer?: TrainTokenizer },
): Promise<void> {
  await saveModel(lm.toModel(), options.dir);
  if (options.tokenizer?.save) await options.tokenizer.save(`${options.dir}/tokenizer.json`);
}
