/**
 * Optimizer kernels for training on the GPU: the global L2 norm of a set of gradient tensors
 * with the clip scale `min(1, maxNorm / norm)` (computed on the GPU, so a training step never
 * waits for the host), and a fused AdamW update (decoupled weight decay, bias correction,
 * the clip scale applied to the gradient on the fly).
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type DispatchPass, type Tensor } from "../lib/gpu/mod.ts";
import {
  ceilDiv,
  cpuTensor,
  type FloatArray,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
  sameShape,
} from "./_common.ts";
import { adamwUpdate } from "./_adamw_update.ts";

/** Elements summed by one workgroup of the sum-of-squares pass. */
const CHUNK = 4096;

const SQ_PARAMS = `struct Params { n: u32, offset: u32, gridX: u32, maxNorm: f32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL sources of the global gradient norm: `partial` — each 256-thread workgroup sums the
 * squares of a 4096-element chunk of one tensor into `partials[offset + chunk]`; `finish` —
 * one workgroup sums all partials and writes `stats = [norm, scale]` with
 * `scale = min(1, maxNorm / norm)` (a `maxNorm` of 0 in the uniform means no clipping).
 */
export function gradNormWgsl(): { partial: string; finish: string } {
  const partial = `${SQ_PARAMS}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let chunk = wg.x + wg.y * params.gridX;
  let start = chunk * ${CHUNK}u;
  if (start >= params.n) { return; }
  let end = min(params.n, start + ${CHUNK}u);
  var acc = 0.0;
  for (var i = start + tid; i < end; i += 256u) { acc += g[i] * g[i]; }
  part[tid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (tid < s) { part[tid] += part[tid + s]; }
    workgroupBarrier();
  }
  if (tid == 0u) { partials[params.offset + chunk] = part[0]; }
}
`;
  const finish = `${SQ_PARAMS}
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32) {
  var acc = 0.0;
  for (var i = tid; i < params.n; i += 256u) { acc += partials[i]; }
  part[tid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (tid < s) { part[tid] += part[tid + s]; }
    workgroupBarrier();
  }
  if (tid == 0u) {
    let norm = sqrt(part[0]);
    var scale = 1.0;
    if (params.maxNorm > 0.0 && norm > params.maxNorm) { scale = params.maxNorm / norm; }
    stats[0] = norm;
    stats[1] = scale;
  }
}
`;
  return { partial, finish };
}

/** Options of {@linkcode gradNorm} and {@linkcode gradNormReference}. */
export interface GradNormOptions extends KernelOptions {
  /** Clip threshold: the scale is `min(1, maxNorm / norm)` (default Infinity: scale 1). */
  maxNorm?: number;
}

function checkMaxNorm(maxNorm: number | undefined): void {
  check(
    maxNorm === undefined || maxNorm > 0,
    `gradNorm maxNorm must be a positive number (Infinity: no clipping), got ${maxNorm}`,
    { hint: "pass e.g. { maxNorm: 1 }, or leave it out to only measure the norm" },
  );
}

/**
 * The global L2 norm of several f32 tensors (e.g. all gradients of a model) and the clip scale,
 * on the GPU: returns a tensor `[norm, scale]` that {@linkcode adamw} takes as `clip`, so
 * clipping needs no read-back.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { gradNorm } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const a = Tensor.fromArray([3], { shape: [1], gpu }), b = Tensor.fromArray([4], { shape: [1], gpu });
 *   console.log(await (await gradNorm([a, b], { maxNorm: 1 })).toArray()); // [5, 0.2]
 * }
 * ```
 */
