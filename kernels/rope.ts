/**
 * Rotary position embedding (RoPE) with arbitrary position ids, in the half-split (GPT-NeoX,
 * Llama in HF) or interleaved (original GPT-J / Meta Llama) pair layout, optionally rotating
 * only the first `rotaryDim` features; q and k together in one kernel ({@linkcode ropeQk}); and
 * the backward, the inverse rotation ({@linkcode ropeBackward}).
 *
 * @example
 * ```ts
 * import { ropeBackwardReference, ropeReference } from "@tokenlab/tokenlab/kernels";
 * const x = { data: new Float32Array([1, 0]), shape: [1, 1, 2] };
 * const y = ropeReference({ x, positions: [1] }); // [cos 1, sin 1]
 * console.log(ropeBackwardReference({ dy: y, positions: [1] }).data); // [1, 0]
 * ```
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  ceilDiv,
  cpuTensor,
  dims,
  enables,
  type FloatArray,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
} from "./_common.ts";
import { ropeFrequencies, type RopeScaling } from "./_rope_freq.ts";

export type { RopeScaling };

/** How the rotated pairs are laid out in a head: (i, i + R/2) or (2i, 2i + 1). */
export type RopeLayout = "half" | "interleaved";

/** Options of {@linkcode ropeInvFreq}. */
export interface RopeInvFreqOptions {
  /** Frequency base θ. */
  theta: number;
  /** Frequency scaling, or null / absent for plain RoPE. */
  scaling?: RopeScaling | null;
}

/**
 * RoPE inverse frequencies θ^(−2i/d), i < d/2, with optional "linear" or "llama3" scaling
 * (the formulas of HF transformers' rope initialisers), rounded to f32. The frequencies
 * {@linkcode ropeReference} rotates by (it keeps them in f64).
 *
 * @example
 * ```ts
 * import { ropeInvFreq } from "@tokenlab/tokenlab/kernels";
 * console.log(ropeInvFreq(8, { theta: 10000, scaling: { type: "linear", factor: 2 } }));
 * ```
 */
export function ropeInvFreq(headDim: number, options: RopeInvFreqOptions): Float32Array {
  return Float32Array.from(ropeFrequencies(headDim, options.theta, options.scaling));
}

const PARAMS_WGSL =
  `struct Params { rows: u32, heads: u32, D: u32, R: u32, log2Base: f32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of RoPE: one thread per pair of features of one (token, head) row; pairs past
 * `rotaryDim` are copied unchanged.
 */
export function ropeWgsl(config: { dtype?: "f32" | "f16"; layout?: RopeLayout } = {}): string {
  const T = config.dtype ?? "f32";
  const half = (config.layout ?? "half") === "half";
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read> pos: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${T}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let g = (wg.x + wg.y * params.gridX) * 256u + tid;
  let pairs = params.D / 2u;
  let row = g / pairs;
  let i = g % pairs;
  if (row >= params.rows) { return; }
  let base = row * params.D;
  let halfR = params.R / 2u;
  if (i >= halfR) {
    let j = params.R + 2u * (i - halfR);
    out[base + j] = x[base + j];
    out[base + j + 1u] = x[base + j + 1u];
    return;
  }
  let p = f32(pos[row / params.heads]);
  let invFreq = exp2(-f32(2u * i) / f32(params.R) * params.log2Base);
  let angle = p * invFreq;
  let c = cos(angle);
  let s = sin(angle);
  let i0 = base + ${half ? "i" : "2u * i"};
  let i1 = base + ${half ? "i + halfR" : "2u * i + 1u"};
  let a = f32(x[i0]);
  let b = f32(x[i1]);
  out[i0] = ${T}(a * c - b * s);
  out[i1] = ${T}(b * c + a * s);
}
`;
}

/** The default f32 half-split RoPE source. */
export const ROPE_WGSL: string = ropeWgsl();

/** Inputs of {@linkcode rope}: x [tokens, heads, headDim], one position per token. */
export interface RopeInputs<T> {
  /** Queries or keys, [tokens, heads, headDim]. */
  x: T;
  /** Position id of each token (any integers, e.g. tree depths or packed offsets). */
  positions: ArrayLike<number>;
}

/** Options of {@linkcode rope}. */
export interface RopeOptions extends KernelOptions {
  /** Frequency base θ (default 10000), as HF configs' `rope_theta`. */
  theta?: number;
  /** @deprecated Use `theta` (one name for the frequency base across the library). */
  base?: number;
  /** Pair layout (default "half"). */
  layout?: RopeLayout;
  /** Features rotated, from the start of each head (default headDim; must be even). */
  rotaryDim?: number;
  /**
   * Frequency scaling (see {@linkcode ropeInvFreq}); the CPU references apply it, the GPU
   * kernels refuse it.
   */
  scaling?: RopeScaling | null;
}

