/**
 * The WebGPU forward of the Llama-style decoder, built from the kernels in `kernels/`:
 * rmsnorm (with the fused residual add), matmul, rope, flash attention, swiglu, plus a small
 * row-bias kernel for qkv/o biases. The KV cache stays the CPU {@linkcode KvCache} (so the
 * research API — keep/evict, positions — is the same on both backends); next to each cache the
 * forward keeps a device copy of every layer's rows that grows geometrically like the cache:
 * new keys/values are copied into it on the GPU (and read back once per call for the CPU
 * cache), and after a keep/evict only the rows that moved are uploaded again.
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import { dispatch, type GpuContext, Tensor } from "../gpu/mod.ts";
import { flashAttention, matmul, rmsnorm, rope, swiglu } from "../../kernels/mod.ts";
import type { ModelConfig } from "./config.ts";
import type { KvCache } from "./kv_cache.ts";
import type { ModelWeights } from "./weights.ts";
import { type TokenTree, tokenTreeDepths } from "./tree.ts";
import type { PackedBatch } from "../data/packing.ts";
import {
  gpuLinear,
  type GpuLinearWeight,
  type QuantizedLinears,
  uploadLinear,
} from "./quantized.ts";

const BIAS_WGSL = `struct Params { rows: u32, cols: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.rows * params.cols) { return; }
  x[i] = x[i] + bias[i % params.cols];
}
`;

interface GpuLayer {
  inputNorm: Tensor;
  postNorm: Tensor;
  q: GpuLinearWeight;
  k: GpuLinearWeight;
  v: GpuLinearWeight;
  o: GpuLinearWeight;
  qBias?: Tensor;
  kBias?: Tensor;
  vBias?: Tensor;
  oBias?: Tensor;
  gate: GpuLinearWeight;
  up: GpuLinearWeight;
  down: GpuLinearWeight;
}

/** The device copy of one layer of a {@linkcode KvCache}: rows [capacity, kvHeads, headDim]. */
interface LayerMirror {
  k: GPUBuffer | null;
  v: GPUBuffer | null;
  /** Rows the buffers hold room for. */
  capacity: number;
  /** Leading rows that were current at `revision`. */
  length: number;
  /** `cache.revision(layer)` when the rows were last brought up to date. */
  revision: number;
}

/** Destroys a collected cache's device copies. */
const MIRRORS = new FinalizationRegistry<LayerMirror[]>((mirrors) => {
  for (const m of mirrors) {
    m.k?.destroy();
    m.v?.destroy();
  }
});

/**
 * Why a config cannot run on the GPU backend, or null when it can.
 *
 * @example
 * ```ts
 * import { gpuUnsupported, parseConfig } from "@tokenlab/tokenlab/models";
 * console.log(gpuUnsupported(parseConfig({ model_type: "llama", hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 })));
 * ```
 */
export function gpuUnsupported(config: ModelConfig): string | null {
  if (config.ropeScaling) {
    return `${config.ropeScaling.type} rope scaling is not implemented on the gpu backend`;
  }
  if (config.headDim > 256) return `head_dim ${config.headDim} exceeds the attention kernel's 256`;
  return null;
}

/**
 * Model weights resident on a WebGPU device and the forward that uses them. Made by
 * `loadModel(dir, { backend: "gpu" })`; rarely used directly.
 *
 * @example
 * ```ts
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * const model = await loadModel("tests/fixtures/models/llama_gqa", { backend: "gpu" }).catch(() => null);
 * if (model) console.log((await model.logits([1, 2, 3])).length);
 * ```
 */
export class GpuForward {
  readonly #gpu: GpuContext;
  readonly #config: ModelConfig;
  readonly #embed: Float32Array;
  readonly #layers: GpuLayer[];
  readonly #norm: Tensor;
  readonly #lmHead: Tensor;
  readonly #mirrors = new WeakMap<KvCache, LayerMirror[]>();