export async function gradNorm(tensors: Tensor[], options: GradNormOptions = {}): Promise<Tensor> {
  check(
    Array.isArray(tensors) && tensors.length > 0,
    "gradNorm needs a non-empty array of tensors",
  );
  checkMaxNorm(options.maxNorm);
  for (const t of tensors) {
    check(t.dtype === "f32", `gradNorm needs f32 tensors, got ${t.dtype}`);
    sameDevice(tensors[0], t, "gradNorm tensors");
  }
  if (tensors[0].isCpu) {
    return cpuTensor(gradNormReference(tensors.map(hostOf), options), "f32");
  }
  const src = gradNormWgsl();
  const chunks = tensors.map((t) => ceilDiv(t.size, CHUNK));
  const total = chunks.reduce((a, b) => a + b, 0);
  const passes: DispatchPass[] = [];
  let offset = 0;
  for (let i = 0; i < tensors.length; i++) {
    const [gx, gy] = grid(chunks[i]);
    passes.push({
      label: "grad_norm_partial",
      source: src.partial,
      uniforms: { n: tensors[i].size, offset, gridX: gx, maxNorm: 0 },
      bindings: { g: tensors[i] },
      workgroups: [chunks[i] ? gx : 0, gy],
    });
    offset += chunks[i];
  }
  passes.push({
    label: "grad_norm_finish",
    source: src.finish,
    uniforms: {
      n: total,
      offset: 0,
      gridX: 1,
      maxNorm: Number.isFinite(options.maxNorm) ? options.maxNorm : 0,
    },
    workgroups: [1, 1],
  });
  // every partial slot 0..total-1 is written by the first passes before the finish reads it
  const { stats } = await dispatch(tensors[0].gpu, {
    label: "grad_norm",
    outputs: { stats: { shape: [2] } },
    scratch: { partials: Math.max(1, total) * 4 },
    passes,
    profiler: options.profiler,
  });
  return stats;
}

/**
 * CPU reference of {@linkcode gradNorm} (f64 sum): `[norm, scale]`.
 *
 * @example
 * ```ts
 * import { gradNormReference } from "@tokenlab/tokenlab/kernels";
 * const t = (v: number) => ({ data: new Float32Array([v]), shape: [1] });
 * console.log(gradNormReference([t(3), t(4)], { maxNorm: 1 }).data); // [5, 0.2]
 * ```
 */
export function gradNormReference(
  tensors: HostTensor<FloatArray>[],
  options: GradNormOptions = {},
): HostTensor {
  checkMaxNorm(options.maxNorm);
  let ss = 0;
  for (const t of tensors) for (const v of t.data) ss += v * v;
  const norm = Math.sqrt(ss), max = options.maxNorm ?? Infinity;
  const scale = max > 0 && norm > max ? max / norm : 1;
  return { data: Float32Array.of(norm, scale), shape: [2] };
}

const ADAM_PARAMS = `struct Params {
  n: u32, gridX: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, c1: f32, c2: f32, shrink: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of the fused AdamW update, one thread per parameter:
 * `g ← g·clip[1]; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p·(1 − lr·wd) − lr·(m/c1) / (√(v/c2) + ε)` with `c = 1 − βᵗ`.
 */
export const ADAMW_WGSL: string = `${ADAM_PARAMS}
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> clip: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.n) { return; }
  let gi = g[i] * clip[1];
  let mi = params.beta1 * m[i] + (1.0 - params.beta1) * gi;
  let vi = params.beta2 * v[i] + (1.0 - params.beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] * params.shrink - params.lr * (mi / params.c1) / (sqrt(vi / params.c2) + params.eps);
}
`;

/** Tensors of one {@linkcode adamw} update (all f32, same shape; p, m, v updated in place). */
export interface AdamwInputs<T> {
  /** Parameters. */
  param: T;
  /** Gradient. */
  grad: T;
  /** First moment. */
  m: T;
  /** Second moment. */
  v: T;
  /** `[norm, scale]` from {@linkcode gradNorm}: the gradient is multiplied by `scale` (optional). */
  clip?: T;
}

/** Hyper-parameters of {@linkcode adamw}. */
export interface AdamWOptions extends KernelOptions {
  /** Learning rate of this step. */
  lr: number;
  /** 1-based step number, for the bias correction. */
  step: number;
  /** β1 (default 0.9). */
  beta1?: number;
  /** β2 (default 0.95). */
  beta2?: number;
  /** ε (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0: pass it only for tensors that decay). */
  weightDecay?: number;
}

/** @deprecated Use {@linkcode AdamWOptions} (the one spelling across the library). */
export type AdamwOptions = AdamWOptions;

function adamCheck(i: AdamwInputs<{ shape: readonly number[] }>, o: AdamWOptions): void {
  sameShape(i.param.shape, i.grad.shape, "adamw param and grad");
  sameShape(i.param.shape, i.m.shape, "adamw param and m");
  sameShape(i.param.shape, i.v.shape, "adamw param and v");
  check(Number.isFinite(o.lr) && o.lr >= 0, `adamw lr must be a non-negative number, got ${o.lr}`);
  check(
    Number.isInteger(o.step) && o.step >= 1,
    `adamw step must be a positive integer (1 for the first update), got ${o.step}`,
  );
}

function adamConstants(o: AdamWOptions) {
  const beta1 = o.beta1 ?? 0.9, beta2 = o.beta2 ?? 0.95;
  return {
    lr: o.lr,
    beta1,
    beta2,
    eps: o.eps ?? 1e-8,
    c1: 1 - Math.pow(beta1, o.step),
    c2: 1 - Math.pow(beta2, o.step),
    shrink: 1 - o.lr * (o.weightDecay ?? 0),
  };
}

/**
 * One fused AdamW update on the GPU, in place on `param`, `m` and `v`.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { adamw } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const param = Tensor.fromArray([1], { shape: [1], gpu });
 *   const grad = Tensor.fromArray([0.5], { shape: [1], gpu });
 *   const m = Tensor.zeros([1], { gpu }), v = Tensor.zeros([1], { gpu });
 *   await adamw({ param, grad, m, v }, { lr: 0.1, step: 1 });
 *   console.log(await param.toArray()); // ≈ [0.9]
 * }
 * ```
 */
