/**
 * Flash-attention prefill: causal or full attention of Sq queries against Skv keys with
 * grouped-query heads, online softmax over key tiles held in workgroup memory, optional
 * token-tree (ancestor) and packed-sequence (block-diagonal) masks, and an optional second
 * pass giving the attention mass each key received.
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  ceilDiv,
  cpuTensor,
  dims,
  enables,
  type FloatArray,
  floatType,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
  sameShape,
  zerosLike,
} from "./_common.ts";
import { onlineSoftmaxStateWgsl, onlineSoftmaxTileWgsl } from "./_online_softmax.ts";

/** Compile-time configuration of the attention shaders. */
export interface FlashAttentionShaderConfig {
  /** Head dimension. */
  headDim: number;
  /** Storage type of q, k, v and the output (default f32). */
  dtype?: "f32" | "f16";
  /** Key j is visible to query i only if j ≤ offset + i (default false). */
  causal?: boolean;
  /** A token-tree ancestor bitmask is bound (implies causal order). */
  tree?: boolean;
  /** Per-position sequence ids are bound (block-diagonal mask). */
  seqIds?: boolean;
  /** Threads per workgroup of the forward pass (default 64). */
  threads?: number;
}

const PARAMS_WGSL = `struct Params {
  Sq: u32, Skv: u32, Hq: u32, Hkv: u32, group: u32, offset: u32, scale2: f32, words: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
`;

function keyTile(D: number): number {
  return Math.max(8, Math.min(64, Math.floor(2048 / D)));
}

function maskWgsl(c: FlashAttentionShaderConfig, first: number): string {
  let b = first;
  const decl = [
    c.seqIds ? `@group(0) @binding(${b++}) var<storage, read> seq: array<i32>;` : "",
    c.tree ? `@group(0) @binding(${b++}) var<storage, read> tree: array<u32>;` : "",
  ].join("\n");
  return `${decl}
fn allowed(i: u32, j: u32) -> bool {
  let qp = params.offset + i;
  ${c.causal || c.tree ? "if (j > qp) { return false; }" : ""}
  ${c.seqIds ? "if (seq[j] != seq[qp]) { return false; }" : ""}
  ${
    c.tree
      ? `if (j >= params.offset) {
    let t = j - params.offset;
    if ((tree[i * params.words + (t >> 5u)] & (1u << (t & 31u))) == 0u) { return false; }
  }`
      : ""
  }
  return true;
}`;
}

/** Tile sizes of the forward pass for head dim D: [query rows, keys] per workgroup. */
function forwardTiles(D: number): [number, number] {
  const Dp = ceilDiv(D, 4) * 4;
  const BK = Math.max(4, Math.min(32, Math.floor(1024 / Dp)));
  const BQ = Math.max(4, Math.min(32, Math.floor((3584 - 2 * BK * Dp) / (Dp + BK) / 4) * 4));
  return [BQ, BK];
}

/** WGSL reading element group `c` (4 values) of the row at `base` of `buf`, zero past D. */
function load4(buf: string, D: number): string {
  const parts = [0, 1, 2, 3].map((x) =>
    D % 4 === 0
      ? `f32(${buf}[b + ${x}u])`
      : `select(0.0, f32(${buf}[min(b + ${x}u, last)]), 4u * c + ${x}u < D)`
  );
  return `fn ${buf}4(base: u32, c: u32) -> vec4<f32> {
  let b = base + 4u * c;
  ${D % 4 === 0 ? "" : `let last = arrayLength(&${buf}) - 1u;`}
  return vec4<f32>(${parts.join(", ")});
}`;
}

/**
 * WGSL source of the attention forward pass, tiled: a 64-thread workgroup owns a block of
 * (query, head) rows of one kv head (the grouped query heads share every K/V tile). Per key
 * tile it stages K and V as vec4 rows in workgroup memory, computes the block's scores with
 * vec4 dot products (each thread a few (row, key) pairs), updates every row's running max and
 * sum once (online softmax), then each thread rescales and accumulates its vec4 slice of the
 * output rows. Writes the output and the natural-log sum-exp of every (head, query).
 */
