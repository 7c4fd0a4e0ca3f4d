/**
 * Decode attention: a few queries against a long KV cache, split over the key length
 * ("split-K" / flash-decoding) so that many workgroups share the cache read, followed by a
 * reduction pass that merges the partial softmax states. Grouped-query heads are handled
 * together so each kv head's cache is read once per split.
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
} from "./_common.ts";
import { onlineSoftmaxStateWgsl, onlineSoftmaxTileWgsl } from "./_online_softmax.ts";
import { splitMergeWgsl } from "./_split_merge.ts";
import { type AttentionInputs, flashAttentionReference } from "./flash_attention.ts";

const PARAMS_WGSL = `struct Params {
  nq: u32, kvLen: u32, Hq: u32, Hkv: u32, group: u32, chunk: u32, splits: u32, scale2: f32,
  causal: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
`;

const THREADS = 128;
const TILE = 32;

/** Compile-time configuration of the decode-attention shaders. */
export interface DecodeAttentionShaderConfig {
  /** Head dimension. */
  headDim: number;
  /** Query rows (query × head of one kv group) per workgroup. */
  rows: number;
  /** Storage type of q, k, v and the output (default f32). */
  dtype?: "f32" | "f16";
  /** Keys per tile staged in workgroup memory (default 32; 16 suits head dim 128 in 16 KB). */
  tile?: number;
}

/** Workgroup memory of the split pass in bytes, for choosing `rows` and `tile` under a limit. */
function splitSharedBytes(c: { headDim: number; rows: number; tile: number }): number {
  return 4 * (c.rows * c.headDim + c.rows * c.tile + 3 * c.rows + c.tile * (c.headDim + 1));
}

/**
 * WGSL source of the split pass: a 128-thread workgroup takes one key chunk of one kv head for
 * up to `rows` (query, head) rows. Per tile of keys, the K tile is staged in workgroup memory
 * with consecutive threads reading consecutive elements (coalesced; rows padded by one float
 * so score reads do not fall on one bank), scores go to workgroup memory, each row's running
 * max and sum are updated once, then the V tile replaces K in the same buffer and every thread
 * accumulates its slice of the row × dim outputs. Each cache element crosses memory once per
 * workgroup. Writes the unnormalised partial output and (max, sum) per row.
 */
