/**
 * Llama-style decoder runtime (llama, mistral, qwen2) with a CPU reference backend, the GPU
 * backend of `gpu.ts`, and the research-friendly KV cache of `kv_cache.ts`.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { Tokenizer } from "../tokenizers/mod.ts";
import { type ModelConfig, readConfig } from "./config.ts";
import { readCheckpoint } from "./safetensors.ts";
import { getDevice } from "../gpu/mod.ts";
import { GpuForward, gpuUnsupported } from "./gpu.ts";
import { linear } from "./_linear.ts";
import { rmsnormReference } from "../../kernels/rmsnorm.ts";
import { ropeReference } from "../../kernels/rope.ts";
import {
  type AttentionReferenceOptions,
  flashAttentionReference,
} from "../../kernels/flash_attention.ts";
import { swigluReference } from "../../kernels/swiglu.ts";
import { embeddingReference } from "../../kernels/embedding.ts";
import { type TokenTree, tokenTreeDepths } from "./tree.ts";
import type { PackedBatch } from "../data/packing.ts";
import { KvCache } from "./kv_cache.ts";
import { type ModelWeights, weightsFromTensors } from "./weights.ts";
import {
  bnbCheckpointKind,
  type ModelQuant,
  type QuantizedLinears,
  quantizeModelWeights,
  readBnbCheckpoint,
} from "./quantized.ts";

/** Options for {@linkcode loadModel}. */
export interface LoadModelOptions {
  /** "cpu" (default) or "gpu" (WebGPU through kernels/; needs an adapter). */
  backend?: "gpu" | "cpu";
  /** Compute dtype; only "f32" is supported (f16/bf16 weights are widened on load). */
  dtype?: "f32";
  /**
   * Quantise the decoder's linear weights on load (see `quantized.ts`): the CPU path computes
   * with their dequantised values, the GPU path with the fused quantised kernels. Not allowed
   * for a checkpoint that is already quantised.
   */
  quant?: ModelQuant;
}

/** What a model needs of its tokenizer (lib/tokenizers' Tokenizer satisfies it). */
export interface ModelTokenizer {
  /** Text to ids. */
  encode(text: string): Uint32Array;
  /** Ids to text. */
  decode(ids: ArrayLike<number>): string;
  /** Writes tokenizer.json (optional; `saveModel` calls it when present). */
  save?(path: string): Promise<void>;
}

/** A loaded model. */
export class Model {
  /** Normalised config. */
  readonly config: ModelConfig;
  /** Weights in f32. */
  readonly weights: ModelWeights;
  /** Tokenizer, when tokenizer.json was present and loadable. */
  tokenizer?: ModelTokenizer;
  /** The quantised linear weights, when loaded with `quant` or from a quantised checkpoint. */
  quantized?: QuantizedLinears;
  /** Backend in use. */
  readonly backend: "cpu" | "gpu";
  readonly #gpu: GpuForward | null;

  /** Wraps config and weights; pass `gpu` (a {@linkcode GpuForward}) for the GPU backend. */
  constructor(config: ModelConfig, weights: ModelWeights, gpu?: GpuForward) {
    this.config = config;
    this.weights = weights;
    this.#gpu = gpu ?? null;
    this.backend = gpu ? "gpu" : "cpu";
  }

  /** A fresh empty KV cache for this model. */
  newCache(): KvCache {
    const c = this.config;
    return new KvCache({ numLayers: c.numLayers, kvHeads: c.numKvHeads, headDim: c.headDim });
  }

  /** Logits for every position of `ids` (no cache): Float32Array [ids.length × vocab], row-major. */
  logits(ids: number[]): Promise<Float32Array> {
    return this.forward(ids, this.newCache());
  }

