/**
 * The model runtime's CPU linear layer and SiLU. The other CPU ops live once, with their kernels,
 * as `…Reference` in `@tokenlab/tokenlab/kernels` (`rmsnormReference`, `ropeReference`,
 * `flashAttentionReference`, `sampleReference`, …); `rmsNorm` and `applyRope` remain here as
 * deprecated aliases of them, and `ropeInvFreq` is re-exported from `kernels/rope.ts`.
 *
 * @module
 */
import type { RopeScaling } from "../config.ts";
import { matmulNT } from "./matmul.ts";
import { rmsnormReference } from "../../../kernels/rmsnorm.ts";
import { ropeBackwardReference, ropeReference } from "../../../kernels/rope.ts";

/**
 * y[s, o] = sum_i x[s, i] * w[o, i] (+ b[o]) — a linear layer with HF's [out, in] weight layout.
 *
 * @example
 * ```ts
 * import { linear } from "@tokenlab/tokenlab/models";
 * console.log(linear(new Float32Array([1, 2]), new Float32Array([3, 4]), { seq: 1, inDim: 2, outDim: 1 }));
 * ```
 */
export function linear(
  x: Float32Array,
  w: Float32Array,
  opts: { seq: number; inDim: number; outDim: number; bias?: Float32Array },
): Float32Array {
  const { seq, inDim, outDim, bias } = opts;
  const y = matmulNT(new Float32Array(seq * outDim), { x, w, rows: seq, inDim, outDim });
  if (bias) {
    for (let s = 0; s < seq; s++) for (let o = 0; o < outDim; o++) y[s * outDim + o] += bias[o];
  }
  return y;
}

export { ropeInvFreq } from "../../../kernels/rope.ts";

/**
 * RMSNorm per row: x * rsqrt(mean(x²) + eps) * weight.
 *
 * @deprecated Use `rmsnormReference` from `@tokenlab/tokenlab/kernels`, the one CPU RMSNorm
 * (this alias calls it).
 *
 * @example
 * ```ts
 * import { rmsNorm } from "@tokenlab/tokenlab/models";
 * console.log(rmsNorm(new Float32Array([3, 4]), new Float32Array([1, 1]), { eps: 1e-6 }));
 * ```
 */
export function rmsNorm(
  x: Float32Array,
  weight: Float32Array,
  opts: { eps: number },
): Float32Array {
  const d = weight.length;
  return rmsnormReference({
    x: { data: x, shape: [x.length / d, d] },
    weight: { data: weight, shape: [d] },
  }, { eps: opts.eps }).out.data;
}

/**
 * Applies RoPE in place (HF rotate_half, half-split) to x laid out [seq, heads, headDim].
 * Pass `scaling` for scaled RoPE; `theta` defaults to 10000.
 *
 * @deprecated Use `ropeReference` (and `ropeBackwardReference` for `inverse`) from
 * `@tokenlab/tokenlab/kernels`, the one CPU RoPE (this alias calls them).
 *
 * @example
 * ```ts
 * import { applyRope } from "@tokenlab/tokenlab/models";
 * const x = new Float32Array([1, 0]);
 * applyRope(x, { positions: [1], heads: 1, headDim: 2, theta: 10000 });
 * console.log(x);
 * ```
 */
export function applyRope(
  x: Float32Array,
  opts: {
    positions: ArrayLike<number>;
    heads: number;
    headDim: number;
    theta?: number;
    scaling?: RopeScaling | null;
    inverse?: boolean;
  },
): void {
  const t = {
    data: x,
    shape: [opts.positions.length, opts.heads, opts.headDim],
  };
  const o = { theta: opts.theta ?? 10000, scaling: opts.scaling };
  const r = opts.inverse
    ? ropeBackwardReference({ dy: t, positions: opts.positions }, o)
    : ropeReference({ x: t, positions: opts.positions }, o);
  x.set(r.data);
}

/**
 * SiLU: x * sigmoid(x).
 *
 * @example
 * ```ts
 * import { silu } from "@tokenlab/tokenlab/models";
 * console.log(silu(1));
 * ```
 */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}
