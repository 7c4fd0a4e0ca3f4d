/**
 * Llama-style decoder runtime (llama, mistral, qwen2) with a CPU reference backend, the GPU
 * backend of `gpu.ts`, and the research-friendly KV cache of `kv_cache.ts`.
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
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

/** Options of {@linkcode Model.forwardLayers}. */
export interface ForwardLayersOptions {
  /** First layer run (default 0). */
  from?: number;
  /** Last layer run, inclusive (default numLayers − 1). */
  to?: number;
  /** The residual stream entering layer `from`, [ids.length × hidden] (default: the embedding). */
  hidden?: Float32Array;
  /** Explicit positions of the ids (then `nextPosition` does not move). */
  positions?: number[];
  /** Feed the ids as a token tree (parents; positions by depth; `nextPosition` does not move). */
  parents?: number[];
  /** Also return the stream after every layer run (default false). */
  keepLayers?: boolean;
}

/** What {@linkcode Model.forwardLayers} returns. */
export interface LayersResult {
  /** The residual stream after the last layer run, [ids.length × hidden]. */
  hidden: Float32Array;
  /** With `keepLayers`: the stream after each layer run, in order from `from`. */
  layers?: Float32Array[];
}

/** Options of {@linkcode Model.forwardExit}. */
export interface ForwardExitOptions {
  /** The last layer run (0-based); its stream goes through the final norm and the LM head. */
  exitLayer: number;
  /** Explicit positions of the ids (then `nextPosition` does not move). */
  positions?: number[];
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

