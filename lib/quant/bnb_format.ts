/**
 * bitsandbytes 4-bit checkpoints: the safetensors layout `Linear4bit` writes (and transformers
 * saves) for each quantised weight `W`:
 *
 * - `W`: the packed codes, U8 of shape `[ceil(n/2), 1]` (another `quant_storage` dtype is read
 *   as its raw bytes);
 * - `W.absmax`: F32 per block, or U8 dynamic-map codes when double-quantised;
 * - `W.quant_map`: F32 [16], the 4-bit codebook;
 * - `W.nested_absmax` (F32 per 256 blocks) and `W.nested_quant_map` (F32 [256], the dynamic
 *   map), when double-quantised;
 * - `W.quant_state.bitsandbytes__nf4` (or `__fp4`): U8, the UTF-8 JSON of `quant_type`,
 *   `blocksize`, `dtype`, `shape` and, nested, `nested_blocksize`, `nested_dtype`,
 *   `nested_offset` (`QuantState.as_dict(packed=True)` in `bitsandbytes/functional.py`).
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { writeAtomically } from "../util/_write_atomically.ts";
import { dynamicMap, FP4_QUANT_MAP, NF4_CODEBOOK } from "./codebooks.ts";
import { decodeDynamic } from "./_dynamic8.ts";
import { checkBlockSize, numel, validateQuantized } from "./_validate.ts";
import {
  f32FromBytes,
  f32ToBytes,
  parseRawSafetensors,
  type RawTensor,
  serializeRawSafetensors,
} from "./_safetensors.ts";
import type { QuantizedTensor, SourceDtype } from "./types.ts";
import { pyFloat } from "./_py_float.ts";

const STATE = ".quant_state.bitsandbytes__";
const SUFFIXES = ["absmax", "quant_map", "nested_absmax", "nested_quant_map"];
const DTYPES: readonly SourceDtype[] = ["float32", "float16", "bfloat16"];

function refuse(where: string, msg: string): never {
  throw new TokenlabError(`${where}: ${msg}`, {
    hint: "the bitsandbytes quant state is corrupt or inconsistent; re-quantise and re-save it",
  });
}

function sameValues(got: Float32Array, want: Float32Array): boolean {
  return got.length === want.length && got.every((v, i) => Math.abs(v - want[i]) <= 1e-6);
}

function need(
  tensors: Map<string, RawTensor>,
  key: string,
  dtype: string,
  where: string,
): RawTensor {
  const t = tensors.get(key);
  if (!t) refuse(where, `missing tensor "${key}"`);
  if (t.dtype !== dtype) refuse(where, `tensor "${key}" is ${t.dtype}, expected ${dtype}`);
  return t;
}

function decodeOne(
  tensors: Map<string, RawTensor>,
  weight: string,
  typeInKey: string,
  where: string,
): QuantizedTensor {
  const at = `${where}: "${weight}"`;
  if (typeInKey !== "nf4" && typeInKey !== "fp4") {
    refuse(at, `unknown quant type "${typeInKey}" (expected nf4 or fp4)`);
  }
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        tensors.get(weight + STATE + typeInKey)!.bytes,
      ),
    );
  } catch (e) {
    return refuse(at, `quant state is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof state !== "object" || state === null) refuse(at, "quant state is not a JSON object");
  const format = state.quant_type as "nf4" | "fp4";
  if (format !== typeInKey) {
    refuse(at, `quant_type ${JSON.stringify(format)} does not match the key's "${typeInKey}"`);
  }
  const blockSize = state.blocksize;
  try {
    checkBlockSize(blockSize, "blocksize");
  } catch (e) {
    refuse(at, (e as Error).message);
  }
  const dtype = state.dtype as SourceDtype;
  if (!DTYPES.includes(dtype)) refuse(at, `unknown dtype ${JSON.stringify(state.dtype)}`);
  const shape = state.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    refuse(at, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  const n = numel(shape);
  const blocks = Math.ceil(n / (blockSize as number));

  const packed = tensors.get(weight);
  if (!packed) refuse(at, "missing the packed weight tensor");
  if (packed.bytes.length !== Math.ceil(n / 2)) {
    refuse(
      at,
      `packed weight has ${packed.bytes.length} bytes; shape ${JSON.stringify(shape)} needs ${
        Math.ceil(n / 2)
      }`,
    );
  }
  const map = f32FromBytes(need(tensors, `${weight}.quant_map`, "F32", at).bytes);
  if (!sameValues(map, format === "nf4" ? NF4_CODEBOOK : FP4_QUANT_MAP)) {
    refuse(at, `quant_map is not bitsandbytes' ${format} codebook`);
  }
  const nestedKeys = ["nested_absmax", "nested_quant_map"].filter((s) =>
    tensors.has(`${weight}.${s}`)
  );
  const nested = nestedKeys.length > 0 || "nested_offset" in state;
  if (nested && (nestedKeys.length < 2 || !("nested_offset" in state))) {
    refuse(at, "double quantisation needs nested_absmax, nested_quant_map and nested_offset");
  }
  const absmaxRaw = need(tensors, `${weight}.absmax`, nested ? "U8" : "F32", at);
  const absmaxCount = nested ? absmaxRaw.bytes.length : absmaxRaw.bytes.length / 4;
  if (absmaxCount !== blocks) {
    refuse(at, `absmax has ${absmaxCount} values for ${blocks} blocks of ${blockSize}`);
  }
  const base = {
    format: typeInKey,
    shape: [...shape] as number[],
    blockSize: blockSize as number,
    codes: packed.bytes.slice(),
    dtype,
  } as const;
  if (!nested) return { ...base, absmax: f32FromBytes(absmaxRaw.bytes) };

  const nestedBlock = state.nested_blocksize;
  if (!Number.isInteger(nestedBlock) || (nestedBlock as number) <= 0) {
    refuse(at, `nested_blocksize must be a positive integer, got ${JSON.stringify(nestedBlock)}`);
  }
  if (state.nested_dtype !== "float32") {
    refuse(at, `nested_dtype ${JSON.stringify(state.nested_dtype)} is not float32`);
  }
  const offset = state.nested_offset;
  if (typeof offset !== "number" || !Number.isFinite(offset)) {
    refuse(at, `nested_offset ${JSON.stringify(offset)} is not a finite number`);
  }
  const nestedAbsmax = f32FromBytes(need(tensors, `${weight}.nested_absmax`, "F32", at).bytes);
  const nb = Math.ceil(blocks / (nestedBlock as number));
  if (nestedAbsmax.length !== nb) {
    refuse(at, `nested_absmax has ${nestedAbsmax.length} values for ${nb} nested blocks`);
  }
  const dyn = f32FromBytes(need(tensors, `${weight}.nested_quant_map`, "F32", at).bytes);
  if (!sameValues(dyn, dynamicMap())) {
    refuse(at, "nested_quant_map is not bitsandbytes' dynamic map");
  }
  const f = Math.fround(offset);
  const codes = absmaxRaw.bytes.slice();
  const absmax = decodeDynamic(codes, nestedAbsmax, nestedBlock as number, dyn).map((a) => a + f);
  return {
    ...base,
    absmax,
    nested: { codes, absmax: nestedAbsmax, offset: f, blockSize: nestedBlock as number },
  };
}

/**
 * Reads the 4-bit quantised weights of safetensors bytes in the bitsandbytes layout (see the
 * module doc), by weight name; other tensors are left out (read them with the models reader).
 * Corrupt or inconsistent quant state is refused with a TokenlabError naming the cause.
 *
 * @example
 * ```ts
 * import { parseBnb4bit, quantize, serializeBnb4bit } from "@tokenlab/tokenlab/quant";
 * const q = quantize(new Float32Array(256).fill(0.1), { format: "nf4", shape: [4, 64] });
 * const back = parseBnb4bit(serializeBnb4bit(new Map([["lm.weight", q]])));
 * console.log(back.get("lm.weight")?.shape); // [4, 64]
 * ```
 */
