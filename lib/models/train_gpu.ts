/**
 * Training of a {@linkcode TinyLM} on the GPU layer: weights, gradients and AdamW moments stay
 * in GPU buffers; each step runs the forward (saving the activations the backward needs),
 * cross-entropy with its gradient, the backward of every op (kernels/backward.ts,
 * causal_attention.ts, matmul with transposes), the global gradient norm and clip scale and a
 * fused AdamW update, and reads back only the per-position losses and the gradient norm.
 * Same math as the CPU reference in train.ts, in f32.
 *
 * @module
 */
import { mapLayerTensors } from "./_layer_tensors.ts";
import { check, TokenlabError } from "../util/errors.ts";
import { type GpuContext, Tensor } from "../gpu/mod.ts";
import {
  adamw,
  causalAttention,
  causalAttentionBackward,
  crossEntropy,
  embedding,
  embeddingBackward,
  gradNorm,
  matmul,
  rmsnorm,
  rmsnormBackward,
  rope,
  ropeBackward,
  swiglu,
  swigluBackward,
} from "../../kernels/mod.ts";
import type { ModelConfig } from "./config.ts";
import { gpuUnsupported } from "./gpu.ts";
import type {
  TrainableModel,
  TrainBatch,
  Trainer,
  TrainerStepOptions,
  TrainerStepResult,
} from "./train_types.ts";

/** @deprecated Use {@linkcode TrainerStepOptions} (one name for both trainers). */
export type GpuStepOptions = TrainerStepOptions;

/** Options of the {@linkcode GpuTrainer} constructor. */
export interface GpuTrainerOptions {
  /** The device (from `getDevice()`). */
  gpu: GpuContext;
  /**
   * Matmul shader (see `matmul`'s `kernel` option): default "registers" on a software adapter
   * (about 3× faster on llvmpipe), "tiled" otherwise.
   */
  matmulKernel?: "tiled" | "registers";
}

/** @deprecated Use {@linkcode TrainerStepResult} (one name for both trainers). */
export type GpuStepResult = TrainerStepResult;

interface Layer {
  inputNorm: number;
  q: number;
  k: number;
  v: number;
  o: number;
  postNorm: number;
  gate: number;
  up: number;
  down: number;
}

/** Activations of one layer that the backward needs. */
interface LayerActs {
  hIn: Tensor;
  x1: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  att: { out: Tensor; lse: Tensor };
  h1: Tensor;
  x2: Tensor;
  g: Tensor;
  u: Tensor;
  a: Tensor;
}

/** What the forward leaves for the backward. */
interface ForwardState {
  acts: LayerActs[];
  hf: Tensor;
  xf: Tensor;
  loss: Tensor;
  dz?: Tensor;
  positions: number[];
  N: number;
}

/**
 * Why a {@linkcode TinyLM} config cannot train on the GPU, or null when it can.
 *
 * @example
 * ```ts
 * import { gpuTrainUnsupported, parseConfig } from "@tokenlab/tokenlab/models";
 * console.log(gpuTrainUnsupported(parseConfig({ model_type: "llama", hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 })));
 * ```
 */
export function gpuTrainUnsupported(config: ModelConfig): string | null {
  return gpuUnsupported(config);
}

/**
 * A {@linkcode TinyLM}'s parameters, gradients and AdamW state on a WebGPU device, and the
 * training step that uses them. {@linkcode GpuTrainer.download} copies the weights back into
 * the TinyLM (for evaluation on the CPU, checkpoints, or `toModel`). Used by
 * `trainTinyLM({ backend: "gpu" })`.
 *
 * @example
 * ```ts
 * import { getDevice } from "@tokenlab/tokenlab/gpu";
 * import { GpuTrainer, parseConfig, TinyLM } from "@tokenlab/tokenlab/models";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 16, num_hidden_layers: 1,
 *     num_attention_heads: 2, intermediate_size: 32, vocab_size: 50 }), { seed: 1 });
 *   const trainer = new GpuTrainer(lm, { gpu });
 *   const batch = { inputs: new Int32Array([1, 2, 3]), targets: new Int32Array([2, 3, 4]), batchSize: 1, seqLen: 3 };
 *   console.log(await trainer.step(batch, { lr: 1e-2 }));
 *   await trainer.download();
 *   trainer.release();
 * }
 * ```
 */
export class GpuTrainer<M extends TrainableModel = TrainableModel> implements Trainer {
  /** Where the steps run. */
  readonly backend = "gpu" as const;
  /** The model whose parameters are trained (updated by {@linkcode GpuTrainer.download}). */
  readonly lm: M;
  /** The device. */
  readonly gpu: GpuContext;
  readonly #params: Tensor[];
  readonly #m: Tensor[];
  readonly #v: Tensor[];
  readonly #layers: Layer[];
  readonly #embed: number;
  readonly #norm: number;
  readonly #head: number;
  readonly #mm: "tiled" | "registers";
  #t = 0;
  #released = false;

