/**
 * Backward kernels of the element-wise and row-wise ops of a Llama-style decoder, for training
 * on the GPU: RMSNorm (dx and dweight), RoPE (the inverse rotation), SwiGLU, and the embedding
 * lookup with its scatter-add gradient (no float atomics: one thread per (row, column) sums the
 * positions that used the row). Matmul gradients use {@linkcode matmul} with transposes and
 * `accumulate`; attention's is in `causal_attention.ts`, cross-entropy's in `cross_entropy.ts`.
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { Tensor } from "../lib/gpu/mod.ts";
import {
  bind,
  ceilDiv,
  cpuTensor,
  dims,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
  sameShape,
} from "./_common.ts";
import { rope, type RopeOptions, ropeReference } from "./rope.ts";

// ---------------------------------------------------------------------------------------------
// RMSNorm backward

const RMS_PARAMS = `struct Params { rows: u32, D: u32, eps: f32, gridX: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL sources of the RMSNorm backward (f32): `dx` — one 256-thread workgroup per row computes
 * `r = 1/rms(x)` and `Σ dy·w·x`, writes (or adds) `dx = r·dy·w − r³/D·(Σ dy·w·x)·x` and keeps
 * `r` per row; `dweight` — one workgroup per feature sums `dy·x·r` over the rows.
 *
 * @example
 * ```ts
 * import { rmsnormBackwardWgsl } from "@tokenlab/tokenlab/kernels";
 * console.log(rmsnormBackwardWgsl().dweight.includes("rinv"));
 * ```
 */
export function rmsnormBackwardWgsl(): { dx: string; dweight: string } {
  const dx = `${RMS_PARAMS}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> rinv: array<f32>;
var<workgroup> pss: array<f32, 256>;
var<workgroup> pdot: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * params.gridX;
  if (row >= params.rows) { return; }
  let base = row * params.D;
  var ss = 0.0;
  var dot = 0.0;
  for (var i = tid; i < params.D; i += 256u) {
    let xv = x[base + i];
    ss += xv * xv;
    dot += dy[base + i] * w[i] * xv;
  }
  pss[tid] = ss;
  pdot[tid] = dot;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (tid < s) {
      pss[tid] += pss[tid + s];
      pdot[tid] += pdot[tid + s];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(pss[0] / f32(params.D) + params.eps);
  let k = inv * inv * inv * pdot[0] / f32(params.D);
  for (var i = tid; i < params.D; i += 256u) {
    var v = inv * dy[base + i] * w[i] - k * x[base + i];
    if (params.accumulate == 1u) { v += dx[base + i]; }
    dx[base + i] = v;
  }
  if (tid == 0u) { rinv[row] = inv; }
}
`;
  const dweight = `${RMS_PARAMS}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> rinv: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let col = wg.x + wg.y * params.gridX;
  if (col >= params.D) { return; }
  var acc = 0.0;
  for (var r = tid; r < params.rows; r += 256u) {
    let i = r * params.D + col;
    acc += dy[i] * x[i] * rinv[r];
  }
  part[tid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (tid < s) { part[tid] += part[tid + s]; }
    workgroupBarrier();
  }
  if (tid == 0u) { dw[col] = part[0]; }
}
`;
  return { dx, dweight };
}

/** Inputs of {@linkcode rmsnormBackward}: the forward's input and weight and the output gradient. */
export interface RmsnormBackwardInputs<T> {
  /** Gradient of the loss with respect to the norm's output, [..., D]. */
  dy: T;
  /** The forward's input (after any residual add), [..., D]. */
  x: T;
  /** The forward's per-feature scale, [D]. */
  weight: T;
  /** Add the input gradient into this tensor (shaped like x) instead of a new one. */
  dx?: T;
}

/** Options of {@linkcode rmsnormBackward} and {@linkcode rmsnormBackwardReference}. */
export interface RmsnormBackwardOptions extends KernelOptions {
  /** The forward's epsilon (default 1e-6, as {@linkcode rmsnorm}). */
  eps?: number;
}

/** Outputs of {@linkcode rmsnormBackward}. */
export interface RmsnormBackwardResult<T> {
  /** Gradient with respect to x (the `dx` input when given, now holding the sum). */
  dx: T;
  /** Gradient with respect to the weight, [D]. */
  dweight: T;
}

