// The encode loops: text → pre-tokens → model ids. Three paths, chosen per tokenizer:
// - scanned: tiktoken's patterns, a hand-written scanner finds each piece's end;
// - fast: one regex, matched sticky piece after piece;
// - general: added tokens split out of the raw text (HF's AddedVocabulary), then each gap runs
//   normalizer → pre-tokenizer → model, with byte and UTF-16 offsets when asked.
// The first two look pieces up in a span cache by hash, without slicing the text; both loops
// are kept monomorphic (one model, one cache, one output buffer) and allocate nothing for a
// piece seen before.

import { PieceCache, spanHash } from "./_piece_cache.ts";
import { utf8Binary } from "./_bytes.ts";
import type { ByteBpe } from "./_byte_bpe.ts";
import type { Scanner } from "./_scanner.ts";
import { type BpeModel, PIECE_CACHE_LIMIT } from "./_bpe_model.ts";
import type { TokenizerParts } from "./_tokenizer_parts.ts";

/** A token and where it came from in the text. */
export interface TokenOffset {
  /** Token id. */
  id: number;
  /** Start byte offset (UTF-8) in the (normalized) text. */
  byteStart: number;
  /** End byte offset (exclusive). */
  byteEnd: number;
  /** Start UTF-16 offset (a token inside a multi-byte character gets that character's start). */
  start: number;
  /** End UTF-16 offset (exclusive). */
  end: number;
}

/** The encode loops of one tokenizer (its caches live here and in the model). */
export class EncodeLoop {
  #p: TokenizerParts;
  #model: BpeModel;
  #byteBpe: ByteBpe | null;
  #spanCache = new PieceCache(PIECE_CACHE_LIMIT);
  #sticky: RegExp | null = null;
  #addedRe: RegExp | null = null;
  #addedIds = new Map<string, number>();

  constructor(parts: TokenizerParts, model: BpeModel) {
    this.#p = parts;
    this.#model = model;
    this.#byteBpe = model.byteBpe;
    for (const t of parts.added) this.#addedIds.set(t.content, t.id);
    if (parts.splitAdded && parts.added.length > 0) {
      const contents = parts.added.map((t) => t.content).filter((c) => c.length > 0)
        .sort((a, b) => b.length - a.length)
        .map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
      this.#addedRe = new RegExp(contents.join("|"), "gu");
    }
  }

  /** Ids of well-formed `text`, on the fastest path this tokenizer allows. */
  encode(text: string): Uint32Array {
    if (this.#p.scanner && !this.#addedRe) return this.#encodeScanned(text, this.#p.scanner);
    if (this.#p.splitRe && !this.#addedRe) return this.#encodeFast(text, this.#p.splitRe);
    const out: number[] = [];
    this.#encodeInto(text, out, null);
    return Uint32Array.from(out);
  }

  /** Ids of well-formed `text` with the byte and UTF-16 span of each. */
  encodeWithOffsets(text: string): TokenOffset[] {
    const spans: TokenOffset[] = [];
    this.#encodeInto(text, [], spans);
    return spans;
  }

  /**
   * One regex, no normalizer, no added tokens. A sticky copy of the pattern matches piece after
   * piece with `test` (no match arrays), and pieces are looked up in the span cache by hash
   * without slicing the text. If the pattern ever fails to match at a position, or matches
   * empty, the rest of the text goes through the general loop below, which handles gaps.
   */
  #encodeFast(text: string, re: RegExp): Uint32Array {
    const sticky = this.#sticky ??= new RegExp(re.source, re.flags.replace("g", "") + "y");
    let buf = new Uint32Array(Math.max(16, (text.length >> 2) + 16));
    let n = 0, start = 0;
    sticky.lastIndex = 0;
    while (start < text.length) {
      if (!sticky.test(text) || sticky.lastIndex === start) break;
      const end = sticky.lastIndex;
      const ids = this.#spanIds(text, start, end);
      if (n + ids.length > buf.length) buf = grown(buf, n + ids.length);
      if (ids.length === 1) buf[n++] = ids[0];
      else for (let i = 0; i < ids.length; i++) buf[n++] = ids[i];
      start = end;
    }
    if (start < text.length) return this.#encodeGaps(text, re, { start, buf, n });
    return buf.slice(0, n);
  }

  /** The ids of piece `text[start, end)`: from the span cache, else the model (then cached). */
  #spanIds(text: string, start: number, end: number): number[] {
    const h = spanHash(text, start, end);
    let ids = this.#spanCache.get(text, start, end, h);
    if (ids === undefined) {
      const piece = text.slice(start, end);
      ids = this.#byteBpe !== null
        ? this.#byteBpe.encodeSpan(text, start, end) ?? this.#model.missingByte(piece)
        : this.#model.encodeCharPiece(piece);
      this.#spanCache.set(piece, h, ids);
    }
    return ids;
  }

