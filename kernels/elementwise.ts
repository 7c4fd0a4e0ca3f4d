/**
 * Small generic kernels — element-wise unary and broadcasting binary ops, a row reduction and
 * rotate-half — each one pass that reads its inputs from and writes its output to global
 * memory, the way an eager framework runs one op at a time. Composed, they give the unfused
 * baselines of RMSNorm, SwiGLU and RoPE ({@linkcode rmsnormUnfused}, {@linkcode swigluUnfused},
 * {@linkcode ropeUnfused}) that the fused kernels are measured against.
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
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
} from "./_common.ts";

/** Element-wise unary ops of {@linkcode unary}; `addScalar`/`mulScalar` use `options.scalar`. */
export type UnaryOp =
  | "copy"
  | "neg"
  | "square"
  | "rsqrt"
  | "exp"
  | "silu"
  | "addScalar"
  | "mulScalar";

/** Broadcasting binary ops of {@linkcode binary}. */
export type BinaryOp = "add" | "sub" | "mul" | "div";

/** Reductions of {@linkcode rowReduce} over the last dimension. */
export type ReduceOp = "sum" | "mean" | "max";

const UNARY: Record<UnaryOp, (x: string) => string> = {
  copy: (x) => x,
  neg: (x) => `-${x}`,
  square: (x) => `${x} * ${x}`,
  rsqrt: (x) => `inverseSqrt(${x})`,
  exp: (x) => `exp(${x})`,
  silu: (x) => `${x} / (1.0 + exp(-${x}))`,
  addScalar: (x) => `${x} + params.scalar`,
  mulScalar: (x) => `${x} * params.scalar`,
};

const UNARY_CPU: Record<UnaryOp, (x: number, c: number) => number> = {
  copy: (x) => x,
  neg: (x) => -x,
  square: (x) => x * x,
  rsqrt: (x) => 1 / Math.sqrt(x),
  exp: (x) => Math.exp(x),
  silu: (x) => x / (1 + Math.exp(-x)),
  addScalar: (x, c) => x + c,
  mulScalar: (x, c) => x * c,
};

const BINARY: Record<BinaryOp, string> = { add: "+", sub: "-", mul: "*", div: "/" };

const BINARY_CPU: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};

const UNARY_PARAMS = `struct Params { n: u32, gridX: u32, scalar: f32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

const BINARY_PARAMS = `struct Params { n: u32, gridX: u32, shape: vec4u, bstride: vec4u }
@group(0) @binding(0) var<uniform> params: Params;
`;

const ROWS_PARAMS = `struct Params { rows: u32, D: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

function checkOp<T extends string>(op: T, table: Record<T, unknown>, what: string): void {
  check(
    typeof op === "string" && Object.hasOwn(table, op),
    `unknown ${what} op "${op}"; use one of ${Object.keys(table).join(", ")}`,
  );
}

/**
 * WGSL source of an element-wise unary op: one thread per element, math in f32.
 *
 * @example
 * ```ts
 * import { unaryWgsl } from "@tokenlab/tokenlab/kernels";
 * console.log(unaryWgsl({ op: "rsqrt" }).includes("inverseSqrt"));
 * ```
 */
export function unaryWgsl(config: { op: UnaryOp; dtype?: "f32" | "f16" }): string {
  checkOp(config.op, UNARY, "unary");
  const T = config.dtype ?? "f32";
  return `${enables(T)}${UNARY_PARAMS}
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.n) { return; }
  let v = f32(x[i]);
  out[i] = ${T}(${UNARY[config.op]("v")});
}
`;
}

/** Options of {@linkcode unary} and {@linkcode unaryReference}. */
export interface UnaryOptions extends KernelOptions {
  /** The op. */
  op: UnaryOp;
  /** The constant of `addScalar` and `mulScalar` (default 0). */
  scalar?: number;
}

/**
 * Applies a unary op element-wise on the GPU (one kernel, one read and one write per element);
 * returns a new tensor of the same shape and dtype.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { unary } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const x = Tensor.fromArray([1, 4], { shape: [2], gpu });
 * console.log(await (await unary(x, { op: "rsqrt" })).toArray()); // [1, 0.5]
 * ```
 */
export async function unary(x: Tensor, options: UnaryOptions): Promise<Tensor> {
  checkOp(options?.op, UNARY, "unary");
  const dtype = floatType(x.dtype, "unary input x");
  if (x.isCpu) return cpuTensor(unaryReference(hostOf(x), options), dtype);
  const gpu = x.gpu;
  const pipeline = await gpu.pipelines.get(unaryWgsl({ op: options.op, dtype }), {
    label: `unary.${options.op}`,
  });
  const [gx, gy] = grid(ceilDiv(x.size, 256));
  const params = gpu.uniformBuffer(UNARY_PARAMS, {
    n: x.size,
    gridX: gx,
    scalar: options.scalar ?? 0,
  });
  const out = Tensor.empty(x.shape, { dtype, gpu });
  gpu.run([{
    pipeline,
    label: `unary.${options.op}`,
    bindings: [{ buffer: params }, bind(x), bind(out)],
    workgroups: [x.size ? gx : 0, gy],
  }], { profiler: options.profiler, release: [params] });
  return out;
}

/**
 * CPU reference of {@linkcode unary}.
 *
 * @example
 * ```ts
 * import { unaryReference } from "@tokenlab/tokenlab/kernels";
 * const y = unaryReference({ data: new Float32Array([1, -2]), shape: [2] }, { op: "square" });
 * console.log(y.data); // [1, 4]
 * ```
 */
export function unaryReference(x: HostTensor, options: UnaryOptions): HostTensor {
  checkOp(options?.op, UNARY, "unary");
  const f = UNARY_CPU[options.op], c = options.scalar ?? 0;
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i], c);
  return { data: out, shape: [...x.shape] };
}