export function flashAttentionWgsl(config: FlashAttentionShaderConfig): string {
  const T = config.dtype ?? "f32", D = config.headDim;
  const D4 = ceilDiv(D, 4), [BQ, BK] = forwardTiles(D), NT = config.threads ?? 64;
  const ACC = ceilDiv(BQ * D4, NT), SN = ceilDiv(BQ * BK, NT);
  const limitKeys = config.causal || config.tree;
  const store = [0, 1, 2, 3].map((x) =>
    D % 4 === 0 || x === 0
      ? `out[ob + ${x}u] = ${T}(o.${"xyzw"[x]});`
      : `if (4u * c + ${x}u < D) { out[ob + ${x}u] = ${T}(o.${"xyzw"[x]}); }`
  ).join("\n        ");
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> q: array<${T}>;
@group(0) @binding(2) var<storage, read> k: array<${T}>;
@group(0) @binding(3) var<storage, read> v: array<${T}>;
@group(0) @binding(4) var<storage, read_write> out: array<${T}>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
${maskWgsl(config, 6)}
${
    config.seqIds
      ? `@group(0) @binding(${config.tree ? 8 : 7}) var<storage, read> segStart: array<u32>;`
      : ""
  }
const D = ${D}u;
const D4 = ${D4}u;
const BQ = ${BQ}u;
const BK = ${BK}u;
const NT = ${NT}u;
const NEG = -1.0e30;
var<workgroup> Qs: array<vec4<f32>, ${BQ * D4}>;
var<workgroup> Ks: array<vec4<f32>, ${BK * D4}>;
var<workgroup> Vs: array<vec4<f32>, ${BK * D4}>;
var<workgroup> S: array<f32, ${BQ * BK}>;
${onlineSoftmaxStateWgsl(BQ)}
${load4("q", D)}
${load4("k", D)}
${load4("v", D)}

@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let kvh = wg.y;
  let G = params.group;
  let rows = params.Sq * G;
  let row0 = wg.x * BQ;
  // block row r is (query (row0 + r) / G, head kvh·G + (row0 + r) % G)
  for (var e = tid; e < BQ * D4; e += NT) {
    let gr = row0 + e / D4;
    var x = vec4<f32>(0.0);
    if (gr < rows) {
      x = q4(((gr / G) * params.Hq + kvh * G + gr % G) * D, e % D4) * params.scale2;
    }
    Qs[e] = x;
  }
  for (var r = tid; r < BQ; r += NT) {
    ms[r] = NEG;
    ls[r] = 0.0;
  }
  var acc: array<vec4<f32>, ${ACC}>;
  let lastQ = (min(rows, row0 + BQ) - 1u) / G;
  var kEnd = params.Skv;
  ${limitKeys ? "kEnd = min(params.Skv, params.offset + lastQ + 1u);" : ""}
  // with sequence ids, keys before the first position of the block's earliest sequence are
  // never visible: start there (packed rows then cost the sum of len^2, not (sum of len)^2)
  var kStart = 0u;
  ${
    config.seqIds
      ? `kStart = kEnd;
  for (var r = 0u; r < BQ; r++) {
    if (row0 + r < rows) { kStart = min(kStart, segStart[params.offset + (row0 + r) / G]); }
  }`
      : ""
  }
  workgroupBarrier();
  for (var k0 = kStart; k0 < kEnd; k0 += BK) {
    for (var e = tid; e < BK * D4; e += NT) {
      let j = k0 + e / D4;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (j < kEnd) {
        let base = (j * params.Hkv + kvh) * D;
        kv = k4(base, e % D4);
        vv = v4(base, e % D4);
      }
      Ks[e] = kv;
      Vs[e] = vv;
    }
    workgroupBarrier();
    for (var n = 0u; n < ${SN}u; n++) {
      let e = tid + n * NT;
      if (e < BQ * BK) {
        let r = e / BK;
        let t = e % BK;
        let j = k0 + t;
        let gr = row0 + r;
        var x = NEG;
        if (j < kEnd && gr < rows && allowed(gr / G, j)) {
          var d4 = vec4<f32>(0.0);
          for (var c = 0u; c < D4; c++) { d4 = fma(Qs[r * D4 + c], Ks[t * D4 + c], d4); }
          x = (d4.x + d4.y) + (d4.z + d4.w);
        }
        S[e] = x;
      }
    }
    workgroupBarrier();
${onlineSoftmaxTileWgsl({ scores: "S", rows: "BQ", tile: "BK" })}
    workgroupBarrier();
    let nt = min(BK, kEnd - k0);
    for (var n = 0u; n < ${ACC}u; n++) {
      let e = tid + n * NT;
      if (e < BQ * D4) {
        let r = e / D4;
        let c = e % D4;
        var a = acc[n] * alpha[r];
        for (var t = 0u; t < nt; t++) { a = fma(vec4<f32>(S[r * BK + t]), Vs[t * D4 + c], a); }
        acc[n] = a;
      }
    }
    workgroupBarrier();
  }
  for (var n = 0u; n < ${ACC}u; n++) {
    let e = tid + n * NT;
    let gr = row0 + e / D4;
    if (e < BQ * D4 && gr < rows) {
      let r = e / D4;
      let c = e % D4;
      let o = acc[n] * select(0.0, 1.0 / ls[r], ls[r] > 0.0);
      let ob = ((gr / G) * params.Hq + kvh * G + gr % G) * D + 4u * c;
      ${store}
    }
  }
  for (var r = tid; r < BQ; r += NT) {
    let gr = row0 + r;
    if (gr < rows) {
      let l = ls[r];
      let h = kvh * G + gr % G;
      lse[h * params.Sq + gr / G] = select(NEG, (ms[r] + log2(l)) * 0.6931471805599453, l > 0.0);
    }
  }
}
`;
}

/**
 * WGSL source of the key-mass pass: one thread per key of one head sums, over all queries
 * that may see it, `exp(score − lse(query))`, the probability the query gave that key.
 */
export function flashKeyMassWgsl(config: FlashAttentionShaderConfig): string {
  const T = config.dtype ?? "f32", D = config.headDim, BQ = keyTile(D);
  const limit = config.causal || config.tree;
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> q: array<${T}>;
@group(0) @binding(2) var<storage, read> k: array<${T}>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> mass: array<f32>;
${maskWgsl(config, 5)}
const D = ${D}u;
const BQ = ${BQ}u;
const NEG = -1.0e30;
var<workgroup> Qs: array<f32, ${BQ * D}>;
var<workgroup> Ls: array<f32, ${BQ}>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let h = wg.y;
  let kvh = h / params.group;
  let j = wg.x * 64u + tid;
  let valid = j < params.Skv;
  var kr: array<f32, ${D}>;
  if (valid) {
    for (var d = 0u; d < D; d++) { kr[d] = f32(k[(j * params.Hkv + kvh) * D + d]); }
  }
  var iStart = 0u;
  ${limit ? "iStart = max(wg.x * 64u, params.offset) - params.offset;" : ""}
  var sum = 0.0;
  for (var i0 = iStart; i0 < params.Sq; i0 += BQ) {
    for (var e = tid; e < BQ * D; e += 64u) {
      let i = i0 + e / D;
      var qv = 0.0;
      if (i < params.Sq) { qv = f32(q[(i * params.Hq + h) * D + e % D]) * params.scale2; }
      Qs[e] = qv;
    }
    for (var t = tid; t < BQ; t += 64u) {
      let i = i0 + t;
      Ls[t] = select(0.0, lse[h * params.Sq + i] * 1.4426950408889634, i < params.Sq);
    }
    workgroupBarrier();
    if (valid) {
      for (var t = 0u; t < BQ; t++) {
        let i = i0 + t;
        if (i < params.Sq && Ls[t] > 0.5 * NEG && allowed(i, j)) {
          var dot = 0.0;
          for (var d = 0u; d < D; d++) { dot = fma(Qs[t * D + d], kr[d], dot); }
          sum += exp2(dot - Ls[t]);
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) { mass[h * params.Skv + j] = sum; }
}
`;
}

