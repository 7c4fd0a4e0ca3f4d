// A minimal safetensors container for the quant layer: raw tensor bytes by name, any dtype.
// (lib/models has the full reader; it sits above this layer, so the checkpoint code here keeps
// its own small one.) Layout: u64 little-endian header length, JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}, then the data.
import { TokenlabError } from "../util/errors.ts";

/** One stored tensor: its dtype name as written in the header, shape and raw bytes. */
export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

const SIZE: Record<string, number> = { U8: 1, I8: 1, F16: 2, BF16: 2, F32: 4, I32: 4, I64: 8 };

/** Parses a safetensors file into raw tensors; `name` goes into error messages. */
export function parseRawSafetensors(
  bytes: Uint8Array,
  name: string,
): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new TokenlabError(`${name}: ${msg}`, { hint: "re-save the checkpoint" });
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) {
    fail(`header length ${headerLen} exceeds the file (truncated?)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header is not a JSON object");
  }
  const data = bytes.subarray(8 + headerLen);
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> = {};
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(info?.dtype);
    const shape = info?.shape as number[];
    const off = info?.data_offsets as number[];
    if (!(dtype in SIZE)) fail(`tensor "${key}" has unsupported dtype ${dtype}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor "${key}" has a bad shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o))) {
      fail(`tensor "${key}" has bad data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off;
    const size = shape.reduce((a, b) => a * b, 1) * SIZE[dtype];
    if (begin < 0 || end > data.length || end - begin !== size) {
      fail(
        `tensor "${key}": data_offsets [${begin}, ${end}] do not fit ${dtype} ${
          JSON.stringify(shape)
        }`,
      );
    }
    tensors.set(key, { dtype, shape, bytes: data.slice(begin, end) });
  }
  return { tensors, metadata };
}

/** Serialises raw tensors (in the map's order) to safetensors bytes. */
export function serializeRawSafetensors(
  tensors: Map<string, RawTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [key, t] of tensors) {
    header[key] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.bytes.length],
    };
    offset += t.bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // the data section starts 8-byte aligned
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/** The little-endian float32 values of raw bytes. */
export function f32FromBytes(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}

/** Little-endian bytes of float32 values. */
export function f32ToBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(4 * i, values[i], true);
  return out;
}
