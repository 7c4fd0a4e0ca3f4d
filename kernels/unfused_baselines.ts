/**
 * Unfused baselines of RMSNorm, SwiGLU and RoPE: the kernel sequences eager PyTorch runs for
 * HF Llama's modules, composed from the one-op kernels ({@linkcode unary}, {@linkcode binary},
 * {@linkcode rowReduce}, {@linkcode rotateHalf}), each op a pass through global memory. They
 * give the same results as the fused {@linkcode rmsnorm}, {@linkcode swiglu} and
 * {@linkcode rope}, which are timed against them (P14, `notebooks/14-chronicals.ipynb`).
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { rmsnorm, rmsnormUnfused } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const x = Tensor.fromArray([3, 4], { shape: [1, 2], gpu });
 * const weight = Tensor.fromArray([1, 1], { shape: [2], gpu });
 * const fused = await rmsnorm({ x, weight }, { eps: 0 });
 * const eager = await rmsnormUnfused({ x, weight }, { eps: 0 }); // six kernels
 * console.log(await fused.out.toArray(), await eager.toArray());
 * ```
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import type { Tensor } from "../lib/gpu/mod.ts";
import type { HostTensor, KernelOptions } from "./_common.ts";
import { binary, unary } from "./elementwise.ts";
import { rowReduce } from "./row_reduce.ts";
import { rotateHalf } from "./rotate_half.ts";
import { ropeFrequencies } from "./_rope_freq.ts";

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
  /** Frequency base θ (default 10000), as HF configs' `rope_theta`. */
  theta?: number;
  /** @deprecated Use `theta`. */
  base?: number;
}

/**
 * The cos and sin tables of HF's rotary embedding for the half-split layout (the frequencies of
 * {@linkcode ropeReference}), each
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
  const S = positions.length, h = D / 2;
  const inv = ropeFrequencies(D, options.theta ?? options.base ?? 10000); // those of ropeReference
  const cos = new Float32Array(S * D), sin = new Float32Array(S * D);
  for (let t = 0; t < S; t++) {
    check(
      Number.isFinite(positions[t]),
      `ropeTables position ${t} is ${positions[t]}, not a number`,
    );
    for (let i = 0; i < h; i++) {
      const a = positions[t] * inv[i];
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