export function parseBnb4bit(bytes: Uint8Array, name = "<bytes>"): Map<string, QuantizedTensor> {
  const { tensors } = parseRawSafetensors(bytes, name);
  const out = new Map<string, QuantizedTensor>();
  for (const key of tensors.keys()) {
    const at = key.indexOf(STATE);
    if (at < 0) continue;
    const weight = key.slice(0, at);
    if (out.has(weight)) refuse(`${name}: "${weight}"`, "has more than one quant_state entry");
    out.set(weight, decodeOne(tensors, weight, key.slice(at + STATE.length), name));
  }
  for (const key of tensors.keys()) {
    for (const s of SUFFIXES) {
      if (key.endsWith(`.${s}`) && !out.has(key.slice(0, -s.length - 1))) {
        const w = key.slice(0, -s.length - 1);
        if (tensors.has(w)) refuse(`${name}: "${w}"`, `has "${key}" but no quant_state entry`);
      }
    }
  }
  return out;
}

/**
 * Reads a bitsandbytes 4-bit safetensors file; see {@linkcode parseBnb4bit}.
 *
 * @example
 * ```ts
 * import { loadBnb4bit, quantize, saveBnb4bit } from "@tokenlab/tokenlab/quant";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const q = quantize(new Float32Array(128).fill(-0.5), { format: "fp4", doubleQuant: true });
 * await saveBnb4bit(new Map([["proj.weight", q]]), path);
 * console.log((await loadBnb4bit(path)).get("proj.weight")?.format); // fp4
 * ```
 */
export async function loadBnb4bit(path: string): Promise<Map<string, QuantizedTensor>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new TokenlabError(`cannot read ${path}: ${(e as Error).message}`, {
      hint: "check the path of the safetensors file",
      cause: e,
    });
  }
  return parseBnb4bit(bytes, path);
}

function stateJson(q: QuantizedTensor): string {
  const parts = [
    `"quant_type": "${q.format}"`,
    `"blocksize": ${q.blockSize}`,
    `"dtype": "${q.dtype}"`,
    `"shape": [${q.shape.join(", ")}]`,
  ];
  if (q.nested) {
    parts.push(
      `"nested_blocksize": ${q.nested.blockSize}`,
      `"nested_dtype": "float32"`,
      `"nested_offset": ${pyFloat(q.nested.offset)}`,
    );
  }
  return `{${parts.join(", ")}}`;
}