/**
 * The element strides of `b` broadcast against `a` (NumPy rules, b's dims aligned right, each
 * equal to a's or 1), padded on the left to 4 dims; a's shape padded the same way.
 */
function broadcast(
  a: readonly number[],
  b: readonly number[],
): { shape: number[]; bstride: number[] } {
  check(a.length <= 4, `binary supports tensors of rank ≤ 4, got a of shape [${a.join(", ")}]`);
  check(
    b.length <= a.length,
    `binary broadcasts b onto a, so b's rank must not exceed a's: [${b.join(", ")}] vs [${
      a.join(", ")
    }]`,
  );
  const shape = [...Array(4 - a.length).fill(1), ...a];
  const bs = [...Array(4 - b.length).fill(1), ...b];
  const bstride = [0, 0, 0, 0];
  let stride = 1;
  for (let d = 3; d >= 0; d--) {
    check(
      bs[d] === shape[d] || bs[d] === 1,
      `binary cannot broadcast b of shape [${b.join(", ")}] onto a of shape [${a.join(", ")}]`,
      { hint: "each of b's dimensions (aligned right) must equal a's or be 1" },
    );
    bstride[d] = bs[d] === 1 ? 0 : stride;
    stride *= bs[d];
  }
  return { shape, bstride };
}

/**
 * WGSL source of a broadcasting binary op: one thread per output element; the index into `b`
 * comes from the element's coordinates and b's strides (0 along broadcast dimensions).
 *
 * @example
 * ```ts
 * import { binaryWgsl } from "@tokenlab/tokenlab/kernels";
 * console.log(binaryWgsl({ op: "mul" }).includes("bstride"));
 * ```
 */
export function binaryWgsl(config: { op: BinaryOp; dtype?: "f32" | "f16" }): string {
  checkOp(config.op, BINARY, "binary");
  const T = config.dtype ?? "f32";
  return `${enables(T)}${BINARY_PARAMS}
@group(0) @binding(1) var<storage, read> a: array<${T}>;
@group(0) @binding(2) var<storage, read> b: array<${T}>;
@group(0) @binding(3) var<storage, read_write> out: array<${T}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.n) { return; }
  var r = i;
  let c3 = r % params.shape.w;
  r = r / params.shape.w;
  let c2 = r % params.shape.z;
  r = r / params.shape.z;
  let c1 = r % params.shape.y;
  let c0 = r / params.shape.y;
  let j = c0 * params.bstride.x + c1 * params.bstride.y + c2 * params.bstride.z +
    c3 * params.bstride.w;
  out[i] = ${T}(f32(a[i]) ${BINARY[config.op]} f32(b[j]));
}
`;
}

/** Inputs of {@linkcode binary}: `b` is broadcast onto `a`'s shape. */
export interface BinaryInputs<T> {
  /** Left operand; gives the output shape. */
  a: T;
  /** Right operand, of a shape that broadcasts to a's (e.g. [D] or [rows, 1] against [rows, D]). */
  b: T;
}

