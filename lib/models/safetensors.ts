/**
 * Safetensors reading and writing, with validation before any compute.
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import { writeAtomically } from "../util/_write_atomically.ts";

/** Dtypes this module understands. */
export type SafetensorsDtype = "F32" | "F16" | "BF16" | "U8" | "I32" | "I64";

const DTYPE_SIZE: Record<SafetensorsDtype, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  U8: 1,
  I32: 4,
  I64: 8,
};

/** One tensor read from a safetensors file. */
export interface Tensor {
  /** The dtype stored in the file. */
  dtype: SafetensorsDtype;
  /** The tensor shape. */
  shape: number[];
  /** Values: float dtypes become Float32Array; U8 → Uint8Array; I32 → Int32Array; I64 → BigInt64Array. */
  data: Float32Array | Uint8Array | Int32Array | BigInt64Array;
}

/** Parsed safetensors content: tensors by name plus the optional `__metadata__`. */
export interface SafetensorsFile {
  /** Tensors by name. */
  tensors: Map<string, Tensor>;
  /** String metadata from the header. */
  metadata: Record<string, string>;
}

function f16ToF32(h: number): number {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Parses safetensors bytes; `name` is used in error messages.
 *
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "@tokenlab/tokenlab/models";
 * const bytes = serializeSafetensors(new Map([["w", { shape: [2], data: new Float32Array([1, 2]) }]]));
 * console.log(parseSafetensors(bytes).tensors.get("w")?.data);
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, name = "<bytes>"): SafetensorsFile {
  const fail = (msg: string, hint = "re-download or re-save the checkpoint"): never => {
    throw new TokenlabError(`${name}: ${msg}`, { hint });
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen <= 0 || headerLen > 100_000_000 || 8 + headerLen > bytes.length) {
    fail(
      `header length ${headerLen} is out of bounds for a ${bytes.length}-byte file (truncated?)`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header is not a JSON object");
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [key, raw] of Object.entries(header)) {
    if (key === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    const dtype = info?.dtype as SafetensorsDtype;
    if (!(dtype in DTYPE_SIZE)) {
      fail(
        `tensor "${key}" has unsupported dtype ${info?.dtype}`,
        "supported: F32, F16, BF16, U8, I32, I64",
      );
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(`tensor "${key}" has a bad shape ${JSON.stringify(shape)}`);
    }
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(Number.isInteger)) {
      fail(`tensor "${key}" has bad data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (begin < 0 || end < begin || end > dataLen) {
      fail(
        `tensor "${key}" data_offsets [${begin}, ${end}] lie outside the ${dataLen}-byte data section (truncated file?)`,
      );
    }
    const count = shape!.reduce((a, b) => a * b, 1);
    const size = count * DTYPE_SIZE[dtype];
    if (end - begin !== size) {
      fail(
        `tensor "${key}" occupies ${end - begin} bytes but shape ${
          JSON.stringify(shape)
        } × ${dtype} needs ${size}`,
      );
    }
    ranges.push([begin, end, key]);
    const start = dataStart + begin;
    let data: Tensor["data"];
    if (dtype === "F32") {
      data = new Float32Array(count);
      const src = new DataView(bytes.buffer, bytes.byteOffset + start, size);
      for (let i = 0; i < count; i++) data[i] = src.getFloat32(i * 4, true);
    } else if (dtype === "F16" || dtype === "BF16") {
      data = new Float32Array(count);
      const src = new DataView(bytes.buffer, bytes.byteOffset + start, size);
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < count; i++) {
        const h = src.getUint16(i * 2, true);
        if (dtype === "BF16") {
          u[0] = h << 16;
          data[i] = f[0];
        } else data[i] = f16ToF32(h);
      }
    } else if (dtype === "U8") {
      data = bytes.slice(start, start + size);
    } else if (dtype === "I32") {
      data = new Int32Array(bytes.slice(start, start + size).buffer);
    } else {
      data = new BigInt64Array(bytes.slice(start, start + size).buffer);
    }
    tensors.set(key, { dtype, shape: shape!, data });
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) {
      fail(`tensor "${ranges[i][2]}" overlaps tensor "${ranges[i - 1][2]}" in the data section`);
    }
  }
  return { tensors, metadata };
}

/**
 * Reads a safetensors file.
 *
 * @example
 * ```ts
 * import { readSafetensors } from "@tokenlab/tokenlab/models";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await Deno.writeFile(path, new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]));
 * console.log((await readSafetensors(path)).tensors.size);
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new TokenlabError(`cannot read safetensors file ${path}`, {
      hint: "check the path",
      cause: e,
    });
  }
  return parseSafetensors(bytes, path);
}

/**
 * Reads a checkpoint directory: `model.safetensors`, or shards listed in `model.safetensors.index.json`.
 *
 * @example
 * ```ts
 * import { readCheckpoint } from "@tokenlab/tokenlab/models";
 * const tensors = await readCheckpoint("tests/fixtures/models/llama_gqa").catch(() => new Map());
 * console.log(tensors.size);
 * ```
 */
export async function readCheckpoint(dir: string): Promise<Map<string, Tensor>> {
  const indexPath = `${dir}/model.safetensors.index.json`;
  let index: { weight_map?: Record<string, string> } | undefined;
  try {
    index = JSON.parse(await Deno.readTextFile(indexPath));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new TokenlabError(`${indexPath} is not valid JSON`, {
        hint: "fix or remove it",
        cause: e,
      });
    }
  }
  if (!index) return (await readSafetensors(`${dir}/model.safetensors`)).tensors;
  const map = index.weight_map;
  if (!map || typeof map !== "object") {
    throw new TokenlabError(`${indexPath} has no weight_map`, { hint: "re-download the index" });
  }
  const out = new Map<string, Tensor>();
  for (const shard of new Set(Object.values(map))) {
    const file = await readSafetensors(`${dir}/${shard}`);
    for (const [k, t] of file.tensors) out.set(k, t);
  }
  for (const k of Object.keys(map)) {
    if (!out.has(k)) {
      throw new TokenlabError(`${indexPath} lists tensor "${k}" but its shard ${map[k]} lacks it`, {
        hint: "re-download the shards",
      });
    }
  }
  return out;
}

