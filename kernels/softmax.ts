/**
 * Softmax over the last dimension (rows), with an optional scale on the logits.
 *
 * @module
 */

import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  cpuTensor,
  enables,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  ROW_STATS_WGSL,
  rowMaxSumWgsl,
} from "./_common.ts";
import { rowMaxSumExp } from "./_row_softmax.ts";

const PARAMS_WGSL = `struct Params { rows: u32, cols: u32, scale: f32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of row softmax: one 256-thread workgroup per row; each thread keeps an online
 * (max, sum) over its strided columns, the pairs are merged in a tree, then the row is written.
 */
export function softmaxWgsl(config: { dtype?: "f32" | "f16" } = {}): string {
  const T = config.dtype ?? "f32";
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;
${ROW_STATS_WGSL}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * params.gridX;
  if (row >= params.rows) { return; }
  let base = row * params.cols;
${rowMaxSumWgsl("params.cols", "f32(x[base + i]) * params.scale")}
  let mx = wm[0];
  let inv = 1.0 / ws[0];
  for (var i = tid; i < params.cols; i += 256u) {
    out[base + i] = ${T}(exp(f32(x[base + i]) * params.scale - mx) * inv);
  }
}
`;
}

/** The default f32 softmax source. */
export const SOFTMAX_WGSL: string = softmaxWgsl();

/** Options of {@linkcode softmax}. */
export interface SoftmaxOptions extends KernelOptions {
  /** Multiplies the logits first (default 1). */
  scale?: number;
}

/**
 * Softmax of each row (last dimension) on the GPU.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { softmax } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const x = Tensor.fromArray([0, Math.log(3)], { shape: [1, 2], gpu });
 *   console.log(await (await softmax(x)).toArray()); // [0.25, 0.75]
 * }
 * ```
 */
export async function softmax(x: Tensor, options: SoftmaxOptions = {}): Promise<Tensor> {
  const dtype = floatType(x.dtype, "softmax input");
  const cols = x.shape.at(-1) ?? 1;
  const rows = cols === 0 ? 0 : x.size / cols;
  if (x.isCpu) return cpuTensor(softmaxReference(hostOf(x), options), dtype);
  const [gx, gy] = grid(rows);
  const { out } = await dispatch(x.gpu, {
    label: "softmax",
    source: softmaxWgsl({ dtype }),
    uniforms: { rows, cols, scale: options.scale ?? 1, gridX: gx },
    bindings: { x },
    outputs: { out: { shape: x.shape, dtype } },
    workgroups: [rows ? gx : 0, gy],
    profiler: options.profiler,
  });
  return out;
}

/**
 * CPU reference of {@linkcode softmax}.
 *
 * @example
 * ```ts
 * import { softmaxReference } from "@tokenlab/tokenlab/kernels";
 * console.log(softmaxReference({ data: new Float32Array([0, Math.log(3)]), shape: [1, 2] }).data);
 * ```
 */
export function softmaxReference(x: HostTensor, options: SoftmaxOptions = {}): HostTensor {
  const cols = x.shape.at(-1) ?? 1, rows = cols ? x.data.length / cols : 0;
  const scale = options.scale ?? 1;
  const out = new Float32Array(x.data.length);
  for (let r = 0; r < rows; r++) {
    const { max: m, sum: s } = rowMaxSumExp(x.data, { start: r * cols, n: cols, scale });
    for (let i = 0; i < cols; i++) {
      out[r * cols + i] = Math.exp(x.data[r * cols + i] * scale - m) / s;
    }
  }
  return { data: out, shape: [...x.shape] };
}