  /**
   * Feeds `ids` after what `cache` holds, appends their keys/values, and returns the logits of
   * ALL fed positions, [ids.length × vocab] row-major (the last row predicts the next token).
   */
  forward(ids: number[], cache: KvCache): Promise<Float32Array> {
    if (this.#gpu) {
      this.#checkIds(ids);
      return this.#gpu.forward(ids, cache);
    }
    return Promise.resolve(this.#forwardCpu(ids, cache));
  }

  /**
   * Verifies a token tree in one pass: feeds the tree's nodes after what `cache` holds, node i
   * at position `cache.nextPosition + depth(i)`, attending to the whole cached prefix and to
   * its own ancestors in the tree (the mask of `treeAncestorMask`), and returns the logits of
   * every node, [nodes × vocab] row-major (row i predicts the token after node i). All nodes
   * are appended to the cache and `nextPosition` does not move: then call
   * `cache.acceptTreePath(tree.parents, path)` with the accepted path. A tree that is a chain
   * gives the same logits as {@linkcode Model.forward} on its ids.
   *
   * @example
   * ```ts
   * import { loadModel } from "@tokenlab/tokenlab/models";
   * const model = await loadModel("tests/fixtures/models/llama_gqa");
   * const cache = model.newCache();
   * await model.forward([1, 2, 3], cache);
   * // two candidate next tokens (7, 9), the first continued by 8
   * const tree = { ids: [7, 8, 9], parents: [-1, 0, -1] };
   * const logits = await model.forwardTree(tree, cache);
   * cache.acceptTreePath(tree.parents, [0, 1]); // accept 7, 8
   * console.log(logits.length / model.config.vocabSize, cache.nextPosition); // 3 5
   * ```
   */
  async forwardTree(tree: TokenTree, cache: KvCache): Promise<Float32Array> {
    const depth = tokenTreeDepths(tree);
    this.#checkIds(tree.ids);
    if (this.#gpu) return await this.#gpu.forwardTree(tree, cache);
    const positions = depth.map((d) => cache.nextPosition + d);
    return this.#forwardCpu(tree.ids, cache, { parents: tree.parents, positions });
  }

  /**
   * Prefills several prompts laid out in one token sequence (see `prepackPrompts` in
   * `@tokenlab/tokenlab/data`: padded rows, or prompts bin-packed into rows with restarted
   * positions): token i attends to the tokens at or before it with the same sequence id, at
   * its own position id. Returns the logits of the tokens at `batch.lastIndex` (each prompt's
   * last token), [lastIndex.length × vocab] row-major — the same values as prefilling each
   * prompt alone with {@linkcode Model.forward}. No KV cache is kept.
   *
   * @example
   * ```ts
   * import { loadModel } from "@tokenlab/tokenlab/models";
   * import { prepackPrompts } from "@tokenlab/tokenlab/data";
   * const model = await loadModel("tests/fixtures/models/llama_gqa");
   * const batch = prepackPrompts([[1, 2, 3], [4, 5], [6]], { mode: "packed" });
   * const logits = await model.forwardPacked(batch);
   * console.log(batch.rows, logits.length / model.config.vocabSize); // 2 3
   * ```
   */
  async forwardPacked(batch: PackedBatch): Promise<Float32Array> {
    const n = batch?.ids?.length ?? 0;
    if (
      !batch || batch.positions?.length !== n || batch.seqIds?.length !== n ||
      !Array.isArray(batch.lastIndex)
    ) {
      throw new TokenlabError(
        "forwardPacked needs ids, positions and seqIds of equal length, and lastIndex",
        {
          hint:
            "build the batch with prepackPrompts(prompts, { mode }) from @tokenlab/tokenlab/data",
        },
      );
    }
    for (const i of batch.lastIndex) {
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        throw new TokenlabError(`forwardPacked: lastIndex ${i} is outside the ${n} tokens`, {
          hint: "lastIndex holds indices into batch.ids",
        });
      }
    }
    this.#checkIds(batch.ids);
    if (this.#gpu) return await this.#gpu.forwardPacked(batch);
    return this.#forwardCpu(batch.ids, this.newCache(), undefined, batch);
  }

  #checkIds(ids: number[]): void {
    const V = this.config.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new TokenlabError(`token id ${id} is outside the vocabulary 0..${V - 1}`, {
          hint: "encode with this model's tokenizer",
        });
      }
    }
  }

  #forwardCpu(
    ids: number[],
    cache: KvCache,
    tree?: { parents: number[]; positions: number[] },
    packed?: PackedBatch,
  ): Float32Array {
    const c = this.config, w = this.weights;
    const S = ids.length, Dm = c.hiddenSize, H = c.numHeads, KH = c.numKvHeads, D = c.headDim;
    if (S === 0) return new Float32Array(0);
    this.#checkIds(ids);
    const positions = packed?.positions ?? tree?.positions ??
      ids.map((_, i) => cache.nextPosition + i);
    const norm = (x: Float32Array, weight: Float32Array) =>
      rmsnormReference({
        x: { data: x, shape: [x.length / Dm, Dm] },
        weight: { data: weight, shape: [Dm] },
      }, { eps: c.rmsNormEps }).out.data;
    const rope = { theta: c.ropeTheta, scaling: c.ropeScaling };
    // the masks of the new entries (the last S of each layer's cache): causal by default, the
    // tree's ancestors, or the packed sequences; Mistral's sliding window on top
    const masks: AttentionReferenceOptions = packed
      ? { causal: true, seqIds: packed.seqIds }
      : tree
      ? { parents: tree.parents }
      : { causal: true };
    let h = embeddingReference({ table: { data: w.embed, shape: [c.vocabSize, Dm] }, ids }).data;
    if (cache.captureAttention) cache.attention = [];
    for (let l = 0; l < c.numLayers; l++) {
      const L = w.layers[l];
      const x = norm(h, L.inputNorm);
      const q0 = linear(x, L.q, { seq: S, inDim: Dm, outDim: H * D, bias: L.qBias });
      const k0 = linear(x, L.k, { seq: S, inDim: Dm, outDim: KH * D, bias: L.kBias });
      const v = linear(x, L.v, { seq: S, inDim: Dm, outDim: KH * D, bias: L.vBias });
      const q = ropeReference({ x: { data: q0, shape: [S, H, D] }, positions }, rope).data;
      const k = ropeReference({ x: { data: k0, shape: [S, KH, D] }, positions }, rope).data;
      // k and v are [S, KH, D], the cache's row layout
      cache.appendRows(l, { k, v, positions });
      const T = cache.length(l);
      const att = flashAttentionReference({
        q: { data: q, shape: [S, H, D] },
        k: { data: cache.keyRows(l), shape: [T, KH, D] },
        v: { data: cache.valueRows(l), shape: [T, KH, D] },
      }, {
        ...masks,
        window: c.slidingWindow,
        keyPositions: cache.positions[l],
        probs: cache.captureAttention,
      });
      if (att.probs) cache.attention.push(att.probs.data);
      const o = linear(att.out.data, L.o, { seq: S, inDim: H * D, outDim: Dm, bias: L.oBias });
      for (let i = 0; i < h.length; i++) h[i] += o[i];
      const x2 = norm(h, L.postNorm);
      const I = c.intermediateSize;
      const gt = linear(x2, L.gate, { seq: S, inDim: Dm, outDim: I });
      const up = linear(x2, L.up, { seq: S, inDim: Dm, outDim: I });
      const a = swigluReference({
        gate: { data: gt, shape: [S, I] },
        up: { data: up, shape: [S, I] },
      });
      const dn = linear(a.data, L.down, { seq: S, inDim: I, outDim: Dm });
      for (let i = 0; i < h.length; i++) h[i] += dn[i];
    }
    if (!tree && !packed) cache.nextPosition += S;
    if (packed) {
      const last = new Float32Array(packed.lastIndex.length * Dm);
      packed.lastIndex.forEach((i, r) => last.set(h.subarray(i * Dm, (i + 1) * Dm), r * Dm));
      h = norm(last, w.norm);
      return linear(h, w.lmHead, { seq: packed.lastIndex.length, inDim: Dm, outDim: c.vocabSize });
    }
    h = norm(h, w.norm);
    return linear(h, w.lmHead, { seq: S, inDim: Dm, outDim: c.vocabSize });
  }
}

