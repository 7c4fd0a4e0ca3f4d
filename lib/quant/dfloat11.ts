/**
 * Lossless DFloat11 compression of bfloat16 tensors (Zhang et al., arXiv 2504.11651): the
 * 8-bit exponents are Huffman-coded per tensor, sign and mantissa are stored raw.
 *
 * Layout of a {@linkcode Df11Tensor} (designed for a parallel GPU decoder; not DFloat11's own
 * file format):
 *
 * - `codeLengths` (256 bytes): the canonical Huffman code length of each exponent value, 0 when
 *   absent, none above `maxCodeLength` (at most 24, so one symbol always fits a 32-bit window).
 *   Canonical order: shorter codes first, equal lengths by exponent value. Every exponent
 *   0…255 can be coded (DFloat11's lookup tables reserve 240…255; this layout does not).
 * - `exponents` (u32 words): the codes of all values in order, most significant bit first
 *   within each word; zero bits pad the last word, and one extra zero word follows, so a
 *   decoder may always read the word after the one it is in.
 * - `blockOffsets` (u32 per block): the bit where block b's first code starts. Block b holds
 *   values b·S … (b+1)·S − 1 for S = `symbolsPerBlock`, so a thread (or lane) decodes a block
 *   from its offset and writes its outputs at b·S with no prefix sum (a fixed-symbol index,
 *   LeanModels/DFloat11#41).
 * - `signMantissa` (one byte per value): bit 7 the sign, bits 0–6 the mantissa.
 *
 * A value is rebuilt as `(sm & 0x80) << 8 | exponent << 7 | (sm & 0x7f)`.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { canonicalCodes, canonicalDecoder, limitedCodeLengths } from "./_huffman.ts";

/** Options for {@linkcode compressBf16}. */
export interface CompressBf16Options {
  /** Values per independently decodable block: a power of two from 32 to 65536. Default 512. */
  symbolsPerBlock?: number;
  /** The longest Huffman code allowed, 8 to 24 bits. Default 24. */
  maxCodeLength?: number;
}

/** A DFloat11-compressed bfloat16 tensor; the module doc describes the layout. */
export interface Df11Tensor {
  /** Number of values. */
  length: number;
  /** Values per block of the offset index. */
  symbolsPerBlock: number;
  /** The cap the code lengths were built under. */
  maxCodeLength: number;
  /** Code length per exponent value (0 = absent). */
  codeLengths: Uint8Array;
  /** The exponent bitstream, MSB first in each u32, plus one zero word. */
  exponents: Uint32Array;
  /** Start bit of each block's first code. */
  blockOffsets: Uint32Array;
  /** Sign (bit 7) and 7 mantissa bits of each value. */
  signMantissa: Uint8Array;
  /**
   * Every byte needed to decompress: the arrays above plus 8 bytes for `length` and
   * `symbolsPerBlock` as u32 (the code-length cap is not needed to decode).
   */
  byteLength: number;
}

function checkPow2(v: number, lo: number, hi: number, what: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi || (v & (v - 1)) !== 0) {
    throw new TokenlabError(
      `compressBf16: ${what} must be a power of two from ${lo} to ${hi}, got ${v}`,
      {
        hint: "the default is 512 values per block",
      },
    );
  }
}

/**
 * Compresses bfloat16 bit patterns losslessly: Huffman-coded exponents (one code per tensor)
 * and raw sign+mantissa bytes. {@linkcode decompressBf16} gives back the same bits, NaN
 * payloads, subnormals, ±0 and ±Infinity included.
 *
 * @example
 * ```ts
 * import { compressBf16, decompressBf16, toBf16Bits } from "@tokenlab/tokenlab/quant";
 * const bits = toBf16Bits(Array.from({ length: 10000 }, (_, i) => 0.02 * Math.sin(i)));
 * const t = compressBf16(bits);
 * console.log((t.byteLength / bits.byteLength).toFixed(2), decompressBf16(t).every((b, i) => b === bits[i]));
 * ```
 */
export function compressBf16(bits: Uint16Array, options: CompressBf16Options = {}): Df11Tensor {
  if (!(bits instanceof Uint16Array)) {
    throw new TokenlabError("compressBf16: bits must be a Uint16Array of bfloat16 patterns", {
      hint: "convert float32 values with toBf16Bits first",
    });
  }
  const S = options.symbolsPerBlock ?? 512;
  checkPow2(S, 32, 65536, "symbolsPerBlock");
  const cap = options.maxCodeLength ?? 24;
  if (!Number.isInteger(cap) || cap < 8 || cap > 24) {
    throw new TokenlabError(
      `compressBf16: maxCodeLength must be an integer from 8 to 24, got ${cap}`,
      {
        hint: "8 bits always suffice for 256 exponent values; 24 is the default",
      },
    );
  }
  const n = bits.length;
  const counts = new Float64Array(256);
  const signMantissa = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const b = bits[i];
    counts[(b >> 7) & 0xff]++;
    signMantissa[i] = ((b >> 8) & 0x80) | (b & 0x7f);
  }
  const codeLengths = limitedCodeLengths(counts, cap);
  const codes = canonicalCodes(codeLengths);
  let totalBits = 0;
  for (let s = 0; s < 256; s++) totalBits += counts[s] * codeLengths[s];
  if (totalBits >= 2 ** 32) {
    throw new TokenlabError(
      `compressBf16: ${totalBits} exponent bits exceed the u32 offset index`,
      {
        hint: "compress the tensor in parts of at most about a billion values",
      },
    );
  }
  const words = new Uint32Array(Math.ceil(totalBits / 32) + 1);
  const blocks = Math.ceil(n / S);
  const blockOffsets = new Uint32Array(blocks);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (i % S === 0) blockOffsets[i / S] = pos;
    const e = (bits[i] >> 7) & 0xff;
    const len = codeLengths[e], code = codes[e];
    const w = pos >>> 5, off = pos & 31, room = 32 - off;
    if (len <= room) {
      words[w] |= (code << (room - len)) >>> 0;
    } else {
      words[w] |= code >>> (len - room);
      words[w + 1] |= (code << (32 - (len - room))) >>> 0;
    }
    pos += len;
  }
  const byteLength = 8 + codeLengths.byteLength + words.byteLength + blockOffsets.byteLength + n;
  return {
    length: n,
    symbolsPerBlock: S,
    maxCodeLength: cap,
    codeLengths,
    exponents: words,
    blockOffsets,
    signMantissa,
    byteLength,
  };
}