export async function adamw(inputs: AdamwInputs<Tensor>, options: AdamWOptions): Promise<void> {
  const { param, grad, m, v, clip } = inputs;
  adamCheck(inputs, options);
  for (const t of [param, grad, m, v, clip]) {
    if (!t) continue;
    check(t.dtype === "f32", `adamw needs f32 tensors, got ${t.dtype}`);
    sameDevice(param, t, "adamw tensors");
  }
  if (clip) check(clip.size === 2, "adamw clip must be the [norm, scale] tensor from gradNorm");
  if (param.isCpu) {
    const r = adamwReference({
      param: hostOf(param),
      grad: hostOf(grad),
      m: hostOf(m),
      v: hostOf(v),
      clip: clip && hostOf(clip),
    }, options);
    (param.host as Float32Array).set(r.param.data);
    (m.host as Float32Array).set(r.m.data);
    (v.host as Float32Array).set(r.v.data);
    return;
  }
  const [gx, gy] = grid(ceilDiv(param.size, 256));
  await dispatch(param.gpu, {
    label: "adamw",
    source: ADAMW_WGSL,
    uniforms: { n: param.size, gridX: gx, ...adamConstants(options) },
    // without a clip tensor, the [norm, scale] pair is [1, 1]: no scaling
    bindings: { p: param, g: grad, m, v, clip: clip ?? Float32Array.of(1, 1) },
    workgroups: [param.size ? gx : 0, gy],
    profiler: options.profiler,
  });
}

/** Outputs of {@linkcode adamwReference}: the updated tensors. */
export interface AdamwResult<T> {
  /** Updated parameters. */
  param: T;
  /** Updated first moment. */
  m: T;
  /** Updated second moment. */
  v: T;
}

/**
 * CPU reference of {@linkcode adamw} (returns new arrays; the inputs are left as they are).
 *
 * @example
 * ```ts
 * import { adamwReference } from "@tokenlab/tokenlab/kernels";
 * const t = (v: number) => ({ data: new Float32Array([v]), shape: [1] });
 * console.log(adamwReference({ param: t(1), grad: t(0.5), m: t(0), v: t(0) }, { lr: 0.1, step: 1 }).param.data);
 * ```
 */
export function adamwReference(
  inputs: AdamwInputs<HostTensor>,
  options: AdamWOptions,
): AdamwResult<HostTensor> {
  adamCheck(inputs, options);
  const p = Float32Array.from(inputs.param.data), m = Float32Array.from(inputs.m.data);
  const v = Float32Array.from(inputs.v.data);
  const scale = inputs.clip ? inputs.clip.data[1] : 1;
  adamwUpdate({ param: p, grad: inputs.grad.data, m, v }, { ...adamConstants(options), scale });
  const shape = [...inputs.param.shape];
  return { param: { data: p, shape }, m: { data: m, shape }, v: { data: v, shape } };
}
