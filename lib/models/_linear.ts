/**
 * The model runtime's CPU linear layer: the kernels' one CPU matmul (`X·Wᵀ`) plus a bias.
 *
 * @module
 */
import { matmulNT } from "../../kernels/_matmul_cpu.ts";

/** y[s, o] = Σ_i x[s, i] · w[o, i] (+ b[o]) — a linear layer with HF's [out, in] weight layout. */
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