function rmsShapes(i: RmsnormBackwardInputs<{ shape: readonly number[] }>): [number, number] {
  sameShape(i.dy.shape, i.x.shape, "rmsnormBackward dy and x");
  const D = i.x.shape.at(-1) ?? 1;
  check(
    i.weight.shape.length === 1 && i.weight.shape[0] === D,
    `rmsnormBackward weight must have shape [${D}], got [${i.weight.shape.join(", ")}]`,
  );
  if (i.dx) sameShape(i.dx.shape, i.x.shape, "rmsnormBackward dx and x");
  const rows = i.x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return [rows, D];
}

function f32Only(ts: (Tensor | undefined)[], what: string): void {
  for (const t of ts) {
    if (t) {
      check(t.dtype === "f32", `${what} needs f32 tensors, got ${t.dtype}`, {
        hint: "training keeps weights, activations and gradients in f32",
      });
    }
  }
}

/**
 * Gradients of RMSNorm `y = x / rms(x) · w` on the GPU (f32): `dx` (optionally added into an
 * existing gradient, e.g. the residual stream's) and `dweight`.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { rmsnormBackward } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const x = Tensor.fromArray([3, 4], { shape: [1, 2], gpu });
 *   const weight = Tensor.fromArray([1, 1], { shape: [2], gpu });
 *   const dy = Tensor.fromArray([1, 0], { shape: [1, 2], gpu });
 *   const { dx, dweight } = await rmsnormBackward({ dy, x, weight }, { eps: 0 });
 *   console.log(await dx.toArray(), await dweight.toArray());
 * }
 * ```
 */
export async function rmsnormBackward(
  inputs: RmsnormBackwardInputs<Tensor>,
  options: RmsnormBackwardOptions = {},
): Promise<RmsnormBackwardResult<Tensor>> {
  const { dy, x, weight } = inputs;
  const [rows, D] = rmsShapes(inputs);
  f32Only([dy, x, weight, inputs.dx], "rmsnormBackward");
  sameDevice(dy, x, "rmsnormBackward dy and x");
  sameDevice(x, weight, "rmsnormBackward x and weight");
  if (x.isCpu) {
    const r = rmsnormBackwardReference({
      dy: hostOf(dy),
      x: hostOf(x),
      weight: hostOf(weight),
      dx: inputs.dx && hostOf(inputs.dx),
    }, options);
    const dw = cpuTensor(r.dweight, "f32");
    if (!inputs.dx) return { dx: cpuTensor(r.dx, "f32"), dweight: dw };
    (inputs.dx.host as Float32Array).set(r.dx.data);
    return { dx: inputs.dx, dweight: dw };
  }
  const gpu = x.gpu;
  const src = rmsnormBackwardWgsl();
  const [pdx, pdw] = await Promise.all([
    gpu.pipelines.get(src.dx, { label: "rmsnorm_backward_dx" }),
    gpu.pipelines.get(src.dweight, { label: "rmsnorm_backward_dw" }),
  ]);
  const dx = inputs.dx ?? Tensor.empty(x.shape, { gpu });
  const dweight = Tensor.empty([D], { gpu });
  const rinv = Tensor.empty([rows], { gpu });
  const [gx, gy] = grid(rows), [cx, cy] = grid(D);
  const eps = options.eps ?? 1e-6;
  const p1 = gpu.uniformBuffer(RMS_PARAMS, {
    rows,
    D,
    eps,
    gridX: gx,
    accumulate: inputs.dx ? 1 : 0,
  });
  const p2 = gpu.uniformBuffer(RMS_PARAMS, { rows, D, eps, gridX: cx, accumulate: 0 });
  gpu.run([
    {
      pipeline: pdx,
      label: "rmsnorm_backward_dx",
      bindings: [{ buffer: p1 }, bind(dy), bind(x), bind(weight), bind(dx), bind(rinv)],
      workgroups: [rows ? gx : 0, gy],
    },
    {
      pipeline: pdw,
      label: "rmsnorm_backward_dw",
      bindings: [{ buffer: p2 }, bind(dy), bind(x), bind(rinv), bind(dweight)],
      workgroups: [D ? cx : 0, cy],
    },
  ], { profiler: options.profiler, release: [p1, p2, rinv.buffer] });
  return { dx, dweight };
}

