/**
 * RMSNorm over the last dimension, optionally fused with the residual add that precedes it in
 * a pre-norm transformer block, and its backward (`dx` and `dweight`) for training.
 *
 * @example
 * ```ts
 * import { rmsnormBackwardReference, rmsnormReference } from "@tokenlab/tokenlab/kernels";
 * const x = { data: new Float32Array([3, 4]), shape: [1, 2] };
 * const weight = { data: new Float32Array([1, 1]), shape: [2] };
 * const { out } = rmsnormReference({ x, weight }, { eps: 0 }); // x / √12.5
 * const g = rmsnormBackwardReference({ dy: out, x, weight }, { eps: 0 });
 * console.log(out.data, g.dx.data, g.dweight.data);
 * ```
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  castLike,
  cpuTensor,
  enables,
  f32Only,
  type FloatArray,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
  sameShape,
  zerosLike,
} from "./_common.ts";

const PARAMS_WGSL = `struct Params { rows: u32, D: u32, eps: f32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of RMSNorm: one 256-thread workgroup per row; with `residual`, the shader also
 * reads `res`, and writes `h = x + res` to `hout` and normalises `h`.
 */
export function rmsnormWgsl(config: { dtype?: "f32" | "f16"; residual?: boolean } = {}): string {
  const T = config.dtype ?? "f32";
  const res = config.residual ?? false;
  const load = res ? `f32(${T}(f32(x[base + i]) + f32(res[base + i])))` : `f32(x[base + i])`;
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read> w: array<${T}>;
@group(0) @binding(3) var<storage, read_write> out: array<${T}>;
${
    res
      ? `@group(0) @binding(4) var<storage, read> res: array<${T}>;
@group(0) @binding(5) var<storage, read_write> hout: array<${T}>;`
      : ""
  }
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * params.gridX;
  if (row >= params.rows) { return; }
  let base = row * params.D;
  var ss = 0.0;
  for (var i = tid; i < params.D; i += 256u) {
    let h = ${load};
    ${res ? `hout[base + i] = ${T}(h);` : ""}
    ss += h * h;
  }
  partial[tid] = ss;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (tid < s) { partial[tid] += partial[tid + s]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(params.D) + params.eps);
  for (var i = tid; i < params.D; i += 256u) {
    out[base + i] = ${T}(${load} * inv * f32(w[i]));
  }
}
`;
}

/** The default f32 RMSNorm source without residual. */
export const RMSNORM_WGSL: string = rmsnormWgsl();

/** Inputs of {@linkcode rmsnorm}: x [..., D], weight [D], optional residual shaped like x. */
export interface RmsnormInputs<T> {
  /** Activations. */
  x: T;
  /** Per-feature scale. */
  weight: T;
  /** Residual stream added to x before the norm. */
  residual?: T;
}

/** Options of {@linkcode rmsnorm}. */
export interface RmsnormOptions extends KernelOptions {
  /** Added to the mean square (default 1e-6). */
  eps?: number;
}

/** Outputs of {@linkcode rmsnorm}. */
export interface RmsnormResult<T> {
  /** `h / rms(h) · weight` where `h = x (+ residual)`. */
  out: T;
  /** `h = x + residual`, the new residual stream (only with a residual input). */
  residual?: T;
}

/**
 * RMSNorm of the last dimension on the GPU, optionally fused with a residual add.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { rmsnorm } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const x = Tensor.fromArray([3, 4], { shape: [1, 2], gpu });
 *   const weight = Tensor.fromArray([1, 1], { shape: [2], gpu });
 *   console.log(await (await rmsnorm({ x, weight })).out.toArray());
 * }
 * ```
 */
export async function rmsnorm(
  inputs: RmsnormInputs<Tensor>,
  options: RmsnormOptions = {},
): Promise<RmsnormResult<Tensor>> {
  const { x, weight, residual } = inputs;
  const dtype = floatType(x.dtype, "rmsnorm input x");
  const D = x.shape.at(-1) ?? 1;
  check(
    weight.shape.length === 1 && weight.shape[0] === D && weight.dtype === dtype,
    `rmsnorm weight must be ${dtype} of shape [${D}], got ${weight.dtype} [${
      weight.shape.join(", ")
    }]`,
  );
  sameDevice(x, weight, "rmsnorm x and weight");
  if (residual) {
    sameShape(x.shape, residual.shape, "rmsnorm x and residual");
    check(residual.dtype === dtype, `rmsnorm residual must be ${dtype} like x`);
    sameDevice(x, residual, "rmsnorm x and residual");
  }
  if (x.isCpu) {
    const r = rmsnormReference({
      x: hostOf(x),
      weight: hostOf(weight),
      residual: residual && hostOf(residual),
    }, options);
    return { out: cpuTensor(r.out, dtype), residual: r.residual && cpuTensor(r.residual, dtype) };
  }
  const rows = x.size / Math.max(D, 1);
  const [gx, gy] = grid(rows);
  const kernel = {
    label: "rmsnorm",
    source: rmsnormWgsl({ dtype, residual: !!residual }),
    uniforms: { rows, D, eps: options.eps ?? 1e-6, gridX: gx },
    workgroups: [gx, gy] as [number, number],
    profiler: options.profiler,
  };
  if (!residual) {
    return await dispatch(x.gpu, {
      ...kernel,
      bindings: { x, w: weight },
      outputs: { out: { shape: x.shape, dtype } },
    });
  }
  const r = await dispatch(x.gpu, {
    ...kernel,
    bindings: { x, w: weight, res: residual },
    outputs: { out: { shape: x.shape, dtype }, hout: { shape: x.shape, dtype } },
  });
  return { out: r.out, residual: r.hout };
}

