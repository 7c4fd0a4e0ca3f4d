/**
 * RMSNorm over the last dimension, optionally fused with the residual add that precedes it in
 * a pre-norm transformer block.
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { Tensor } from "../lib/gpu/mod.ts";
import {
  bind,
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

const PARAMS_WGSL = `struct Params { rows: u32, D: u32, eps: f32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of RMSNorm: one 256-thread workgroup per row; with `residual`, the shader also
 * reads `res`, and writes `h = x + res` to `hout` and normalises `h`.
 *
 * @example
 * ```ts
 * import { rmsnormWgsl } from "@tokenlab/tokenlab/kernels";
 * console.log(rmsnormWgsl({ dtype: "f16", residual: true }).includes("hout"));
 * ```
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
  const gpu = x.gpu;
  const rows = x.size / Math.max(D, 1);
  const pipeline = await gpu.pipelines.get(rmsnormWgsl({ dtype, residual: !!residual }), {
    label: "rmsnorm",
  });
  const [gx, gy] = grid(rows);
  const params = gpu.uniformBuffer(PARAMS_WGSL, {
    rows,
    D,
    eps: options.eps ?? 1e-6,
    gridX: gx,
  });
  const out = Tensor.empty(x.shape, { dtype, gpu });
  const h = residual ? Tensor.empty(x.shape, { dtype, gpu }) : undefined;
  const bindings = [{ buffer: params }, bind(x), bind(weight), bind(out)];
  if (residual && h) bindings.push(bind(residual), bind(h));
  gpu.run([{ pipeline, label: "rmsnorm", bindings, workgroups: [gx, gy] }], {
    profiler: options.profiler,
    release: [params],
  });
  return h ? { out, residual: h } : { out };
}

/**
 * CPU reference of {@linkcode rmsnorm}.
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
export function rmsnormReference(
  inputs: RmsnormInputs<HostTensor>,
  options: RmsnormOptions = {},
): RmsnormResult<HostTensor> {
  const { x, weight, residual } = inputs;
  const D = x.shape.at(-1) ?? 1, rows = x.data.length / Math.max(D, 1);
  const eps = options.eps ?? 1e-6;
  const out = new Float32Array(x.data.length), h = new Float32Array(x.data.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) {
      const v = x.data[r * D + i] + (residual ? residual.data[r * D + i] : 0);
      h[r * D + i] = v;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) out[r * D + i] = h[r * D + i] * inv * weight.data[i];
  }
  const o = { data: out, shape: [...x.shape] };
  return residual ? { out: o, residual: { data: h, shape: [...x.shape] } } : { out: o };
}
