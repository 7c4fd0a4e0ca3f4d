/**
 * Shared pieces of the kernel modules: host-side tensors for CPU references, shape checks,
 * WGSL type names.
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { type DType, Tensor } from "../lib/gpu/mod.ts";
import type { Profiler } from "../lib/gpu/mod.ts";

/**
 * The float arrays the CPU references compute on: f32 storage (the model runtime, the kernel
 * tests), or f64 where training needs it (finite-difference gradient checks).
 */
export type FloatArray = Float32Array | Float64Array;

/**
 * A row-major array with a shape, used by the CPU references. `A` is its float array type:
 * a reference given f64 inputs returns f64 outputs, f32 inputs give f32 outputs.
 */
export interface HostTensor<A extends FloatArray = Float32Array> {
  /** Elements, row-major. */
  data: A;
  /** Dimensions, outermost first. */
  shape: number[];
}

/** A zeroed array of `n` elements of the same float type as `like` (f64 stays f64). */
export function zerosLike<A extends FloatArray>(like: A, n: number): A {
  return (like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as A;
}

/** A copy of `values` in the float type of `like`. */
export function castLike<A extends FloatArray>(like: A, values: ArrayLike<number>): A {
  return (like instanceof Float64Array
    ? Float64Array.from(values)
    : Float32Array.from(values)) as A;
}

/** Options every kernel wrapper accepts. */
export interface KernelOptions {
  /** Profiler that records the kernel's passes. */
  profiler?: Profiler;
}

/** `ceil(a / b)` for positive integers. */
export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

/** The WGSL scalar type for a float dtype. */
export function floatType(dtype: DType, what: string): "f32" | "f16" {
  check(dtype === "f32" || dtype === "f16", `${what} must be f32 or f16, got ${dtype}`);
  return dtype;
}

/** `enable f16;` when any of the dtypes is f16. */
export function enables(...dtypes: DType[]): string {
  return dtypes.includes("f16") ? "enable f16;\n" : "";
}

/** Checks a tensor's rank and returns its shape. */
export function dims(t: Tensor, name: string, ranks: number[]): readonly number[] {
  check(
    ranks.includes(t.shape.length),
    `${name} must have rank ${ranks.join(" or ")}, got shape [${t.shape.join(", ")}]`,
  );
  return t.shape;
}

/** Checks that two tensors live on the same device (or both on the CPU). */
export function sameDevice(a: Tensor, b: Tensor, what: string): void {
  check(a.isCpu === b.isCpu && (a.isCpu || a.gpu === b.gpu), `${what} are on different devices`, {
    hint: "create all tensors the same way: from one getDevice() context, or all on the CPU",
  });
}

/** A CPU tensor's data as a reference-kernel input (f32 and f16 are stored as f32 values). */
export function hostOf(t: Tensor): HostTensor {
  const data = t.host;
  return {
    data: data instanceof Float32Array ? data : Float32Array.from(data),
    shape: [...t.shape],
  };
}

/** A CPU tensor from reference output (rounded to half precision for f16). */
export function cpuTensor(
  h: HostTensor | { data: ArrayLike<number>; shape: number[] },
  dtype: DType,
): Tensor {
  return Tensor.fromArray(h.data, { shape: h.shape, dtype, gpu: null });
}

/** A 2-D grid covering `n` workgroups with at most 65535 per dimension: [x, y]. */
export function grid(n: number): [number, number] {
  const x = Math.min(n, 65535);
  return [Math.max(x, 1), Math.max(1, ceilDiv(n, 65535))];
}

/** Checks that every given tensor is f32 (the training kernels' only dtype). */
export function f32Only(ts: (Tensor | undefined)[], what: string): void {
  for (const t of ts) {
    if (t) {
      check(t.dtype === "f32", `${what} needs f32 tensors, got ${t.dtype}`, {
        hint: "training keeps weights, activations and gradients in f32",
      });
    }
  }
}

/** Checks that two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[], what: string): void {
  check(
    a.length === b.length && a.every((d, i) => d === b[i]),
    `${what} must have the same shape, got [${a.join(", ")}] and [${b.join(", ")}]`,
  );
}

/** Workgroup arrays that {@linkcode rowMaxSumWgsl} reduces into (workgroup size 256). */
export const ROW_STATS_WGSL: string = `var<workgroup> wm: array<f32, 256>;
var<workgroup> ws: array<f32, 256>;`;

/**
 * WGSL statements for a 256-thread workgroup that owns one row: each thread folds
 * `value` (a WGSL expression of `i`) for i = tid, tid + 256, … < `count` into an online
 * (max, Σ exp(x − max)), then a tree reduction leaves the row's max in `wm[0]` and the sum
 * in `ws[0]`. Used by softmax and the cross-entropy kernels.
 */
export function rowMaxSumWgsl(count: string, value: string): string {
  return `  var m = -3.0e38;
  var s = 0.0;
  for (var i = tid; i < ${count}; i += 256u) {
    let v = ${value};
    let mn = max(m, v);
    s = s * exp(m - mn) + exp(v - mn);
    m = mn;
  }
  wm[tid] = m;
  ws[tid] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (tid < k) {
      let m2 = wm[tid + k];
      let mn = max(wm[tid], m2);
      ws[tid] = ws[tid] * exp(wm[tid] - mn) + ws[tid + k] * exp(m2 - mn);
      wm[tid] = mn;
    }
    workgroupBarrier();
  }`;
}
