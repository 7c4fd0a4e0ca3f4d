/**
 * SwiGLU activation `silu(gate) · up`, element-wise.
 *
 * @module
 */

import { Tensor } from "../lib/gpu/mod.ts";
import {
  bind,
  ceilDiv,
  cpuTensor,
  enables,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
  sameShape,
} from "./_common.ts";
import { check } from "../lib/util/errors.ts";

const PARAMS_WGSL = `struct Params { n: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of SwiGLU: one thread per element, `silu(g) = g / (1 + e^-g)` in f32.
 *
 * @example
 * ```ts
 * import { swigluWgsl } from "@tokenlab/tokenlab/kernels";
 * console.log(swigluWgsl({ dtype: "f16" }).startsWith("enable f16"));
 * ```
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
  const gpu = gate.gpu;
  const pipeline = await gpu.pipelines.get(swigluWgsl({ dtype }), { label: "swiglu" });
  const [gx, gy] = grid(ceilDiv(gate.size, 256));
  const params = gpu.uniformBuffer(PARAMS_WGSL, { n: gate.size, gridX: gx });
  const out = Tensor.empty(gate.shape, { dtype, gpu });
  gpu.run([{
    pipeline,
    label: "swiglu",
    bindings: [{ buffer: params }, bind(gate), bind(up), bind(out)],
    workgroups: [gx, gy],
  }], { profiler: options.profiler, release: [params] });
  return out;
}

/**
 * CPU reference of {@linkcode swiglu}.
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
export function swigluReference(inputs: SwigluInputs<HostTensor>): HostTensor {
  const { gate, up } = inputs;
  const out = new Float32Array(gate.data.length);
  for (let i = 0; i < out.length; i++) {
    const g = gate.data[i];
    out[i] = (g / (1 + Math.exp(-g))) * up.data[i];
  }
  return { data: out, shape: [...gate.shape] };
}
