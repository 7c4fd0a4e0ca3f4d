/**
 * Embedding lookup (row `ids[n]` of a [vocab, D] table per token) and its gradient with respect
 * to the table, a scatter-add done without float atomics: one thread per (distinct token,
 * column) sums, in order, the output-gradient rows of the positions that used the token, so
 * the result is deterministic.
 *
 * @example
 * ```ts
 * import { embeddingBackwardReference, embeddingReference } from "@tokenlab/tokenlab/kernels";
 * const table = { data: new Float32Array([0, 1, 10, 11]), shape: [2, 2] };
 * const rows = embeddingReference({ table, ids: [1, 1] }); // [10, 11, 10, 11]
 * console.log(embeddingBackwardReference({ dy: rows, ids: [1, 1] }, { vocab: 2 }).data);
 * // [0, 0, 20, 22]
 * ```
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  castLike,
  ceilDiv,
  cpuTensor,
  dims,
  f32Only,
  type FloatArray,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
  sameShape,
  zerosLike,
} from "./_common.ts";

const PARAMS_WGSL = `struct Params { n: u32, D: u32, gridX: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of the embedding lookup: one thread per output element, `out[n, d] =
 * table[ids[n], d]`.
 */
export const EMBEDDING_WGSL: string = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.n * params.D) { return; }
  let row = i / params.D;
  out[i] = table[u32(ids[row]) * params.D + i % params.D];
}
`;

/**
 * WGSL source of the embedding gradient without float atomics: the host groups positions by
 * token (`rows[u]` is the u-th distinct token, its positions are `pos[start[u]..start[u+1]]`);
 * one thread per (distinct token, column) sums `dy` over those positions in order and writes
 * (or adds) the table row's gradient, so the result is deterministic.
 */
export const EMBEDDING_BACKWARD_WGSL: string = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read> start: array<u32>;
@group(0) @binding(4) var<storage, read> pos: array<u32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.n * params.D) { return; }
  let u = i / params.D;
  let d = i % params.D;
  var acc = 0.0;
  for (var j = start[u]; j < start[u + 1u]; j++) {
    acc += dy[pos[j] * params.D + d];
  }
  let o = rows[u] * params.D + d;
  if (params.accumulate == 1u) { acc += grad[o]; }
  grad[o] = acc;
}
`;

/** Inputs of {@linkcode embedding}: a table [vocab, D] and token ids. */
export interface EmbeddingInputs<T> {
  /** Embedding table, [vocab, D]. */
  table: T;
  /** Token ids, each in 0..vocab-1. */
  ids: ArrayLike<number>;
}

function checkIds(ids: ArrayLike<number>, vocab: number, what: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocab)) {
      check(false, `${what}: id ${i} is ${id}, outside the vocabulary 0..${vocab - 1}`, {
        hint: "encode with the model's tokenizer",
      });
    }
  }
}

/**
 * Embedding lookup on the GPU (f32): row `ids[n]` of `table` for each id, [ids.length, D].
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { embedding } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const table = Tensor.fromArray([0, 1, 10, 11, 20, 21], { shape: [3, 2], gpu });
 *   console.log(await (await embedding({ table, ids: [2, 0] })).toArray()); // 20 21 0 1
 * }
 * ```
 */
export async function embedding(
  inputs: EmbeddingInputs<Tensor>,
  options: KernelOptions = {},
): Promise<Tensor> {
  const { table, ids } = inputs;
  const [V, D] = dims(table, "embedding table", [2]);
  f32Only([table], "embedding");
  checkIds(ids, V, "embedding");
  if (table.isCpu) return cpuTensor(embeddingReference({ table: hostOf(table), ids }), "f32");
  const n = ids.length;
  const [gx, gy] = grid(ceilDiv(n * D, 256));
  const { out } = await dispatch(table.gpu, {
    label: "embedding",
    source: EMBEDDING_WGSL,
    uniforms: { n, D, gridX: gx, accumulate: 0 },
    bindings: { table, ids: Int32Array.from(ids) },
    outputs: { out: { shape: [n, D] } },
    workgroups: [n * D ? gx : 0, gy],
    profiler: options.profiler,
  });
  return out;
}

/**
 * CPU reference of {@linkcode embedding} (the model runtime's and the trainer's lookup; output
 * in the float type of the table).
 *
 * @example
 * ```ts
 * import { embeddingReference } from "@tokenlab/tokenlab/kernels";
 * const table = { data: new Float32Array([0, 1, 10, 11]), shape: [2, 2] };
 * console.log(embeddingReference({ table, ids: [1] }).data); // [10, 11]
 * ```
 */
export function embeddingReference<A extends FloatArray = Float32Array>(
  inputs: EmbeddingInputs<HostTensor<A>>,
): HostTensor<A> {
  const { table, ids } = inputs;
  const [V, D] = table.shape;
  checkIds(ids, V, "embeddingReference");
  const out = zerosLike(table.data, ids.length * D);
  for (let n = 0; n < ids.length; n++) {
    out.set(table.data.subarray(ids[n] * D, (ids[n] + 1) * D), n * D);
  }
  return { data: out, shape: [ids.length, D] };
}