/** Inputs of {@linkcode flashAttention}: q [Sq, Hq, D], k and v [Skv, Hkv, D]. */
export interface AttentionInputs<T> {
  /** Queries. */
  q: T;
  /** Keys. */
  k: T;
  /** Values. */
  v: T;
}

/** Options of {@linkcode flashAttention} and {@linkcode flashAttentionReference}. */
export interface FlashAttentionOptions extends KernelOptions {
  /** Causal mask: query i sits at position Skv − Sq + i and sees keys up to it. */
  causal?: boolean;
  /** Score scale (default 1/√D). */
  scale?: number;
  /**
   * Token tree over the Sq queries (the last Sq positions): `parents[i]` is the index of
   * query i's parent among them, or −1 for a root. Query i sees the whole prefix and the
   * tree tokens that are its ancestors or itself. Parents must come before children.
   */
  parents?: ArrayLike<number>;
  /** Sequence id of each of the Skv positions: attention stays within equal ids. */
  seqIds?: ArrayLike<number>;
  /** Also compute, per head and key, the attention mass summed over queries. */
  keyMass?: boolean;
}

/** Outputs of {@linkcode flashAttention}. */
export interface FlashAttentionResult<T> {
  /** Attention output [Sq, Hq, D] in the dtype of q. */
  out: T;
  /** Natural-log sum-exp of the scaled scores, [Hq, Sq] f32 (−1e30 for a fully masked row). */
  lse: T;
  /** Attention each key received, summed over queries, [Hq, Skv] f32 (with `keyMass`). */
  keyMass?: T;
}