/**
 * CPU reference of {@linkcode rmsnormBackward} (f64 sums).
 *
 * @example
 * ```ts
 * import { rmsnormBackwardReference } from "@tokenlab/tokenlab/kernels";
 * const r = rmsnormBackwardReference({
 *   dy: { data: new Float32Array([1, 0]), shape: [1, 2] },
 *   x: { data: new Float32Array([3, 4]), shape: [1, 2] },
 *   weight: { data: new Float32Array([1, 1]), shape: [2] },
 * }, { eps: 0 });
 * console.log(r.dx.data, r.dweight.data);
 * ```
 */
export function rmsnormBackwardReference(
  inputs: RmsnormBackwardInputs<HostTensor>,
  options: RmsnormBackwardOptions = {},
): RmsnormBackwardResult<HostTensor> {
  const { dy, x, weight } = inputs;
  const [rows, D] = rmsShapes(inputs);
  const eps = options.eps ?? 1e-6;
  const dx = inputs.dx ? Float32Array.from(inputs.dx.data) : new Float32Array(rows * D);
  const dw = new Float64Array(D);
  for (let r = 0; r < rows; r++) {
    const b = r * D;
    let ss = 0, dot = 0;
    for (let i = 0; i < D; i++) {
      ss += x.data[b + i] ** 2;
      dot += dy.data[b + i] * weight.data[i] * x.data[b + i];
    }
    const inv = 1 / Math.sqrt(ss / D + eps);
    const k = (inv ** 3 * dot) / D;
    for (let i = 0; i < D; i++) {
      dx[b + i] += inv * dy.data[b + i] * weight.data[i] - k * x.data[b + i];
      dw[i] += dy.data[b + i] * x.data[b + i] * inv;
    }
  }
  return {
    dx: { data: dx, shape: [...x.shape] },
    dweight: { data: Float32Array.from(dw), shape: [D] },
  };
}

// ---------------------------------------------------------------------------------------------
// RoPE backward

/** Inputs of {@linkcode ropeBackward}: the output gradient and the forward's positions. */
export interface RopeBackwardInputs<T> {
  /** Gradient with respect to the rotated tensor, [tokens, heads, headDim]. */
  dy: T;
  /** Position id of each token, as in the forward. */
  positions: ArrayLike<number>;
}

/**
 * Gradient of {@linkcode rope}: each pair was rotated by an orthogonal 2×2 matrix R(θ), so the
 * gradient is rotated back by R(θ)ᵀ = R(−θ) — the RoPE kernel run at the negated positions
 * (same options: base, layout, rotaryDim).
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { ropeBackward } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const dy = Tensor.fromArray([1, 0], { shape: [1, 1, 2], gpu });
 *   console.log(await (await ropeBackward({ dy, positions: [1] })).toArray()); // [cos 1, -sin 1]
 * }
 * ```
 */
export function ropeBackward(
  inputs: RopeBackwardInputs<Tensor>,
  options: RopeOptions = {},
): Promise<Tensor> {
  return rope({ x: inputs.dy, positions: negate(inputs.positions) }, options);
}

/**
 * CPU reference of {@linkcode ropeBackward}.
 *
 * @example
 * ```ts
 * import { ropeBackwardReference } from "@tokenlab/tokenlab/kernels";
 * const dy = { data: new Float32Array([1, 0]), shape: [1, 1, 2] };
 * console.log(ropeBackwardReference({ dy, positions: [1] }).data); // [cos 1, -sin 1]
 * ```
 */
export function ropeBackwardReference(
  inputs: RopeBackwardInputs<HostTensor>,
  options: RopeOptions = {},
): HostTensor {
  return ropeReference({ x: inputs.dy, positions: negate(inputs.positions) }, options);
}

function negate(positions: ArrayLike<number>): number[] {
  return Array.from(positions, (p) => -p);
}

// ---------------------------------------------------------------------------------------------
// SwiGLU backward