  /**
   * Runs a range of layers (CPU backend): the early-exit and layer-skipping building block.
   * Feeds `ids` after what `cache` holds and runs layers `from..to` (inclusive), appending
   * keys and values to those layers only; the stream entering layer `from` is the embedding
   * of `ids` or `options.hidden`. Positions are `cache.nextPosition + i` (then `nextPosition`
   * moves by `ids.length`), or `options.positions` / a tree's depths (`options.parents`; then
   * it does not move). New entries attend to everything a layer holds before them plus,
   * causally, each other (or to their tree ancestors). Returns the stream after layer `to`
   * (before the final norm): pass it to {@linkcode Model.exitLogits} for that layer's exit.
   *
   * Self-speculation shares one cache this way (LayerSkip): draft tokens run layers 0..ℓ,
   * then verification runs layers ℓ+1..L−1 on the same tokens from the saved stream, as a
   * tree, reusing the drafts' lower-layer keys and values.
   *
   * @example
   * ```ts
   * import { loadModel } from "@tokenlab/tokenlab/models";
   * const model = await loadModel("tests/fixtures/models/llama_gqa");
   * const cache = model.newCache();
   * const { hidden } = model.forwardLayers([1, 2, 3], cache, { to: 0 }); // layer 0 only
   * const exit0 = model.exitLogits(hidden); // [3 × vocab]: the exit after layer 0
   * console.log(exit0.length / model.config.vocabSize, cache.length(0), cache.length(1)); // 3 3 0
   * ```
   */
  forwardLayers(ids: number[], cache: KvCache, options: ForwardLayersOptions = {}): LayersResult {
    const c = this.config, Dm = c.hiddenSize, S = ids.length;
    if (this.#gpu) {
      throw new TokenlabError(
        "forwardLayers (early exit, layer skipping) runs on the CPU backend",
        {
          hint: 'load the model with { backend: "cpu" }',
        },
      );
    }
    const from = options.from ?? 0, to = options.to ?? c.numLayers - 1;
    check(
      Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to &&
        to < c.numLayers,
      `forwardLayers: need 0 ≤ from ≤ to < ${c.numLayers}, got from ${from}, to ${to}`,
      { hint: "layers count from 0" },
    );
    this.#checkIds(ids);
    let h: Float32Array;
    if (options.hidden) {
      check(
        options.hidden.length === S * Dm,
        `forwardLayers: hidden has ${options.hidden.length} values, expected ${S} × ${Dm}`,
        { hint: "pass the stream forwardLayers returned for the same ids" },
      );
      h = options.hidden.slice();
    } else {
      h = embeddingReference({ table: { data: this.weights.embed, shape: [c.vocabSize, Dm] }, ids })
        .data;
    }
    const parents = options.parents;
    if (parents) {
      check(parents.length === S, `forwardLayers: ${S} ids but ${parents.length} parents`);
    }
    const positions = options.positions ??
      (parents
        ? tokenTreeDepths({ ids, parents }).map((d) => cache.nextPosition + d)
        : ids.map((_, i) => cache.nextPosition + i));
    check(
      positions.length === S,
      `forwardLayers: ${S} ids but ${positions.length} positions`,
    );
    const layers: Float32Array[] | undefined = options.keepLayers ? [] : undefined;
    if (S > 0) {
      this.#runLayers(h, cache, {
        from,
        to,
        positions,
        masks: parents ? { parents } : { causal: true },
        layers,
      });
    }
    if (!options.positions && !parents) cache.nextPosition += S;
    return layers ? { hidden: h, layers } : { hidden: h };
  }

  /**
   * A layer's exit: the final norm and the LM head applied to residual-stream rows
   * [rows × hidden] (what {@linkcode Model.forwardLayers} returns), giving [rows × vocab]
   * logits. On the last layer's stream these are exactly {@linkcode Model.forward}'s logits.
   *
   * @example
   * ```ts
   * import { loadModel } from "@tokenlab/tokenlab/models";
   * const model = await loadModel("tests/fixtures/models/llama_gqa");
   * const { hidden } = model.forwardLayers([1, 2], model.newCache(), { to: 0 });
   * console.log(model.exitLogits(hidden).length === 2 * model.config.vocabSize); // true
   * ```
   */
  exitLogits(hidden: Float32Array): Float32Array {
    const Dm = this.config.hiddenSize;
    check(
      hidden.length % Dm === 0,
      `exitLogits: ${hidden.length} values are not rows of ${Dm}`,
      { hint: "pass a residual stream [rows × hiddenSize]" },
    );
    return this.#head(hidden);
  }

  /**
   * Early-exit logits (CPU backend): feeds `ids` like {@linkcode Model.forward} but runs
   * layers 0..`exitLayer` only (keys and values appended to those layers), then the final norm
   * and the LM head, [ids.length × vocab]. `exitLayer` = numLayers − 1 is the full forward.
   *
   * @example
   * ```ts
   * import { loadModel } from "@tokenlab/tokenlab/models";
   * const model = await loadModel("tests/fixtures/models/llama_gqa");
   * const logits = model.forwardExit([1, 2, 3], model.newCache(), { exitLayer: 0 });
   * console.log(logits.length / model.config.vocabSize); // 3
   * ```
   */
  forwardExit(ids: number[], cache: KvCache, options: ForwardExitOptions): Float32Array {
    const { hidden } = this.forwardLayers(ids, cache, {
      to: options?.exitLayer,
      positions: options?.positions,
    });
    return this.#head(hidden);
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
    const S = ids.length, Dm = c.hiddenSize;
    if (S === 0) return new Float32Array(0);
    this.#checkIds(ids);
    const positions = packed?.positions ?? tree?.positions ??
      ids.map((_, i) => cache.nextPosition + i);
    // the masks of the new entries (the last S of each layer's cache): causal by default, the
    // tree's ancestors, or the packed sequences; Mistral's sliding window on top
    const masks: AttentionReferenceOptions = packed
      ? { causal: true, seqIds: packed.seqIds }
      : tree
      ? { parents: tree.parents }
      : { causal: true };
    const h = embeddingReference({ table: { data: w.embed, shape: [c.vocabSize, Dm] }, ids }).data;
    if (cache.captureAttention) cache.attention = [];
    this.#runLayers(h, cache, { from: 0, to: c.numLayers - 1, positions, masks });
    if (!tree && !packed) cache.nextPosition += S;
    if (packed) {
      const last = new Float32Array(packed.lastIndex.length * Dm);
      packed.lastIndex.forEach((i, r) => last.set(h.subarray(i * Dm, (i + 1) * Dm), r * Dm));
      return this.#head(last);
    }
    return this.#head(h);
  }

  /** The final norm and the LM head on residual-stream rows [rows × hidden]. */
  #head(h: Float32Array): Float32Array {
    const c = this.config, w = this.weights, Dm = c.hiddenSize;
    const x = rmsnormReference({
      x: { data: h, shape: [h.length / Dm, Dm] },
      weight: { data: w.norm, shape: [Dm] },
    }, { eps: c.rmsNormEps }).out.data;
    return linear(x, w.lmHead, { seq: h.length / Dm, inDim: Dm, outDim: c.vocabSize });
  }
  /**
   * Runs layers `from..to` (inclusive) on the residual stream `h` [S × hidden] in place,
   * appending each layer's keys and values to `cache`; `o.layers` collects the stream after
   * every layer when given.
   */
  #runLayers(
    h: Float32Array,
    cache: KvCache,
    o: {
      from: number;
      to: number;
      positions: number[];
      masks: AttentionReferenceOptions;
      layers?: Float32Array[];
    },
  ): void {
    const c = this.config, w = this.weights, positions = o.positions;
    const Dm = c.hiddenSize, H = c.numHeads, KH = c.numKvHeads, D = c.headDim;
    const S = h.length / Dm;
    const norm = (x: Float32Array, weight: Float32Array) =>
      rmsnormReference({
        x: { data: x, shape: [x.length / Dm, Dm] },
        weight: { data: weight, shape: [Dm] },
      }, { eps: c.rmsNormEps }).out.data;
    const rope = { theta: c.ropeTheta, scaling: c.ropeScaling };
    for (let l = o.from; l <= o.to; l++) {
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
        ...o.masks,
        window: c.slidingWindow,
        keyPositions: cache.positions[l],
        probs: cache.captureAttention,
      });
      if (att.probs) cache.attention.push(att.probs.data);
      const ao = linear(att.out.data, L.o, { seq: S, inDim: H * D, outDim: Dm, bias: L.oBias });
      for (let i = 0; i < h.length; i++) h[i] += ao[i];
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
      o.layers?.push(h.slice());
    }
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