function noScalingOnGpu(options: RopeOptions, what: string): void {
  check(
    !options.scaling,
    `${what}: ${options.scaling?.type} rope scaling is not implemented in the GPU kernel`,
    { hint: "run scaled RoPE on CPU tensors (ropeReference), or drop the scaling" },
  );
}

function ropeDims(shape: readonly number[], positions: number, options: RopeOptions) {
  const [tokens, heads, D] = shape;
  const R = options.rotaryDim ?? D;
  check(D % 2 === 0, `rope head dim must be even, got ${D}`);
  check(
    R % 2 === 0 && R > 0 && R <= D,
    `rope rotaryDim must be even and in (0, ${D}], got ${R}`,
  );
  check(positions === tokens, `rope needs one position per token: ${positions} vs ${tokens}`);
  return { tokens, heads, D, R };
}

/**
 * Applies RoPE on the GPU; returns a new tensor.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { rope } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const x = Tensor.fromArray([1, 0, 0, 1], { shape: [1, 1, 4], gpu });
 *   console.log(await (await rope({ x, positions: [3] })).toArray());
 * }
 * ```
 */
export async function rope(inputs: RopeInputs<Tensor>, options: RopeOptions = {}): Promise<Tensor> {
  const { x } = inputs;
  const dtype = floatType(x.dtype, "rope input x");
  const d = ropeDims(dims(x, "rope input x", [3]), inputs.positions.length, options);
  if (x.isCpu) {
    return cpuTensor(ropeReference({ x: hostOf(x), positions: inputs.positions }, options), dtype);
  }
  noScalingOnGpu(options, "rope");
  const rows = d.tokens * d.heads;
  const [gx, gy] = grid(ceilDiv(rows * (d.D / 2), 256));
  const { out } = await dispatch(x.gpu, {
    label: "rope",
    source: ropeWgsl({ dtype, layout: options.layout }),
    uniforms: {
      rows,
      heads: d.heads,
      D: d.D,
      R: d.R,
      log2Base: Math.log2(options.theta ?? options.base ?? 10000),
      gridX: gx,
    },
    bindings: { x, pos: Int32Array.from(inputs.positions) },
    outputs: { out: { shape: x.shape, dtype } },
    workgroups: [rows ? gx : 0, gy],
    profiler: options.profiler,
  });
  return out;
}

/**
 * CPU reference of {@linkcode rope} — the one CPU RoPE of tokenlab, used by the model runtime's
 * CPU backend (with `scaling`) and the tiny-LM trainer (forward, and backward through
 * {@linkcode ropeBackwardReference}). Angles in f64; the output has the input's float type.
 *
 * @example
 * ```ts
 * import { ropeReference } from "@tokenlab/tokenlab/kernels";
 * // head dim 2, position 1, base irrelevant for the first pair (frequency 1): rotate by 1 rad
 * const y = ropeReference({ x: { data: new Float32Array([1, 0]), shape: [1, 1, 2] }, positions: [1] });
 * console.log(y.data); // [cos 1, sin 1]
 * ```
 */
export function ropeReference<A extends FloatArray = Float32Array>(
  inputs: RopeInputs<HostTensor<A>>,
  options: RopeOptions = {},
): HostTensor<A> {
  const { x, positions } = inputs;
  const d = ropeDims(x.shape, positions.length, options);
  const half = (options.layout ?? "half") === "half";
  const inv = ropeFrequencies(d.R, options.theta ?? options.base ?? 10000, options.scaling);
  const out = x.data.slice() as A;
  const h2 = d.R / 2;
  for (let t = 0; t < d.tokens; t++) {
    for (let i = 0; i < h2; i++) {
      const angle = positions[t] * inv[i], c = Math.cos(angle), s = Math.sin(angle);
      const i0 = half ? i : 2 * i, i1 = half ? i + h2 : 2 * i + 1;
      for (let h = 0; h < d.heads; h++) {
        const o = (t * d.heads + h) * d.D;
        const a = x.data[o + i0], b = x.data[o + i1];
        out[o + i0] = a * c - b * s;
        out[o + i1] = b * c + a * s;
      }
    }
  }
  return { data: out, shape: [...x.shape] };
}

