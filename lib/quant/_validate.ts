// Checks shared by quantize, dequantize and the checkpoint reader: each failure names the
// field that is wrong and what it should be.
import { TokenlabError } from "../util/errors.ts";
import type { QuantFormat, QuantizedTensor } from "./types.ts";

/** The formats, for messages and checks. */
export const FORMATS: readonly QuantFormat[] = ["nf4", "fp4", "int8-blockwise", "int8-rowwise"];

/** Throws unless `blockSize` is a power of two from 32 to 4096. */
export function checkBlockSize(blockSize: unknown, what: string): asserts blockSize is number {
  const ok = typeof blockSize === "number" && Number.isInteger(blockSize) && blockSize >= 32 &&
    blockSize <= 4096 && (blockSize & (blockSize - 1)) === 0;
  if (!ok) {
    throw new TokenlabError(
      `${what} must be a power of two from 32 to 4096, got ${String(blockSize)}`,
      { hint: "bitsandbytes supports 32, 64, 128, 256, 512, 1024, 2048 and 4096" },
    );
  }
}

/** Throws unless `shape` is a list of non-negative integers whose product is `n`. */
export function checkShape(shape: readonly number[], n: number, what: string): void {
  const ok = Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0);
  const size = ok ? shape.reduce((a, b) => a * b, 1) : NaN;
  if (!ok || size !== n) {
    throw new TokenlabError(
      `${what}: shape ${JSON.stringify(shape)} does not hold ${n} values`,
      { hint: "pass a shape of non-negative integers whose product is the number of values" },
    );
  }
}

/** Number of elements of a quantised tensor's logical shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fail(what: string, msg: string): never {
  throw new TokenlabError(`${what}: ${msg}`, {
    hint: "the quantised tensor is inconsistent; re-quantise it or re-save the checkpoint",
  });
}

/** Throws a TokenlabError naming the first inconsistency of `q`. */
export function validateQuantized(q: QuantizedTensor, what = "quantized tensor"): void {
  if (!FORMATS.includes(q.format)) {
    fail(
      what,
      `unknown format ${JSON.stringify(q.format)} (expected one of ${FORMATS.join(", ")})`,
    );
  }
  if (!Array.isArray(q.shape) || !q.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    fail(what, `shape ${JSON.stringify(q.shape)} is not a list of non-negative integers`);
  }
  const n = numel(q.shape);
  if (!(q.codes instanceof Uint8Array)) fail(what, "codes must be a Uint8Array");
  if (!(q.absmax instanceof Float32Array)) fail(what, "absmax must be a Float32Array");
  let blocks: number;
  if (q.format === "int8-rowwise") {
    const cols = q.shape.length === 0 ? 1 : q.shape[q.shape.length - 1];
    if (q.blockSize !== cols) {
      fail(what, `blockSize ${q.blockSize} must equal the row length ${cols}`);
    }
    blocks = cols === 0 ? 0 : n / cols;
  } else {
    checkBlockSize(q.blockSize, `${what}: blockSize`);
    blocks = Math.ceil(n / q.blockSize);
  }
  const codeBytes = q.format === "nf4" || q.format === "fp4" ? Math.ceil(n / 2) : n;
  if (q.codes.length !== codeBytes) {
    fail(what, `${q.codes.length} code bytes for ${n} values (expected ${codeBytes})`);
  }
  if (q.absmax.length !== blocks) {
    fail(what, `${q.absmax.length} absmax values for ${blocks} blocks of ${q.blockSize}`);
  }
  if (q.nested) {
    if (q.format !== "nf4" && q.format !== "fp4") fail(what, "only 4-bit formats may be nested");
    const nb = q.nested;
    if (!(nb.codes instanceof Uint8Array) || nb.codes.length !== blocks) {
      fail(what, `nested codes: ${nb.codes?.length} for ${blocks} blocks`);
    }
    if (!Number.isInteger(nb.blockSize) || nb.blockSize <= 0) {
      fail(what, `nested blockSize must be a positive integer, got ${nb.blockSize}`);
    }
    const nblocks = Math.ceil(blocks / nb.blockSize);
    if (!(nb.absmax instanceof Float32Array) || nb.absmax.length !== nblocks) {
      fail(what, `nested absmax: ${nb.absmax?.length} values for ${nblocks} nested blocks`);
    }
    if (!Number.isFinite(nb.offset)) fail(what, `nested offset must be finite, got ${nb.offset}`);
  }
}