/** Options of {@linkcode binary} and {@linkcode binaryReference}. */
export interface BinaryOptions extends KernelOptions {
  /** The op. */
  op: BinaryOp;
}

/**
 * `a op b` element-wise on the GPU with `b` broadcast onto `a` (rank ≤ 4); one kernel.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { binary } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const a = Tensor.fromArray([1, 2, 3, 4], { shape: [2, 2], gpu });
 * const b = Tensor.fromArray([10, 100], { shape: [2, 1], gpu });
 * console.log(await (await binary({ a, b }, { op: "mul" })).toArray()); // [10, 20, 300, 400]
 * ```
 */
export async function binary(
  inputs: BinaryInputs<Tensor>,
  options: BinaryOptions,
): Promise<Tensor> {
  checkOp(options?.op, BINARY, "binary");
  const { a, b } = inputs;
  const dtype = floatType(a.dtype, "binary input a");
  check(b.dtype === dtype, `binary b must be ${dtype} like a, got ${b.dtype}`);
  sameDevice(a, b, "binary a and b");
  const { shape, bstride } = broadcast(a.shape, b.shape);
  if (a.isCpu) return cpuTensor(binaryReference({ a: hostOf(a), b: hostOf(b) }, options), dtype);
  const gpu = a.gpu;
  const pipeline = await gpu.pipelines.get(binaryWgsl({ op: options.op, dtype }), {
    label: `binary.${options.op}`,
  });
  const [gx, gy] = grid(ceilDiv(a.size, 256));
  const params = gpu.uniformBuffer(BINARY_PARAMS, { n: a.size, gridX: gx, shape, bstride });
  const out = Tensor.empty(a.shape, { dtype, gpu });
  gpu.run([{
    pipeline,
    label: `binary.${options.op}`,
    bindings: [{ buffer: params }, bind(a), bind(b), bind(out)],
    workgroups: [a.size ? gx : 0, gy],
  }], { profiler: options.profiler, release: [params] });
  return out;
}

/**
 * CPU reference of {@linkcode binary}.
 *
 * @example
 * ```ts
 * import { binaryReference } from "@tokenlab/tokenlab/kernels";
 * const y = binaryReference({
 *   a: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] },
 *   b: { data: new Float32Array([1, 2]), shape: [2] },
 * }, { op: "sub" });
 * console.log(y.data); // [0, 0, 2, 2]
 * ```
 */
export function binaryReference(
  inputs: BinaryInputs<HostTensor>,
  options: BinaryOptions,
): HostTensor {
  checkOp(options?.op, BINARY, "binary");
  const { a, b } = inputs;
  const { shape, bstride } = broadcast(a.shape, b.shape);
  const f = BINARY_CPU[options.op];
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    let r = i, j = 0;
    for (let d = 3; d >= 0; d--) {
      j += (r % shape[d]) * bstride[d];
      r = Math.floor(r / shape[d]);
    }
    out[i] = f(a.data[i], b.data[j]);
  }
  return { data: out, shape: [...a.shape] };
}

/**
 * WGSL source of a reduction over the last dimension: one 256-thread workgroup per row, a
 * strided pass per thread then a tree in workgroup memory.
 *
 * @example
 * ```ts
 * import { rowReduceWgsl } from "@tokenlab/tokenlab/kernels";
 * console.log(rowReduceWgsl({ op: "mean" }).includes("workgroupBarrier"));
 * ```
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
  return `${enables(T)}${ROWS_PARAMS}
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
  const gpu = x.gpu;
  const pipeline = await gpu.pipelines.get(rowReduceWgsl({ op: options.op, dtype }), {
    label: `reduce.${options.op}`,
  });
  const [gx, gy] = grid(rows);
  const params = gpu.uniformBuffer(ROWS_PARAMS, { rows, D, gridX: gx });
  const out = Tensor.empty(outShape, { dtype, gpu });
  gpu.run([{
    pipeline,
    label: `reduce.${options.op}`,
    bindings: [{ buffer: params }, bind(x), bind(out)],
    workgroups: [rows ? gx : 0, gy],
  }], { profiler: options.profiler, release: [params] });
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

/**
 * WGSL source of rotate-half, `cat(−x[..., D/2:], x[..., :D/2])` over the last dimension: one
 * thread per output element.
 *
 * @example
 * ```ts
 * import { rotateHalfWgsl } from "@tokenlab/tokenlab/kernels";
 * console.log(rotateHalfWgsl().length > 0);
 * ```
 */
