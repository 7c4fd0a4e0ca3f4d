/**
 * Rotate-half, `cat(−x[..., D/2:], x[..., :D/2])` over the last dimension: the `rotate_half`
 * of HF Llama's rotary embedding, one kernel here (a negation and a concatenation in eager
 * PyTorch).
 *
 * @example
 * ```ts
 * import { rotateHalfReference } from "@tokenlab/tokenlab/kernels";
 * console.log(rotateHalfReference({ data: new Float32Array([1, 2, 3, 4]), shape: [4] }).data);
 * // [-3, -4, 1, 2]
 * ```
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  ceilDiv,
  cpuTensor,
  enables,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
} from "./_common.ts";

const PARAMS_WGSL = `struct Params { rows: u32, D: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of rotate-half, `cat(−x[..., D/2:], x[..., :D/2])` over the last dimension: one
 * thread per output element.
 */
export function rotateHalfWgsl(config: { dtype?: "f32" | "f16" } = {}): string {
  const T = config.dtype ?? "f32";
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.rows * params.D) { return; }
  let half = params.D / 2u;
  let c = i % params.D;
  if (c < half) { out[i] = -x[i + half]; } else { out[i] = x[i - half]; }
}
`;
}

function halfDim(shape: readonly number[], what: string): [number, number] {
  const D = shape.at(-1) ?? 0;
  check(
    D > 0 && D % 2 === 0,
    `${what} needs an even last dimension, got shape [${shape.join(", ")}]`,
  );
  return [shape.reduce((a, b) => a * b, 1) / D, D];
}

/**
 * Rotate-half on the GPU (the `rotate_half` of HF Llama, which eager PyTorch runs as a
 * negation of a slice and a concatenation: two kernels there, one here).
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { rotateHalf } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const x = Tensor.fromArray([1, 2, 3, 4], { shape: [1, 4], gpu });
 * console.log(await (await rotateHalf(x)).toArray()); // [-3, -4, 1, 2]
 * ```
 */
export async function rotateHalf(x: Tensor, options: KernelOptions = {}): Promise<Tensor> {
  const dtype = floatType(x.dtype, "rotateHalf input x");
  const [rows, D] = halfDim(x.shape, "rotateHalf");
  if (x.isCpu) return cpuTensor(rotateHalfReference(hostOf(x)), dtype);
  const [gx, gy] = grid(ceilDiv(x.size, 256));
  const { out } = await dispatch(x.gpu, {
    label: "rotate_half",
    source: rotateHalfWgsl({ dtype }),
    uniforms: { rows, D, gridX: gx },
    bindings: { x },
    outputs: { out: { shape: x.shape, dtype } },
    workgroups: [x.size ? gx : 0, gy],
    profiler: options.profiler,
  });
  return out;
}

/**
 * CPU reference of {@linkcode rotateHalf}.
 *
 * @example
 * ```ts
 * import { rotateHalfReference } from "@tokenlab/tokenlab/kernels";
 * console.log(rotateHalfReference({ data: new Float32Array([1, 2, 3, 4]), shape: [4] }).data);
 * // [-3, -4, 1, 2]
 * ```
 */
export function rotateHalfReference(x: HostTensor): HostTensor {
  const [rows, D] = halfDim(x.shape, "rotateHalfReference");
  const h = D / 2, out = new Float32Array(x.data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < D; c++) {
      out[r * D + c] = c < h ? -x.data[r * D + c + h] : x.data[r * D + c - h];
    }
  }
  return { data: out, shape: [...x.shape] };
}