/** Inputs of {@linkcode embeddingBackward}: the output gradient and the ids of the lookup. */
export interface EmbeddingBackwardInputs<T> {
  /** Gradient with respect to the looked-up rows, [ids.length, D]. */
  dy: T;
  /** The token ids of the forward. */
  ids: ArrayLike<number>;
}

/** Options of {@linkcode embeddingBackward}. */
export interface EmbeddingBackwardOptions<T> extends KernelOptions {
  /** Rows of the table. */
  vocab: number;
  /**
   * Add into this gradient [vocab, D] (e.g. a tied LM head's) and return it, instead of a new
   * zeroed one.
   */
  accumulate?: T;
}

/** Groups positions by token: distinct tokens, CSR starts, positions. */
function groupIds(
  ids: ArrayLike<number>,
): { rows: Uint32Array; start: Uint32Array; pos: Uint32Array } {
  const order = Array.from({ length: ids.length }, (_, i) => i);
  order.sort((a, b) => ids[a] - ids[b] || a - b);
  const rows: number[] = [], start: number[] = [];
  order.forEach((p, j) => {
    if (j === 0 || ids[p] !== ids[order[j - 1]]) {
      rows.push(ids[p]);
      start.push(j);
    }
  });
  start.push(order.length);
  return {
    rows: Uint32Array.from(rows),
    start: Uint32Array.from(start),
    pos: Uint32Array.from(order),
  };
}

/**
 * Gradient of {@linkcode embedding} with respect to the table on the GPU (f32): row `v` gets the
 * sum of `dy` over the positions whose id is `v` (a scatter-add done without float atomics,
 * deterministic). Rows no id used are zero, or keep their value with `accumulate`.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { embeddingBackward } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const dy = Tensor.fromArray([1, 2, 3, 4, 5, 6], { shape: [3, 2], gpu });
 *   const g = await embeddingBackward({ dy, ids: [1, 0, 1] }, { vocab: 3 });
 *   console.log(await g.toArray()); // 3 4  6 8  0 0
 * }
 * ```
 */
export async function embeddingBackward(
  inputs: EmbeddingBackwardInputs<Tensor>,
  options: EmbeddingBackwardOptions<Tensor>,
): Promise<Tensor> {
  const { dy, ids } = inputs;
  const [N, D] = dims(dy, "embeddingBackward dy", [2]);
  const V = options.vocab;
  check(
    Number.isInteger(V) && V > 0,
    `embeddingBackward vocab must be a positive integer, got ${V}`,
  );
  check(N === ids.length, `embeddingBackward dy has ${N} rows but there are ${ids.length} ids`);
  checkIds(ids, V, "embeddingBackward");
  const into = options.accumulate;
  f32Only([dy, into], "embeddingBackward");
  if (into) {
    sameShape(into.shape, [V, D], "embeddingBackward accumulate and [vocab, D]");
    sameDevice(dy, into, "embeddingBackward dy and accumulate");
  }
  if (dy.isCpu) {
    const r = embeddingBackwardReference({ dy: hostOf(dy), ids }, {
      vocab: V,
      accumulate: into && hostOf(into),
    });
    if (!into) return cpuTensor(r, "f32");
    (into.host as Float32Array).set(r.data);
    return into;
  }
  const g = groupIds(ids);
  const U = g.rows.length;
  const [gx, gy] = grid(ceilDiv(U * D, 256));
  const { grad } = await dispatch(dy.gpu, {
    label: "embedding_backward",
    source: EMBEDDING_BACKWARD_WGSL,
    uniforms: { n: U, D, gridX: gx, accumulate: into ? 1 : 0 },
    bindings: { dy, rows: g.rows, start: g.start, pos: g.pos },
    outputs: { grad: into ?? { shape: [V, D], zeroed: true } },
    workgroups: [U * D ? gx : 0, gy],
    profiler: options.profiler,
  });
  return grad;
}

/**
 * CPU reference of {@linkcode embeddingBackward} (f64 sums, output in the float type of `dy`;
 * the trainer's embedding gradient).
 *
 * @example
 * ```ts
 * import { embeddingBackwardReference } from "@tokenlab/tokenlab/kernels";
 * const dy = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
 * console.log(embeddingBackwardReference({ dy, ids: [1, 1] }, { vocab: 2 }).data); // 0 0 4 6
 * ```
 */
export function embeddingBackwardReference<A extends FloatArray = Float32Array>(
  inputs: EmbeddingBackwardInputs<HostTensor<A>>,
  options: EmbeddingBackwardOptions<HostTensor<A>>,
): HostTensor<A> {
  const { dy, ids } = inputs;
  const V = options.vocab, D = dy.shape[1];
  checkIds(ids, V, "embeddingBackwardReference");
  const acc = new Float64Array(V * D);
  if (options.accumulate) acc.set(options.accumulate.data);
  for (let n = 0; n < ids.length; n++) {
    for (let d = 0; d < D; d++) acc[ids[n] * D + d] += dy.data[n * D + d];
  }
  return { data: castLike(dy.data, acc), shape: [V, D] };
}
