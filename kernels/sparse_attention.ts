/**
 * Sparse attention: a few queries attend only to a selected list of KV-cache positions per
 * head (what KV-cache selection policies such as top-k key selection or heavy-hitter caches
 * produce). Lists are given per kv head (shared by its grouped query heads) or per query head.
 * Each list is split into chunks processed by separate workgroups whose partial softmax states
 * are merged by a reduction pass, as in decode attention.
 *
 * An empty list (or one whose positions are all masked by `causal`) gives an output of zeros
 * for the rows that use it: there is nothing to average.
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
import { splitMergeWgsl } from "./_split_merge.ts";
import { type AttentionInputs, flashAttentionReference } from "./flash_attention.ts";

const PARAMS_WGSL = `struct Params {
  nq: u32, Hq: u32, Hkv: u32, group: u32, perList: u32, lists: u32, chunk: u32, splits: u32,
  kvLen: u32, causal: u32, scale2: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
`;

const THREADS = 64;
const TILE = 16;

/** Compile-time configuration of the sparse-attention shaders. */
export interface SparseAttentionShaderConfig {
  /** Head dimension. */
  headDim: number;
  /** Rows (query × head sharing one list) per workgroup. */
  rows: number;
  /** Storage type of q, k, v and the output (default f32). */
  dtype?: "f32" | "f16";
}

/**
 * WGSL source of the split pass: a 64-thread workgroup takes one chunk of one list for up to
 * `rows` rows. Per tile of 16 selected positions it gathers the positions into workgroup memory,
 * scores them, updates each row's running max and sum, and accumulates the gathered values.
 * Writes unnormalised partial outputs and (max, sum) per row and chunk.
 */
