/**
 * SwiGLU activation `silu(gate) · up`, element-wise, and its backward (gradients of gate and
 * up) for training.
 *
 * @example
 * ```ts
 * import { swigluBackwardReference, swigluReference } from "@tokenlab/tokenlab/kernels";
 * const t = (v: number) => ({ data: new Float32Array([v]), shape: [1] });
 * console.log(swigluReference({ gate: t(0), up: t(2) }).data); // [0]
 * const g = swigluBackwardReference({ gate: t(0), up: t(2), dout: t(1) });
 * console.log(g.dgate.data, g.dup.data); // [1], [0]
 * ```
 *
 * @module
 */

import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  ceilDiv,
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
import { check } from "../lib/util/errors.ts";

const PARAMS_WGSL = `struct Params { n: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of SwiGLU: one thread per element, `silu(g) = g / (1 + e^-g)` in f32.
 */
export function swigluWgsl(config: { dtype?: "f32" | "f16" } = {}): string {
  const T = config.dtype ?? "f32";
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> gate: array<${T}>;
@group(0) @binding(2) var<storage, read> up: array<${T}>;
@group(0) @binding(3) var<storage, read_write> out: array<${T}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.n) { return; }
  let g = f32(gate[i]);
  out[i] = ${T}(g / (1.0 + exp(-g)) * f32(up[i]));
}
`;
}

/** The default f32 SwiGLU source. */
export const SWIGLU_WGSL: string = swigluWgsl();

/** Inputs of {@linkcode swiglu}: two tensors of the same shape. */
export interface SwigluInputs<T> {
  /** Gate projection (goes through SiLU). */
  gate: T;
  /** Up projection. */
  up: T;
}

/**
 * `silu(gate) · up` on the GPU.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { swiglu } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const gate = Tensor.fromArray([0, 1], { shape: [2], gpu });
 *   const up = Tensor.fromArray([5, 2], { shape: [2], gpu });
 *   console.log(await (await swiglu({ gate, up })).toArray()); // [0, 1.4621…]
 * }
 * ```
 */
export async function swiglu(
  inputs: SwigluInputs<Tensor>,
  options: KernelOptions = {},
): Promise<Tensor> {
  const { gate, up } = inputs;
  const dtype = floatType(gate.dtype, "swiglu gate");
  check(up.dtype === dtype, `swiglu up must be ${dtype} like gate, got ${up.dtype}`);
  sameShape(gate.shape, up.shape, "swiglu gate and up");
  sameDevice(gate, up, "swiglu gate and up");
  if (gate.isCpu) return cpuTensor(swigluReference({ gate: hostOf(gate), up: hostOf(up) }), dtype);
  const [gx, gy] = grid(ceilDiv(gate.size, 256));
  const { out } = await dispatch(gate.gpu, {
    label: "swiglu",
    source: swigluWgsl({ dtype }),
    uniforms: { n: gate.size, gridX: gx },
    bindings: { gate, up },
    outputs: { out: { shape: gate.shape, dtype } },
    workgroups: [gate.size ? gx : 0, gy],
    profiler: options.profiler,
  });
  return out;
}

/**
 * CPU reference of {@linkcode swiglu} — the one CPU SwiGLU (the model runtime's CPU backend and
 * the trainer use it); f64 arithmetic, output in the float type of `gate`.
 *
 * @example
 * ```ts
 * import { swigluReference } from "@tokenlab/tokenlab/kernels";
 * const r = swigluReference({
 *   gate: { data: new Float32Array([0, 1]), shape: [2] },
 *   up: { data: new Float32Array([5, 2]), shape: [2] },
 * });
 * console.log(r.data); // [0, 2/(1+e^-1)]
 * ```
 */
export function swigluReference<A extends FloatArray = Float32Array>(
  inputs: SwigluInputs<HostTensor<A>>,
): HostTensor<A> {
  const { gate, up } = inputs;
  const out = zerosLike(gate.data, gate.data.length);
  for (let i = 0; i < out.length; i++) {
    const g = gate.data[i];
    out[i] = (g / (1 + Math.exp(-g))) * up.data[i];
  }
  return { data: out, shape: [...gate.shape] };
}

// ---------------------------------------------------------------------------------------------
// Backward

/**
 * WGSL source of the SwiGLU backward (f32), one thread per element:
 * `dgate = dout·up·σ(g)·(1 + g·(1 − σ(g)))`, `dup = dout·g·σ(g)`.
 */
export const SWIGLU_BACKWARD_WGSL: string = `${PARAMS_WGSL}
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
  const [gx, gy] = grid(ceilDiv(gate.size, 256));
  return await dispatch(gate.gpu, {
    label: "swiglu_backward",
    source: SWIGLU_BACKWARD_WGSL,
    uniforms: { n: gate.size, gridX: gx },
    bindings: { gate, up, dout },
    outputs: { dgate: { shape: gate.shape }, dup: { shape: gate.shape } },
    workgroups: [gate.size ? gx : 0, gy],
    profiler: options.profiler,
  });
}

/**
 * CPU reference of {@linkcode swigluBackward} (the trainer's MLP backward; output in the float
 * type of `gate`).
 *
 * @example
 * ```ts
 * import { swigluBackwardReference } from "@tokenlab/tokenlab/kernels";
 * const t = (v: number) => ({ data: new Float32Array([v]), shape: [1] });
 * const r = swigluBackwardReference({ gate: t(0), up: t(2), dout: t(1) });
 * console.log(r.dgate.data, r.dup.data); // [1], [0]
 * ```
 */
export function swigluBackwardReference<A extends FloatArray = Float32Array>(
  inputs: SwigluBackwardInputs<HostTensor<A>>,
): SwigluBackwardResult<HostTensor<A>> {
  swigluShapes(inputs);
  const { gate, up, dout } = inputs;
  const n = gate.data.length;
  const dg = zerosLike(gate.data, n), du = zerosLike(gate.data, n);
  for (let i = 0; i < n; i++) {
    const g = gate.data[i], s = 1 / (1 + Math.exp(-g)), d = dout.data[i];
    du[i] = d * g * s;
    dg[i] = d * up.data[i] * s * (1 + g * (1 - s));
  }
  return { dgate: { data: dg, shape: [...gate.shape] }, dup: { data: du, shape: [...gate.shape] } };
}