  /**
   * Uploads the weights (f32) to `gpu`; with `quantized`, the decoder linears go up quantised
   * instead and run the fused dequantise-and-multiply kernels.
   */
  constructor(
    config: ModelConfig,
    init: { weights: ModelWeights; gpu: GpuContext; quantized?: QuantizedLinears },
  ) {
    const why = gpuUnsupported(config);
    if (why) throw new TokenlabError(why, { hint: 'use { backend: "cpu" }' });
    const { weights: w, gpu } = init;
    this.#gpu = gpu;
    this.#config = config;
    this.#embed = w.embed;
    const up = (a: Float32Array | undefined, shape: number[]) =>
      a ? Tensor.fromArray(a, { shape, gpu }) : undefined;
    const c = config, Dm = c.hiddenSize, QD = c.numHeads * c.headDim;
    const KD = c.numKvHeads * c.headDim, I = c.intermediateSize;
    const ql = init.quantized?.layers;
    const lin = (l: number, name: "q" | "k" | "v" | "o" | "gate" | "up" | "down", s: number[]) =>
      ql ? uploadLinear(ql[l][name], gpu) : up(w.layers[l][name], s)!;
    this.#layers = w.layers.map((L, l) => ({
      inputNorm: up(L.inputNorm, [Dm])!,
      postNorm: up(L.postNorm, [Dm])!,
      q: lin(l, "q", [QD, Dm]),
      k: lin(l, "k", [KD, Dm]),
      v: lin(l, "v", [KD, Dm]),
      o: lin(l, "o", [Dm, QD]),
      qBias: up(L.qBias, [QD]),
      kBias: up(L.kBias, [KD]),
      vBias: up(L.vBias, [KD]),
      oBias: up(L.oBias, [Dm]),
      gate: lin(l, "gate", [I, Dm]),
      up: lin(l, "up", [I, Dm]),
      down: lin(l, "down", [Dm, I]),
    }));
    this.#norm = up(w.norm, [Dm])!;
    this.#lmHead = up(w.lmHead, [c.vocabSize, Dm])!;
  }

  async #addBias(x: Tensor, bias: Tensor | undefined): Promise<void> {
    if (!bias) return;
    const n = x.size, groups = Math.ceil(n / 256);
    const gx = Math.max(1, Math.min(groups, 65535)), gy = Math.ceil(groups / gx);
    await dispatch(this.#gpu, {
      label: "models.bias",
      source: BIAS_WGSL,
      uniforms: { rows: n / bias.size, cols: bias.size, gridX: gx },
      bindings: { x, bias },
      workgroups: [n ? gx : 0, Math.max(1, gy)],
    });
  }

  async #linear(x: Tensor, w: GpuLinearWeight, bias?: Tensor): Promise<Tensor> {
    const y = await gpuLinear(x, w);
    await this.#addBias(y, bias);
    return y;
  }

  /**
   * The device copy of `cache`'s layer `layer`, current for its `length` rows and with room for
   * `extra` more: grown geometrically (old rows copied on the GPU), and the rows a keep/evict
   * moved since the last call uploaded from the CPU cache.
   */
  #mirror(cache: KvCache, layer: number, extra: number): LayerMirror {
    let all = this.#mirrors.get(cache);
    if (!all) {
      all = Array.from({ length: cache.numLayers }, (_, l) => ({
        k: null,
        v: null,
        capacity: 0,
        length: 0,
        revision: cache.revision(l),
      }));
      this.#mirrors.set(cache, all);
      MIRRORS.register(cache, all);
    }
    const m = all[layer], device = this.#gpu.device;
    const rowBytes = cache.kvHeads * cache.headDim * 4;
    const len = cache.length(layer), need = len + extra;
    const valid = Math.min(m.length, cache.unchangedSince(layer, m.revision), len);
    if (need > m.capacity) {
      const maxRows = Math.floor(device.limits.maxBufferSize / rowBytes);
      check(
        need <= maxRows,
        `the KV cache of layer ${layer} needs ${need} entries, more than a GPU buffer holds (${maxRows})`,
        { hint: "evict entries (cache.evict) or use a shorter context" },
      );
      const capacity = Math.min(maxRows, Math.max(need, 2 * m.capacity, 64));
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const k = device.createBuffer({ size: capacity * rowBytes, usage, label: "models.kv.k" });
      const v = device.createBuffer({ size: capacity * rowBytes, usage, label: "models.kv.v" });
      if (valid > 0 && m.k && m.v) {
        const enc = device.createCommandEncoder();
        enc.copyBufferToBuffer(m.k, 0, k, 0, valid * rowBytes);
        enc.copyBufferToBuffer(m.v, 0, v, 0, valid * rowBytes);
        device.queue.submit([enc.finish()]);
      }
      m.k?.destroy();
      m.v?.destroy();
      Object.assign(m, { k, v, capacity });
    }
    if (valid < len) {
      const row = rowBytes / 4;
      const keys = cache.keyRows(layer), values = cache.valueRows(layer);
      device.queue.writeBuffer(m.k!, valid * rowBytes, keys, valid * row, (len - valid) * row);
      device.queue.writeBuffer(m.v!, valid * rowBytes, values, valid * row, (len - valid) * row);
    }
    m.length = len;
    m.revision = cache.revision(layer);
    return m;
  }

  /** Same contract as `Model.forward`: logits of every fed position, [ids.length × vocab]. */
  forward(ids: number[], cache: KvCache): Promise<Float32Array> {
    return this.#run(ids, cache);
  }

  /**
   * Same contract as `Model.forwardTree`: the tree's nodes at positions
   * `cache.nextPosition + depth`, each attending to the prefix and its ancestors (flash
   * attention with `parents`); all nodes are appended, `nextPosition` stays.
   */
  forwardTree(tree: TokenTree, cache: KvCache): Promise<Float32Array> {
    const depth = tokenTreeDepths(tree);
    return this.#run(tree.ids, cache, {
      parents: tree.parents,
      positions: depth.map((d) => cache.nextPosition + d),
    });
  }

  /**
   * Same contract as `Model.forwardPacked`: one pass over the packed token sequence with
   * flash attention under the causal and sequence-id masks, K and V kept on the GPU (no
   * cache), the LM head applied only to each prompt's last token.
   */
  forwardPacked(batch: PackedBatch): Promise<Float32Array> {
    return this.#run(batch.ids, null, undefined, batch);
  }

  async #run(
    ids: number[],
    cacheOrNull: KvCache | null,
    tree?: { parents: number[]; positions: number[] },
    packed?: PackedBatch,
  ): Promise<Float32Array> {
    const c = this.#config, gpu = this.#gpu;
    const S = ids.length, Dm = c.hiddenSize, H = c.numHeads, KH = c.numKvHeads, D = c.headDim;
    if (S === 0) return new Float32Array(0);
    const cache = cacheOrNull;
    check(
      !cache?.captureAttention,
      "attention capture is not available on the gpu backend (the flash kernel never forms the probabilities)",
      { hint: 'load the model with { backend: "cpu" } to capture attention' },
    );
    const positions = packed?.positions ?? tree?.positions ??
      ids.map((_, i) => cache!.nextPosition + i);
    if (c.slidingWindow != null) {
      const last = Math.max(...positions);
      const span = last - Math.min(cache?.positions[0][0] ?? positions[0], positions[0]);
      check(
        span < c.slidingWindow,
        `the sequence spans ${
          span + 1
        } positions, more than the sliding window ${c.slidingWindow}, which the gpu backend does not apply`,
        { hint: 'use { backend: "cpu" } for sequences longer than the window' },
      );
    }
    const emb = new Float32Array(S * Dm);
    for (let s = 0; s < S; s++) {
      emb.set(this.#embed.subarray(ids[s] * Dm, (ids[s] + 1) * Dm), s * Dm);
    }
    let h = Tensor.fromArray(emb, { shape: [S, Dm], gpu });
    let carry: Tensor | null = null; // output of the previous block, to add to h
    const eps = c.rmsNormEps;
    const norm = async (weight: Tensor): Promise<Tensor> => {
      if (!carry) return (await rmsnorm({ x: h, weight }, { eps })).out;
      const r = await rmsnorm({ x: carry, weight, residual: h }, { eps });
      carry.release();
      h.release();
      h = r.residual!;
      carry = null;
      return r.out;
    };
    const newRows: { layer: number; k: Tensor; v: Tensor }[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const L = this.#layers[l];
      const x1 = await norm(L.inputNorm);
      const q0 = await this.#linear(x1, L.q, L.qBias);
      const k0 = await this.#linear(x1, L.k, L.kBias);
      const v = await this.#linear(x1, L.v, L.vBias);
      x1.release();
      const q = await rope({ x: q0.reshape([S, H, D]), positions }, { theta: c.ropeTheta });
      const k = await rope({ x: k0.reshape([S, KH, D]), positions }, { theta: c.ropeTheta });
      q0.release();
      k0.release();
      if (!cache) {
        // packed prefill: attend within each sequence id, K and V straight from the GPU
        const att = await flashAttention({ q, k, v: v.reshape([S, KH, D]) }, {
          causal: true,
          seqIds: packed!.seqIds,
        });
        q.release();
        k.release();
        v.release();
        att.lse.release();
        carry = await this.#linear(att.out.reshape([S, H * D]), L.o, L.oBias);
        att.out.release();
        const x2p = await norm(L.postNorm);
        const gp = await this.#linear(x2p, L.gate);
        const up = await this.#linear(x2p, L.up);
        x2p.release();
        const ap = await swiglu({ gate: gp, up });
        gp.release();
        up.release();
        carry = await this.#linear(ap, L.down);
        ap.release();
        continue;
      }
      // the new rows [S, KH, D] go after the device copy's current rows, on the GPU; the CPU
      // cache gets them once this call's passes are done (one read-back for all layers)
      const m = this.#mirror(cache, l, S), T = cache.length(l) + S, rowBytes = KH * D * 4;
      const enc = gpu.device.createCommandEncoder();
      enc.copyBufferToBuffer(k.buffer, 0, m.k!, (T - S) * rowBytes, S * rowBytes);
      enc.copyBufferToBuffer(v.buffer, 0, m.v!, (T - S) * rowBytes, S * rowBytes);
      gpu.device.queue.submit([enc.finish()]);
      m.length = T;
      newRows.push({ layer: l, k, v });
      const kt = new Tensor({ gpu, buffer: m.k!, shape: [T, KH, D], dtype: "f32" });
      const vt = new Tensor({ gpu, buffer: m.v!, shape: [T, KH, D], dtype: "f32" });
      // the new entries are the last S of the cache: causal, or the tree's ancestor mask
      const att = await flashAttention(
        { q, k: kt, v: vt },
        tree ? { parents: tree.parents } : { causal: true },
      );
      q.release();
      att.lse.release();
      const o = await this.#linear(att.out.reshape([S, H * D]), L.o, L.oBias);
      att.out.release();
      carry = o;
      const x2 = await norm(L.postNorm);
      const g = await this.#linear(x2, L.gate);
      const u = await this.#linear(x2, L.up);
      x2.release();
      const a = await swiglu({ gate: g, up: u });
      g.release();
      u.release();
      carry = await this.#linear(a, L.down);
      a.release();
    }
    if (cache) {
      const rows = await Promise.all(
        newRows.map(async (r) => [await r.k.toArray(), await r.v.toArray()] as Float32Array[]),
      );
      newRows.forEach((r, i) => {
        r.k.release();
        r.v.release();
        cache.appendRows(r.layer, { k: rows[i][0], v: rows[i][1], positions });
      });
      if (!tree) cache.nextPosition += S;
    }
    if (packed) {
      // the final norm and LM head only for each prompt's last token
      const c0 = carry as Tensor | null;
      const added = c0 ? await rmsnorm({ x: c0, weight: this.#norm, residual: h }, { eps }) : null;
      added?.out.release();
      c0?.release();
      const hl = added ? added.residual! : h;
      const rows = (await hl.toArray()) as Float32Array;
      if (hl !== h) hl.release();
      h.release();
      const last = new Float32Array(packed.lastIndex.length * Dm);
      packed.lastIndex.forEach((i, r) => last.set(rows.subarray(i * Dm, (i + 1) * Dm), r * Dm));
      const hLast = Tensor.fromArray(last, { shape: [packed.lastIndex.length, Dm], gpu });
      const xl = (await rmsnorm({ x: hLast, weight: this.#norm }, { eps })).out;
      hLast.release();
      const lg = await matmul({ a: xl, b: this.#lmHead }, { transposeB: true });
      xl.release();
      const outp = (await lg.toArray()) as Float32Array;
      lg.release();
      return outp;
    }
    const xf = await norm(this.#norm);
    h.release();
    const logits = await matmul({ a: xf, b: this.#lmHead }, { transposeB: true });
    xf.release();
    const out = (await logits.toArray()) as Float32Array;
    logits.release();
    return out;
  }
}