interface AttnDims {
  Sq: number;
  Skv: number;
  Hq: number;
  Hkv: number;
  D: number;
}

function attnDims(
  q: readonly number[],
  k: readonly number[],
  v: readonly number[],
  o: FlashAttentionOptions,
): AttnDims {
  sameShape(k, v, "attention k and v");
  const [Sq, Hq, D] = q, [Skv, Hkv, Dk] = k;
  check(D === Dk, `attention head dims differ: q has ${D}, k has ${Dk}`);
  check(
    Hkv > 0 && Hq % Hkv === 0,
    `attention query heads (${Hq}) must be a multiple of kv heads (${Hkv})`,
  );
  check(Sq <= Skv, `attention needs Sq ≤ Skv (queries are the last positions), got ${Sq} > ${Skv}`);
  if (o.parents) {
    check(
      o.parents.length === Sq,
      `parents must have one entry per query (${Sq}), got ${o.parents.length}`,
    );
    for (let i = 0; i < Sq; i++) {
      const p = o.parents[i];
      check(
        Number.isInteger(p) && p >= -1 && p < i,
        `parents[${i}] = ${p} is invalid: use −1 for a root or the index of an earlier query`,
      );
    }
  }
  if (o.seqIds) {
    check(
      o.seqIds.length === Skv,
      `seqIds must have one entry per key position (${Skv}), got ${o.seqIds.length}`,
    );
  }
  return { Sq, Skv, Hq, Hkv, D };
}

/**
 * Ancestor-or-self bitmask of a token tree: row i has bit j set when j is i or an ancestor of i.
 * Rows are `ceil(n / 32)` u32 words.
 *
 * @example
 * ```ts
 * import { treeAncestorMask } from "@tokenlab/tokenlab/kernels";
 * // chain 0 <- 1 and a sibling 2 of 1
 * console.log(treeAncestorMask([-1, 0, 0])); // Uint32Array [1, 3, 5]
 * ```
 */
export function treeAncestorMask(parents: ArrayLike<number>): Uint32Array {
  const n = parents.length, words = Math.max(1, ceilDiv(n, 32));
  const mask = new Uint32Array(n * words);
  for (let i = 0; i < n; i++) {
    const p = parents[i];
    check(p >= -1 && p < i, `parents[${i}] = ${p} must be −1 or an earlier index`);
    if (p >= 0) mask.copyWithin(i * words, p * words, (p + 1) * words);
    mask[i * words + (i >>> 5)] |= 1 << (i & 31);
  }
  return mask;
}

/**
 * Attention prefill on the GPU. Head dims up to 256 (registers hold a q row and accumulator
 * per thread); GQA when kv heads divide query heads.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { flashAttention } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const x = Tensor.fromArray([1, 0, 0, 1], { shape: [2, 1, 2], gpu });
 *   const { out } = await flashAttention({ q: x, k: x, v: x }, { causal: true });
 *   console.log(await out.toArray());
 * }
 * ```
 */
