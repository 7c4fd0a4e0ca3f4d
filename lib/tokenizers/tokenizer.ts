/**
 * The `Tokenizer`: normalizer → pre-tokenizer → BPE model → decoder, loaded from tiktoken
 * ranks, HF tokenizer.json files or a trainer's merges.
 *
 * The class wires the pipeline's stages together; each lives in its own file: the formats
 * (`_tiktoken_format.ts`, `_merges_format.ts`, `_tokenizer_json_format.ts`) read a source into
 * parts (`_tokenizer_parts.ts`); the normalizer, pre-tokenizer and decoder steps come from
 * `_hf_pipeline.ts` or `_single_pattern.ts`; `_bpe_model.ts` is the model; `_encode_loop.ts`
 * runs text through them; `_decode.ts` turns ids back into bytes and text; `_serialize.ts`
 * writes tokenizer.json and `_display.ts` shows tokens.
 *
 * @example
 * ```ts
 * import { Tokenizer } from "@tokenlab/tokenlab/tokenizers";
 * const vocab = Array.from({ length: 256 }, (_, b) => new Uint8Array([b]));
 * vocab.push(new TextEncoder().encode("ab"));
 * const tok = Tokenizer.fromBpe({ vocab, merges: [[97, 98]], pretokenizer: "gpt2" });
 * console.log(tok.decode(tok.encode("abc"))); // "abc"
 * ```
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../util/jupyter.ts";
import type { TokenizerParts, WorkerSource } from "./_tokenizer_parts.ts";
import { type FromTiktokenOptions, tiktokenParts } from "./_tiktoken_format.ts";
import { type FromBpeOptions, mergesParts } from "./_merges_format.ts";
import { readTokenizerJson, tokenizerJsonParts } from "./_tokenizer_json_format.ts";
import { BpeModel } from "./_bpe_model.ts";
import { EncodeLoop, type TokenOffset } from "./_encode_loop.ts";
import { Decoder, type StreamDecoder } from "./_decode.ts";
import { saveTokenizerJson, tokenizerJsonOf } from "./_serialize.ts";
import { summaryBundle, type TokenView, tokenView } from "./_display.ts";

export type { FromBpeOptions, FromTiktokenOptions, StreamDecoder, TokenOffset, TokenView };
export type { WorkerSource };

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
  #model: BpeModel;
  #loop: EncodeLoop;
  #decoder: Decoder;

  private constructor(parts: TokenizerParts) {
    this.#p = parts;
    this.name = parts.name;
    this.#model = new BpeModel(parts);
    this.#loop = new EncodeLoop(parts, this.#model);
    this.#decoder = new Decoder(parts, this.#model);
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
    return new Tokenizer(tiktokenParts(ranks, options));
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
    return new Tokenizer(mergesParts(options));
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
    const { json, where } = await readTokenizerJson(pathOrObject);
    return new Tokenizer(tokenizerJsonParts(json, where));
  }

  // ---------- properties ----------

  /** Number of ids (including added/special tokens). */
  get vocabSize(): number {
    return this.#p.symbols.length;
  }

  /**
   * The id space: one more than the largest id this tokenizer can emit, special and added
   * tokens included — tiktoken's `n_vocab` (o200k: 200 019, while `vocabSize` counts the
   * 199 998 ranked tokens). Ids in [0, `vocabSize`) have bytes (`tokenBytes`); ids at or above
   * it are special or unused. A logits row or a token mask over every id needs this length.
   *
   * @example
   * ```ts
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("o200k_base");
   * console.log(tok.vocabSize, tok.idSpace); // 199998 200019
   * ```
   */
  get idSpace(): number {
    let n = this.#p.symbols.length;
    for (const t of this.#p.added) n = Math.max(n, t.id + 1);
    return n;
  }

  /** Special tokens: content → id. */
  get specialTokens(): Record<string, number> {
    return Object.fromEntries(this.#p.added.filter((t) => t.special).map((t) => [t.content, t.id]));
  }

  /** The merges in order, as pairs of token bytes (empty for rank-based tiktoken tokenizers). */
  get merges(): Array<[Uint8Array, Uint8Array]> {
    const model = this.#model;
    return this.#p.merges.map(([a, b]) => [model.symbolBytes(a), model.symbolBytes(b)]);
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
    return this.#loop.encode(text.isWellFormed() ? text : text.toWellFormed());
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
    return Uint32Array.from(this.#model.encodeBytes(bytes));
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
    this.#p.name = name; // the stages name the tokenizer in their errors
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
    return this.#loop.encodeWithOffsets(text.isWellFormed() ? text : text.toWellFormed());
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
    return this.#decoder.tokenBytes(id);
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
    return this.#decoder.decodeBytes(ids);
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
    return this.#decoder.decode(ids);
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
    return this.#decoder.stream();
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
    return tokenizerJsonOf(this.#p, this.#model);
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
    await saveTokenizerJson(() => this.toTokenizerJson(), path);
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
    return tokenView(text, this.encodeWithOffsets(text), this.name);
  }

  /** Rich display in Jupyter: a summary. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return summaryBundle({
      name: this.name,
      level: this.#p.level,
      vocabSize: this.vocabSize,
      merges: this.#p.merges.length,
      added: this.#p.added.length,
    });
  }
}