const QK_PARAMS_WGSL =
  `struct Params { tokens: u32, Hq: u32, Hk: u32, D: u32, R: u32, log2Base: f32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of the fused QK-RoPE: one thread per (token, feature pair) computes the angle,
 * its cosine and sine once, and rotates that pair in every query head and every key head —
 * one dispatch for both tensors, no cos/sin tables in memory.
 */
export function ropeQkWgsl(config: { dtype?: "f32" | "f16"; layout?: RopeLayout } = {}): string {
  const T = config.dtype ?? "f32";
  const half = (config.layout ?? "half") === "half";
  return `${enables(T)}${QK_PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> q: array<${T}>;
@group(0) @binding(2) var<storage, read> k: array<${T}>;
@group(0) @binding(3) var<storage, read> pos: array<i32>;
@group(0) @binding(4) var<storage, read_write> qo: array<${T}>;
@group(0) @binding(5) var<storage, read_write> ko: array<${T}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let g = (wg.x + wg.y * params.gridX) * 256u + tid;
  let pairs = params.D / 2u;
  let t = g / pairs;
  let i = g % pairs;
  if (t >= params.tokens) { return; }
  let halfR = params.R / 2u;
  if (i >= halfR) {
    let j = params.R + 2u * (i - halfR);
    for (var h = 0u; h < params.Hq; h++) {
      let b = (t * params.Hq + h) * params.D + j;
      qo[b] = q[b];
      qo[b + 1u] = q[b + 1u];
    }
    for (var h = 0u; h < params.Hk; h++) {
      let b = (t * params.Hk + h) * params.D + j;
      ko[b] = k[b];
      ko[b + 1u] = k[b + 1u];
    }
    return;
  }
  let angle = f32(pos[t]) * exp2(-f32(2u * i) / f32(params.R) * params.log2Base);
  let c = cos(angle);
  let s = sin(angle);
  let d0 = ${half ? "i" : "2u * i"};
  let d1 = ${half ? "i + halfR" : "2u * i + 1u"};
  for (var h = 0u; h < params.Hq; h++) {
    let b = (t * params.Hq + h) * params.D;
    let a = f32(q[b + d0]);
    let e = f32(q[b + d1]);
    qo[b + d0] = ${T}(a * c - e * s);
    qo[b + d1] = ${T}(e * c + a * s);
  }
  for (var h = 0u; h < params.Hk; h++) {
    let b = (t * params.Hk + h) * params.D;
    let a = f32(k[b + d0]);
    let e = f32(k[b + d1]);
    ko[b + d0] = ${T}(a * c - e * s);
    ko[b + d1] = ${T}(e * c + a * s);
  }
}
`;
}

/** Inputs of {@linkcode ropeQk}: q [tokens, Hq, D] and k [tokens, Hk, D], one position per token. */
export interface RopeQkInputs<T> {
  /** Queries. */
  q: T;
  /** Keys (same tokens and head dim as q; any number of heads). */
  k: T;
  /** Position id of each token. */
  positions: ArrayLike<number>;
}

/** Outputs of {@linkcode ropeQk}. */
export interface RopeQkResult<T> {
  /** Rotated queries. */
  q: T;
  /** Rotated keys. */
  k: T;
}

function qkDims(q: readonly number[], k: readonly number[], positions: number, o: RopeOptions) {
  check(
    q.length === 3 && k.length === 3 && q[0] === k[0] && q[2] === k[2],
    `ropeQk needs q [tokens, Hq, D] and k [tokens, Hk, D] with the same tokens and D, got [${
      q.join(", ")
    }] and [${k.join(", ")}]`,
  );
  const d = ropeDims(q, positions, o);
  return { ...d, Hq: q[1], Hk: k[1] };
}

/**
 * RoPE of queries and keys in one dispatch (fused QK-RoPE): the same result as
 * {@linkcode rope} on q and on k, with each angle's cosine and sine computed once per token
 * and pair and shared by all heads of both tensors.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { ropeQk } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const q = Tensor.fromArray([1, 0, 0, 1], { shape: [1, 2, 2], gpu });
 * const k = Tensor.fromArray([1, 0], { shape: [1, 1, 2], gpu });
 * const r = await ropeQk({ q, k, positions: [1] });
 * console.log(await r.q.toArray(), await r.k.toArray());
 * ```
 */
