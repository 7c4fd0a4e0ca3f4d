/**
 * The shapes of quantised tensors and the options that make them.
 *
 * @module
 */

/**
 * A weight format: bitsandbytes' 4-bit NormalFloat and FP4 (blockwise absmax), its blockwise
 * dynamic 8-bit format, or LLM.int8()'s row-wise (vector-wise) absmax int8.
 */
export type QuantFormat = "nf4" | "fp4" | "int8-blockwise" | "int8-rowwise";

/** The dtype the weights had before quantisation (kept for checkpoints; float32 by default). */
export type SourceDtype = "float32" | "float16" | "bfloat16";

/** What {@linkcode quantize} does with NaN and ±Infinity in its input. */
export type NonFinitePolicy = "error" | "bitsandbytes";

/** Options for {@linkcode quantize}. */
export interface QuantizeOptions {
  /** The format to produce. */
  format: QuantFormat;
  /**
   * Values per absmax block: a power of two from 32 to 4096. Default 64 for nf4/fp4 and 4096
   * for int8-blockwise; not allowed for int8-rowwise (its blocks are the rows).
   */
  blockSize?: number;
  /**
   * 4-bit formats only: quantise the per-block absmax values again (bitsandbytes'
   * `compress_statistics`, QLoRA's double quantisation) with 256 values per block.
   */
  doubleQuant?: boolean;
  /**
   * The logical shape (its product must equal the number of values). Default `[n]`. For
   * int8-rowwise the last dimension is the row length.
   */
  shape?: readonly number[];
  /** Recorded as the original dtype (bitsandbytes' `dtype` in the quant state). Default float32. */
  dtype?: SourceDtype;
  /**
   * `"error"` (default) refuses NaN and ±Infinity. `"bitsandbytes"` (blockwise formats only)
   * follows the CUDA kernels' arithmetic instead: NaN is ignored by the block absmax and gets
   * code 0; an infinite value makes its block's absmax infinite, so that block decodes to NaN
   * or 0.
   */
  nonFinite?: NonFinitePolicy;
}

/** The second-level (double-quantised) absmax of a 4-bit tensor. */
export interface NestedAbsmax {
  /** One dynamic-map code per first-level block: the code of `absmax − offset`. */
  codes: Uint8Array;
  /** One float32 absmax per block of `blockSize` first-level values. */
  absmax: Float32Array;
  /** The mean of the exact first-level absmax values, subtracted before quantising. */
  offset: number;
  /** First-level values per nested block (256 in bitsandbytes). */
  blockSize: number;
}

/** A quantised tensor; {@linkcode dequantize} turns it back into float32 values. */
export interface QuantizedTensor {
  /** The format. */
  format: QuantFormat;
  /** The logical shape. */
  shape: number[];
  /** Values per absmax block (for int8-rowwise: the row length). */
  blockSize: number;
  /**
   * The codes: for nf4/fp4 two per byte, element 2k in the high nibble, an odd count padded
   * with the code of 0.0; for int8-blockwise one dynamic-map index per value; for int8-rowwise
   * one two's-complement int8 per value.
   */
  codes: Uint8Array;
  /**
   * The scale of each block (of each row for int8-rowwise). With `nested`, these are the
   * values dequantisation uses: the nested codes decoded plus the offset.
   */
  absmax: Float32Array;
  /** Present when the absmax values are double-quantised (4-bit formats only). */
  nested?: NestedAbsmax;
  /** The original dtype, for checkpoints. */
  dtype: SourceDtype;
}