/**
 * CPU reference of {@linkcode rmsnorm} — the one CPU RMSNorm of tokenlab, used by the model
 * runtime's CPU backend and the tiny-LM trainer too. Sums in f64 and returns arrays of the
 * input's float type (f32 in, f32 out; f64 in, f64 out), in HF's order: `(h · 1/rms(h)) · w`.
 *
 * @example
 * ```ts
 * import { rmsnormReference } from "@tokenlab/tokenlab/kernels";
 * const r = rmsnormReference({
 *   x: { data: new Float32Array([3, 4]), shape: [1, 2] },
 *   weight: { data: new Float32Array([1, 2]), shape: [2] },
 * }, { eps: 0 });
 * console.log(r.out.data); // rms = √12.5: [0.8485…, 2.2627…]
 * ```
 */
export function rmsnormReference<A extends FloatArray = Float32Array>(
  inputs: RmsnormInputs<HostTensor<A>>,
  options: RmsnormOptions = {},
): RmsnormResult<HostTensor<A>> {
  const { x, weight, residual } = inputs;
  const D = x.shape.at(-1) ?? 1, rows = x.data.length / Math.max(D, 1);
  check(
    weight.data.length === D,
    `rmsnormReference weight must have ${D} values (the last dimension of x), got ${weight.data.length}`,
  );
  const eps = options.eps ?? 1e-6;
  const out = zerosLike(x.data, x.data.length);
  const h = residual ? zerosLike(x.data, x.data.length) : x.data;
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) {
      const v = residual ? x.data[r * D + i] + residual.data[r * D + i] : x.data[r * D + i];
      if (residual) h[r * D + i] = v;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) out[r * D + i] = h[r * D + i] * inv * weight.data[i];
  }
  const o = { data: out, shape: [...x.shape] };
  return residual ? { out: o, residual: { data: h, shape: [...x.shape] } } : { out: o };
}

// ---------------------------------------------------------------------------------------------
// Backward

const BACKWARD_PARAMS_WGSL =
  `struct Params { rows: u32, D: u32, eps: f32, gridX: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL sources of the RMSNorm backward (f32): `dx` — one 256-thread workgroup per row computes
 * `r = 1/rms(x)` and `Σ dy·w·x`, writes (or adds) `dx = r·dy·w − r³/D·(Σ dy·w·x)·x` and keeps
 * `r` per row; `dweight` — one workgroup per feature sums `dy·x·r` over the rows.
 */
export function rmsnormBackwardWgsl(): { dx: string; dweight: string } {
  const dx = `${BACKWARD_PARAMS_WGSL}
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
  const dweight = `${BACKWARD_PARAMS_WGSL}
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
  const src = rmsnormBackwardWgsl();
  const [gx, gy] = grid(rows), [cx, cy] = grid(D);
  const eps = options.eps ?? 1e-6;
  const { dx, dw } = await dispatch(x.gpu, {
    label: "rmsnorm_backward",
    bindings: { dy, x, w: weight },
    outputs: { dx: inputs.dx ?? { shape: x.shape }, dw: { shape: [D] } },
    scratch: { rinv: rows * 4 },
    profiler: options.profiler,
    passes: [
      {
        label: "rmsnorm_backward_dx",
        source: src.dx,
        uniforms: { rows, D, eps, gridX: gx, accumulate: inputs.dx ? 1 : 0 },
        workgroups: [rows ? gx : 0, gy],
      },
      {
        label: "rmsnorm_backward_dw",
        source: src.dweight,
        uniforms: { rows, D, eps, gridX: cx, accumulate: 0 },
        workgroups: [D ? cx : 0, cy],
      },
    ],
  });
  return { dx, dweight: dw };
}

/**
 * CPU reference of {@linkcode rmsnormBackward} (f64 sums, outputs in the float type of `x`;
 * the trainer's backward). With `dx` given, returns a new array holding `dx +` the gradient.
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
export function rmsnormBackwardReference<A extends FloatArray = Float32Array>(
  inputs: RmsnormBackwardInputs<HostTensor<A>>,
  options: RmsnormBackwardOptions = {},
): RmsnormBackwardResult<HostTensor<A>> {
  const { dy, x, weight } = inputs;
  const [rows, D] = rmsShapes(inputs);
  const eps = options.eps ?? 1e-6;
  const dx = inputs.dx ? castLike(x.data, inputs.dx.data) : zerosLike(x.data, rows * D);
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
    dweight: { data: castLike(x.data, dw), shape: [D] },
  };
}