export async function ropeQk(
  inputs: RopeQkInputs<Tensor>,
  options: RopeOptions = {},
): Promise<RopeQkResult<Tensor>> {
  const { q, k } = inputs;
  const dtype = floatType(q.dtype, "ropeQk input q");
  check(k.dtype === dtype, `ropeQk k must be ${dtype} like q, got ${k.dtype}`);
  sameDevice(q, k, "ropeQk q and k");
  const d = qkDims(q.shape, k.shape, inputs.positions.length, options);
  if (q.isCpu) {
    const r = ropeQkReference({ q: hostOf(q), k: hostOf(k), positions: inputs.positions }, options);
    return { q: cpuTensor(r.q, dtype), k: cpuTensor(r.k, dtype) };
  }
  noScalingOnGpu(options, "ropeQk");
  const [gx, gy] = grid(ceilDiv(d.tokens * (d.D / 2), 256));
  const r = await dispatch(q.gpu, {
    label: "rope_qk",
    source: ropeQkWgsl({ dtype, layout: options.layout }),
    uniforms: {
      tokens: d.tokens,
      Hq: d.Hq,
      Hk: d.Hk,
      D: d.D,
      R: d.R,
      log2Base: Math.log2(options.theta ?? options.base ?? 10000),
      gridX: gx,
    },
    bindings: { q, k, pos: Int32Array.from(inputs.positions) },
    outputs: { qo: { shape: q.shape, dtype }, ko: { shape: k.shape, dtype } },
    workgroups: [d.tokens ? gx : 0, gy],
    profiler: options.profiler,
  });
  return { q: r.qo, k: r.ko };
}

/**
 * CPU reference of {@linkcode ropeQk}: {@linkcode ropeReference} on each tensor.
 *
 * @example
 * ```ts
 * import { ropeQkReference } from "@tokenlab/tokenlab/kernels";
 * const r = ropeQkReference({
 *   q: { data: new Float32Array([1, 0]), shape: [1, 1, 2] },
 *   k: { data: new Float32Array([0, 1]), shape: [1, 1, 2] },
 *   positions: [1],
 * });
 * console.log(r.q.data, r.k.data); // [cos 1, sin 1], [−sin 1, cos 1]
 * ```
 */
export function ropeQkReference<A extends FloatArray = Float32Array>(
  inputs: RopeQkInputs<HostTensor<A>>,
  options: RopeOptions = {},
): RopeQkResult<HostTensor<A>> {
  qkDims(inputs.q.shape, inputs.k.shape, inputs.positions.length, options);
  return {
    q: ropeReference({ x: inputs.q, positions: inputs.positions }, options),
    k: ropeReference({ x: inputs.k, positions: inputs.positions }, options),
  };
}

// ---------------------------------------------------------------------------------------------
// Backward

/** Inputs of {@linkcode ropeBackward}: the output gradient and the forward's positions. */
export interface RopeBackwardInputs<T> {
  /** Gradient with respect to the rotated tensor, [tokens, heads, headDim]. */
  dy: T;
  /** Position id of each token, as in the forward. */
  positions: ArrayLike<number>;
}

/**
 * Gradient of {@linkcode rope}: each pair was rotated by an orthogonal 2×2 matrix R(θ), so the
 * gradient is rotated back by R(θ)ᵀ = R(−θ) — the RoPE kernel run at the negated positions
 * (same options: base, layout, rotaryDim).
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { ropeBackward } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const dy = Tensor.fromArray([1, 0], { shape: [1, 1, 2], gpu });
 *   console.log(await (await ropeBackward({ dy, positions: [1] })).toArray()); // [cos 1, -sin 1]
 * }
 * ```
 */
export function ropeBackward(
  inputs: RopeBackwardInputs<Tensor>,
  options: RopeOptions = {},
): Promise<Tensor> {
  return rope({ x: inputs.dy, positions: negate(inputs.positions) }, options);
}

/**
 * CPU reference of {@linkcode ropeBackward}.
 *
 * @example
 * ```ts
 * import { ropeBackwardReference } from "@tokenlab/tokenlab/kernels";
 * const dy = { data: new Float32Array([1, 0]), shape: [1, 1, 2] };
 * console.log(ropeBackwardReference({ dy, positions: [1] }).data); // [cos 1, -sin 1]
 * ```
 */
export function ropeBackwardReference<A extends FloatArray = Float32Array>(
  inputs: RopeBackwardInputs<HostTensor<A>>,
  options: RopeOptions = {},
): HostTensor<A> {
  return ropeReference({ x: inputs.dy, positions: negate(inputs.positions) }, options);
}

function negate(positions: ArrayLike<number>): number[] {
  return Array.from(positions, (p) => -p);
}