export function decodeAttentionSplitWgsl(config: DecodeAttentionShaderConfig): string {
  const T = config.dtype ?? "f32", D = config.headDim, R = config.rows;
  const TL = config.tile ?? TILE;
  const ACC = ceilDiv(R * D, THREADS);
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> q: array<${T}>;
@group(0) @binding(2) var<storage, read> k: array<${T}>;
@group(0) @binding(3) var<storage, read> v: array<${T}>;
@group(0) @binding(4) var<storage, read_write> po: array<f32>;
@group(0) @binding(5) var<storage, read_write> pml: array<f32>;
const D = ${D}u;
const DP = ${D + 1}u; // padded row stride of the staged tile
const R = ${R}u;
const TILE = ${TL}u;
const NT = ${THREADS}u;
const NEG = -1.0e30;
var<workgroup> qs: array<f32, ${R * D}>;
var<workgroup> kv: array<f32, ${TL * (D + 1)}>;
var<workgroup> sc: array<f32, ${R * TL}>;
${onlineSoftmaxStateWgsl(R)}

// global (query, head) of local row r, or none
fn rowQuery(z: u32, r: u32) -> u32 { return (z * R + r) / params.group; }
fn rowHead(g: u32, z: u32, r: u32) -> u32 { return g * params.group + (z * R + r) % params.group; }

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let split = wg.x;
  let g = wg.y;
  let z = wg.z;
  let rowsInGroup = params.nq * params.group;
  for (var e = tid; e < R * D; e += NT) {
    let r = e / D;
    var x = 0.0;
    if (z * R + r < rowsInGroup) {
      x = f32(q[(rowQuery(z, r) * params.Hq + rowHead(g, z, r)) * D + e % D]) * params.scale2;
    }
    qs[e] = x;
  }
  for (var r = tid; r < R; r += NT) { ms[r] = NEG; ls[r] = 0.0; }
  var acc: array<f32, ${ACC}>;
  let kBegin = split * params.chunk;
  let kEnd = min(params.kvLen, kBegin + params.chunk);
  for (var k0 = kBegin; k0 < kEnd; k0 += TILE) {
    let nt = min(TILE, kEnd - k0);
    // the tile's keys are contiguous rows of D in the cache: stage them with coalesced reads
    for (var e = tid; e < TILE * D; e += NT) {
      let t = e / D;
      var x = 0.0;
      if (t < nt) { x = f32(k[((k0 + t) * params.Hkv + g) * D + e % D]); }
      kv[t * DP + e % D] = x;
    }
    workgroupBarrier();
    for (var e = tid; e < R * TILE; e += NT) {
      let r = e / TILE;
      let t = e % TILE;
      var x = NEG;
      let qi = rowQuery(z, r);
      let j = k0 + t;
      let visible = params.causal == 0u || j + params.nq <= params.kvLen + qi;
      if (t < nt && z * R + r < rowsInGroup && visible) {
        var dot = 0.0;
        for (var d = 0u; d < D; d++) { dot = fma(qs[r * D + d], kv[t * DP + d], dot); }
        x = dot;
      }
      sc[e] = x;
    }
    workgroupBarrier();
${onlineSoftmaxTileWgsl({ scores: "sc", rows: "R", tile: "TILE" })}
    // V replaces K in the staging buffer (scores no longer read it)
    for (var e = tid; e < TILE * D; e += NT) {
      let t = e / D;
      var x = 0.0;
      if (t < nt) { x = f32(v[((k0 + t) * params.Hkv + g) * D + e % D]); }
      kv[t * DP + e % D] = x;
    }
    workgroupBarrier();
    for (var n = 0u; n < ${ACC}u; n++) {
      let e = tid + n * NT;
      if (e < R * D) {
        let r = e / D;
        let d = e % D;
        var a = acc[n] * alpha[r];
        for (var t = 0u; t < nt; t++) { a = fma(sc[r * TILE + t], kv[t * DP + d], a); }
        acc[n] = a;
      }
    }
    workgroupBarrier();
  }
  let rows = params.nq * params.Hq;
  for (var n = 0u; n < ${ACC}u; n++) {
    let e = tid + n * NT;
    let r = e / D;
    if (e < R * D && z * R + r < rowsInGroup) {
      let row = rowQuery(z, r) * params.Hq + rowHead(g, z, r);
      po[(split * rows + row) * D + e % D] = acc[n];
    }
  }
  for (var r = tid; r < R; r += NT) {
    if (z * R + r < rowsInGroup) {
      let row = rowQuery(z, r) * params.Hq + rowHead(g, z, r);
      pml[(split * rows + row) * 2u] = ms[r];
      pml[(split * rows + row) * 2u + 1u] = ls[r];
    }
  }
}
`;
}

/**
 * WGSL source of the reduction pass: one 64-thread workgroup per (query, head) merges the
 * splits' partial states `(m_s, l_s, o_s)` into `Σ 2^(m_s−M) o_s / Σ 2^(m_s−M) l_s`.
 */
export function decodeAttentionReduceWgsl(config: DecodeAttentionShaderConfig): string {
  return splitMergeWgsl(PARAMS_WGSL, config);
}

/** Options of {@linkcode decodeAttention} and {@linkcode decodeAttentionReference}. */
export interface DecodeAttentionOptions extends KernelOptions {
  /** Valid keys at the start of the cache (default: all of it). */
  kvLength?: number;
  /** The nq queries are the last nq positions: query i sees keys < kvLength − nq + i + 1. */
  causal?: boolean;
  /** Score scale (default 1/√D). */
  scale?: number;
  /** Keys per split (default: chosen from the length, a multiple of 32). */
  splitSize?: number;
}

function decodeDims(
  q: readonly number[],
  k: readonly number[],
  v: readonly number[],
  o: DecodeAttentionOptions,
) {
  sameShape(k, v, "decode attention k and v");
  const [nq, Hq, D] = q, [L, Hkv, Dk] = k;
  check(D === Dk, `decode attention head dims differ: q ${D}, k ${Dk}`);
  check(Hkv > 0 && Hq % Hkv === 0, `query heads (${Hq}) must be a multiple of kv heads (${Hkv})`);
  const kvLength = o.kvLength ?? L;
  check(
    Number.isInteger(kvLength) && kvLength >= 1 && kvLength <= L,
    `kvLength must be an integer in 1..${L} (the cache length), got ${kvLength}`,
  );
  check(nq <= kvLength || !o.causal, `causal decode needs nq (${nq}) ≤ kvLength (${kvLength})`);
  return { nq, Hq, D, L, Hkv, kvLength };
}

/**
 * Decode attention on the GPU: split pass plus reduction pass. Output [nq, Hq, D].
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { decodeAttention } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const q = Tensor.fromArray([0, 0], { shape: [1, 1, 2], gpu });
 *   const kv = Tensor.fromArray([1, 2, 3, 4], { shape: [2, 1, 2], gpu });
 *   const out = await decodeAttention({ q, k: kv, v: kv });
 *   console.log(await out.toArray()); // equal scores: [2, 3]
 * }
 * ```
 */
