/**
 * The `Tokenizer`: normalizer → pre-tokenizer → BPE model → decoder, loaded from tiktoken
 * ranks, HF tokenizer.json files or a trainer's merges.
 *
 * @module
 */
import { PieceCache, spanHash } from "./_piece_cache.ts";
import { TokenlabError } from "../util/errors.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../util/jupyter.ts";
import {
  binaryToByteLevel,
  binaryToBytes,
  byteLevelToBinary,
  bytesToBinary,
  utf8Binary,
} from "./_bytes.ts";
import { bpeMerge, PAIR_SEP, type RankOf } from "./_bpe_engine.ts";
import { validateTokenizerJson } from "./_tokenizer_json_validate.ts";
import { ByteBpe } from "./_byte_bpe.ts";
import { type Scanner, scannerFor } from "./_scanner.ts";
import {
  buildDecoder,
  buildNormalizer,
  buildPreTokenizer,
  type DecodeStep,
  hasByteLevel,
  type Normalize,
  type PreTokenize,
} from "./_hf_pipeline.ts";
import {
  PATTERNS,
  type PretokenizerSpec,
  resolvePretokenizer,
  splitKeepAll,
} from "./pretokenizers.ts";

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

/** Options of {@linkcode Tokenizer.fromTiktoken}. */
export interface FromTiktokenOptions {
  /** Pre-tokenizer: a named pattern, a RegExp, or a pattern source string. */
  pattern: PretokenizerSpec | string;
  /** Special tokens (content → id). */
  specialTokens?: Record<string, number>;
  /** A name to show. */
  name?: string;
}

/** Options of {@linkcode Tokenizer.fromBpe}. */
export interface FromBpeOptions {
  /** id → token bytes. */
  vocab: Uint8Array[];
  /** Ordered merges: merge i joins the tokens with ids `a` and `b`. */
  merges: Array<[number, number]>;
  /** Pre-tokenizer. */
  pretokenizer: PretokenizerSpec;
  /** Special tokens (content → id), ids beyond the vocab. */
  specialTokens?: Record<string, number>;
  /** A name to show. */
  name?: string;
}

/** An added (special or user) token of a tokenizer.json. */
interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

interface TokenizerParts {
  name: string;
  /** byte: symbols are binary-string bytes; char: Unicode characters with byte fallback. */
  level: "byte" | "char";
  /** id → symbol string (binary string for byte-level, piece for char-level); "" for holes. */
  symbols: string[];
  rankMode: "ranks" | "merges";
  merges: [string, string][];
  ignoreMerges: boolean;
  byteFallback: boolean;
  unkId: number | null;
  fuseUnk: boolean;
  normalize: Normalize;
  preTokenize: PreTokenize;
  decodeSteps: DecodeStep;
  added: AddedToken[];
  splitAdded: boolean;
  /** The pattern source for tiktoken / trained tokenizers (for saving). */
  patternSource: string | null;
  /** When the whole pre-tokenizer is one regex (tiktoken, trained): the fast path uses it. */
  splitRe?: RegExp | null;
  /** A hand-written scanner for the named pattern, when it has one (used instead of splitRe). */
  scanner?: Scanner | null;
  /** The tokenizer.json this came from, if any. */
  json: unknown;
  /** How to rebuild this tokenizer in a worker. */
  source?: WorkerSource;
}

/** What a worker needs to rebuild a tokenizer. */
export type WorkerSource =
  | { kind: "pretrained"; name: string }
  | { kind: "json"; json: unknown }
  | {
    kind: "tiktoken";
    ranks: Uint8Array[];
    pattern: string | null;
    specialTokens: Record<string, number>;
    name: string;
  }
  | {
    kind: "bpe";
    vocab: Uint8Array[];
    merges: Array<[number, number]>;
    pattern: string | null;
    specialTokens: Record<string, number>;
    name: string;
  };

// ignoreBOM: token bytes that start with EF BB BF spell U+FEFF, not a byte-order mark to drop
const textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const textEncoder = new TextEncoder();
const CACHE_LIMIT = 200_000;

/**
 * A BPE tokenizer. `encode` adds no special tokens (like tiktoken's `encode_ordinary` and HF's
 * `add_special_tokens=false`); tokenizers loaded from tokenizer.json still recognise added
 * tokens written in the text, as HF does.
 *
 * @example
 * ```ts
 * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await loadPretrained("cl100k_base");
 * const ids = tok.encode("Hello, world!");
 * console.log(ids, tok.decode(ids));
 * ```
 */
