/**
 * Element-wise maps, one pass that reads its inputs from and writes its output to global
 * memory, the way an eager framework runs one op at a time: unary ops and broadcasting binary
 * ops. With {@linkcode rowReduce} and {@linkcode rotateHalf} they make the unfused baselines in
 * `unfused_baselines.ts`.
 *
 * @example
 * ```ts
 * import { binaryReference, unaryReference } from "@tokenlab/tokenlab/kernels";
 * const x = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
 * const sq = unaryReference(x, { op: "square" }); // [1, 4, 9, 16]
 * const b = { data: new Float32Array([1, 10]), shape: [2] };
 * console.log(binaryReference({ a: sq, b }, { op: "mul" }).data); // [1, 40, 9, 160]
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

function checkOp<T extends string>(op: T, table: Record<T, unknown>, what: string): void {
  check(
    typeof op === "string" && Object.hasOwn(table, op),
    `unknown ${what} op "${op}"; use one of ${Object.keys(table).join(", ")}`,
  );
}

/**
 * WGSL source of an element-wise unary op: one thread per element, math in f32.
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
  const [gx, gy] = grid(ceilDiv(x.size, 256));
  const { out } = await dispatch(x.gpu, {
    label: `unary.${options.op}`,
    source: unaryWgsl({ op: options.op, dtype }),
    uniforms: { n: x.size, gridX: gx, scalar: options.scalar ?? 0 },
    bindings: { x },
    outputs: { out: { shape: x.shape, dtype } },
    workgroups: [x.size ? gx : 0, gy],
    profiler: options.profiler,
  });
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
  const [gx, gy] = grid(ceilDiv(a.size, 256));
  const { out } = await dispatch(a.gpu, {
    label: `binary.${options.op}`,
    source: binaryWgsl({ op: options.op, dtype }),
    uniforms: { n: a.size, gridX: gx, shape, bstride },
    bindings: { a, b },
    outputs: { out: { shape: a.shape, dtype } },
    workgroups: [a.size ? gx : 0, gy],
    profiler: options.profiler,
  });
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