  /** Uploads the TinyLM's parameters (f32) and zero AdamW moments to `options.gpu`. */
  constructor(lm: M, options: GpuTrainerOptions) {
    const why = gpuTrainUnsupported(lm.config);
    if (why) throw new TokenlabError(why, { hint: 'train with { backend: "cpu" }' });
    check(
      lm.params instanceof Float32Array,
      'GpuTrainer trains f32 models; this TinyLM has precision "f64"',
      { hint: 'create the TinyLM without precision, or with precision: "f32"' },
    );
    check(options?.gpu, "GpuTrainer needs a GPU context", {
      hint: "pass { gpu: await getDevice() } and check that it is not null",
    });
    check(
      options.matmulKernel === undefined || options.matmulKernel === "tiled" ||
        options.matmulKernel === "registers",
      `GpuTrainer matmulKernel must be "tiled" or "registers", got ${options.matmulKernel}`,
    );
    this.lm = lm;
    const gpu = this.gpu = options.gpu;
    this.#mm = options.matmulKernel ?? (gpu.adapter.software ? "registers" : "tiled");
    const p = lm.params as Float32Array;
    this.#params = lm.slots.map((s) =>
      Tensor.fromArray(p.subarray(s.offset, s.offset + s.size), { shape: s.shape, gpu })
    );
    this.#m = lm.slots.map((s) => Tensor.zeros(s.shape, { gpu }));
    this.#v = lm.slots.map((s) => Tensor.zeros(s.shape, { gpu }));
    const idx = (name: string) => {
      const i = lm.slots.findIndex((s) => s.name === name);
      check(i >= 0, `GpuTrainer: the TinyLM has no tensor ${name}`);
      return i;
    };
    this.#embed = idx("model.embed_tokens.weight");
    this.#norm = idx("model.norm.weight");
    this.#head = lm.config.tieWordEmbeddings ? this.#embed : idx("lm_head.weight");
    this.#layers = Array.from({ length: lm.config.numLayers }, (_, l) => mapLayerTensors(l, idx));
  }

  /** AdamW steps taken. */
  get steps(): number {
    return this.#t;
  }

  /** Mean cross-entropy of the batch with the current GPU weights (no gradients). */
  async loss(batch: TrainBatch): Promise<number> {
    this.#alive();
    const tmp: Tensor[] = [];
    try {
      const f = await this.#forward(batch, tmp, false);
      return await this.#meanLoss(f.loss, batch);
    } finally {
      for (const t of tmp) t.release();
    }
  }

  /**
   * The batch's mean loss and its gradient with respect to every parameter, read back in the
   * TinyLM's flat layout (like `TinyLM.lossAndGrad` and `TinyLM.grads`); no update.
   */
  async lossAndGrad(batch: TrainBatch): Promise<{ loss: number; grads: Float32Array }> {
    this.#alive();
    const tmp: Tensor[] = [];
    try {
      const f = await this.#forward(batch, tmp, true);
      const grads = await this.#backward(batch, f, tmp);
      const flat = new Float32Array(this.lm.params.length);
      for (let i = 0; i < grads.length; i++) {
        flat.set(await grads[i].toArray() as Float32Array, this.lm.slots[i].offset);
      }
      return { loss: await this.#meanLoss(f.loss, batch), grads: flat };
    } finally {
      for (const t of tmp) t.release();
    }
  }

  /**
   * One training step: forward, backward, gradient-norm clip and AdamW, all on the GPU; reads
   * back the batch's loss and the gradient norm.
   */
  async step(batch: TrainBatch, options: TrainerStepOptions): Promise<TrainerStepResult> {
    this.#alive();
    check(
      Number.isFinite(options.lr) && options.lr >= 0,
      `GpuTrainer.step: lr must be a non-negative number, got ${options.lr}`,
    );
    check(
      options.gradClip === undefined || options.gradClip > 0,
      `GpuTrainer.step: gradClip must be positive, got ${options.gradClip}`,
      { hint: "pass Infinity to disable clipping" },
    );
    const tmp: Tensor[] = [];
    try {
      const f = await this.#forward(batch, tmp, true);
      const grads = await this.#backward(batch, f, tmp);
      const clip = options.gradClip ?? 1;
      const stats = await gradNorm(grads, { maxNorm: Number.isFinite(clip) ? clip : undefined });
      tmp.push(stats);
      this.#t++;
      for (let i = 0; i < grads.length; i++) {
        await adamw({
          param: this.#params[i],
          grad: grads[i],
          m: this.#m[i],
          v: this.#v[i],
          clip: stats,
        }, {
          lr: options.lr,
          step: this.#t,
          beta1: options.beta1,
          beta2: options.beta2,
          eps: options.eps,
          weightDecay: this.lm.slots[i].decay ? options.weightDecay ?? 0.1 : 0,
        });
      }
      const loss = await this.#meanLoss(f.loss, batch);
      const norm = (await stats.toArray())[0];
      return { loss, gradNorm: norm };
    } finally {
      for (const t of tmp) t.release();
    }
  }

  /** Copies the GPU weights back into `lm.params`. */
  async download(): Promise<void> {
    this.#alive();
    const p = this.lm.params as Float32Array;
    for (let i = 0; i < this.#params.length; i++) {
      p.set(await this.#params[i].toArray() as Float32Array, this.lm.slots[i].offset);
    }
  }

  /** Gives the GPU buffers back; the trainer cannot be used afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const t of [...this.#params, ...this.#m, ...this.#v]) t.release();
  }

  #alive(): void {
    check(!this.#released, "this GpuTrainer was released", {
      hint: "create a new GpuTrainer from the TinyLM",
    });
  }

  async #meanLoss(loss: Tensor, batch: TrainBatch): Promise<number> {
    const rows = await loss.toArray();
    let total = 0, count = 0;
    for (let n = 0; n < rows.length; n++) {
      if (batch.targets[n] >= 0) {
        total += rows[n];
        count++;
      }
    }
    return count ? total / count : 0;
  }

  async #forward(
    batch: TrainBatch,
    tmp: Tensor[],
    saveForBackward: boolean,
  ): Promise<ForwardState> {
    const c = this.lm.config, P = this.#params;
    const B = batch.batchSize, S = batch.seqLen, N = B * S;
    const H = c.numHeads, KH = c.numKvHeads, D = c.headDim, V = c.vocabSize;
    check(
      Number.isInteger(B) && B > 0 && Number.isInteger(S) && S > 0 &&
        batch.inputs.length === N && batch.targets.length === N,
      `batch has ${batch.inputs.length} inputs and ${batch.targets.length} targets, expected ${B}×${S}`,
      { hint: "inputs and targets are [batchSize × seqLen]" },
    );
    check(
      !batch.exitLossWeights && !batch.skipLayers,
      "GpuTrainer: exitLossWeights and skipLayers (early-exit / SkipDecode training) are CPU-only",
      { hint: 'train with createTrainer(lm, { backend: "cpu" })' },
    );
    for (let i = 0; i < N; i++) {
      const t = batch.targets[i];
      if (!(Number.isInteger(t) && t >= -1 && t < V)) {
        throw new TokenlabError(
          `batch position ${i}: target ${t} outside the vocabulary 0..${V - 1}`,
          { hint: "encode with the model's tokenizer; -1 marks an ignored target" },
        );
      }
    }
    const keep = <T extends Tensor>(t: T): T => {
      tmp.push(t);
      return t;
    };
    const eps = c.rmsNormEps, base = c.ropeTheta;
    const positions = Array.from({ length: N }, (_, i) => i % S);
    const kernel = this.#mm;
    const lin = (x: Tensor, w: Tensor) =>
      matmul({ a: x, b: w }, { transposeB: true, kernel }).then(keep);
    let h = keep(await embedding({ table: P[this.#embed], ids: batch.inputs }));
    let carry: Tensor | null = null;
    const norm = async (weight: Tensor) => {
      if (!carry) return { x: h, out: keep((await rmsnorm({ x: h, weight }, { eps })).out) };
      const r = await rmsnorm({ x: carry, weight, residual: h }, { eps });
      h = keep(r.residual!);
      return { x: h, out: keep(r.out) };
    };
    const acts: LayerActs[] = [];
    for (const L of this.#layers) {
      const n1 = await norm(P[L.inputNorm]);
      const x1 = n1.out;
      const q0 = await lin(x1, P[L.q]), k0 = await lin(x1, P[L.k]);
      const v = await lin(x1, P[L.v]);
      const q = keep(await rope({ x: q0.reshape([N, H, D]), positions }, { base }));
      const k = keep(await rope({ x: k0.reshape([N, KH, D]), positions }, { base }));
      const qb = q.reshape([B, S, H, D]), kb = k.reshape([B, S, KH, D]);
      const vb = v.reshape([B, S, KH, D]);
      const att = await causalAttention({ q: qb, k: kb, v: vb });
      keep(att.out);
      keep(att.lse);
      carry = await lin(att.out.reshape([N, H * D]), P[L.o]);
      const n2 = await norm(P[L.postNorm]);
      const g = await lin(n2.out, P[L.gate]), u = await lin(n2.out, P[L.up]);
      const a = keep(await swiglu({ gate: g, up: u }));
      carry = await lin(a, P[L.down]);
      acts.push({ hIn: n1.x, x1, q: qb, k: kb, v: vb, att, h1: n2.x, x2: n2.out, g, u, a });
    }
    const nf = await norm(P[this.#norm]);
    const logits = await lin(nf.out, P[this.#head]);
    const ce = await crossEntropy(
      { logits, targets: batch.targets },
      { grad: saveForBackward },
    );
    keep(ce.loss);
    if (ce.grad) keep(ce.grad);
    return { acts, hf: nf.x, xf: nf.out, loss: ce.loss, dz: ce.grad, positions, N };
  }

  async #backward(batch: TrainBatch, f: ForwardState, tmp: Tensor[]): Promise<Tensor[]> {
    const c = this.lm.config, P = this.#params;
    const N = f.N, H = c.numHeads, KH = c.numKvHeads, D = c.headDim;
    const eps = c.rmsNormEps, base = c.ropeTheta, positions = f.positions;
    const keep = <T extends Tensor>(t: T): T => {
      tmp.push(t);
      return t;
    };
    const grads: (Tensor | undefined)[] = new Array(P.length);
    // dW = dyᵀ · x  ([out, N] · [N, in]);  dx = dy · W  ([N, out] · [out, in])
    const kernel = this.#mm;
    const dW = (dy: Tensor, x: Tensor) =>
      matmul({ a: dy, b: x }, { transposeA: true, kernel }).then(keep);
    const dX = (dy: Tensor, w: Tensor, into?: Tensor) =>
      into
        ? matmul({ a: dy, b: w }, { accumulate: into, kernel })
        : matmul({ a: dy, b: w }, { kernel }).then(keep);
    const dz = f.dz!;
    grads[this.#head] = await dW(dz, f.xf);
    const dxf = await dX(dz, P[this.#head]);
    const rf = await rmsnormBackward({ dy: dxf, x: f.hf, weight: P[this.#norm] }, { eps });
    const dh = keep(rf.dx);
    grads[this.#norm] = keep(rf.dweight);
    for (let l = this.#layers.length - 1; l >= 0; l--) {
      const L = this.#layers[l], A = f.acts[l];
      // MLP
      grads[L.down] = await dW(dh, A.a);
      const da = await dX(dh, P[L.down]);
      const sw = await swigluBackward({ gate: A.g, up: A.u, dout: da });
      keep(sw.dgate);
      keep(sw.dup);
      grads[L.gate] = await dW(sw.dgate, A.x2);
      grads[L.up] = await dW(sw.dup, A.x2);
      const dx2 = await dX(sw.dgate, P[L.gate]);
      await dX(sw.dup, P[L.up], dx2);
      const r2 = await rmsnormBackward({ dy: dx2, x: A.h1, weight: P[L.postNorm], dx: dh }, {
        eps,
      });
      grads[L.postNorm] = keep(r2.dweight);
      // attention
      const attOut = A.att.out.reshape([N, H * D]);
      grads[L.o] = await dW(dh, attOut);
      const datt = await dX(dh, P[L.o]);
      const ag = await causalAttentionBackward({
        q: A.q,
        k: A.k,
        v: A.v,
        out: A.att.out,
        lse: A.att.lse,
        dout: datt.reshape(A.q.shape),
      });
      keep(ag.dq);
      keep(ag.dk);
      keep(ag.dv);
      const dq = keep(await ropeBackward({ dy: ag.dq.reshape([N, H, D]), positions }, { base }))
        .reshape([N, H * D]);
      const dk = keep(await ropeBackward({ dy: ag.dk.reshape([N, KH, D]), positions }, { base }))
        .reshape([N, KH * D]);
      const dv = ag.dv.reshape([N, KH * D]);
      grads[L.q] = await dW(dq, A.x1);
      grads[L.k] = await dW(dk, A.x1);
      grads[L.v] = await dW(dv, A.x1);
      const dx1 = await dX(dq, P[L.q]);
      await dX(dk, P[L.k], dx1);
      await dX(dv, P[L.v], dx1);
      const r1 = await rmsnormBackward({ dy: dx1, x: A.hIn, weight: P[L.inputNorm], dx: dh }, {
        eps,
      });
      grads[L.inputNorm] = keep(r1.dweight);
    }
    const V = c.vocabSize;
    if (c.tieWordEmbeddings) {
      await embeddingBackward({ dy: dh, ids: batch.inputs }, {
        vocab: V,
        accumulate: grads[this.#embed],
      });
    } else {
      grads[this.#embed] = keep(
        await embeddingBackward({ dy: dh, ids: batch.inputs }, { vocab: V }),
      );
    }
    grads.forEach((g, i) => check(g, `GpuTrainer: no gradient for ${this.lm.slots[i].name}`));
    return grads as Tensor[];
  }
}