export class Tokenizer {
  /** A short name. */
  readonly name: string;
  #p: TokenizerParts;
  #ids = new Map<string, number>();
  #rankOf: RankOf;
  #mergeRank = new Map<string, number>();
  #cache = new Map<string, number[]>();
  #spanCache = new PieceCache(CACHE_LIMIT);
  #sticky: RegExp | null = null;
  #addedRe: RegExp | null = null;
  #addedIds = new Map<string, number>();
  #byteFallbackIds: Int32Array | null = null;
  #byteBpe: ByteBpe | null = null;

  private constructor(parts: TokenizerParts) {
    this.#p = parts;
    this.name = parts.name;
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
      this.#byteBpe = new ByteBpe({
        symbols: parts.symbols,
        mode: parts.rankMode,
        merges: parts.merges,
        wholePieceFirst: parts.ignoreMerges || parts.rankMode === "ranks",
      });
    }
    for (const t of parts.added) this.#addedIds.set(t.content, t.id);
    if (parts.splitAdded && parts.added.length > 0) {
      const contents = parts.added.map((t) => t.content).filter((c) => c.length > 0)
        .sort((a, b) => b.length - a.length)
        .map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
      this.#addedRe = new RegExp(contents.join("|"), "gu");
    }
    if (parts.byteFallback) {
      this.#byteFallbackIds = new Int32Array(256).fill(-1);
      for (let b = 0; b < 256; b++) {
        const id = this.#ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
        if (id !== undefined) this.#byteFallbackIds[b] = id;
      }
    }
  }

  // ---------- loaders ----------

  /**
   * A tokenizer from tiktoken ranks: the text of a `.tiktoken` file (base64 token, space, rank
   * per line), a list of token bytes indexed by rank, or a Map from base64 token to rank.
   *
   * @example
   * ```ts
   * import { Tokenizer } from "@tokenlab/tokenlab/tokenizers";
   * const bytes = [..."abc"].map((c) => new TextEncoder().encode(c));
   * const tok = Tokenizer.fromTiktoken([...bytes, new TextEncoder().encode("ab")], { pattern: "gpt2" });
   * console.log(tok.encode("abc")); // Uint32Array [3, 2]
   * ```
   */
  static fromTiktoken(
    ranks: string | Uint8Array[] | Map<string, number>,
    options: FromTiktokenOptions,
  ): Tokenizer {
    if (!options || options.pattern === undefined) {
      throw new TokenlabError("fromTiktoken needs options.pattern", {
        hint: 'pass a named pattern ("o200k", "cl100k", "gpt2"), a RegExp or a pattern string',
      });
    }
    const symbols: string[] = [];
    const setRank = (b64: string, rank: number, where: string) => {
      if (!Number.isInteger(rank) || rank < 0) {
        throw new TokenlabError(`tiktoken ranks: bad rank ${rank} at ${where}`);
      }
      let bin: string;
      try {
        bin = atob(b64);
      } catch {
        throw new TokenlabError(`tiktoken ranks: ${JSON.stringify(b64)} at ${where} is not base64`);
      }
      symbols[rank] = bin;
    };
    if (typeof ranks === "string") {
      ranks.split("\n").forEach((line, i) => {
        if (!line.trim()) return;
        const [b64, r] = line.trim().split(/\s+/);
        setRank(b64, Number(r), `line ${i + 1}`);
      });
    } else if (ranks instanceof Map) {
      for (const [b64, r] of ranks) setRank(b64, r, b64);
    } else if (Array.isArray(ranks)) {
      ranks.forEach((bytes, r) => {
        if (!(bytes instanceof Uint8Array)) {
          throw new TokenlabError(`tiktoken ranks: entry ${r} is not a Uint8Array`);
        }
        symbols[r] = bytesToBinary(bytes);
      });
    } else {
      throw new TokenlabError("fromTiktoken needs ranks as file text, Uint8Array[] or Map");
    }
    if (symbols.length === 0) throw new TokenlabError("tiktoken ranks are empty");
    for (let i = 0; i < symbols.length; i++) symbols[i] ??= "";
    const pattern = typeof options.pattern === "string" && !(options.pattern in PATTERNS)
      ? new RegExp(options.pattern, "gu")
      : options.pattern as PretokenizerSpec;
    const re = resolvePretokenizer(pattern);
    const scanner = typeof pattern === "string" ? scannerFor(pattern) : null;
    const added = Object.entries(options.specialTokens ?? {}).map(([content, id]) => ({
      content,
      id,
      special: true,
    }));
    return new Tokenizer({
      name: options.name ?? "tiktoken",
      level: "byte",
      symbols,
      rankMode: "ranks",
      merges: [],
      ignoreMerges: true,
      byteFallback: false,
      unkId: null,
      fuseUnk: false,
      normalize: (t) => t,
      preTokenize: splitterOf(scanner, re),
      decodeSteps: (t) => t,
      added,
      splitAdded: false,
      splitRe: re,
      scanner,
      patternSource: re ? re.source : null,
      json: null,
      source: {
        kind: "tiktoken",
        ranks: symbols.map(binaryToBytes),
        pattern: re ? re.source : null,
        specialTokens: options.specialTokens ?? {},
        name: options.name ?? "tiktoken",
      },
    });
  }

  /**
   * A byte-level tokenizer from a vocabulary and ordered merges (what the trainers produce).
   * Merges apply by priority, HF `tokenizers` style.
   *
   * @example
   * ```ts
   * import { Tokenizer } from "@tokenlab/tokenlab/tokenizers";
   * const vocab = Array.from({ length: 256 }, (_, b) => new Uint8Array([b]));
   * vocab.push(new TextEncoder().encode("ab"));
   * const tok = Tokenizer.fromBpe({ vocab, merges: [[97, 98]], pretokenizer: "gpt2" });
   * console.log(tok.encode("abc")); // Uint32Array [256, 99]
   * ```
   */
  static fromBpe(options: FromBpeOptions): Tokenizer {
    if (!options || !Array.isArray(options.vocab) || !Array.isArray(options.merges)) {
      throw new TokenlabError("fromBpe needs { vocab: Uint8Array[], merges: [a, b][] }");
    }
    const symbols = options.vocab.map((b, i) => {
      if (!(b instanceof Uint8Array)) throw new TokenlabError(`fromBpe: vocab[${i}] is not bytes`);
      return bytesToBinary(b);
    });
    const merges = options.merges.map(([a, b], i): [string, string] => {
      if (symbols[a] === undefined || symbols[b] === undefined) {
        throw new TokenlabError(`fromBpe: merge ${i} refers to unknown ids ${a}, ${b}`);
      }
      return [symbols[a], symbols[b]];
    });
    const re = resolvePretokenizer(options.pretokenizer);
    const scanner = typeof options.pretokenizer === "string"
      ? scannerFor(options.pretokenizer)
      : null;
    const added = Object.entries(options.specialTokens ?? {}).map(([content, id]) => ({
      content,
      id,
      special: true,
    }));
    return new Tokenizer({
      name: options.name ?? "bpe",
      level: "byte",
      symbols,
      rankMode: "merges",
      merges,
      ignoreMerges: false,
      byteFallback: false,
      unkId: null,
      fuseUnk: false,
      normalize: (t) => t,
      preTokenize: splitterOf(scanner, re),
      decodeSteps: (t) => t,
      added,
      splitAdded: true,
      splitRe: re,
      scanner,
      patternSource: re ? re.source : null,
      json: null,
      source: {
        kind: "bpe",
        vocab: options.vocab,
        merges: options.merges,
        pattern: re ? re.source : null,
        specialTokens: options.specialTokens ?? {},
        name: options.name ?? "bpe",
      },
    });
  }

  /**
   * A tokenizer from an HF `tokenizer.json` (a path or the parsed object). Supports BPE models
   * with byte-level or SentencePiece-style (Metaspace, byte fallback) pipelines.
   *
   * @example
   * ```ts
   * import { Tokenizer } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await Tokenizer.fromTokenizerJson("tokenizer.json");
   * console.log(tok.vocabSize);
   * ```
   */
  static async fromTokenizerJson(
    pathOrObject: string | Record<string, unknown>,
  ): Promise<Tokenizer> {
    let json: Record<string, unknown>;
    let where = "tokenizer.json object";
    if (typeof pathOrObject === "string") {
      where = pathOrObject;
      let text: string;
      try {
        text = await Deno.readTextFile(pathOrObject);
      } catch (cause) {
        throw new TokenlabError(`cannot read ${pathOrObject}`, { cause });
      }
      try {
        json = JSON.parse(text);
      } catch (cause) {
        throw new TokenlabError(`${pathOrObject} is not valid JSON (corrupt or truncated?)`, {
          hint: "re-download the tokenizer.json",
          cause,
        });
      }
    } else if (pathOrObject && typeof pathOrObject === "object") {
      json = pathOrObject;
    } else {
      throw new TokenlabError("fromTokenizerJson needs a path or a parsed tokenizer.json object");
    }
    return Tokenizer.#fromJson(json, where);
  }

  static #fromJson(json: Record<string, unknown>, where: string): Tokenizer {
    validateTokenizerJson(json, where); // refuse a bad file before building anything from it
    // deno-lint-ignore no-explicit-any
    const model = json.model as any;
    if (!model || typeof model !== "object") {
      throw new TokenlabError(`${where} has no "model" section`, {
        hint: "is this a Hugging Face tokenizer.json?",
      });
    }
    if (model.type !== "BPE") {
      throw new TokenlabError(`unsupported model type ${JSON.stringify(model.type)} in ${where}`, {
        hint: "tokenlab loads BPE tokenizers (WordPiece, Unigram and WordLevel are not supported)",
      });
    }
    if (!model.vocab || typeof model.vocab !== "object" || !Array.isArray(model.merges)) {
      throw new TokenlabError(`${where}: the BPE model needs a vocab object and a merges list`);
    }
    const byteLevel = hasByteLevel(json.pre_tokenizer);
    const addedContents = new Set(
      ((json.added_tokens ?? []) as AddedToken[]).map((t) => t.content),
    );
    const symbols: string[] = [];
    for (const [tok, id] of Object.entries(model.vocab as Record<string, number>)) {
      if (!Number.isInteger(id) || id < 0) {
        throw new TokenlabError(`${where}: vocab entry ${JSON.stringify(tok)} has bad id ${id}`);
      }
      let sym = tok;
      if (byteLevel) {
        const bin = byteLevelToBinary(tok);
        if (bin === null && addedContents.has(tok)) {
          symbols[id] = ""; // an added token: matched in the raw text, never built by merges
          continue;
        }
        if (bin === null) {
          throw new TokenlabError(
            `${where}: vocab entry ${JSON.stringify(tok)} is not in the byte-level alphabet`,
          );
        }
        sym = bin;
      }
      symbols[id] = sym;
    }
    for (let i = 0; i < symbols.length; i++) symbols[i] ??= "";
    const toSym = (t: string) => (byteLevel ? byteLevelToBinary(t) ?? t : t);
    const merges = (model.merges as unknown[]).map((m, i): [string, string] => {
      let pair: string[];
      if (typeof m === "string") {
        const sp = m.indexOf(" ", 1);
        pair = [m.slice(0, sp), m.slice(sp + 1)];
      } else if (Array.isArray(m) && m.length === 2) pair = m as string[];
      else throw new TokenlabError(`${where}: merge ${i} is malformed: ${JSON.stringify(m)}`);
      return [toSym(pair[0]), toSym(pair[1])];
    });
    const added = ((json.added_tokens ?? []) as AddedToken[]).map((t) => ({
      id: t.id,
      content: t.content,
      special: !!t.special,
    }));
    for (const t of added) if (t.id >= symbols.length) symbols[t.id] = "";
    for (let i = 0; i < symbols.length; i++) symbols[i] ??= "";
    if (model.dropout) {
      throw new TokenlabError(`${where}: BPE dropout is not supported (encoding would be random)`);
    }
    const unkId = model.unk_token != null ? (model.vocab[model.unk_token] ?? null) : null;
    return new Tokenizer({
      name: where.split("/").slice(-3).join("/"),
      level: byteLevel ? "byte" : "char",
      symbols,
      rankMode: "merges",
      merges,
      ignoreMerges: !!model.ignore_merges,
      byteFallback: !!model.byte_fallback,
      unkId,
      fuseUnk: !!model.fuse_unk,
      normalize: buildNormalizer(json.normalizer, where),
      preTokenize: buildPreTokenizer(json.pre_tokenizer, where),
      decodeSteps: buildDecoder(json.decoder, where),
      added,
      splitAdded: true,
      patternSource: null,
      json,
      source: { kind: "json", json },
    });
  }

  // ---------- properties ----------

  /** Number of ids (including added/special tokens). */
  get vocabSize(): number {
    return this.#p.symbols.length;
  }

  /** Special tokens: content → id. */
  get specialTokens(): Record<string, number> {
    return Object.fromEntries(this.#p.added.filter((t) => t.special).map((t) => [t.content, t.id]));
  }

  /** The merges in order, as pairs of token bytes (empty for rank-based tiktoken tokenizers). */
  get merges(): Array<[Uint8Array, Uint8Array]> {
    return this.#p.merges.map(([a, b]) => [this.#symbolBytes(a), this.#symbolBytes(b)]);
  }

  /** Whether symbols are bytes ("byte") or characters with byte fallback ("char"). */
  get level(): "byte" | "char" {
    return this.#p.level;
  }

  // ---------- encoding ----------

  /**
   * Encodes text to ids, adding no special tokens.
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * console.log((await loadPretrained("o200k_base")).encode("tokenization"));
   * ```
   */
  encode(text: string): Uint32Array {
    if (typeof text !== "string") {
      throw new TokenlabError(
        `encode needs a string, got ${text === null ? "null" : typeof text}`,
        {
          hint: "decode bytes to a string first, or use encodeBatch for a list",
        },
      );
    }
    // Lone surrogates become U+FFFD first, as they do on the way into tiktoken and HF (Rust
    // strings are always well formed); same length, so offsets are unaffected.
    text = text.isWellFormed() ? text : text.toWellFormed();
    if (this.#p.scanner && !this.#addedRe) return this.#encodeScanned(text, this.#p.scanner);
    if (this.#p.splitRe && !this.#addedRe) return this.#encodeFast(text, this.#p.splitRe);
    const out: number[] = [];
    this.#encodeInto(text, out, null);
    return Uint32Array.from(out);
  }

  /**
   * One regex, no normalizer, no added tokens. A sticky copy of the pattern matches piece after
   * piece with `test` (no match arrays), and pieces are looked up in the span cache by hash
   * without slicing the text. If the pattern ever fails to match at a position, or matches
   * empty, the rest of the text goes through the general loop below, which handles gaps.
   */
  #encodeFast(text: string, re: RegExp): Uint32Array {
    const sticky = this.#sticky ??= new RegExp(re.source, re.flags.replace("g", "") + "y");
    const cache = this.#spanCache;
    let buf = new Uint32Array(Math.max(16, (text.length >> 2) + 16));
    let n = 0, start = 0;
    sticky.lastIndex = 0;
    while (start < text.length) {
      if (!sticky.test(text) || sticky.lastIndex === start) break;
      const end = sticky.lastIndex;
      const h = spanHash(text, start, end);
      let ids = cache.get(text, start, end, h);
      if (ids === undefined) {
        const piece = text.slice(start, end);
        ids = this.#byteBpe !== null
          ? this.#byteBpe.encodeSpan(text, start, end) ?? this.#missingByte(piece)
          : this.#encodeCharPiece(piece);
        cache.set(piece, h, ids);
      }
      if (n + ids.length > buf.length) {
        const bigger = new Uint32Array(Math.max(buf.length * 2, n + ids.length));
        bigger.set(buf);
        buf = bigger;
      }
      if (ids.length === 1) buf[n++] = ids[0];
      else for (let i = 0; i < ids.length; i++) buf[n++] = ids[i];
      start = end;
    }
    if (start < text.length) return this.#encodeGaps(text, re, { start, buf, n });
    return buf.slice(0, n);
  }

  /**
   * The fast path for tiktoken's patterns: the hand-written scanner finds each piece's end,
   * the span cache answers pieces seen before, and the integer BPE encodes the others.
   */
  #encodeScanned(text: string, scan: Scanner): Uint32Array {
    const cache = this.#spanCache;
    let buf = new Uint32Array(Math.max(16, (text.length >> 2) + 16));
    let n = 0;
    for (let start = 0; start < text.length;) {
      const end = scan(text, start);
      const h = spanHash(text, start, end);
      let ids = cache.get(text, start, end, h);
      if (ids === undefined) {
        const piece = text.slice(start, end);
        ids = this.#byteBpe !== null
          ? this.#byteBpe.encodeSpan(text, start, end) ?? this.#missingByte(piece)
          : this.#encodeCharPiece(piece);
        cache.set(piece, h, ids);
      }
      if (n + ids.length > buf.length) {
        const bigger = new Uint32Array(Math.max(buf.length * 2, n + ids.length));
        bigger.set(buf);
        buf = bigger;
      }
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
    const cache = this.#cache;
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
      let ids = cache.get(piece);
      if (ids === undefined) ids = this.#encodePiece(piece);
      if (n + ids.length > buf.length) {
        const bigger = new Uint32Array(Math.max(buf.length * 2, n + ids.length));
        bigger.set(buf);
        buf = bigger;
      }
      if (ids.length === 1) buf[n++] = ids[0];
      else for (let i = 0; i < ids.length; i++) buf[n++] = ids[i];
    }
    return buf.slice(0, n);
  }

  /**
   * Encodes raw bytes (byte-level tokenizers). With no pre-tokenizer (binary BPE) the merges run
   * over the whole input; otherwise the bytes must be UTF-8 text and are encoded as text.
   *
   * @example
   * ```ts
   * import { trainBinaryBpe } from "@tokenlab/tokenlab/tokenizers";
   * const data = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0, 0x7f, 0x45, 0x4c, 0x46]);
   * console.log(trainBinaryBpe([data], { vocabSize: 260 }).encodeBytes(data));
   * ```
   */
  encodeBytes(bytes: Uint8Array): Uint32Array {
    if (!(bytes instanceof Uint8Array)) throw new TokenlabError("encodeBytes needs a Uint8Array");
    if (this.#p.level !== "byte") {
      throw new TokenlabError(`${this.name} is not byte-level; use encode(text)`);
    }
    if (this.#p.splitRe !== null && this.#p.splitRe !== undefined) {
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
      } catch {
        throw new TokenlabError(`${this.name} pre-tokenizes text, and these bytes are not UTF-8`, {
          hint: "train with trainBinaryBpe (no pre-tokenizer) to encode arbitrary bytes",
        });
      }
      return this.encode(text);
    }
    const ids = this.#byteBpe!.encodeBytes(bytes, bytes.length);
    if (ids === null) {
      const b = bytes.find((x) => this.#byteBpe!.byteId(x) < 0);
      throw new TokenlabError(`${this.name}: byte ${b} has no token (incomplete byte vocabulary)`);
    }
    return Uint32Array.from(ids);
  }

  /**
   * Encodes several texts (in this thread; see `encodeBatchParallel` for workers).
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * console.log(tok.encodeBatch(["a b", "c"]).map((x) => x.length));
   * ```
   */
  encodeBatch(texts: string[]): Uint32Array[] {
    if (!Array.isArray(texts)) throw new TokenlabError("encodeBatch needs an array of strings");
    return texts.map((t) => this.encode(t));
  }

  /** How a worker can rebuild this tokenizer (used by {@linkcode encodeBatchParallel}). */
  get workerSource(): WorkerSource {
    return this.#p.source!;
  }

  /** Marks this tokenizer as the pretrained one of that name (workers then load it by name). */
  markPretrained(name: string): void {
    Object.defineProperty(this, "name", { value: name });
    this.#p.source = { kind: "pretrained", name };
  }

  /**
   * Encodes with the byte and UTF-16 span of every token in the (normalized) text.
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * console.log(tok.encodeWithOffsets("héllo"));
   * ```
   */
  encodeWithOffsets(text: string): TokenOffset[] {
    if (typeof text !== "string") throw new TokenlabError("encodeWithOffsets needs a string");
    text = text.isWellFormed() ? text : text.toWellFormed();
    const spans: TokenOffset[] = [];
    this.#encodeInto(text, [], spans);
    return spans;
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
        const ids = this.#encodePiece(piece);
        if (spans) {
          const pieceBin = utf8Binary(piece);
          let b = 0;
          for (const id of ids) {
            const len = this.#tokenByteLength(id, piece);
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

  #tokenByteLength(id: number, _piece: string): number {
    const s = this.#p.symbols[id];
    if (this.#p.level === "byte") return s.length;
    if (/^<0x[0-9A-F]{2}>$/.test(s) && this.#byteFallbackIds) return 1;
    return textEncoder.encode(s).length;
  }

  /** BPE on one pre-token, cached. */
  #encodePiece(piece: string): number[] {
    const hit = this.#cache.get(piece);
    if (hit !== undefined) return hit;
    const ids = this.#p.level === "byte"
      ? this.#encodeBytePiece(piece)
      : this.#encodeCharPiece(piece);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(piece, ids);
    return ids;
  }

  #encodeBytePiece(piece: string): number[] {
    return this.#byteBpe!.encodeSpan(piece, 0, piece.length) ?? this.#missingByte(piece);
  }

  /** Names the first byte of `piece` that the vocabulary has no token for. */
  #missingByte(piece: string): never {
    const bytes = textEncoder.encode(piece);
    const b = bytes.find((x) => this.#byteBpe!.byteId(x) < 0);
    throw new TokenlabError(`${this.name}: byte ${b} has no token (incomplete byte vocabulary)`, {
      hint: "a byte-level vocabulary needs a token for each of the 256 bytes",
    });
  }

  #encodeCharPiece(piece: string): number[] {
    if (this.#p.ignoreMerges) {
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
          else if (this.#p.unkId !== null) ids.push(this.#p.unkId);
        }
        lastUnk = false;
        continue;
      }
      if (this.#p.unkId === null) {
        throw new TokenlabError(`${this.name}: ${JSON.stringify(sym)} has no token and no <unk>`);
      }
      if (!(this.#p.fuseUnk && lastUnk)) ids.push(this.#p.unkId);
      lastUnk = true;
    }
    return ids;
  }

  // ---------- decoding ----------

  /**
   * The bytes one token stands for.
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * console.log(tok.tokenBytes(tok.encode(" hello")[0]));
   * ```
   */
  tokenBytes(id: number): Uint8Array {
    this.#checkId(id);
    const s = this.#p.symbols[id];
    const added = this.#p.added.find((t) => t.id === id);
    if (added && (s === "" || this.#p.level === "char")) return textEncoder.encode(added.content);
    return this.#symbolBytes(s);
  }

  #symbolBytes(s: string): Uint8Array {
    if (this.#p.level === "byte") return binaryToBytes(s);
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(s);
    if (m && this.#byteFallbackIds) return new Uint8Array([parseInt(m[1], 16)]);
    return textEncoder.encode(s.replaceAll("\u2581", " "));
  }

  #checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.#p.symbols.length) {
      throw new TokenlabError(`token id ${id} is out of range for ${this.name}`, {
        hint: `ids run from 0 to ${this.#p.symbols.length - 1}`,
      });
    }
  }

  /**
   * The concatenated bytes of the tokens.
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * console.log(tok.decodeBytes(tok.encode("é")));
   * ```
   */
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

  /**
   * Decodes ids to text (invalid UTF-8 becomes U+FFFD, as in tiktoken and HF).
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("o200k_base");
   * console.log(tok.decode(tok.encode("round trip ✓")));
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    if (!ids || typeof ids.length !== "number") {
      throw new TokenlabError("decode needs an array of token ids");
    }
    if (this.#p.level === "byte") return textDecoder.decode(this.decodeBytes(ids));
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      this.#checkId(ids[i]);
      const added = this.#p.added.find((t) => t.id === ids[i]);
      tokens.push(added ? added.content : this.#p.symbols[ids[i]]);
    }
    return this.#p.decodeSteps(tokens).join("");
  }

  /**
   * A streaming decoder: feed ids one at a time, get text as soon as it is complete UTF-8
   * (never half a character).
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const stream = tok.decoderStream();
   * let text = "";
   * for (const id of tok.encode("naïve 🙂")) text += stream.push(id);
   * text += stream.flush();
   * console.log(text);
   * ```
   */
  decoderStream(): StreamDecoder {
    const td = new TextDecoder("utf-8", { ignoreBOM: true });
    return {
      push: (id: number) => td.decode(this.tokenBytes(id), { stream: true }),
      flush: () => td.decode(),
    };
  }

  // ---------- saving ----------

  /**
   * The tokenizer as an HF tokenizer.json object (byte-level tokenizers; a loaded
   * tokenizer.json is returned as it was).
   *
   * @example
   * ```ts
   * import { trainBpe } from "@tokenlab/tokenlab/tokenizers";
   * const tok = trainBpe(["a tiny corpus, a tiny test"], { vocabSize: 270 });
   * console.log(Object.keys(tok.toTokenizerJson()));
   * ```
   */
  toTokenizerJson(): Record<string, unknown> {
    if (this.#p.json) return structuredClone(this.#p.json) as Record<string, unknown>;
    if (this.#p.level !== "byte") {
      throw new TokenlabError("only byte-level tokenizers can be written as tokenizer.json");
    }
    const merges = this.#p.rankMode === "merges" ? this.#p.merges : this.#derivedMerges();
    const vocab: Record<string, number> = {};
    this.#p.symbols.forEach((s, id) => {
      if (s !== "") vocab[binaryToByteLevel(s)] = id;
    });
    const pre = this.#p.patternSource === null
      ? { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }
      : {
        type: "Sequence",
        pretokenizers: [
          {
            type: "Split",
            pattern: { Regex: toOnigurumaPattern(this.#p.patternSource) },
            behavior: "Isolated",
            invert: false,
          },
          { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      };
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.#p.added.map((t) => ({
        id: t.id,
        content: t.content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: t.special,
      })),
      normalizer: null,
      pre_tokenizer: pre,
      post_processor: null,
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: this.#p.rankMode === "ranks",
        vocab,
        merges: merges.map(([a, b]) => [binaryToByteLevel(a), binaryToByteLevel(b)]),
      },
    };
  }

  /** Merges implied by tiktoken ranks: the last merge BPE makes to build each token. */
  #derivedMerges(): [string, string][] {
    const out: [string, string][] = [];
    this.#p.symbols.forEach((s, rank) => {
      if (s.length < 2) return;
      const parts = bpeMerge([...s], (a, b) => {
        const r = this.#ids.get(a + b);
        return r !== undefined && r < rank ? r : undefined;
      });
      if (parts.length === 2) out.push([parts[0], parts[1]]);
    });
    return out;
  }

  /**
   * Writes the tokenizer as an HF tokenizer.json file (never overwrites a file of another
   * kind: it refuses paths that exist and are not tokenizer.json files).
   *
   * @example
   * ```ts
   * import { trainBpe } from "@tokenlab/tokenlab/tokenizers";
   * await trainBpe(["some text to train on"], { vocabSize: 270 }).save("/tmp/tokenizer.json");
   * ```
   */
  async save(path: string): Promise<void> {
    if (typeof path !== "string" || !path.endsWith(".json")) {
      throw new TokenlabError(`save needs a path ending in .json, got ${JSON.stringify(path)}`);
    }
    const text = JSON.stringify(this.toTokenizerJson());
    const tmp = `${path}.tmp-${Deno.pid}`;
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path); // atomic: a crash never leaves half a file
  }

  // ---------- display ----------

  /**
   * An HTML view of how `text` splits into tokens (coloured spans, ids on hover); the object
   * renders in Jupyter.
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const view = (await loadPretrained("cl100k_base")).show("Tokenizers split text.");
   * console.log(view.html.length);
   * ```
   */
  show(text: string): TokenView {
    const spans = this.encodeWithOffsets(text);
    const colours = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fbcfe8"];
    const html = `<div style="font-family:monospace;white-space:pre-wrap;line-height:1.8">` +
      spans.map((s, i) =>
        `<span title="id ${s.id}" style="background:${colours[i % colours.length]};` +
        `border-radius:3px;padding:1px 0">${escapeHtml(text.slice(s.start, s.end)) || "·"}</span>`
      ).join("") +
      `</div><div style="font-size:11px;color:#666">${spans.length} tokens, ` +
      `${textEncoder.encode(text).length} bytes · ${escapeHtml(this.name)}</div>`;
    return {
      html,
      ids: spans.map((s) => s.id),
      [JUPYTER_DISPLAY]: () => ({
        "text/html": html,
        "text/plain": spans.map((s) => s.id).join(" "),
      }),
    };
  }

  /** Rich display in Jupyter: a summary. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const summary = `${this.name}: ${this.#p.level}-level BPE, ${this.vocabSize} ids, ` +
      `${this.#p.merges.length} merges, ${this.#p.added.length} added tokens`;
    return { "text/plain": summary, "text/html": `<code>${escapeHtml(summary)}</code>` };
  }
}

/** Incremental decoder returned by {@linkcode Tokenizer.decoderStream}. */
export interface StreamDecoder {
  /** Feeds one id; returns the text completed by it (possibly ""). */
  push(id: number): string;
  /** Returns what is left (U+FFFD for a truncated character). */
  flush(): string;
}