export function rotateHalfWgsl(config: { dtype?: "f32" | "f16" } = {}): string {
  const T = config.dtype ?? "f32";
  return `${enables(T)}${ROWS_PARAMS}
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
  const gpu = x.gpu;
  const pipeline = await gpu.pipelines.get(rotateHalfWgsl({ dtype }), { label: "rotate_half" });
  const [gx, gy] = grid(ceilDiv(x.size, 256));
  const params = gpu.uniformBuffer(ROWS_PARAMS, { rows, D, gridX: gx });
  const out = Tensor.empty(x.shape, { dtype, gpu });
  gpu.run([{
    pipeline,
    label: "rotate_half",
    bindings: [{ buffer: params }, bind(x), bind(out)],
    workgroups: [x.size ? gx : 0, gy],
  }], { profiler: options.profiler, release: [params] });
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

/** Inputs of {@linkcode rmsnormUnfused}: x [..., D] and weight [D]. */
export interface RmsnormUnfusedInputs {
  /** Activations. */
  x: Tensor;
  /** Per-feature scale. */
  weight: Tensor;
}

/** Options of {@linkcode rmsnormUnfused}. */
export interface RmsnormUnfusedOptions extends KernelOptions {
  /** Added to the mean square (default 1e-6). */
  eps?: number;
}

/**
 * RMSNorm as eager PyTorch runs HF's `LlamaRMSNorm`: six kernels, each through global memory —
 * `x²` → row mean → `+ eps` → rsqrt → `x · r` (broadcast) → `· weight` (broadcast). Same result
 * as the fused {@linkcode rmsnorm}; the baseline it is timed against.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { rmsnormUnfused } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const x = Tensor.fromArray([3, 4], { shape: [1, 2], gpu });
 * const weight = Tensor.fromArray([1, 1], { shape: [2], gpu });
 * console.log(await (await rmsnormUnfused({ x, weight }, { eps: 0 })).toArray());
 * ```
 */
export async function rmsnormUnfused(
  inputs: RmsnormUnfusedInputs,
  options: RmsnormUnfusedOptions = {},
): Promise<Tensor> {
  const { x, weight } = inputs;
  const D = x.shape.at(-1) ?? 0;
  check(
    weight.shape.length === 1 && weight.shape[0] === D,
    `rmsnormUnfused weight must have shape [${D}], got [${weight.shape.join(", ")}]`,
  );
  const p = options.profiler;
  const sq = await unary(x, { op: "square", profiler: p });
  const ms = await rowReduce(sq, { op: "mean", profiler: p });
  sq.release();
  const mse = await unary(ms, { op: "addScalar", scalar: options.eps ?? 1e-6, profiler: p });
  ms.release();
  const r = await unary(mse, { op: "rsqrt", profiler: p });
  mse.release();
  const xn = await binary({ a: x, b: r }, { op: "mul", profiler: p });
  r.release();
  const out = await binary({ a: xn, b: weight }, { op: "mul", profiler: p });
  xn.release();
  return out;
}

/**
 * SwiGLU as eager PyTorch runs it: `silu(gate)` then `· up`, two kernels through global
 * memory. Same result as the fused {@linkcode swiglu}.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { swigluUnfused } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const gate = Tensor.fromArray([0, 1], { shape: [2], gpu });
 * const up = Tensor.fromArray([5, 2], { shape: [2], gpu });
 * console.log(await (await swigluUnfused({ gate, up })).toArray()); // [0, 1.4621…]
 * ```
 */
export async function swigluUnfused(
  inputs: { gate: Tensor; up: Tensor },
  options: KernelOptions = {},
): Promise<Tensor> {
  const { gate, up } = inputs;
  check(
    gate.shape.length === up.shape.length && gate.shape.every((d, i) => d === up.shape[i]),
    `swigluUnfused gate and up must have the same shape, got [${gate.shape.join(", ")}] and [${
      up.shape.join(", ")
    }]`,
  );
  const s = await unary(gate, { op: "silu", profiler: options.profiler });
  const out = await binary({ a: s, b: up }, { op: "mul", profiler: options.profiler });
  s.release();
  return out;
}

/** Options of {@linkcode ropeTables}. */
export interface RopeTablesOptions {
  /** Head dimension (even). */
  headDim: number;
  /** Frequency base θ (default 10000). */
  base?: number;
}

/**
 * The cos and sin tables of HF's rotary embedding for the half-split layout, each
 * [tokens, 1, headDim] (`cat(freqs, freqs)` with `freqs = position · θ^(−2i/headDim)`), to
 * broadcast over heads in {@linkcode ropeUnfused}. HF computes them once per forward and
 * shares them across layers.
 *
 * @example
 * ```ts
 * import { ropeTables } from "@tokenlab/tokenlab/kernels";
 * const { cos, sin } = ropeTables([0, 1], { headDim: 2 });
 * console.log(cos.data, sin.data); // [1, 1, cos 1, cos 1], [0, 0, sin 1, sin 1]
 * ```
 */
export function ropeTables(
  positions: ArrayLike<number>,
  options: RopeTablesOptions,
): { cos: HostTensor; sin: HostTensor } {
  const D = options?.headDim;
  check(
    Number.isInteger(D) && D > 0 && D % 2 === 0,
    `ropeTables headDim must be a positive even integer, got ${D}`,
  );
  const base = options.base ?? 10000, S = positions.length, h = D / 2;
  const cos = new Float32Array(S * D), sin = new Float32Array(S * D);
  for (let t = 0; t < S; t++) {
    check(
      Number.isFinite(positions[t]),
      `ropeTables position ${t} is ${positions[t]}, not a number`,
    );
    for (let i = 0; i < h; i++) {
      const a = positions[t] * Math.pow(base, -(2 * i) / D);
      cos[t * D + i] = cos[t * D + i + h] = Math.cos(a);
      sin[t * D + i] = sin[t * D + i + h] = Math.sin(a);
    }
  }
  return { cos: { data: cos, shape: [S, 1, D] }, sin: { data: sin, shape: [S, 1, D] } };
}

/** Inputs of {@linkcode ropeUnfused}: x [tokens, heads, D], cos and sin [tokens, 1, D]. */
export interface RopeUnfusedInputs {
  /** Queries or keys. */
  x: Tensor;
  /** Cosine table from {@linkcode ropeTables}, uploaded. */
  cos: Tensor;
  /** Sine table from {@linkcode ropeTables}, uploaded. */
  sin: Tensor;
}

/**
 * RoPE as eager PyTorch runs HF's `apply_rotary_pos_emb` on one tensor: `x · cos`,
 * `rotate_half(x)`, `· sin`, add — four kernels through global memory (five in PyTorch, whose
 * rotate_half is a negation and a concatenation). Same result as {@linkcode rope} with the
 * half layout.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { ropeTables, ropeUnfused } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const t = ropeTables([1], { headDim: 2 });
 * const cos = Tensor.fromArray(t.cos.data, { shape: t.cos.shape, gpu });
 * const sin = Tensor.fromArray(t.sin.data, { shape: t.sin.shape, gpu });
 * const x = Tensor.fromArray([1, 0], { shape: [1, 1, 2], gpu });
 * console.log(await (await ropeUnfused({ x, cos, sin })).toArray()); // [cos 1, sin 1]
 * ```
 */
export async function ropeUnfused(
  inputs: RopeUnfusedInputs,
  options: KernelOptions = {},
): Promise<Tensor> {
  const { x, cos, sin } = inputs;
  check(
    x.shape.length === 3,
    `ropeUnfused x must be [tokens, heads, D], got [${x.shape.join(", ")}]`,
  );
  const [S, , D] = x.shape;
  for (const [name, t] of [["cos", cos], ["sin", sin]] as const) {
    check(
      t.shape.length === 3 && t.shape[0] === S && t.shape[1] === 1 && t.shape[2] === D,
      `ropeUnfused ${name} must be [${S}, 1, ${D}], got [${t.shape.join(", ")}]`,
      { hint: "build the tables with ropeTables(positions, { headDim })" },
    );
  }
  const p = options.profiler;
  const xc = await binary({ a: x, b: cos }, { op: "mul", profiler: p });
  const rh = await rotateHalf(x, { profiler: p });
  const rs = await binary({ a: rh, b: sin }, { op: "mul", profiler: p });
  rh.release();
  const out = await binary({ a: xc, b: rs }, { op: "add", profiler: p });
  xc.release();
  rs.release();
  return out;
}