export async function flashAttention(
  inputs: AttentionInputs<Tensor>,
  options: FlashAttentionOptions = {},
): Promise<FlashAttentionResult<Tensor>> {
  const { q, k, v } = inputs;
  const dtype = floatType(q.dtype, "attention q");
  check(k.dtype === dtype && v.dtype === dtype, `attention k and v must be ${dtype} like q`);
  sameDevice(q, k, "attention q and k");
  sameDevice(q, v, "attention q and v");
  const d = attnDims(
    dims(q, "attention q", [3]),
    dims(k, "attention k", [3]),
    dims(v, "attention v", [3]),
    options,
  );
  check(d.D >= 1 && d.D <= 256, `attention head dim must be in 1..256, got ${d.D}`);
  if (q.isCpu) {
    const r = flashAttentionReference({ q: hostOf(q), k: hostOf(k), v: hostOf(v) }, options);
    return {
      out: cpuTensor(r.out, dtype),
      lse: cpuTensor(r.lse, "f32"),
      keyMass: r.keyMass && cpuTensor(r.keyMass, "f32"),
    };
  }
  const gpu = q.gpu;
  const config: FlashAttentionShaderConfig = {
    headDim: d.D,
    dtype,
    causal: options.causal,
    tree: !!options.parents,
    seqIds: !!options.seqIds,
  };
  const words = Math.max(1, ceilDiv(d.Sq, 32));
  // first position of each position's sequence id (the forward pass starts its key loop there)
  let segStart: Uint32Array | undefined;
  if (options.seqIds) {
    const first = new Map<number, number>();
    segStart = new Uint32Array(d.Skv);
    for (let j = 0; j < d.Skv; j++) {
      const id = options.seqIds[j];
      if (!first.has(id)) first.set(id, j);
      segStart[j] = first.get(id)!;
    }
  }
  const kernel = {
    label: "flash_attention",
    uniforms: {
      Sq: d.Sq,
      Skv: d.Skv,
      Hq: d.Hq,
      Hkv: d.Hkv,
      group: d.Hq / d.Hkv,
      offset: d.Skv - d.Sq,
      scale2: (options.scale ?? 1 / Math.sqrt(d.D)) * Math.LOG2E,
      words,
    },
    bindings: {
      q,
      k,
      v,
      seq: options.seqIds && Int32Array.from(options.seqIds),
      tree: options.parents && treeAncestorMask(options.parents),
      segStart,
    },
    profiler: options.profiler,
  };
  const forward = {
    label: "flash_attention",
    source: flashAttentionWgsl(config),
    workgroups: [ceilDiv(d.Sq * (d.Hq / d.Hkv), forwardTiles(d.D)[0]), d.Hkv] as [number, number],
  };
  const outputs = { out: { shape: [d.Sq, d.Hq, d.D], dtype }, lse: { shape: [d.Hq, d.Sq] } };
  if (!options.keyMass) return await dispatch(gpu, { ...kernel, outputs, passes: [forward] });
  const r = await dispatch(gpu, {
    ...kernel,
    outputs: { ...outputs, mass: { shape: [d.Hq, d.Skv] } },
    passes: [forward, {
      label: "flash_key_mass",
      source: flashKeyMassWgsl(config),
      workgroups: [ceilDiv(d.Skv, 64), d.Hq],
    }],
  });
  return { out: r.out, lse: r.lse, keyMass: r.mass };
}

/**
 * Options of {@linkcode flashAttentionReference}: those of {@linkcode flashAttention} and the
 * masks only the CPU reference applies (the model runtime's CPU backend uses them).
 */
export interface AttentionReferenceOptions extends FlashAttentionOptions {
  /**
   * Sliding window: query at position p sees only keys at positions q with p − q < window
   * (Mistral's `sliding_window`). Positions are `keyPositions`; a query's position is that of
   * its own key slot, Skv − Sq + i.
   */
  window?: number | null;
  /** Position of each of the Skv keys, for `window` (default: the index). */
  keyPositions?: ArrayLike<number>;
  /** Also return the attention probabilities, [Hq, Sq, Skv] (0 where masked). */
  probs?: boolean;
}

/** Outputs of {@linkcode flashAttentionReference}. */
export interface AttentionReferenceResult<T> extends FlashAttentionResult<T> {
  /** Attention probabilities [Hq, Sq, Skv] (with `probs`). */
  probs?: T;
}

/**
 * Whether query i may attend key j under `options` (the CPU statement of the masks).
 *
 * @example
 * ```ts
 * import { attentionAllowed } from "@tokenlab/tokenlab/kernels";
 * console.log(attentionAllowed({ i: 0, j: 1, sq: 2, skv: 2 }, { causal: true })); // false
 * ```
 */