/** A token view from {@linkcode Tokenizer.show}. */
export interface TokenView {
  /** The HTML markup. */
  html: string;
  /** The ids shown. */
  ids: number[];
  /** Jupyter display. */
  [JUPYTER_DISPLAY]: () => MimeBundle;
}

/** The pre-tokenizer step of a single-pattern tokenizer: its scanner, else its regex. */
function splitterOf(scanner: Scanner | null, re: RegExp | null): PreTokenize {
  if (scanner) {
    return (pieces) => {
      const out: string[] = [];
      for (const p of pieces) {
        for (let s = 0; s < p.length;) {
          const e = scanner(p, s);
          out.push(p.slice(s, e));
          s = e;
        }
      }
      return out;
    };
  }
  return re ? (pieces) => pieces.flatMap((p) => splitKeepAll(p, re)) : (p) => p;
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

/** JS regex source → the Oniguruma syntax HF expects. */
function toOnigurumaPattern(source: string): string {
  // `$` outside a class ends the text in JavaScript (no multiline flag) but ends a line in
  // Oniguruma, which spells the end of the text `\z`.
  let out = "", inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      out += c + (source[i + 1] ?? "");
      i++;
    } else if (c === "[") {
      inClass = true;
      out += c;
    } else if (c === "]") {
      inClass = false;
      out += c;
    } else out += c === "$" && !inClass ? "\\z" : c;
  }
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}
