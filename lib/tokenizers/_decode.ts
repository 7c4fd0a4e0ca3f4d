// The decoder stage: ids → bytes (each token's bytes, added tokens by their content) and ids →
// text (byte level: UTF-8 of the bytes; char level: the tokenizer.json's decoder steps).
// Added tokens are found by id in a Map.

import { TokenlabError } from "../util/errors.ts";
import type { BpeModel } from "./_bpe_model.ts";
import type { AddedToken, TokenizerParts } from "./_tokenizer_parts.ts";

// ignoreBOM: token bytes that start with EF BB BF spell U+FEFF, not a byte-order mark to drop
const textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const textEncoder = new TextEncoder();

/** Incremental decoder returned by `Tokenizer.decoderStream`. */
export interface StreamDecoder {
  /** Feeds one id; returns the text completed by it (possibly ""). */
  push(id: number): string;
  /** Returns what is left (U+FFFD for a truncated character). */
  flush(): string;
}

/** The decoder of one tokenizer. */
export class Decoder {
  #p: TokenizerParts;
  #model: BpeModel;
  #addedById = new Map<number, AddedToken>();

  constructor(parts: TokenizerParts, model: BpeModel) {
    this.#p = parts;
    this.#model = model;
    // the first added token with an id wins, as a search of the list in order would find
    for (const t of parts.added) if (!this.#addedById.has(t.id)) this.#addedById.set(t.id, t);
  }

  /** Throws unless `id` is a token id of this tokenizer. */
  checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.#p.symbols.length) {
      throw new TokenlabError(`token id ${id} is out of range for ${this.#p.name}`, {
        hint: `ids run from 0 to ${this.#p.symbols.length - 1}`,
      });
    }
  }

  /** The bytes token `id` stands for. */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    const s = this.#p.symbols[id];
    const added = this.#addedById.get(id);
    if (added && (s === "" || this.#p.level === "char")) return textEncoder.encode(added.content);
    return this.#model.symbolBytes(s);
  }

  /** The concatenated bytes of the tokens. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.tokenBytes(ids[i]);
      parts.push(b);
      n += b.length;
    }
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** The text of the tokens (invalid UTF-8 becomes U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    if (this.#p.level === "byte") return textDecoder.decode(this.decodeBytes(ids));
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      this.checkId(ids[i]);
      const added = this.#addedById.get(ids[i]);
      tokens.push(added ? added.content : this.#p.symbols[ids[i]]);
    }
    return this.#p.decodeSteps(tokens).join("");
  }

  /** A streaming decoder over `tokenBytes`. */
  stream(): StreamDecoder {
    const td = new TextDecoder("utf-8", { ignoreBOM: true });
    return {
      push: (id: number) => td.decode(this.tokenBytes(id), { stream: true }),
      flush: () => td.decode(),
    };
  }
}