const N_PARAMS = `struct Params { n: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of the SwiGLU backward (f32), one thread per element:
 * `dgate = dout·up·σ(g)·(1 + g·(1 − σ(g)))`, `dup = dout·g·σ(g)`.
 *
 * @example
 * ```ts
 * import { SWIGLU_BACKWARD_WGSL } from "@tokenlab/tokenlab/kernels";
 * console.log(SWIGLU_BACKWARD_WGSL.includes("dgate"));
 * ```
 */
export const SWIGLU_BACKWARD_WGSL: string = `${N_PARAMS}
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(5) var<storage, read_write> dup: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.n) { return; }
  let g = gate[i];
  let s = 1.0 / (1.0 + exp(-g));
  let d = dout[i];
  dup[i] = d * g * s;
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
}
`;

/** Inputs of {@linkcode swigluBackward}: the forward's inputs and the output gradient. */
export interface SwigluBackwardInputs<T> {
  /** Gate projection of the forward. */
  gate: T;
  /** Up projection of the forward. */
  up: T;
  /** Gradient with respect to `silu(gate) · up`. */
  dout: T;
}

/** Outputs of {@linkcode swigluBackward}. */
export interface SwigluBackwardResult<T> {
  /** Gradient with respect to gate. */
  dgate: T;
  /** Gradient with respect to up. */
  dup: T;
}

function swigluShapes(i: SwigluBackwardInputs<{ shape: readonly number[] }>): void {
  sameShape(i.gate.shape, i.up.shape, "swigluBackward gate and up");
  sameShape(i.gate.shape, i.dout.shape, "swigluBackward gate and dout");
}

/**
 * Gradients of `silu(gate) · up` on the GPU (f32).
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { swigluBackward } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const gate = Tensor.fromArray([0], { shape: [1], gpu });
 *   const up = Tensor.fromArray([2], { shape: [1], gpu });
 *   const dout = Tensor.fromArray([1], { shape: [1], gpu });
 *   const r = await swigluBackward({ gate, up, dout });
 *   console.log(await r.dgate.toArray(), await r.dup.toArray()); // [1], [0]
 * }
 * ```
 */
export async function swigluBackward(
  inputs: SwigluBackwardInputs<Tensor>,
  options: KernelOptions = {},
): Promise<SwigluBackwardResult<Tensor>> {
  const { gate, up, dout } = inputs;
  swigluShapes(inputs);
  f32Only([gate, up, dout], "swigluBackward");
  sameDevice(gate, up, "swigluBackward gate and up");
  sameDevice(gate, dout, "swigluBackward gate and dout");
  if (gate.isCpu) {
    const r = swigluBackwardReference({ gate: hostOf(gate), up: hostOf(up), dout: hostOf(dout) });
    return { dgate: cpuTensor(r.dgate, "f32"), dup: cpuTensor(r.dup, "f32") };
  }
  const gpu = gate.gpu;
  const pipeline = await gpu.pipelines.get(SWIGLU_BACKWARD_WGSL, { label: "swiglu_backward" });
  const [gx, gy] = grid(ceilDiv(gate.size, 256));
  const params = gpu.uniformBuffer(N_PARAMS, { n: gate.size, gridX: gx });
  const dgate = Tensor.empty(gate.shape, { gpu }), dup = Tensor.empty(gate.shape, { gpu });
  gpu.run([{
    pipeline,
    label: "swiglu_backward",
    bindings: [{ buffer: params }, bind(gate), bind(up), bind(dout), bind(dgate), bind(dup)],
    workgroups: [gate.size ? gx : 0, gy],
  }], { profiler: options.profiler, release: [params] });
  return { dgate, dup };
}

/**
 * CPU reference of {@linkcode swigluBackward}.
 *
 * @example
 * ```ts
 * import { swigluBackwardReference } from "@tokenlab/tokenlab/kernels";
 * const t = (v: number) => ({ data: new Float32Array([v]), shape: [1] });
 * const r = swigluBackwardReference({ gate: t(0), up: t(2), dout: t(1) });
 * console.log(r.dgate.data, r.dup.data); // [1], [0]
 * ```
 */
export function swigluBackwardReference(
  inputs: SwigluBackwardInputs<HostTensor>,
): SwigluBackwardResult<HostTensor> {
  swigluShapes(inputs);
  const { gate, up, dout } = inputs;
  const n = gate.data.length;
  const dg = new Float32Array(n), du = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate.data[i], s = 1 / (1 + Math.exp(-g)), d = dout.data[i];
    du[i] = d * g * s;
    dg[i] = d * up.data[i] * s * (1 + g * (1 - s));
  }
  return { dgate: { data: dg, shape: [...gate.shape] }, dup: { data: du, shape: [...gate.shape] } };
}

// ---------------------------------------------------------------------------------------------
// Embedding lookup and its gradient