export function sparseAttentionSplitWgsl(config: SparseAttentionShaderConfig): string {
  const T = config.dtype ?? "f32", D = config.headDim, R = config.rows;
  const ACC = ceilDiv(R * D, THREADS);
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> q: array<${T}>;
@group(0) @binding(2) var<storage, read> k: array<${T}>;
@group(0) @binding(3) var<storage, read> v: array<${T}>;
@group(0) @binding(4) var<storage, read> offsets: array<u32>;
@group(0) @binding(5) var<storage, read> sel: array<u32>;
@group(0) @binding(6) var<storage, read_write> po: array<f32>;
@group(0) @binding(7) var<storage, read_write> pml: array<f32>;
const D = ${D}u;
const R = ${R}u;
const TILE = ${TILE}u;
const NT = ${THREADS}u;
const NEG = -1.0e30;
var<workgroup> qs: array<f32, ${R * D}>;
var<workgroup> sc: array<f32, ${R * TILE}>;
var<workgroup> pos: array<u32, ${TILE}>;
${onlineSoftmaxStateWgsl(R)}

// (query, query head) of local row r of list l
fn rowQuery(z: u32, r: u32) -> u32 { return (z * R + r) / params.perList; }
fn rowHead(l: u32, z: u32, r: u32) -> u32 {
  return l * params.perList + (z * R + r) % params.perList;
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let split = wg.x;
  let l = wg.y;
  let z = wg.z;
  let rowsInList = params.nq * params.perList;
  let kvh = l * params.perList / params.group;
  for (var e = tid; e < R * D; e += NT) {
    let r = e / D;
    var x = 0.0;
    if (z * R + r < rowsInList) {
      x = f32(q[(rowQuery(z, r) * params.Hq + rowHead(l, z, r)) * D + e % D]) * params.scale2;
    }
    qs[e] = x;
  }
  for (var r = tid; r < R; r += NT) { ms[r] = NEG; ls[r] = 0.0; }
  var acc: array<f32, ${ACC}>;
  let listEnd = offsets[l + 1u];
  let begin = min(offsets[l] + split * params.chunk, listEnd);
  let end = min(listEnd, begin + params.chunk);
  workgroupBarrier();
  for (var t0 = begin; t0 < end; t0 += TILE) {
    let nt = min(TILE, end - t0);
    for (var t = tid; t < TILE; t += NT) { pos[t] = select(0u, sel[t0 + t], t < nt); }
    workgroupBarrier();
    for (var e = tid; e < R * TILE; e += NT) {
      let r = e / TILE;
      let t = e % TILE;
      let j = pos[t];
      var x = NEG;
      let visible = params.causal == 0u || j + params.nq <= params.kvLen + rowQuery(z, r);
      if (t < nt && z * R + r < rowsInList && visible) {
        let kb = (j * params.Hkv + kvh) * D;
        var dot = 0.0;
        for (var d = 0u; d < D; d++) { dot = fma(qs[r * D + d], f32(k[kb + d]), dot); }
        x = dot;
      }
      sc[e] = x;
    }
    workgroupBarrier();
${onlineSoftmaxTileWgsl({ scores: "sc", rows: "R", tile: "TILE" })}
    workgroupBarrier();
    for (var n = 0u; n < ${ACC}u; n++) {
      let e = tid + n * NT;
      if (e < R * D) {
        let r = e / D;
        let d = e % D;
        var a = acc[n] * alpha[r];
        for (var t = 0u; t < nt; t++) {
          a = fma(sc[r * TILE + t], f32(v[(pos[t] * params.Hkv + kvh) * D + d]), a);
        }
        acc[n] = a;
      }
    }
    workgroupBarrier();
  }
  let rows = params.nq * params.Hq;
  for (var n = 0u; n < ${ACC}u; n++) {
    let e = tid + n * NT;
    let r = e / D;
    if (e < R * D && z * R + r < rowsInList) {
      let row = rowQuery(z, r) * params.Hq + rowHead(l, z, r);
      po[(split * rows + row) * D + e % D] = acc[n];
    }
  }
  for (var r = tid; r < R; r += NT) {
    if (z * R + r < rowsInList) {
      let row = rowQuery(z, r) * params.Hq + rowHead(l, z, r);
      pml[(split * rows + row) * 2u] = ms[r];
      pml[(split * rows + row) * 2u + 1u] = ls[r];
    }
  }
}
`;
}

/**
 * WGSL source of the merge pass: one 64-thread workgroup per (query, head) combines the chunks'
 * partial states; a row with no visible position (sum 0) is written as zeros.
 */
export function sparseAttentionMergeWgsl(config: SparseAttentionShaderConfig): string {
  return splitMergeWgsl(PARAMS_WGSL, config);
}

/** Inputs of {@linkcode sparseAttention}: q [nq, Hq, D], k and v [L, Hkv, D], and the lists. */
export interface SparseAttentionInputs<T> extends AttentionInputs<T> {
  /**
   * Selected cache positions, one list per kv head (shared by its query heads) or one per
   * query head; each position in 0..kvLength−1. Order does not matter; a repeated position
   * counts twice. Lists may be empty (those rows get zeros).
   */
  positions: readonly ArrayLike<number>[];
}

/** Options of {@linkcode sparseAttention} and {@linkcode sparseAttentionReference}. */
export interface SparseAttentionOptions extends KernelOptions {
  /** Valid entries at the start of the cache (default: all of it). */
  kvLength?: number;
  /** The nq queries sit at the last nq of the kvLength positions and see no later position. */
  causal?: boolean;
  /** Score scale (default 1/√D). */
  scale?: number;
  /** List entries per workgroup (default: chosen from the longest list). */
  splitSize?: number;
}

function sparseDims(
  shapes: { q: readonly number[]; k: readonly number[]; v: readonly number[] },
  positions: readonly ArrayLike<number>[],
  o: SparseAttentionOptions,
) {
  sameShape(shapes.k, shapes.v, "sparse attention k and v");
  const [nq, Hq, D] = shapes.q, [L, Hkv, Dk] = shapes.k;
  check(D === Dk, `sparse attention head dims differ: q ${D}, k ${Dk}`);
  check(Hkv > 0 && Hq % Hkv === 0, `query heads (${Hq}) must be a multiple of kv heads (${Hkv})`);
  const kvLength = o.kvLength ?? L;
  check(
    Number.isInteger(kvLength) && kvLength >= 0 && kvLength <= L,
    `kvLength must be an integer in 0..${L} (the cache length), got ${kvLength}`,
  );
  check(nq <= kvLength || !o.causal, `causal sparse attention needs nq (${nq}) ≤ kvLength`);
  const lists = positions.length;
  check(
    lists === Hkv || lists === Hq,
    `sparse attention needs one position list per kv head (${Hkv}) or per query head (${Hq}), ` +
      `got ${lists}`,
  );
  positions.forEach((list, h) => {
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      check(
        Number.isInteger(p) && p >= 0 && p < kvLength,
        `positions[${h}][${i}] = ${p} is not a cache position in 0..${kvLength - 1}`,
      );
    }
  });
  return { nq, Hq, D, Hkv, kvLength, lists, perList: Hq / lists, group: Hq / Hkv };
}

/**
 * Sparse attention on the GPU: each (query, head) attends to its list's positions only.
 * Output [nq, Hq, D]; zeros for rows whose list is empty or fully masked.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { sparseAttention } from "@tokenlab/tokenlab/kernels";
 * if (await getDevice()) {
 *   const q = Tensor.fromArray([0, 0], { shape: [1, 1, 2] });
 *   const kv = Tensor.fromArray([1, 2, 3, 4, 5, 6], { shape: [3, 1, 2] });
 *   const out = await sparseAttention({ q, k: kv, v: kv, positions: [[0, 2]] });
 *   console.log(await out.toArray()); // equal scores over positions 0 and 2: [3, 4]
 * }
 * ```
 */
export async function sparseAttention(
  inputs: SparseAttentionInputs<Tensor>,
  options: SparseAttentionOptions = {},
): Promise<Tensor> {
  const { q, k, v, positions } = inputs;
  const dtype = floatType(q.dtype, "sparse attention q");
  check(k.dtype === dtype && v.dtype === dtype, `sparse attention k and v must be ${dtype}`);
  sameDevice(q, k, "sparse attention q and k");
  sameDevice(q, v, "sparse attention q and v");
  const d = sparseDims(
    {
      q: dims(q, "sparse attention q", [3]),
      k: dims(k, "sparse attention k", [3]),
      v: dims(v, "sparse attention v", [3]),
    },
    positions,
    options,
  );
  check(d.D >= 1 && d.D <= 256, `sparse attention head dim must be in 1..256, got ${d.D}`);
  if (q.isCpu) {
    const host = { q: hostOf(q), k: hostOf(k), v: hostOf(v), positions };
    return cpuTensor(sparseAttentionReference(host, options), dtype);
  }
  const gpu = q.gpu;
  const offsets = new Uint32Array(d.lists + 1);
  positions.forEach((list, h) => offsets[h + 1] = offsets[h] + list.length);
  const sel = new Uint32Array(Math.max(1, offsets[d.lists]));
  positions.forEach((list, h) => sel.set(Array.from(list), offsets[h]));
  const longest = Math.max(0, ...positions.map((p) => p.length));
  const rowsInList = d.nq * d.perList;
  const R = Math.max(1, Math.min(rowsInList, Math.floor(1024 / d.D), 16));
  const chunk = options.splitSize
    ? ceilDiv(options.splitSize, TILE) * TILE
    : Math.max(TILE, ceilDiv(ceilDiv(longest, 64), TILE) * TILE);
  const splits = Math.max(1, ceilDiv(longest, chunk));
  const config = { headDim: d.D, rows: R, dtype };
  const rows = d.nq * d.Hq;
  const { out } = await dispatch(gpu, {
    label: "sparse_attention",
    uniforms: {
      nq: d.nq,
      Hq: d.Hq,
      Hkv: d.Hkv,
      group: d.group,
      perList: d.perList,
      lists: d.lists,
      chunk,
      splits,
      kvLen: d.kvLength,
      causal: options.causal ? 1 : 0,
      scale2: (options.scale ?? 1 / Math.sqrt(d.D)) * Math.LOG2E,
    },
    bindings: { q, k, v, offsets, sel },
    outputs: { out: { shape: [d.nq, d.Hq, d.D], dtype } },
    scratch: { po: splits * rows * d.D * 4, pml: splits * rows * 8 },
    profiler: options.profiler,
    passes: [
      {
        label: "sparse_attention_split",
        source: sparseAttentionSplitWgsl(config),
        workgroups: [splits, d.lists, ceilDiv(rowsInList, R)],
      },
      {
        label: "sparse_attention_merge",
        source: sparseAttentionMergeWgsl(config),
        workgroups: [Math.min(rows, 65535), ceilDiv(rows, 65535)],
      },
    ],
  });
  return out;
}

/**
 * CPU reference of {@linkcode sparseAttention}: {@linkcode flashAttentionReference} (the one CPU
 * attention) of each query over the keys its list gathers (with `causal`, those at or before
 * its position); output in the float type of q.
 *
 * @example
 * ```ts
 * import { sparseAttentionReference } from "@tokenlab/tokenlab/kernels";
 * const q = { data: new Float32Array([0]), shape: [1, 1, 1] };
 * const kv = { data: new Float32Array([2, 4, 9]), shape: [3, 1, 1] };
 * console.log(sparseAttentionReference({ q, k: kv, v: kv, positions: [[0, 2]] }).data); // [5.5]
 * console.log(sparseAttentionReference({ q, k: kv, v: kv, positions: [[]] }).data); // [0]
 * ```
 */
export function sparseAttentionReference<A extends FloatArray = Float32Array>(
  inputs: SparseAttentionInputs<HostTensor<A>>,
  options: SparseAttentionOptions = {},
): HostTensor<A> {
  const { q, k, v, positions } = inputs;
  const d = sparseDims({ q: q.shape, k: k.shape, v: v.shape }, positions, options);
  const scale = options.scale ?? 1 / Math.sqrt(d.D);
  const out = zerosLike(q.data, d.nq * d.Hq * d.D);
  const n = d.perList * d.D; // the query heads of one list are adjacent in a query row
  for (let g = 0; g < d.lists; g++) {
    const h0 = g * d.perList, kvh = Math.floor(h0 / d.group);
    const list = Array.from(positions[g]);
    for (let i = 0; i < d.nq; i++) {
      const qpos = d.kvLength - d.nq + i;
      const visible = options.causal ? list.filter((j) => j <= qpos) : list;
      if (visible.length === 0) continue;
      const gather = (t: HostTensor<A>) => {
        const rows = zerosLike(t.data, visible.length * d.D);
        visible.forEach((j, r) => {
          const o = (j * d.Hkv + kvh) * d.D;
          rows.set(t.data.subarray(o, o + d.D), r * d.D);
        });
        return { data: rows, shape: [visible.length, 1, d.D] };
      };
      const qo = (i * d.Hq + h0) * d.D;
      const r = flashAttentionReference({
        q: { data: q.data.subarray(qo, qo + n) as A, shape: [1, d.perList, d.D] },
        k: gather(k),
        v: gather(v),
      }, { scale });
      out.set(r.out.data, qo);
    }
  }
  return { data: out, shape: [d.nq, d.Hq, d.D] };
}
