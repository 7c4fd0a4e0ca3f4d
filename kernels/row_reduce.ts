/**
 * Sum, mean or max over the last dimension: one 256-thread workgroup per row, a strided pass
 * per thread then a tree in workgroup memory.
 *
 * @example
 * ```ts
 * import { rowReduceReference } from "@tokenlab/tokenlab/kernels";
 * const x = { data: new Float32Array([1, 2, 3, 5]), shape: [2, 2] };
 * console.log(rowReduceReference(x, { op: "mean" }).data); // [1.5, 4]
 * ```
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  cpuTensor,
  enables,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
} from "./_common.ts";

/** Reductions of {@linkcode rowReduce} over the last dimension. */
export type ReduceOp = "sum" | "mean" | "max";

const PARAMS_WGSL = `struct Params { rows: u32, D: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of a reduction over the last dimension: one 256-thread workgroup per row, a
 * strided pass per thread then a tree in workgroup memory.
 */
export function rowReduceWgsl(config: { op: ReduceOp; dtype?: "f32" | "f16" }): string {
  check(
    ["sum", "mean", "max"].includes(config.op),
    `unknown reduce op "${config.op}"; use sum, mean or max`,
  );
  const T = config.dtype ?? "f32";
  const isMax = config.op === "max";
  const join = isMax
    ? (a: string, b: string) => `max(${a}, ${b})`
    : (a: string, b: string) => `${a} + ${b}`;
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * params.gridX;
  if (row >= params.rows) { return; }
  let base = row * params.D;
  var acc = ${isMax ? "-3.0e38" : "0.0"};
  for (var i = tid; i < params.D; i += 256u) { acc = ${join("acc", "f32(x[base + i])")}; }
  partial[tid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (tid < s) { partial[tid] = ${join("partial[tid]", "partial[tid + s]")}; }
    workgroupBarrier();
  }
  if (tid == 0u) {
    out[row] = ${T}(partial[0]${config.op === "mean" ? " / f32(params.D)" : ""});
  }
}
`;
}

/** Options of {@linkcode rowReduce} and {@linkcode rowReduceReference}. */
export interface RowReduceOptions extends KernelOptions {
  /** The reduction. */
  op: ReduceOp;
}

function reduceShape(shape: readonly number[], what: string): [number, number, number[]] {
  check(shape.length >= 1, `${what} needs a tensor of rank ≥ 1`);
  const D = shape.at(-1)!;
  check(D >= 1, `${what} needs a non-empty last dimension, got shape [${shape.join(", ")}]`);
  const rows = shape.slice(0, -1).reduce((x, y) => x * y, 1);
  return [rows, D, [...shape.slice(0, -1), 1]];
}

/**
 * Sum, mean or max over the last dimension on the GPU (keeps it as size 1: [..., D] → [..., 1]).
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { rowReduce } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const x = Tensor.fromArray([1, 2, 3, 5], { shape: [2, 2], gpu });
 * console.log(await (await rowReduce(x, { op: "mean" })).toArray()); // [1.5, 4]
 * ```
 */
export async function rowReduce(x: Tensor, options: RowReduceOptions): Promise<Tensor> {
  const dtype = floatType(x.dtype, "rowReduce input x");
  const [rows, D, outShape] = reduceShape(x.shape, "rowReduce");
  if (x.isCpu) return cpuTensor(rowReduceReference(hostOf(x), options), dtype);
  const [gx, gy] = grid(rows);
  const { out } = await dispatch(x.gpu, {
    label: `reduce.${options.op}`,
    source: rowReduceWgsl({ op: options.op, dtype }),
    uniforms: { rows, D, gridX: gx },
    bindings: { x },
    outputs: { out: { shape: outShape, dtype } },
    workgroups: [rows ? gx : 0, gy],
    profiler: options.profiler,
  });
  return out;
}

/**
 * CPU reference of {@linkcode rowReduce}.
 *
 * @example
 * ```ts
 * import { rowReduceReference } from "@tokenlab/tokenlab/kernels";
 * const y = rowReduceReference({ data: new Float32Array([1, 7, 3, 5]), shape: [2, 2] }, { op: "max" });
 * console.log(y.data, y.shape); // [7, 5] [2, 1]
 * ```
 */
export function rowReduceReference(x: HostTensor, options: RowReduceOptions): HostTensor {
  check(
    ["sum", "mean", "max"].includes(options?.op),
    `unknown reduce op "${options?.op}"; use sum, mean or max`,
  );
  const [rows, D, outShape] = reduceShape(x.shape, "rowReduceReference");
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = options.op === "max" ? -Infinity : 0;
    for (let i = 0; i < D; i++) {
      const v = x.data[r * D + i];
      acc = options.op === "max" ? Math.max(acc, v) : acc + v;
    }
    out[r] = options.op === "mean" ? acc / D : acc;
  }
  return { data: out, shape: outShape };
}
