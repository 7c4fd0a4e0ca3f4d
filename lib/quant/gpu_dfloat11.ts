/**
 * The DFloat11 decoder on the GPU: a {@linkcode Df11Tensor} (Huffman-coded bf16 exponents with
 * a fixed-symbols-per-block offset index, raw sign+mantissa bytes) decoded to bf16 bit patterns
 * or to f32, one thread per index block, no prefix sum. The Huffman tables sit in workgroup
 * memory: an 11-bit lookup table for the short codes and the canonical code's per-length
 * (first code, count, start) for the rest. The CPU reference is {@linkcode decompressBf16}.
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { dispatch, type GpuContext, type PassTimer, Tensor } from "../gpu/mod.ts";
import type { Df11Tensor } from "./dfloat11.ts";
import { canonicalDecoder } from "./_huffman.ts";

/** Bits of the first-level lookup table. */
const LUT_BITS = 11;
const LUT = 1 << LUT_BITS;
const FIRST = LUT, COUNT = FIRST + 25, START = COUNT + 25, SYMBOLS = START + 25;
const TABLE_WORDS = SYMBOLS + 256;
const WG = 64;

/** A {@linkcode Df11Tensor} uploaded for {@linkcode decompressBf16Gpu}. */
export interface GpuDf11Tensor {
  /** Number of values. */
  length: number;
  /** Values per index block. */
  symbolsPerBlock: number;
  /** The longest code in use. */
  maxLength: number;
  /** The exponent bitstream (u32 words, plus the trailing zero word). */
  exponents: Tensor;
  /** Start bit of each block. */
  blockOffsets: Tensor;
  /** Sign+mantissa bytes, 4 per u32. */
  signMantissa: Tensor;
  /** The decoder tables (lookup table, per-length first/count/start, symbols). */
  tables: Tensor;
  /** The compressed tensor's byte length (as {@linkcode Df11Tensor.byteLength}). */
  byteLength: number;
}

function decoderTables(codeLengths: Uint8Array): { tables: Uint32Array; maxLength: number } {
  const dec = canonicalDecoder(codeLengths);
  const tables = new Uint32Array(TABLE_WORDS);
  // the 16-bit table's entries cut down to LUT_BITS: a code of ≤ LUT_BITS bits fills its span
  for (let p = 0; p < LUT; p++) {
    const hit = dec.table[p << (16 - LUT_BITS)];
    tables[p] = (hit & 0xff) <= LUT_BITS ? hit : 0;
  }
  for (let l = 0; l <= Math.min(24, dec.maxLength); l++) {
    tables[FIRST + l] = dec.first[l];
    tables[COUNT + l] = dec.count[l];
    tables[START + l] = dec.start[l];
  }
  tables.set(dec.symbols, SYMBOLS);
  return { tables, maxLength: dec.maxLength };
}

/**
 * Uploads a {@linkcode Df11Tensor} (checking its structure) for {@linkcode decompressBf16Gpu}.
 *
 * @example
 * ```ts
 * import { getDevice } from "@tokenlab/tokenlab/gpu";
 * import { compressBf16, toBf16Bits, uploadDf11 } from "@tokenlab/tokenlab/quant";
 * const gpu = await getDevice();
 * if (gpu) console.log(uploadDf11(compressBf16(toBf16Bits([1, 2, 3])), gpu).length); // 3
 * ```
 */
export function uploadDf11(t: Df11Tensor, gpu: GpuContext): GpuDf11Tensor {
  const n = t.length, S = t.symbolsPerBlock;
  check(
    Number.isInteger(n) && n >= 0 && Number.isInteger(S) && S >= 32 && S % 2 === 0,
    `uploadDf11: length ${n} / symbolsPerBlock ${S} are not valid`,
    { hint: "compress the bf16 weights with compressBf16" },
  );
  check(
    t.signMantissa.length === n && t.blockOffsets.length === Math.ceil(n / S) &&
      t.codeLengths.length === 256 && t.exponents.length >= 1 &&
      t.codeLengths.every((l) => l <= 24),
    "uploadDf11: the compressed tensor's arrays do not match its length",
    { hint: "the compressed tensor is corrupt; compress the bf16 weights again" },
  );
  const { tables, maxLength } = decoderTables(t.codeLengths);
  const u32 = (a: Uint32Array) => Tensor.fromArray(a, { shape: [a.length], gpu });
  const stream = new Uint32Array(t.exponents.length + 1);
  stream.set(t.exponents);
  const sm = new Uint32Array(Math.max(1, Math.ceil(n / 4)));
  new Uint8Array(sm.buffer).set(t.signMantissa);
  return {
    length: n,
    symbolsPerBlock: S,
    maxLength,
    // one more zero word, so a window at the last bit may read past the stream's own padding
    exponents: u32(stream),
    blockOffsets: u32(t.blockOffsets.length ? t.blockOffsets : new Uint32Array(1)),
    signMantissa: u32(sm),
    tables: u32(tables),
    byteLength: t.byteLength,
  };
}

/** Releases the buffers of an uploaded DFloat11 tensor. */
export function releaseDf11(t: GpuDf11Tensor): void {
  for (const x of [t.exponents, t.blockOffsets, t.signMantissa, t.tables]) x.release();
}

