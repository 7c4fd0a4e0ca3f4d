/**
 * `quantize` and `dequantize`: bitsandbytes' weight formats, byte for byte (as read from
 * bitsandbytes' `csrc/kernels.cu`, `bitsandbytes/functional.py` and
 * `bitsandbytes/backends/default/ops.py` at commit 95f9af30, version 0.50.2.dev0).
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { dynamicMap } from "./codebooks.ts";
import { decode4bit, encode4bit } from "./_four_bit.ts";
import { decodeDynamic, encodeDynamic } from "./_dynamic8.ts";
import { decodeRowwise, encodeRowwise } from "./_rowwise.ts";
import { checkBlockSize, checkShape, FORMATS, numel, validateQuantized } from "./_validate.ts";
import type { NestedAbsmax, QuantizedTensor, QuantizeOptions } from "./types.ts";

const f32 = Math.fround;
/** bitsandbytes quantises the absmax values of double quantisation in blocks of 256. */
const NESTED_BLOCK = 256;

let dynamic: Float32Array | undefined;
function dyn(): Float32Array {
  return dynamic ??= dynamicMap();
}

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/**
 * Quantises float32 weights the way bitsandbytes does (its CUDA kernels are the reference):
 *
 * - `nf4` / `fp4`: blocks of `blockSize` (default 64) values, each scaled by
 *   float32(1 / absmax) and coded by bitsandbytes' decision tree (`x > t`, so a value at a
 *   threshold takes the lower code; fp4's sign from `x < 0`); two codes per byte, element 2k
 *   in the high nibble; an odd count is padded with the code of 0.0. `doubleQuant` quantises
 *   `absmax − mean(absmax)` again with the dynamic map in blocks of 256; the 4-bit codes still
 *   use the exact absmax.
 * - `int8-blockwise`: the dynamic 8-bit map, nearest value (a float32 midpoint goes to the
 *   even index), blocks of 4096 by default.
 * - `int8-rowwise`: LLM.int8()'s vector-wise format,
 *   round-half-even(x · float32(float32(1 / rowAbsmax) · 127)) as int8.
 *
 * An all-zero block gets code 0 (nf4: −1 × 0; the kernels compute 0 · (1/0) = NaN); an all-zero
 * row gets codes 0. Non-finite input is refused unless `nonFinite: "bitsandbytes"`. Where
 * bitsandbytes' own CUDA build differs: it compiles with fast math, so its reciprocal may be
 * one ulp off and subnormal inputs flush to zero; the double-quantisation offset is the exact
 * mean rounded to float32, where torch's float32 reduction may differ in the last bit.
 *
 * @example
 * ```ts
 * import { dequantize, quantize } from "@tokenlab/tokenlab/quant";
 * const w = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i));
 * const q = quantize(w, { format: "nf4", doubleQuant: true });
 * console.log(q.codes.length, q.absmax.length, q.nested?.codes.length); // 64 2 2
 * console.log(Math.max(...dequantize(q).map((v, i) => Math.abs(v - w[i]))) < 0.2); // true
 * ```
 */