  /**
   * The fast path for tiktoken's patterns: the hand-written scanner finds each piece's end,
   * the span cache answers pieces seen before, and the integer BPE encodes the others.
   */
  #encodeScanned(text: string, scan: Scanner): Uint32Array {
    let buf = new Uint32Array(Math.max(16, (text.length >> 2) + 16));
    let n = 0;
    for (let start = 0; start < text.length;) {
      const end = scan(text, start);
      const ids = this.#spanIds(text, start, end);
      if (n + ids.length > buf.length) buf = grown(buf, n + ids.length);
      if (ids.length === 1) buf[n++] = ids[0];
      else for (let i = 0; i < ids.length; i++) buf[n++] = ids[i];
      start = end;
    }
    return buf.slice(0, n);
  }

  /** The general split loop from `at.start`: text the pattern skips becomes its own piece. */
  #encodeGaps(
    text: string,
    re: RegExp,
    at: { start: number; buf: Uint32Array; n: number },
  ): Uint32Array {
    let { buf, n } = at;
    const model = this.#model;
    let last = at.start;
    re.lastIndex = at.start;
    for (;;) {
      const m = re.exec(text);
      let piece: string;
      if (m === null) {
        if (last >= text.length) break;
        piece = text.slice(last); // trailing text the pattern did not match
        last = text.length;
      } else if (m.index > last) {
        piece = text.slice(last, m.index); // a gap before the match: its own piece
        re.lastIndex = m.index;
        last = m.index;
      } else {
        piece = m[0];
        if (piece.length === 0) {
          re.lastIndex++;
          continue;
        }
        last = m.index + piece.length;
      }
      const ids = model.encodePiece(piece);
      if (n + ids.length > buf.length) buf = grown(buf, n + ids.length);
      if (ids.length === 1) buf[n++] = ids[0];
      else for (let i = 0; i < ids.length; i++) buf[n++] = ids[i];
    }
    return buf.slice(0, n);
  }

  #encodeInto(text: string, out: number[], spans: TokenOffset[] | null): void {
    // Added tokens are matched in the raw text (HF's AddedVocabulary), then each gap runs
    // through normalizer → pre-tokenizer → model.
    let segments: { text: string; id: number | null }[];
    if (this.#addedRe) {
      segments = [];
      let last = 0;
      const re = this.#addedRe;
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m.index > last) segments.push({ text: text.slice(last, m.index), id: null });
        segments.push({ text: m[0], id: this.#addedIds.get(m[0])! });
        last = m.index + m[0].length;
      }
      if (last < text.length) segments.push({ text: text.slice(last), id: null });
    } else segments = [{ text, id: null }];
    const model = this.#model;
    let byteBase = 0, charBase = 0;
    for (const seg of segments) {
      if (seg.id !== null) {
        out.push(seg.id);
        const nb = utf8Binary(seg.text).length;
        spans?.push({
          id: seg.id,
          byteStart: byteBase,
          byteEnd: byteBase + nb,
          start: charBase,
          end: charBase + seg.text.length,
        });
        byteBase += nb;
        charBase += seg.text.length;
        continue;
      }
      const normalized = this.#p.normalize(seg.text);
      const pieces = this.#p.preTokenize([normalized]);
      for (const piece of pieces) {
        const ids = model.encodePiece(piece);
        if (spans) {
          const pieceBin = utf8Binary(piece);
          let b = 0;
          for (const id of ids) {
            const len = model.tokenByteLength(id);
            spans.push({
              id,
              byteStart: byteBase + b,
              byteEnd: byteBase + b + len,
              start: charBase + utf16Offset(pieceBin, b),
              end: charBase + utf16Offset(pieceBin, b + len),
            });
            b += len;
          }
          byteBase += pieceBin.length;
          charBase += piece.length;
        } else {
          for (const id of ids) out.push(id);
        }
        if (spans) { for (const id of ids) out.push(id); }
      }
    }
  }
}

/** UTF-16 offset of byte offset `b` in a binary (UTF-8) string. */
function utf16Offset(bin: string, b: number): number {
  let units = 0;
  let i = 0;
  while (i < b && i < bin.length) {
    const c = bin.charCodeAt(i);
    const len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (i + len > b) break; // b falls inside this character
    units += len === 4 ? 2 : 1;
    i += len;
  }
  return units;
}

/** A copy of `buf` with room for at least `need` ids (doubling, so appends stay amortised O(1)). */
function grown(buf: Uint32Array, need: number): Uint32Array<ArrayBuffer> {
  const bigger = new Uint32Array(Math.max(buf.length * 2, need));
  bigger.set(buf);
  return bigger;
}