export async function decodeAttention(
  inputs: AttentionInputs<Tensor>,
  options: DecodeAttentionOptions = {},
): Promise<Tensor> {
  const { q, k, v } = inputs;
  const dtype = floatType(q.dtype, "decode attention q");
  check(k.dtype === dtype && v.dtype === dtype, `decode attention k and v must be ${dtype}`);
  sameDevice(q, k, "decode attention q and k");
  sameDevice(q, v, "decode attention q and v");
  const d = decodeDims(
    dims(q, "decode attention q", [3]),
    dims(k, "decode attention k", [3]),
    dims(v, "decode attention v", [3]),
    options,
  );
  check(d.D >= 1 && d.D <= 256, `decode attention head dim must be in 1..256, got ${d.D}`);
  if (q.isCpu) {
    const r = decodeAttentionReference({ q: hostOf(q), k: hostOf(k), v: hostOf(v) }, options);
    return cpuTensor(r, dtype);
  }
  const gpu = q.gpu;
  const group = d.Hq / d.Hkv;
  const rowsInGroup = d.nq * group;
  // rows and tile sized to the adapter's workgroup memory (16 KB is the WebGPU minimum)
  const limit = gpu.device.limits.maxComputeWorkgroupStorageSize;
  const tile = d.D <= 64 ? TILE : d.D <= 128 ? TILE / 2 : TILE / 4;
  let R = Math.max(1, Math.min(rowsInGroup, Math.floor(2048 / d.D), 32));
  while (R > 1 && splitSharedBytes({ headDim: d.D, rows: R, tile }) > limit) R--;
  check(
    splitSharedBytes({ headDim: d.D, rows: R, tile }) <= limit,
    `decode attention with head dim ${d.D} needs more workgroup memory than the adapter's ${limit} bytes`,
  );
  const chunk = options.splitSize
    ? ceilDiv(options.splitSize, TILE) * TILE
    : Math.max(TILE, ceilDiv(ceilDiv(d.kvLength, 256), TILE) * TILE);
  const splits = ceilDiv(d.kvLength, chunk);
  const config = { headDim: d.D, rows: R, dtype, tile };
  const rows = d.nq * d.Hq;
  const { out } = await dispatch(gpu, {
    label: "decode_attention",
    uniforms: {
      nq: d.nq,
      kvLen: d.kvLength,
      Hq: d.Hq,
      Hkv: d.Hkv,
      group,
      chunk,
      splits,
      scale2: (options.scale ?? 1 / Math.sqrt(d.D)) * Math.LOG2E,
      causal: options.causal ? 1 : 0,
    },
    bindings: { q, k, v },
    outputs: { out: { shape: [d.nq, d.Hq, d.D], dtype } },
    scratch: { po: splits * rows * d.D * 4, pml: splits * rows * 8 },
    profiler: options.profiler,
    passes: [
      {
        label: "decode_attention_split",
        source: decodeAttentionSplitWgsl(config),
        workgroups: [splits, d.Hkv, ceilDiv(rowsInGroup, R)],
      },
      {
        label: "decode_attention_reduce",
        source: decodeAttentionReduceWgsl(config),
        workgroups: [Math.min(rows, 65535), ceilDiv(rows, 65535)],
      },
    ],
  });
  return out;
}

/**
 * CPU reference of {@linkcode decodeAttention}: plain attention over the first `kvLength`
 * cache entries.
 *
 * @example
 * ```ts
 * import { decodeAttentionReference } from "@tokenlab/tokenlab/kernels";
 * const q = { data: new Float32Array([0]), shape: [1, 1, 1] };
 * const kv = { data: new Float32Array([2, 4, 100]), shape: [3, 1, 1] };
 * // only the first two entries are valid; equal scores average them
 * console.log(decodeAttentionReference({ q, k: kv, v: kv }, { kvLength: 2 }).data); // [3]
 * ```
 */
export function decodeAttentionReference<A extends FloatArray = Float32Array>(
  inputs: AttentionInputs<HostTensor<A>>,
  options: DecodeAttentionOptions = {},
): HostTensor<A> {
  const { q, k, v } = inputs;
  const d = decodeDims(q.shape, k.shape, v.shape, options);
  const n = d.kvLength * d.Hkv * d.D;
  const cut = (t: HostTensor<A>) => ({
    data: t.data.subarray(0, n) as A,
    shape: [d.kvLength, d.Hkv, d.D],
  });
  return flashAttentionReference({ q, k: cut(k), v: cut(v) }, {
    causal: options.causal,
    scale: options.scale,
  }).out;
}
