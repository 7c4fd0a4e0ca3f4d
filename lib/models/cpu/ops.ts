/**
 * CPU reference ops in f32 storage, following HF's order of operations.
 *
 * @module
 */
import type { RopeScaling } from "../config.ts";
import { matmulNT } from "./matmul.ts";

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

/**
 * RMSNorm per row: x * rsqrt(mean(x²) + eps) * weight.
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
  const rows = x.length / d;
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[r * d + i] * x[r * d + i];
    const inv = Math.fround(1 / Math.sqrt(Math.fround(Math.fround(ss / d) + opts.eps)));
    for (let i = 0; i < d; i++) y[r * d + i] = weight[i] * Math.fround(x[r * d + i] * inv);
  }
  return y;
}

/**
 * RoPE inverse frequencies theta^(-2i/d), i < d/2, with optional "linear" or "llama3" scaling
 * (the formulas of HF transformers' rope initialisers).
 *
 * @example
 * ```ts
 * import { ropeInvFreq } from "@tokenlab/tokenlab/models";
 * console.log(ropeInvFreq(8, { theta: 10000, scaling: { type: "linear", factor: 2 } }));
 * ```
 */
export function ropeInvFreq(
  headDim: number,
  opts: { theta: number; scaling?: RopeScaling | null },
): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(opts.theta, (2 * i) / headDim);
  const sc = opts.scaling;
  if (!sc) return inv;
  if (sc.type === "linear") {
    for (let i = 0; i < half; i++) inv[i] = inv[i] / sc.factor;
    return inv;
  }
  const low = sc.lowFreqFactor ?? 1, high = sc.highFreqFactor ?? 4;
  const old = sc.originalMaxPositionEmbeddings ?? 8192;
  const lowWavelen = old / low, highWavelen = old / high;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen < highWavelen) continue; // high frequency: unchanged
    if (wavelen > lowWavelen) {
      inv[i] = inv[i] / sc.factor; // low frequency: scaled
      continue;
    }
    const smooth = (old / wavelen - low) / (high - low);
    inv[i] = (1 - smooth) * (inv[i] / sc.factor) + smooth * inv[i];
  }
  return inv;
}

/**
 * Applies RoPE in place (HF rotate_half, half-split) to x laid out [seq, heads, headDim].
 * Pass `invFreq` (from {@linkcode ropeInvFreq}) for scaled RoPE; otherwise `theta` is used.
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
    invFreq?: Float32Array;
    inverse?: boolean;
  },
): void {
  const { positions, heads, headDim } = opts;
  const half = headDim / 2;
  const invFreq = opts.invFreq ?? ropeInvFreq(headDim, { theta: opts.theta ?? 10000 });
  const sign = opts.inverse ? -1 : 1;
  for (let s = 0; s < positions.length; s++) {
    for (let j = 0; j < half; j++) {
      const ang = Math.fround(positions[s] * invFreq[j]);
      const c = Math.fround(Math.cos(ang));
      const sn = sign * Math.fround(Math.sin(ang));
      for (let h = 0; h < heads; h++) {
        const base = (s * heads + h) * headDim;
        const a = x[base + j];
        const b = x[base + j + half];
        x[base + j] = a * c - b * sn;
        x[base + j + half] = b * c + a * sn;
      }
    }
  }
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