export function quantize(
  weights: ArrayLike<number>,
  options: QuantizeOptions,
): QuantizedTensor {
  const format = options?.format;
  if (!FORMATS.includes(format)) {
    throw new TokenlabError(`quantize: unknown format ${JSON.stringify(format)}`, {
      hint: `use one of ${FORMATS.join(", ")}`,
    });
  }
  const values = weights instanceof Float32Array ? weights : Float32Array.from(weights);
  const n = values.length;
  const shape = [...(options.shape ?? [n])];
  checkShape(shape, n, "quantize");
  const dtype = options.dtype ?? "float32";
  if (!["float32", "float16", "bfloat16"].includes(dtype)) {
    throw new TokenlabError(`quantize: unknown dtype ${JSON.stringify(dtype)}`, {
      hint: "use float32, float16 or bfloat16",
    });
  }
  const policy = options.nonFinite ?? "error";
  if (policy !== "error" && policy !== "bitsandbytes") {
    throw new TokenlabError(`quantize: unknown nonFinite policy ${JSON.stringify(policy)}`, {
      hint: 'use "error" or "bitsandbytes"',
    });
  }
  const bad = firstNonFinite(values);
  if (bad >= 0 && (policy === "error" || format === "int8-rowwise")) {
    throw new TokenlabError(`quantize: value ${bad} is ${values[bad]}`, {
      hint: format === "int8-rowwise"
        ? "int8-rowwise needs finite weights; replace NaN and Infinity first"
        : 'replace NaN and Infinity first, or pass nonFinite: "bitsandbytes" to follow its kernels',
    });
  }
  const is4bit = format === "nf4" || format === "fp4";
  if (options.doubleQuant && !is4bit) {
    throw new TokenlabError(`quantize: doubleQuant applies to nf4 and fp4, not ${format}`, {
      hint: "drop doubleQuant or pick a 4-bit format",
    });
  }

  if (format === "int8-rowwise") {
    if (options.blockSize !== undefined) {
      throw new TokenlabError("quantize: int8-rowwise takes no blockSize (its blocks are rows)", {
        hint: "set the row length with shape, e.g. shape: [rows, cols]",
      });
    }
    const cols = shape.length === 0 ? 1 : shape[shape.length - 1];
    const { codes, absmax } = encodeRowwise(values, cols);
    return { format, shape, blockSize: cols, codes, absmax, dtype };
  }

  const blockSize = options.blockSize ?? (is4bit ? 64 : 4096);
  checkBlockSize(blockSize, "quantize: blockSize");
  if (!is4bit) {
    const { codes, absmax } = encodeDynamic(values, blockSize, dyn());
    return { format, shape, blockSize, codes, absmax, dtype };
  }
  const { codes, absmax } = encode4bit(values, blockSize, format);
  if (!options.doubleQuant) return { format, shape, blockSize, codes, absmax, dtype };
  const nested = nestAbsmax(absmax);
  return { format, shape, blockSize, codes, absmax: unnestAbsmax(nested), nested, dtype };
}

function nestAbsmax(absmax: Float32Array): NestedAbsmax {
  let sum = 0;
  for (const a of absmax) sum += a;
  const offset = absmax.length === 0 ? 0 : f32(sum / absmax.length);
  const centred = absmax.map((a) => a - offset); // Float32Array.map rounds each to float32
  const { codes, absmax: second } = encodeDynamic(centred, NESTED_BLOCK, dyn());
  return { codes, absmax: second, offset, blockSize: NESTED_BLOCK };
}

function unnestAbsmax(nested: NestedAbsmax): Float32Array {
  const decoded = decodeDynamic(nested.codes, nested.absmax, nested.blockSize, dyn());
  return decoded.map((a) => a + nested.offset);
}

/**
 * Dequantises to float32 as bitsandbytes does: code value × block absmax (nested absmax are
 * decoded first: dynamic-map value × nested absmax + offset), int8-rowwise as
 * code · rowAbsmax · float32(1/127). Refuses an inconsistent tensor with the cause.
 *
 * @example
 * ```ts
 * import { dequantize, quantize } from "@tokenlab/tokenlab/quant";
 * const q = quantize(Float32Array.of(0.5, -1, 0.25, 0), { format: "int8-rowwise", shape: [2, 2] });
 * console.log(Array.from(q.codes), dequantize(q)); // [64, 129, 127, 0] …
 * ```
 */
export function dequantize(q: QuantizedTensor): Float32Array {
  validateQuantized(q, "dequantize");
  const n = numel(q.shape);
  switch (q.format) {
    case "int8-rowwise":
      return decodeRowwise(q.codes, q.absmax, q.blockSize);
    case "int8-blockwise":
      return decodeDynamic(q.codes, q.absmax, q.blockSize, dyn());
    default: {
      const absmax = q.nested ? unnestAbsmax(q.nested) : q.absmax;
      return decode4bit(q.codes, absmax, q.blockSize, n, q.format);
    }
  }
}

/**
 * Bytes a quantised tensor occupies as bitsandbytes stores it: the codes, plus float32 absmax
 * (or, nested, one byte per block plus the float32 nested absmax and offset). Codebooks are
 * shared and not counted.
 *
 * @example
 * ```ts
 * import { quantize, quantizedByteLength } from "@tokenlab/tokenlab/quant";
 * const q = quantize(new Float32Array(4096).fill(0.5), { format: "nf4" });
 * console.log(quantizedByteLength(q) * 8 / 4096); // 4.5 bits per weight
 * ```
 */
export function quantizedByteLength(q: QuantizedTensor): number {
  if (!q.nested) return q.codes.length + 4 * q.absmax.length;
  return q.codes.length + q.nested.codes.length + 4 * q.nested.absmax.length + 4;
}
