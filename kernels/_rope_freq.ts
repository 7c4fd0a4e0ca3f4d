/**
 * RoPE inverse frequencies in f64, with HF's scaling formulas: the one place they are computed
 * (for `ropeReference`, `ropeInvFreq` and the unfused baseline's `ropeTables`).
 *
 * @module
 */

/** RoPE frequency scaling read from `rope_scaling` / `rope_parameters`. */
export interface RopeScaling {
  /** "linear" (positions divided by factor) or "llama3" (wavelength-banded scaling). */
  type: "linear" | "llama3";
  /** Scaling factor (> 0). */
  factor: number;
  /** llama3: low_freq_factor. */
  lowFreqFactor?: number;
  /** llama3: high_freq_factor. */
  highFreqFactor?: number;
  /** llama3: original_max_position_embeddings. */
  originalMaxPositionEmbeddings?: number;
}

/** θ^(−2i/dim) for i < dim/2 with HF's scaling formulas, in f64. */
export function ropeFrequencies(dim: number, theta: number, sc?: RopeScaling | null): Float64Array {
  const half = dim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / dim);
  if (!sc) return inv;
  if (sc.type === "linear") return inv.map((f) => f / sc.factor);
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