function corrupt(msg: string): never {
  throw new TokenlabError(`decompressBf16: ${msg}`, {
    hint: "the compressed tensor is corrupt; compress the bf16 weights again",
  });
}

/**
 * Decompresses a {@linkcode Df11Tensor} to its bfloat16 bit patterns, block by block from the
 * offset index (as a GPU decoder would); refuses a corrupt tensor with the cause.
 *
 * @example
 * ```ts
 * import { compressBf16, decompressBf16, fromBf16Bits } from "@tokenlab/tokenlab/quant";
 * const t = compressBf16(Uint16Array.of(0x3f80, 0xbf80, 0x3f80, 0x0000));
 * console.log(fromBf16Bits(decompressBf16(t))); // Float32Array [ 1, -1, 1, 0 ]
 * ```
 */
export function decompressBf16(t: Df11Tensor): Uint16Array {
  const n = t.length, S = t.symbolsPerBlock;
  if (!Number.isInteger(n) || n < 0) corrupt(`length ${n} is not a non-negative integer`);
  if (!Number.isInteger(S) || S < 1) corrupt(`symbolsPerBlock ${S} is not a positive integer`);
  if (t.signMantissa?.length !== n) {
    corrupt(`${t.signMantissa?.length} sign/mantissa bytes for ${n} values`);
  }
  if (t.codeLengths?.length !== 256) corrupt("codeLengths must hold 256 entries");
  if (t.blockOffsets?.length !== Math.ceil(n / S)) {
    corrupt(`${t.blockOffsets?.length} block offsets for ${Math.ceil(n / S)} blocks`);
  }
  if (t.codeLengths.some((l) => l > 24)) corrupt("a code length exceeds 24 bits");
  let kraft = 0;
  for (const l of t.codeLengths) if (l > 0) kraft += 2 ** -l;
  if (kraft > 1) corrupt("the code lengths do not form a prefix code");
  const dec = canonicalDecoder(t.codeLengths);
  const words = t.exponents;
  const totalBits = (words.length - 1) * 32;
  const out = new Uint16Array(n);
  for (let b = 0; b < t.blockOffsets.length; b++) {
    let pos = t.blockOffsets[b];
    const end = Math.min(n, (b + 1) * S);
    for (let i = b * S; i < end; i++) {
      if (pos >= totalBits) corrupt(`block ${b} runs past the end of the exponent stream`);
      const w = pos >>> 5, off = pos & 31;
      const window = off === 0
        ? words[w]
        : ((words[w] << off) | (words[w + 1] >>> (32 - off))) >>> 0;
      let e: number, len: number;
      const hit = dec.table[window >>> 16];
      if (hit !== 0) {
        e = hit >> 8;
        len = hit & 0xff;
      } else {
        // longer than 16 bits: walk the lengths of the canonical code
        len = 17;
        for (;; len++) {
          if (len > dec.maxLength) corrupt(`no code matches at bit ${pos}`);
          const prefix = Math.floor(window / 2 ** (32 - len));
          const k = prefix - dec.first[len];
          if (dec.count[len] > 0 && k >= 0 && k < dec.count[len]) {
            e = dec.symbols[dec.start[len] + k];
            break;
          }
        }
      }
      const sm = t.signMantissa[i];
      out[i] = ((sm & 0x80) << 8) | (e! << 7) | (sm & 0x7f);
      pos += len;
    }
  }
  return out;
}

/**
 * Shannon entropy, in bits, of the exponents of bfloat16 patterns (the DFloat11 paper reports
 * about 2.6 of 8 bits for LLM weights): the floor of the Huffman-coded exponent size.
 *
 * @example
 * ```ts
 * import { bf16ExponentEntropy, toBf16Bits } from "@tokenlab/tokenlab/quant";
 * console.log(bf16ExponentEntropy(toBf16Bits([1, 2, 4, 8]))); // 2
 * ```
 */
export function bf16ExponentEntropy(bits: Uint16Array): number {
  const counts = new Float64Array(256);
  for (const b of bits) counts[(b >> 7) & 0xff]++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / bits.length) * Math.log2(c / bits.length);
  return h;
}