/**
 * Loads an HF checkpoint folder (config.json + model.safetensors or a sharded index, optional
 * tokenizer.json). Backend "cpu" is the default; "gpu" runs the forward with the WGSL kernels.
 *
 * @example
 * ```ts
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const logits = await model.logits([1, 2, 3]);
 * console.log(logits.length / model.config.vocabSize);
 * ```
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<Model> {
  const backend = options.backend ?? "cpu";
  if (backend !== "cpu" && backend !== "gpu") {
    throw new TokenlabError(`unknown backend "${backend}"`, { hint: 'use "cpu" or "gpu"' });
  }
  if ((options.dtype ?? "f32") !== "f32") {
    throw new TokenlabError(`dtype "${options.dtype}" is not supported`, {
      hint: 'the CPU backend computes in "f32"',
    });
  }
  const config = await readConfig(dir);
  const tensors = await readCheckpoint(dir);
  let quantized = bnbCheckpointKind(config.raw, dir)
    ? await readBnbCheckpoint(dir, { config, tensors })
    : undefined;
  if (quantized && options.quant) {
    throw new TokenlabError(`${dir} is already quantised (${quantized.format})`, {
      hint: "load it without { quant }",
    });
  }
  let weights = weightsFromTensors(config, tensors, dir);
  if (options.quant) {
    ({ weights, quantized } = quantizeModelWeights(weights, { config, quant: options.quant }));
  }
  let engine: GpuForward | undefined;
  if (backend === "gpu") {
    const why = gpuUnsupported(config);
    if (why) throw new TokenlabError(`${dir}: ${why}`, { hint: 'use { backend: "cpu" }' });
    const gpu = await getDevice();
    if (!gpu) {
      throw new TokenlabError("the gpu backend needs a WebGPU adapter and none was found", {
        hint:
          'use { backend: "cpu" }, or install a driver (tools/setup.ts installs a software one)',
      });
    }
    engine = new GpuForward(config, { weights, gpu, quantized });
  }
  const model = new Model(config, weights, engine);
  model.quantized = quantized;
  const tokPath = `${dir}/tokenizer.json`;
  try {
    await Deno.stat(tokPath);
    try {
      model.tokenizer = await Tokenizer.fromTokenizerJson(tokPath);
    } catch {
      // tokenizer.json present but not loadable by lib/tokenizers: leave undefined
    }
  } catch {
    // no tokenizer.json
  }
  return model;
}
