// The model stage of the pipeline: one pre-token in, token ids out. Byte-level tokenizers run
// the integer BPE of _byte_bpe.ts over the piece's UTF-8 bytes; char-level ones
// (SentencePiece-style tokenizer.json files) merge Unicode characters by merge rank and map a
// symbol the vocabulary lacks to its byte-fallback tokens, or to <unk> (fused if asked).
// Also what the other stages ask of the vocabulary: a symbol's id, a token's bytes and length.

import { TokenlabError } from "../util/errors.ts";
import { binaryToBytes } from "./_bytes.ts";
import { bpeMerge, PAIR_SEP, type RankOf } from "./_bpe_engine.ts";
import { ByteBpe } from "./_byte_bpe.ts";
import type { TokenizerParts } from "./_tokenizer_parts.ts";

/** Entries a piece cache holds before it is cleared (memory stays bounded on long runs). */
export const PIECE_CACHE_LIMIT = 200_000;

const textEncoder = new TextEncoder();

/** The BPE model of a tokenizer. */
export class BpeModel {
  /** The integer byte-level BPE (byte-level tokenizers), else null. */
  readonly byteBpe: ByteBpe | null = null;
  #p: TokenizerParts;
  #ids = new Map<string, number>();
  #rankOf: RankOf;
  #mergeRank = new Map<string, number>();
  #cache = new Map<string, number[]>();
  #byteFallbackIds: Int32Array | null = null;

  constructor(parts: TokenizerParts) {
    this.#p = parts;
    parts.symbols.forEach((s, id) => {
      if (s !== "" && !this.#ids.has(s)) this.#ids.set(s, id);
    });
    if (parts.rankMode === "merges") {
      parts.merges.forEach(([a, b], i) => {
        const key = a + PAIR_SEP + b;
        if (!this.#mergeRank.has(key)) this.#mergeRank.set(key, i);
      });
      this.#rankOf = (a, b) => this.#mergeRank.get(a + PAIR_SEP + b);
    } else {
      this.#rankOf = (a, b) => this.#ids.get(a + b);
    }
    if (parts.level === "byte") {
      this.byteBpe = new ByteBpe({
        symbols: parts.symbols,
        mode: parts.rankMode,
        merges: parts.merges,
        wholePieceFirst: parts.ignoreMerges || parts.rankMode === "ranks",
      });
    }
    if (parts.byteFallback) {
      this.#byteFallbackIds = new Int32Array(256).fill(-1);
      for (let b = 0; b < 256; b++) {
        const id = this.#ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
        if (id !== undefined) this.#byteFallbackIds[b] = id;
      }
    }
  }

  /** The (lowest) id of a symbol, or undefined. */
  idOf(symbol: string): number | undefined {
    return this.#ids.get(symbol);
  }

  /** BPE on one pre-token, cached. */
  encodePiece(piece: string): number[] {
    const hit = this.#cache.get(piece);
    if (hit !== undefined) return hit;
    const ids = this.byteBpe !== null
      ? this.byteBpe.encodeSpan(piece, 0, piece.length) ?? this.missingByte(piece)
      : this.encodeCharPiece(piece);
    if (this.#cache.size >= PIECE_CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(piece, ids);
    return ids;
  }

  /** Raw bytes through the byte-level BPE, no pre-tokenizer (binary BPE). */
  encodeBytes(bytes: Uint8Array): number[] {
    const ids = this.byteBpe!.encodeBytes(bytes, bytes.length);
    if (ids === null) {
      const b = bytes.find((x) => this.byteBpe!.byteId(x) < 0);
      throw new TokenlabError(
        `${this.#p.name}: byte ${b} has no token (incomplete byte vocabulary)`,
      );
    }
    return ids;
  }

  /** Names the first byte of `piece` that the vocabulary has no token for. */
  missingByte(piece: string): never {
    const bytes = textEncoder.encode(piece);
    const b = bytes.find((x) => this.byteBpe!.byteId(x) < 0);
    throw new TokenlabError(
      `${this.#p.name}: byte ${b} has no token (incomplete byte vocabulary)`,
      { hint: "a byte-level vocabulary needs a token for each of the 256 bytes" },
    );
  }

  /** Char-level BPE on one pre-token (not cached): merges, then byte fallback or <unk>. */
  encodeCharPiece(piece: string): number[] {
    const p = this.#p;
    if (p.ignoreMerges) {
      const whole = this.#ids.get(piece);
      if (whole !== undefined) return [whole];
    }
    const merged = bpeMerge([...piece], this.#rankOf);
    const ids: number[] = [];
    let lastUnk = false;
    for (const sym of merged) {
      const id = this.#ids.get(sym);
      if (id !== undefined) {
        ids.push(id);
        lastUnk = false;
        continue;
      }
      if (this.#byteFallbackIds) {
        for (const b of textEncoder.encode(sym)) {
          const bid = this.#byteFallbackIds[b];
          if (bid >= 0) ids.push(bid);
          else if (p.unkId !== null) ids.push(p.unkId);
        }
        lastUnk = false;
        continue;
      }
      if (p.unkId === null) {
        throw new TokenlabError(`${p.name}: ${JSON.stringify(sym)} has no token and no <unk>`);
      }
      if (!(p.fuseUnk && lastUnk)) ids.push(p.unkId);
      lastUnk = true;
    }
    return ids;
  }

  /** How many bytes of the text token `id` stands for (a byte-fallback token: one). */
  tokenByteLength(id: number): number {
    const s = this.#p.symbols[id];
    if (this.#p.level === "byte") return s.length;
    if (/^<0x[0-9A-F]{2}>$/.test(s) && this.#byteFallbackIds) return 1;
    return textEncoder.encode(s).length;
  }

  /** The bytes a vocabulary symbol stands for (char level: ▁ is a space, <0xAB> one byte). */
  symbolBytes(s: string): Uint8Array {
    if (this.#p.level === "byte") return binaryToBytes(s);
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(s);
    if (m && this.#byteFallbackIds) return new Uint8Array([parseInt(m[1], 16)]);
    return textEncoder.encode(s.replaceAll("\u2581", " "));
  }
}