/** A tensor to write: f32 data plus shape. */
export interface TensorToWrite {
  /** Shape; product must equal data.length. */
  shape: number[];
  /** Values (written as F32, or as I32/U8 for those arrays). */
  data: Float32Array | Int32Array | Uint8Array;
}

/**
 * Serializes tensors to safetensors bytes (names sorted; 8-byte aligned header).
 *
 * @example
 * ```ts
 * import { serializeSafetensors } from "@tokenlab/tokenlab/models";
 * const b = serializeSafetensors(new Map([["x", { shape: [1], data: new Float32Array([3]) }]]));
 * console.log(b.length);
 * ```
 */
export function serializeSafetensors(
  tensors: Map<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const n of names) {
    const t = tensors.get(n)!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new TokenlabError(`tensor "${n}" has ${t.data.length} values but shape ${t.shape}`, {
        hint: "fix the shape",
      });
    }
    const dtype = t.data instanceof Float32Array
      ? "F32"
      : t.data instanceof Int32Array
      ? "I32"
      : "U8";
    header[n] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((new TextEncoder().encode(json).length) % 8) json += " ";
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const n of names) {
    const d = tensors.get(n)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/**
 * Saves tensors as a safetensors file at `path`. The bytes go to a temporary file beside it that
 * is renamed over `path` at the end, so an interrupted save never leaves a truncated file.
 *
 * @example
 * ```ts
 * import { saveSafetensors } from "@tokenlab/tokenlab/models";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveSafetensors(new Map([["x", { shape: [1], data: new Float32Array([3]) }]]), path);
 * ```
 */
export async function saveSafetensors(
  tensors: Map<string, TensorToWrite>,
  path: string,
): Promise<void> {
  check(
    tensors instanceof Map,
    "saveSafetensors: tensors must be a Map from tensor name to { shape, data }",
  );
  check(
    typeof path === "string" && path.length > 0,
    "saveSafetensors: path must be a file path",
  );
  await writeAtomically(path, serializeSafetensors(tensors));
}

/**
 * @deprecated Use {@linkcode saveSafetensors}`(tensors, path)`: the library's `save…(object,
 * path)` order. Kept so older notebooks run.
 *
 * @example
 * ```ts
 * import { writeSafetensors } from "@tokenlab/tokenlab/models";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(path, new Map([["x", { shape: [1], data: new Float32Array([3]) }]]));
 * ```
 */
export function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite>,
): Promise<void> {
  return saveSafetensors(tensors, path);
}
