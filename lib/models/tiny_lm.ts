/**
 * The trainable Llama-style decoder on the CPU: a flat parameter buffer laid out by
 * `paramLayout`, its gradient, and a forward and backward composed of the kernels' CPU
 * references (embedding, RMSNorm, RoPE, causal GQA attention, SwiGLU, cross-entropy) and the
 * register-blocked matmuls — the same functions the kernel tests compare the GPU against.
 *
 * @example
 * ```ts
 * import { parseConfig, TinyLM } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * console.log(lm.parameterCount);
 * ```
 *
 * @module
 */
import { mapLayerTensors } from "./_layer_tensors.ts";
import { check, TokenlabError } from "../util/errors.ts";
import type { ModelConfig } from "./config.ts";
import { Model } from "./model.ts";
import type { ModelWeights } from "./weights.ts";
import type { FloatArray } from "../../kernels/_common.ts";
import { matmulNN, matmulNT, matmulTN } from "../../kernels/_matmul_cpu.ts";
import { rmsnormBackwardReference, rmsnormReference } from "../../kernels/rmsnorm.ts";
import { ropeBackwardReference, ropeReference } from "../../kernels/rope.ts";
import {
  causalAttentionBackwardReference,
  causalAttentionReference,
} from "../../kernels/causal_attention.ts";
import { swigluBackwardReference, swigluReference } from "../../kernels/swiglu.ts";
import { crossEntropyReference } from "../../kernels/cross_entropy.ts";
import { embeddingBackwardReference, embeddingReference } from "../../kernels/embedding.ts";
import type { ParamSlot, TrainBatch } from "./train_types.ts";
import { initParams, paramLayout } from "./param_layout.ts";

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
    const layout = paramLayout(c);
    this.config = c;
    const f64 = options.precision === "f64";
    this.#make = f64 ? (n) => new Float64Array(n) : (n) => new Float32Array(n);
    this.slots = layout.slots;
    this.params = this.#make(layout.size);
    this.grads = this.#make(layout.size);
    this.#p = this.#views(this.params);
    this.#g = this.#views(this.grads);
    initParams(this.params, {
      slots: layout.slots,
      numLayers: c.numLayers,
      seed: options.seed,
      initStd: options.initStd,
    });
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

  /**
   * The logits of one sequence, [ids.length × vocab] (same math as the forward of training);
   * `options.skipLayers` skips each token's lowest layers as in `TrainBatch.skipLayers`.
   */
  logits(ids: ArrayLike<number>, options: { skipLayers?: ArrayLike<number> } = {}): FloatArray {
    const n = ids.length;
    const batch: TrainBatch = {
      inputs: Int32Array.from(ids),
      targets: new Int32Array(n).fill(-1),
      batchSize: 1,
      seqLen: n,
    };
    if (options.skipLayers) batch.skipLayers = Int32Array.from(options.skipLayers);
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
    const { exitW, skip } = exitTraining(batch, c.numLayers);
    // token n runs layer l when skip[n] ≤ l (skipped tokens are a suffix of each sequence, so no
    // running token attends to a skipped one); a skipped token's stream passes through unchanged
    const active = (l: number, n: number) => !skip || skip[n] <= l;
    const maskRows = (x: FloatArray, l: number, width: number) => {
      if (!skip) return x;
      for (let n = 0; n < N; n++) if (!active(l, n)) x.fill(0, n * width, (n + 1) * width);
      return x;
    };
    // early exits: layer l's stream through the final norm and the head, weighed by exitW[l]
    const exits: { l: number; h: FloatArray; xf: FloatArray; dz: FloatArray | null }[] = [];
    let exitLoss = 0;
    const exitAt = (l: number, hl: FloatArray) => {
      const xf = rmsnormReference({ x: t(hl, N, Dm), weight: t(P.norm, Dm) }, norm).out.data;
      const z = matmulNT(mk(N * V), { x: xf, w: P.lmHead, rows: N, inDim: Dm, outDim: V });
      const r = crossEntropyReference({ logits: t(z, N, V), targets: batch.targets }, {
        grad: backward,
      });
      exitLoss += exitW![l] * meanLoss(r.loss.data, batch.targets);
      if (backward) {
        const dz = r.grad!.data.slice();
        for (let i = 0; i < dz.length; i++) dz[i] *= exitW![l];
        exits.push({ l, h: hl, xf, dz });
      }
    };
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
      maskRows(h1, l, Dm);
      for (let i = 0; i < h1.length; i++) h1[i] += hIn[i];
      const x2 = rmsnormReference({ x: t(h1, N, Dm), weight: t(L.postNorm, Dm) }, norm).out.data;
      const g = matmulNT(mk(N * I), { x: x2, w: L.gate, rows: N, inDim: Dm, outDim: I });
      const u = matmulNT(mk(N * I), { x: x2, w: L.up, rows: N, inDim: Dm, outDim: I });
      const a = swigluReference({ gate: t(g, N, I), up: t(u, N, I) }).data;
      const h2 = matmulNT(mk(N * Dm), { x: a, w: L.down, rows: N, inDim: I, outDim: Dm });
      maskRows(h2, l, Dm);
      for (let i = 0; i < h2.length; i++) h2[i] += h1[i];
      if (backward) acts.push({ hIn, x1, q, k, v, att, lse, h1, x2, g, u, a });
      h = h2;
      if (exitW && l < c.numLayers - 1 && exitW[l] !== 0) exitAt(l, h);
    }
    const xf = rmsnormReference({ x: t(h, N, Dm), weight: t(P.norm, Dm) }, norm).out.data;
    const z = matmulNT(mk(N * V), { x: xf, w: P.lmHead, rows: N, inDim: Dm, outDim: V });
    if (onLogits) onLogits(z);
    // mean cross-entropy over the non-ignored targets, and its gradient dL/dz
    const ce = crossEntropyReference({ logits: t(z, N, V), targets: batch.targets }, {
      grad: backward,
    });
    const lastW = exitW ? exitW[c.numLayers - 1] : 1;
    const loss = lastW * meanLoss(ce.loss.data, batch.targets) + exitLoss;
    if (!backward) return loss;
    // ---- backward ----
    const dz = ce.grad!.data;
    if (lastW !== 1) { for (let i = 0; i < dz.length; i++) dz[i] *= lastW; }
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
      // an early exit after this layer adds its gradient to the layer's output
      const ex = exits.find((e) => e.l === l);
      if (ex) {
        matmulTN(G.lmHead, {
          dy: ex.dz!,
          x: ex.xf,
          rows: N,
          inDim: Dm,
          outDim: V,
          accumulate: true,
        });
        const dxe = matmulNN(mk(N * Dm), {
          dy: ex.dz!,
          w: P.lmHead,
          rows: N,
          inDim: Dm,
          outDim: V,
        });
        dh = normBack({ dy: dxe, x: ex.h, w: P.norm, dw: G.norm, acc: dh });
      }
      // MLP (skipped tokens: no gradient into the branch; the residual passes it through)
      const dhm = skip ? maskRows(dh.slice(), l, Dm) : dh;
      matmulTN(GL.down, { dy: dhm, x: A.a, rows: N, inDim: I, outDim: Dm, accumulate: true });
      const da = matmulNN(mk(N * I), { dy: dhm, w: L.down, rows: N, inDim: I, outDim: Dm });
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
      const dh1m = skip ? maskRows(dh1.slice(), l, Dm) : dh1;
      matmulTN(GL.o, { dy: dh1m, x: A.att, rows: N, inDim: QD, outDim: Dm, accumulate: true });
      const datt = matmulNN(mk(N * QD), { dy: dh1m, w: L.o, rows: N, inDim: QD, outDim: Dm });
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