/**
 * WGSL source of the DFloat11 decoder; `dtype` "bf16" packs two bf16 patterns per u32 (element
 * 2k in the low half, as a little-endian Uint16Array reads them), "f32" writes each value
 * widened to f32.
 *
 * @example
 * ```ts
 * import { df11DecodeWgsl } from "@tokenlab/tokenlab/quant";
 * console.log(df11DecodeWgsl("bf16").includes("fn main")); // true
 * ```
 */
export function df11DecodeWgsl(dtype: "bf16" | "f32"): string {
  const write = dtype === "f32"
    ? "out[i] = v << 16u;"
    : "if ((i & 1u) == 0u) { pending = v; } else { out[i >> 1u] = pending | (v << 16u); }";
  const tail = dtype === "f32" ? "" : "if ((end & 1u) == 1u) { out[end >> 1u] = pending; }";
  return `struct Params { n: u32, S: u32, blocks: u32, maxLen: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> exponents: array<u32>;
@group(0) @binding(2) var<storage, read> blockOffsets: array<u32>;
@group(0) @binding(3) var<storage, read> signMantissa: array<u32>;
@group(0) @binding(4) var<storage, read> tables: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;

var<workgroup> T: array<u32, ${TABLE_WORDS}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  for (var i = tid; i < ${TABLE_WORDS}u; i += ${WG}u) { T[i] = tables[i]; }
  workgroupBarrier();
  let b = (wg.x + wg.y * params.gridX) * ${WG}u + tid;
  if (b >= params.blocks) { return; }
  var pos = blockOffsets[b];
  let start = b * params.S;
  let end = min(params.n, start + params.S);
  var pending = 0u;
  for (var i = start; i < end; i++) {
    let w = pos >> 5u;
    let off = pos & 31u;
    var win = exponents[w];
    if (off != 0u) { win = (win << off) | (exponents[w + 1u] >> (32u - off)); }
    let hit = T[win >> ${32 - LUT_BITS}u];
    var e = hit >> 8u;
    var len = hit & 0xffu;
    if (hit == 0u) {
      for (var l = ${LUT_BITS + 1}u; l <= params.maxLen; l++) {
        let prefix = win >> (32u - l);
        let f = T[${FIRST}u + l];
        let c = T[${COUNT}u + l];
        if (c > 0u && prefix >= f && prefix - f < c) {
          e = T[${SYMBOLS}u + T[${START}u + l] + prefix - f];
          len = l;
          break;
        }
      }
    }
    pos += len;
    let sm = (signMantissa[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
    let v = ((sm & 0x80u) << 8u) | (e << 7u) | (sm & 0x7fu);
    ${write}
  }
  ${tail}
}
`;
}

/** Options of {@linkcode decompressBf16Gpu}. */
export interface DecompressBf16GpuOptions {
  /** "bf16" (default): u32 tensor [⌈n/2⌉] of packed bf16 pairs; "f32": f32 tensor [n]. */
  dtype?: "bf16" | "f32";
  /** Pass timer (a `Profiler`) recording the kernel. */
  profiler?: PassTimer;
}

/**
 * Decodes an uploaded DFloat11 tensor on the GPU, bit for bit what {@linkcode decompressBf16}
 * gives.
 *
 * @example
 * ```ts
 * import { getDevice } from "@tokenlab/tokenlab/gpu";
 * import { compressBf16, decompressBf16Gpu, toBf16Bits, uploadDf11 } from "@tokenlab/tokenlab/quant";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const t = uploadDf11(compressBf16(toBf16Bits([1, -2, 0.5])), gpu);
 *   console.log(await (await decompressBf16Gpu(t, { dtype: "f32" })).toArray()); // 1 -2 0.5
 * }
 * ```
 */
export async function decompressBf16Gpu(
  t: GpuDf11Tensor,
  options: DecompressBf16GpuOptions = {},
): Promise<Tensor> {
  const dtype = options.dtype ?? "bf16";
  check(dtype === "bf16" || dtype === "f32", `decompressBf16Gpu: unknown dtype ${dtype}`, {
    hint: 'use "bf16" or "f32"',
  });
  const n = t.length, blocks = Math.ceil(n / t.symbolsPerBlock);
  const groups = Math.ceil(blocks / WG);
  const gx = Math.max(1, Math.min(groups, 65535)), gy = Math.max(1, Math.ceil(groups / gx));
  const shape = dtype === "f32" ? [n] : [Math.ceil(n / 2)];
  const { out } = await dispatch(t.exponents.gpu, {
    label: `quant.df11.${dtype}`,
    source: df11DecodeWgsl(dtype),
    uniforms: { n, S: t.symbolsPerBlock, blocks, maxLen: t.maxLength, gridX: gx },
    bindings: {
      exponents: t.exponents,
      blockOffsets: t.blockOffsets,
      signMantissa: t.signMantissa,
      tables: t.tables,
    },
    outputs: { out: { shape, dtype: dtype === "f32" ? "f32" : "u32" } },
    workgroups: [blocks ? gx : 0, gy],
    profiler: options.profiler,
  });
  return out;
}