const EMB_PARAMS = `struct Params { n: u32, D: u32, gridX: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of the embedding lookup: one thread per output element, `out[n, d] =
 * table[ids[n], d]`.
 *
 * @example
 * ```ts
 * import { EMBEDDING_WGSL } from "@tokenlab/tokenlab/kernels";
 * console.log(EMBEDDING_WGSL.includes("table"));
 * ```
 */
export const EMBEDDING_WGSL: string = `${EMB_PARAMS}
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
 *
 * @example
 * ```ts
 * import { EMBEDDING_BACKWARD_WGSL } from "@tokenlab/tokenlab/kernels";
 * console.log(EMBEDDING_BACKWARD_WGSL.includes("start"));
 * ```
 */
export const EMBEDDING_BACKWARD_WGSL: string = `${EMB_PARAMS}
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
  const gpu = table.gpu;
  const n = ids.length;
  const pipeline = await gpu.pipelines.get(EMBEDDING_WGSL, { label: "embedding" });
  const idt = Tensor.fromArray(Int32Array.from(ids), { shape: [n], dtype: "i32", gpu });
  const [gx, gy] = grid(ceilDiv(n * D, 256));
  const params = gpu.uniformBuffer(EMB_PARAMS, { n, D, gridX: gx, accumulate: 0 });
  const out = Tensor.empty([n, D], { gpu });
  gpu.run([{
    pipeline,
    label: "embedding",
    bindings: [{ buffer: params }, bind(table), bind(idt), bind(out)],
    workgroups: [n * D ? gx : 0, gy],
  }], { profiler: options.profiler, release: [params, idt.buffer] });
  return out;
}

/**
 * CPU reference of {@linkcode embedding}.
 *
 * @example
 * ```ts
 * import { embeddingReference } from "@tokenlab/tokenlab/kernels";
 * const table = { data: new Float32Array([0, 1, 10, 11]), shape: [2, 2] };
 * console.log(embeddingReference({ table, ids: [1] }).data); // [10, 11]
 * ```
 */
export function embeddingReference(inputs: EmbeddingInputs<HostTensor>): HostTensor {
  const { table, ids } = inputs;
  const [V, D] = table.shape;
  checkIds(ids, V, "embeddingReference");
  const out = new Float32Array(ids.length * D);
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
  const gpu = dy.gpu;
  const g = groupIds(ids);
  const U = g.rows.length;
  const out = into ?? Tensor.zeros([V, D], { gpu });
  if (U === 0) return out;
  const pipeline = await gpu.pipelines.get(EMBEDDING_BACKWARD_WGSL, {
    label: "embedding_backward",
  });
  const up = (a: Uint32Array) => Tensor.fromArray(a, { shape: [a.length], dtype: "u32", gpu });
  const rows = up(g.rows), start = up(g.start), pos = up(g.pos);
  const [gx, gy] = grid(ceilDiv(U * D, 256));
  const params = gpu.uniformBuffer(EMB_PARAMS, { n: U, D, gridX: gx, accumulate: into ? 1 : 0 });
  gpu.run([{
    pipeline,
    label: "embedding_backward",
    bindings: [{ buffer: params }, bind(dy), bind(rows), bind(start), bind(pos), bind(out)],
    workgroups: [gx, gy],
  }], { profiler: options.profiler, release: [params, rows.buffer, start.buffer, pos.buffer] });
  return out;
}

/**
 * CPU reference of {@linkcode embeddingBackward}.
 *
 * @example
 * ```ts
 * import { embeddingBackwardReference } from "@tokenlab/tokenlab/kernels";
 * const dy = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
 * console.log(embeddingBackwardReference({ dy, ids: [1, 1] }, { vocab: 2 }).data); // 0 0 4 6
 * ```
 */
export function embeddingBackwardReference(
  inputs: EmbeddingBackwardInputs<HostTensor>,
  options: EmbeddingBackwardOptions<HostTensor>,
): HostTensor {
  const { dy, ids } = inputs;
  const V = options.vocab, D = dy.shape[1];
  checkIds(ids, V, "embeddingBackwardReference");
  const acc = new Float64Array(V * D);
  if (options.accumulate) acc.set(options.accumulate.data);
  for (let n = 0; n < ids.length; n++) {
    for (let d = 0; d < D; d++) acc[ids[n] * D + d] += dy.data[n * D + d];
  }
  return { data: Float32Array.from(acc), shape: [V, D] };
}