/** An unquantised f32 tensor written beside the 4-bit ones (norms, embeddings, biases). */
export interface DenseTensor {
  /** Shape; its product must equal `data.length`. */
  shape: number[];
  /** The values, written as F32. */
  data: Float32Array;
}

/** Options of {@linkcode serializeBnb4bit}. */
export interface SerializeBnb4bitOptions {
  /**
   * Unquantised tensors to store in the same file, as a transformers 4-bit checkpoint keeps its
   * embeddings, norms and LM head; a name may not also be a quantised weight or one of its
   * quant-state entries.
   */
  dense?: Map<string, DenseTensor>;
}

/**
 * Serialises nf4/fp4 tensors to safetensors bytes in the bitsandbytes layout (the quant state
 * JSON byte for byte as bitsandbytes writes it), keyed by weight name; `options.dense` adds
 * unquantised f32 tensors to the same file.
 *
 * @example
 * ```ts
 * import { parseBnb4bit, quantize, serializeBnb4bit } from "@tokenlab/tokenlab/quant";
 * const q = quantize(Float32Array.of(1, -1, 0.5), { format: "nf4" });
 * const bytes = serializeBnb4bit(new Map([["w", q]]));
 * console.log(parseBnb4bit(bytes).get("w")?.codes); // Uint8Array [ 240, 199 ]
 * ```
 */
export function serializeBnb4bit(
  tensors: Map<string, QuantizedTensor>,
  options: SerializeBnb4bitOptions = {},
): Uint8Array {
  if (!(tensors instanceof Map)) {
    throw new TokenlabError("serializeBnb4bit: tensors must be a Map from weight name to tensor", {
      hint: "pass new Map([[name, quantize(...)]])",
    });
  }
  const raw = new Map<string, RawTensor>();
  for (const [name, q] of tensors) {
    validateQuantized(q, `serializeBnb4bit: "${name}"`);
    if (q.format !== "nf4" && q.format !== "fp4") {
      throw new TokenlabError(`serializeBnb4bit: "${name}" is ${q.format}, not a 4-bit format`, {
        hint: "the bitsandbytes 4-bit layout holds nf4 and fp4 weights only",
      });
    }
    raw.set(name, { dtype: "U8", shape: [q.codes.length, 1], bytes: q.codes });
    if (q.nested) {
      raw.set(`${name}.absmax`, {
        dtype: "U8",
        shape: [q.nested.codes.length],
        bytes: q.nested.codes,
      });
    } else {
      raw.set(`${name}.absmax`, {
        dtype: "F32",
        shape: [q.absmax.length],
        bytes: f32ToBytes(q.absmax),
      });
    }
    const map = q.format === "nf4" ? NF4_CODEBOOK : FP4_QUANT_MAP;
    raw.set(`${name}.quant_map`, { dtype: "F32", shape: [16], bytes: f32ToBytes(map) });
    if (q.nested) {
      const na = q.nested.absmax;
      raw.set(`${name}.nested_absmax`, { dtype: "F32", shape: [na.length], bytes: f32ToBytes(na) });
      raw.set(`${name}.nested_quant_map`, {
        dtype: "F32",
        shape: [256],
        bytes: f32ToBytes(dynamicMap()),
      });
    }
    const json = new TextEncoder().encode(stateJson(q));
    raw.set(`${name}${STATE}${q.format}`, { dtype: "U8", shape: [json.length], bytes: json });
  }
  for (const [name, t] of options.dense ?? []) {
    const where = `serializeBnb4bit: dense tensor "${name}"`;
    if (raw.has(name)) {
      throw new TokenlabError(`${where} has the name of a quantised weight or its quant state`, {
        hint: "give each tensor one name",
      });
    }
    if (!(t?.data instanceof Float32Array) || !Array.isArray(t.shape)) {
      throw new TokenlabError(`${where} is not { shape, data: Float32Array }`, {
        hint: "convert the values to a Float32Array",
      });
    }
    if (numel(t.shape) !== t.data.length) {
      throw new TokenlabError(`${where} has ${t.data.length} values but shape [${t.shape}]`, {
        hint: "fix the shape",
      });
    }
    raw.set(name, { dtype: "F32", shape: [...t.shape], bytes: f32ToBytes(t.data) });
  }
  return serializeRawSafetensors(raw, { format: "pt" });
}

/**
 * Writes nf4/fp4 tensors to a safetensors file in the bitsandbytes layout; see
 * {@linkcode serializeBnb4bit}.
 *
 * @example
 * ```ts
 * import { loadBnb4bit, quantize, saveBnb4bit } from "@tokenlab/tokenlab/quant";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveBnb4bit(new Map([["w", quantize(new Float32Array(64), { format: "nf4" })]]), path);
 * console.log((await loadBnb4bit(path)).size); // 1
 * ```
 */
export async function saveBnb4bit(
  tensors: Map<string, QuantizedTensor>,
  path: string,
): Promise<void> {
  await writeAtomically(path, serializeBnb4bit(tensors));
}
