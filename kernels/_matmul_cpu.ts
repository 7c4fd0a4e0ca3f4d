/**
 * Register-blocked CPU matrix products on typed arrays (f32 or f64), the one CPU matmul of the
 * library (`matmulReference`, the model runtime's linear layers and the tiny-LM trainer all
 * run it), in the three shapes a linear layer needs: forward `Y = X Wᵀ`, input gradient `dX = dY W`, weight gradient `dW += dYᵀ X`.
 * Every output element sums its terms in index order, so results equal a naive loop's exactly.
 *
 * @module
 */

import type { FloatArray } from "./_common.ts";

/** Shape of a product: `rows` rows of input, `inDim` → `outDim`. */
export interface MatmulShape {
  /** Rows of X (tokens). */
  rows: number;
  /** Columns of X = columns of W (HF [out, in] layout). */
  inDim: number;
  /** Rows of W = columns of Y. */
  outDim: number;
  /** Add into `out` instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * `out[r, o] (+)= Σ_i x[r, i] · w[o, i]` — a linear layer with an [out, in] weight.
 */
export function matmulNT<T extends FloatArray>(
  out: T,
  opts: MatmulShape & { x: T; w: T },
): T {
  const { x, w, rows, inDim: K, outDim: O } = opts;
  const acc = opts.accumulate ?? false;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = r * K, x1 = x0 + K, x2 = x1 + K, x3 = x2 + K;
    let o = 0;
    for (; o + 2 <= O; o += 2) {
      const wa = o * K, wb = wa + K;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let i = 0; i < K; i++) {
        const a = w[wa + i], b = w[wb + i];
        const v0 = x[x0 + i], v1 = x[x1 + i], v2 = x[x2 + i], v3 = x[x3 + i];
        s00 += v0 * a;
        s01 += v0 * b;
        s10 += v1 * a;
        s11 += v1 * b;
        s20 += v2 * a;
        s21 += v2 * b;
        s30 += v3 * a;
        s31 += v3 * b;
      }
      const y0 = r * O + o;
      if (acc) {
        out[y0] += s00;
        out[y0 + 1] += s01;
        out[y0 + O] += s10;
        out[y0 + O + 1] += s11;
        out[y0 + 2 * O] += s20;
        out[y0 + 2 * O + 1] += s21;
        out[y0 + 3 * O] += s30;
        out[y0 + 3 * O + 1] += s31;
      } else {
        out[y0] = s00;
        out[y0 + 1] = s01;
        out[y0 + O] = s10;
        out[y0 + O + 1] = s11;
        out[y0 + 2 * O] = s20;
        out[y0 + 2 * O + 1] = s21;
        out[y0 + 3 * O] = s30;
        out[y0 + 3 * O + 1] = s31;
      }
    }
    for (; o < O; o++) {
      const wa = o * K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < K; i++) {
        const a = w[wa + i];
        s0 += x[x0 + i] * a;
        s1 += x[x1 + i] * a;
        s2 += x[x2 + i] * a;
        s3 += x[x3 + i] * a;
      }
      const y0 = r * O + o;
      if (acc) {
        out[y0] += s0;
        out[y0 + O] += s1;
        out[y0 + 2 * O] += s2;
        out[y0 + 3 * O] += s3;
      } else {
        out[y0] = s0;
        out[y0 + O] = s1;
        out[y0 + 2 * O] = s2;
        out[y0 + 3 * O] = s3;
      }
    }
  }
  for (; r < rows; r++) {
    const x0 = r * K;
    for (let o = 0; o < O; o++) {
      const wa = o * K;
      let s = 0;
      for (let i = 0; i < K; i++) s += x[x0 + i] * w[wa + i];
      if (acc) out[r * O + o] += s;
      else out[r * O + o] = s;
    }
  }
  return out;
}

/**
 * `dx[r, i] (+)= Σ_o dy[r, o] · w[o, i]` — the input gradient of {@linkcode matmulNT}.
 */
export function matmulNN<T extends FloatArray>(
  dx: T,
  opts: MatmulShape & { dy: T; w: T },
): T {
  const { dy, w, rows, inDim: K, outDim: O } = opts;
  if (!opts.accumulate) dx.fill(0, 0, rows * K);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const d0 = r * K, d1 = d0 + K, d2 = d1 + K, d3 = d2 + K;
    for (let o = 0; o < O; o++) {
      const g0 = dy[r * O + o], g1 = dy[(r + 1) * O + o];
      const g2 = dy[(r + 2) * O + o], g3 = dy[(r + 3) * O + o];
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
      const wa = o * K;
      for (let i = 0; i < K; i++) {
        const a = w[wa + i];
        dx[d0 + i] += g0 * a;
        dx[d1 + i] += g1 * a;
        dx[d2 + i] += g2 * a;
        dx[d3 + i] += g3 * a;
      }
    }
  }
  for (; r < rows; r++) {
    const d0 = r * K;
    for (let o = 0; o < O; o++) {
      const g = dy[r * O + o];
      if (g === 0) continue;
      const wa = o * K;
      for (let i = 0; i < K; i++) dx[d0 + i] += g * w[wa + i];
    }
  }
  return dx;
}

/**
 * `dw[o, i] (+)= Σ_r dy[r, o] · x[r, i]` — the weight gradient of {@linkcode matmulNT}.
 */
export function matmulTN<T extends FloatArray>(
  dw: T,
  opts: MatmulShape & { dy: T; x: T },
): T {
  const { dy, x, rows, inDim: K, outDim: O } = opts;
  if (!opts.accumulate) dw.fill(0, 0, O * K);
  let o = 0;
  for (; o + 4 <= O; o += 4) {
    const w0 = o * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
    for (let r = 0; r < rows; r++) {
      const g0 = dy[r * O + o], g1 = dy[r * O + o + 1];
      const g2 = dy[r * O + o + 2], g3 = dy[r * O + o + 3];
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
      const xa = r * K;
      for (let i = 0; i < K; i++) {
        const v = x[xa + i];
        dw[w0 + i] += g0 * v;
        dw[w1 + i] += g1 * v;
        dw[w2 + i] += g2 * v;
        dw[w3 + i] += g3 * v;
      }
    }
  }
  for (; o < O; o++) {
    const w0 = o * K;
    for (let r = 0; r < rows; r++) {
      const g = dy[r * O + o];
      if (g === 0) continue;
      const xa = r * K;
      for (let i = 0; i < K; i++) dw[w0 + i] += g * x[xa + i];
    }
  }
  return dw;
}