export function attentionAllowed(
  at: { i: number; j: number; sq: number; skv: number },
  options: AttentionReferenceOptions,
): boolean {
  const offset = at.skv - at.sq, qp = offset + at.i;
  if ((options.causal || options.parents) && at.j > qp) return false;
  if (options.seqIds && options.seqIds[at.j] !== options.seqIds[qp]) return false;
  if (options.window != null) {
    const pos = options.keyPositions;
    const dist = pos ? pos[qp] - pos[at.j] : qp - at.j;
    if (dist >= options.window) return false;
  }
  if (options.parents && at.j >= offset) {
    // walk up from the query to see whether key j's tree slot is on its ancestor path
    let n = at.i;
    while (n >= 0 && n !== at.j - offset) n = options.parents[n];
    if (n < 0) return false;
  }
  return true;
}

/**
 * CPU reference of {@linkcode flashAttention} (f64 sums, plain softmax per row) — the one CPU
 * attention of tokenlab: decode attention's and the training attention's references call it,
 * and so does the model runtime's CPU backend (KV-cache prefix, token trees, packed sequences,
 * sliding windows, captured probabilities). Outputs have the float type of q.
 *
 * @example
 * ```ts
 * import { flashAttentionReference } from "@tokenlab/tokenlab/kernels";
 * const t = (a: number[]) => ({ data: new Float32Array(a), shape: [2, 1, 1] });
 * // equal scores: the second query averages both values
 * const r = flashAttentionReference({ q: t([0, 0]), k: t([1, 1]), v: t([2, 4]) }, { causal: true });
 * console.log(r.out.data); // [2, 3]
 * ```
 */
export function flashAttentionReference<A extends FloatArray = Float32Array>(
  inputs: AttentionInputs<HostTensor<A>>,
  options: AttentionReferenceOptions = {},
): AttentionReferenceResult<HostTensor<A>> {
  const { q, k, v } = inputs;
  const { Sq, Skv, Hq, Hkv, D } = attnDims(q.shape, k.shape, v.shape, options);
  if (options.keyPositions) {
    check(
      options.keyPositions.length === Skv,
      `keyPositions must have one entry per key (${Skv}), got ${options.keyPositions.length}`,
    );
  }
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const out = zerosLike(q.data, Sq * Hq * D), lse = zerosLike(q.data, Hq * Sq);
  const mass = options.keyMass ? zerosLike(q.data, Hq * Skv) : null;
  const probs = options.probs ? zerosLike(q.data, Hq * Sq * Skv) : null;
  const s = new Float64Array(Skv), allowed = new Uint8Array(Skv), acc = new Float64Array(D);
  const group = Hq / Hkv;
  for (let i = 0; i < Sq; i++) {
    // the mask row of query i, shared by every head
    for (let j = 0; j < Skv; j++) {
      allowed[j] = attentionAllowed({ i, j, sq: Sq, skv: Skv }, options) ? 1 : 0;
    }
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / group), qo = (i * Hq + h) * D;
      let m = -Infinity;
      for (let j = 0; j < Skv; j++) {
        if (!allowed[j]) continue;
        const ko = (j * Hkv + kh) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q.data[qo + d] * k.data[ko + d];
        s[j] = dot * scale;
        if (s[j] > m) m = s[j];
      }
      if (m === -Infinity) {
        lse[h * Sq + i] = -1e30;
        continue;
      }
      let l = 0;
      for (let j = 0; j < Skv; j++) if (allowed[j]) l += s[j] = Math.exp(s[j] - m);
      lse[h * Sq + i] = m + Math.log(l);
      acc.fill(0);
      for (let j = 0; j < Skv; j++) {
        if (!allowed[j]) continue;
        const p = s[j] / l, vo = (j * Hkv + kh) * D;
        if (mass) mass[h * Skv + j] += p;
        if (probs) probs[(h * Sq + i) * Skv + j] = p;
        for (let d = 0; d < D; d++) acc[d] += p * v.data[vo + d];
      }
      for (let d = 0; d < D; d++) out[qo + d] = acc[d];
    }
  }
  const result: AttentionReferenceResult<HostTensor<A>> = {
    out: { data: out, shape: [Sq, Hq, D] },
    lse: { data: lse, shape: [Hq, Sq] },
  };
  if (mass) result.keyMass = { data: mass, shape: [Hq, Skv] };
  if (probs) result.probs = { data: probs, shape: [Hq, Sq, Skv] };
  return result;
}
