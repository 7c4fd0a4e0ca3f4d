// LLM.int8() row-wise (vector-wise) int8, with the arithmetic of bitsandbytes' PyTorch
// `int8_vectorwise_quant` / `int8_vectorwise_dequant` (bitsandbytes/backends/default/ops.py,
// bitsandbytes/_ops.py): scale = 127 / rowAbsmax, which torch evaluates as
// reciprocal(rowAbsmax) · 127 in float32; code = round-half-even(x · scale).
const f32 = Math.fround;

/** float32(1/127) as `int8_vectorwise_dequant` spells it. */
const INV_127 = f32(7.874015718698502e-3);

function roundHalfEven(x: number): number {
  const r = Math.round(x); // rounds .5 up
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Row-wise int8 codes (two's-complement bytes) and the absmax of each row. */
export function encodeRowwise(
  values: Float32Array,
  cols: number,
): { codes: Uint8Array; absmax: Float32Array } {
  const rows = cols === 0 ? 0 : values.length / cols;
  const absmax = new Float32Array(rows);
  const codes = new Uint8Array(values.length);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) m = Math.max(m, Math.abs(values[i]));
    absmax[r] = m;
    if (m === 0) continue; // an all-zero row: codes 0 (torch would compute 0 · ∞ = NaN)
    const scale = f32(f32(1 / m) * 127);
    for (let i = r * cols; i < (r + 1) * cols; i++) {
      codes[i] = roundHalfEven(f32(values[i] * scale)) & 0xff;
    }
  }
  return { codes, absmax };
}

/** Decodes row-wise int8: code · rowAbsmax · float32(1/127), each product rounded to float32. */
export function decodeRowwise(codes: Uint8Array, absmax: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i] > 127 ? codes[i] - 256 : codes[i];
    out[i] = f32(c * absmax[Math.floor(i / cols)]) * INV_127;
  }
  return out;
}