/** Mean of the per-row losses over the rows with a target (0 when none). */
function meanLoss(loss: ArrayLike<number>, targets: Int32Array): number {
  let count = 0, total = 0;
  for (let n = 0; n < targets.length; n++) {
    if (targets[n] < 0) continue;
    count++;
    total += loss[n];
  }
  return count > 0 ? total / count : 0;
}

/** The batch's early-exit weights and skipped layers, checked. */
function exitTraining(
  batch: TrainBatch,
  numLayers: number,
): { exitW: number[] | null; skip: Int32Array | null } {
  const exitW = batch.exitLossWeights ?? null, skip = batch.skipLayers ?? null;
  if (exitW) {
    check(
      exitW.length === numLayers && exitW.every((w) => Number.isFinite(w) && w >= 0),
      `exitLossWeights must hold ${numLayers} non-negative numbers, got [${exitW}]`,
      { hint: "one weight per layer; the last one weighs the ordinary loss" },
    );
  }
  if (skip) {
    const S = batch.seqLen;
    check(
      skip.length === batch.inputs.length,
      `skipLayers has ${skip.length} entries, the batch ${batch.inputs.length} tokens`,
    );
    for (let n = 0; n < skip.length; n++) {
      const bad = !Number.isInteger(skip[n]) || skip[n] < 0 || skip[n] >= numLayers ||
        (n % S > 0 && skip[n] < skip[n - 1]);
      check(
        !bad,
        `skipLayers[${n}] = ${skip[n]}: must be 0..${
          numLayers - 1
        } and non-decreasing along each sequence`,
        { hint: "every token runs at least the last layer; later tokens skip at least as many" },
      );
    }
  }
  return { exitW, skip };
}
