// Validates a parsed HF tokenizer.json against the `tokenizers` serialisation before anything
// is built from it, so a corrupt or inconsistent file is refused with the file and the JSON path
// of the field named, instead of loading into a tokenizer that gives wrong ids. It refuses
// everything HF refuses for the parts tokenlab reads (checked by
// tests/fixtures/make_tokenizer_json_refusals.py) and a few things HF only warns about or
// resolves silently (duplicate ids, added tokens that disagree with the vocabulary, duplicate
// merges), because those change ids without a word.
import { TokenlabError } from "../util/errors.ts";
import { BYTE_TO_UNICODE } from "./_bytes.ts";
import { hasByteLevel } from "./_hf_pipeline.ts";
import { onigRegExp } from "./_unicode.ts";

type Obj = Record<string, unknown>;

const U32_MAX = 0xffff_ffff;
const TOP_KEYS = new Set([
  "version",
  "truncation",
  "padding",
  "added_tokens",
  "normalizer",
  "pre_tokenizer",
  "post_processor",
  "decoder",
  "model",
]);
const SPLIT_BEHAVIORS = [
  "Removed",
  "Isolated",
  "MergedWithPrevious",
  "MergedWithNext",
  "Contiguous",
];
const PREPEND_SCHEMES = ["first", "never", "always"];
const SUPPORTED_HINT = "tokenlab reads the pipeline pieces of byte-level BPE and " +
  "SentencePiece-style BPE tokenizers; open an issue with the file if you need this one";

/** The GPT-2 byte-level alphabet as a code point table (1 = in the alphabet). */
const BYTE_LEVEL_CHAR = (() => {
  const t = new Uint8Array(0x144);
  for (const c of BYTE_TO_UNICODE) t[c.charCodeAt(0)] = 1;
  return t;
})();

function isByteLevelToken(tok: string): boolean {
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i);
    if (c >= BYTE_LEVEL_CHAR.length || BYTE_LEVEL_CHAR[c] === 0) return false;
  }
  return true;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `path` + `.key` (or `["key"]` when the key is not an identifier). */
function at(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/** Field checks bound to one file name. */
class Checker {
  constructor(readonly file: string) {}

  fail(path: string, problem: string, hint?: string): never {
    throw new TokenlabError(`${this.file}: ${path || "(top level)"}: ${problem}`, {
      hint: hint ?? "the file is corrupt or was written by hand; re-download or re-save it",
    });
  }

  object(v: unknown, path: string): Obj {
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      this.fail(path, `must be an object, got ${kindOf(v)}`);
    }
    return v as Obj;
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `must be an array, got ${kindOf(v)}`);
    return v;
  }

  /** The field, failing when it is absent and required. */
  field(o: Obj, path: string, key: string, required: boolean): unknown {
    const v = Object.hasOwn(o, key) ? o[key] : undefined;
    if (v === undefined && required) this.fail(at(path, key), "is missing (required)");
    return v;
  }

  bool(o: Obj, path: string, key: string, opt: { required: boolean; nullable?: boolean }): void {
    const v = this.field(o, path, key, opt.required);
    if (v === undefined || (v === null && opt.nullable)) return;
    if (typeof v !== "boolean") this.fail(at(path, key), `must be a boolean, got ${kindOf(v)}`);
  }

  string(o: Obj, path: string, key: string, opt: { required: boolean; nullable?: boolean }) {
    const v = this.field(o, path, key, opt.required);
    if (v === undefined || (v === null && opt.nullable)) return v as string | null | undefined;
    if (typeof v !== "string") this.fail(at(path, key), `must be a string, got ${kindOf(v)}`);
    return v;
  }

  /** A one-code-point string (Rust `char`). */
  char(o: Obj, path: string, key: string, required: boolean): void {
    const v = this.string(o, path, key, { required });
    if (typeof v === "string" && [...v].length !== 1) {
      this.fail(at(path, key), `must be a single character, got ${show(v)}`);
    }
  }

  /** A non-negative integer no larger than `max` (u32 / usize). */
  integer(v: unknown, path: string, max: number): number {
    if (typeof v !== "number") this.fail(path, `must be a non-negative integer, got ${kindOf(v)}`);
    if (!Number.isInteger(v) || v < 0 || v > max) {
      this.fail(path, `must be an integer from 0 to ${max}, got ${v}`);
    }
    return v;
  }

  intField(o: Obj, path: string, key: string, opt: { required: boolean; nullable?: boolean }) {
    const v = this.field(o, path, key, opt.required);
    if (v === undefined || (v === null && opt.nullable)) return;
    this.integer(v, at(path, key), Number.MAX_SAFE_INTEGER);
  }

  oneOf(o: Obj, path: string, key: string, values: string[], required: boolean): void {
    const v = this.field(o, path, key, required);
    if (v === undefined) return;
    if (typeof v !== "string" || !values.includes(v)) {
      this.fail(at(path, key), `must be one of ${values.join(", ")}, got ${show(v)}`);
    }
  }

  /** `{ "String": s }` or `{ "Regex": r }` with r a regex that compiles. */
  pattern(o: Obj, path: string, key: string): void {
    const p = this.object(this.field(o, path, key, true), at(path, key));
    const keys = Object.keys(p);
    if (keys.length !== 1 || (keys[0] !== "String" && keys[0] !== "Regex")) {
      this.fail(at(path, key), `must have exactly one of "String" or "Regex", got ${show(p)}`);
    }
    const src = this.string(p, at(path, key), keys[0], { required: true }) as string;
    if (keys[0] === "Regex") {
      try {
        onigRegExp(src, "gu");
      } catch (cause) {
        throw new TokenlabError(
          `${this.file}: ${at(at(path, key), "Regex")}: ${show(src)} does not compile (${
            (cause as Error).message
          })`,
          { hint: "fix the regex or re-download the file", cause },
        );
      }
    }
  }

  /** The component's `type`, which must be one of `supported`. */
  type(cfg: Obj, path: string, kind: string, supported: string[]): string {
    const t = this.field(cfg, path, "type", true);
    if (typeof t !== "string") this.fail(at(path, "type"), `must be a string, got ${kindOf(t)}`);
    if (!supported.includes(t)) {
      this.fail(at(path, "type"), `unsupported ${kind} type ${JSON.stringify(t)}`, SUPPORTED_HINT);
    }
    return t;
  }

  list(o: Obj, path: string, key: string, each: (v: unknown, path: string) => void): void {
    const items = this.array(this.field(o, path, key, true), at(path, key));
    items.forEach((v, i) => each(v, at(at(path, key), i)));
  }

  // ---------- components ----------

  normalizer(v: unknown, path: string): void {
    if (v === null || v === undefined) return;
    const cfg = this.object(v, path);
    const t = this.type(cfg, path, "normalizer", [
      "Sequence",
      "NFC",
      "NFD",
      "NFKC",
      "NFKD",
      "Lowercase",
      "Prepend",
      "Replace",
    ]);
    if (t === "Sequence") {
      this.list(cfg, path, "normalizers", (n, p) => this.normalizer(this.object(n, p), p));
    } else if (t === "Prepend") this.string(cfg, path, "prepend", { required: true });
    else if (t === "Replace") {
      this.pattern(cfg, path, "pattern");
      this.string(cfg, path, "content", { required: true });
    }
  }

  byteLevel(cfg: Obj, path: string): void {
    this.bool(cfg, path, "add_prefix_space", { required: true });
    this.bool(cfg, path, "trim_offsets", { required: true });
    this.bool(cfg, path, "use_regex", { required: false });
  }

  metaspace(cfg: Obj, path: string): void {
    this.char(cfg, path, "replacement", true);
    this.oneOf(cfg, path, "prepend_scheme", PREPEND_SCHEMES, false);
    this.bool(cfg, path, "split", { required: false, nullable: true });
    this.bool(cfg, path, "add_prefix_space", { required: false });
  }

  preTokenizer(v: unknown, path: string): void {
    if (v === null || v === undefined) return;
    const cfg = this.object(v, path);
    const t = this.type(cfg, path, "pre-tokenizer", [
      "Sequence",
      "Split",
      "ByteLevel",
      "Digits",
      "Whitespace",
      "WhitespaceSplit",
      "Metaspace",
    ]);
    switch (t) {
      case "Sequence":
        this.list(cfg, path, "pretokenizers", (n, p) => this.preTokenizer(this.object(n, p), p));
        break;
      case "Split":
        this.pattern(cfg, path, "pattern");
        this.oneOf(cfg, path, "behavior", SPLIT_BEHAVIORS, true);
        this.bool(cfg, path, "invert", { required: true });
        if (cfg.invert === true) {
          this.fail(at(path, "invert"), "Split with invert: true is not supported", SUPPORTED_HINT);
        }
        break;
      case "ByteLevel":
        this.byteLevel(cfg, path);
        break;
      case "Digits":
        this.bool(cfg, path, "individual_digits", { required: true });
        break;
      case "Metaspace":
        this.metaspace(cfg, path);
    }
  }

  decoder(v: unknown, path: string): void {
    if (v === null || v === undefined) return;
    const cfg = this.object(v, path);
    const t = this.type(cfg, path, "decoder", [
      "Sequence",
      "Replace",
      "ByteFallback",
      "Fuse",
      "Strip",
      "Metaspace",
      "ByteLevel",
    ]);
    switch (t) {
      case "Sequence":
        this.list(cfg, path, "decoders", (n, p) => this.decoder(this.object(n, p), p));
        break;
      case "Replace":
        this.pattern(cfg, path, "pattern");
        this.string(cfg, path, "content", { required: true });
        break;
      case "Strip":
        this.char(cfg, path, "content", true);
        this.intField(cfg, path, "start", { required: true });
        this.intField(cfg, path, "stop", { required: true });
        break;
      case "Metaspace":
        this.metaspace(cfg, path);
        break;
      case "ByteLevel":
        this.byteLevel(cfg, path);
    }
  }

  /** tokenlab's encode adds no special tokens, but a broken post-processor is still a broken file. */
  postProcessor(v: unknown, path: string): void {
    if (v === null || v === undefined) return;
    const cfg = this.object(v, path);
    const t = this.type(cfg, path, "post-processor", [
      "Sequence",
      "ByteLevel",
      "TemplateProcessing",
      "BertProcessing",
      "RobertaProcessing",
    ]);
    const tokenPair = (key: string) => {
      const p = at(path, key);
      const pair = this.array(this.field(cfg, path, key, true), p);
      if (pair.length !== 2) this.fail(p, `must be [token, id], got ${show(pair)}`);
      if (typeof pair[0] !== "string") {
        this.fail(at(p, 0), `must be a string, got ${kindOf(pair[0])}`);
      }
      this.integer(pair[1], at(p, 1), U32_MAX);
    };
    switch (t) {
      case "Sequence":
        this.list(cfg, path, "processors", (n, p) => this.postProcessor(this.object(n, p), p));
        break;
      case "ByteLevel":
        this.byteLevel(cfg, path);
        break;
      case "BertProcessing":
      case "RobertaProcessing":
        tokenPair("sep");
        tokenPair("cls");
        if (t === "RobertaProcessing") {
          this.bool(cfg, path, "trim_offsets", { required: false });
          this.bool(cfg, path, "add_prefix_space", { required: false });
        }
        break;
      case "TemplateProcessing": {
        const piece = (v: unknown, p: string) => {
          const o = this.object(v, p);
          const keys = Object.keys(o);
          if (keys.length !== 1 || (keys[0] !== "SpecialToken" && keys[0] !== "Sequence")) {
            this.fail(p, `must be {"SpecialToken": …} or {"Sequence": …}, got ${show(o)}`);
          }
          const inner = this.object(o[keys[0]], at(p, keys[0]));
          if (keys[0] === "Sequence") this.oneOf(inner, at(p, keys[0]), "id", ["A", "B"], true);
          else this.string(inner, at(p, keys[0]), "id", { required: true });
          const tid = this.field(inner, at(p, keys[0]), "type_id", true);
          this.integer(tid, at(at(p, keys[0]), "type_id"), U32_MAX);
        };
        this.list(cfg, path, "single", piece);
        this.list(cfg, path, "pair", piece);
        const specials = this.object(
          this.field(cfg, path, "special_tokens", true),
          at(path, "special_tokens"),
        );
        for (const [name, s] of Object.entries(specials)) {
          const p = at(at(path, "special_tokens"), name);
          const o = this.object(s, p);
          this.string(o, p, "id", { required: true });
          this.list(o, p, "ids", (id, q) => this.integer(id, q, U32_MAX));
          this.list(o, p, "tokens", (tok, q) => {
            if (typeof tok !== "string") this.fail(q, `must be a string, got ${kindOf(tok)}`);
          });
        }
      }
    }
  }

  truncation(v: unknown, path: string): void {
    if (v === null || v === undefined) return;
    const cfg = this.object(v, path);
    this.oneOf(cfg, path, "direction", ["Left", "Right"], false);
    this.intField(cfg, path, "max_length", { required: true });
    this.oneOf(cfg, path, "strategy", ["LongestFirst", "OnlyFirst", "OnlySecond"], true);
    this.intField(cfg, path, "stride", { required: true });
  }

  padding(v: unknown, path: string): void {
    if (v === null || v === undefined) return;
    const cfg = this.object(v, path);
    const strategy = this.field(cfg, path, "strategy", true);
    if (strategy !== "BatchLongest") {
      const s = this.object(strategy, at(path, "strategy"));
      if (Object.keys(s).length !== 1 || !Object.hasOwn(s, "Fixed")) {
        this.fail(at(path, "strategy"), `must be "BatchLongest" or {"Fixed": n}, got ${show(s)}`);
      }
      this.integer(s.Fixed, at(at(path, "strategy"), "Fixed"), Number.MAX_SAFE_INTEGER);
    }
    this.oneOf(cfg, path, "direction", ["Left", "Right"], true);
    this.intField(cfg, path, "pad_to_multiple_of", { required: false, nullable: true });
    const pid = this.field(cfg, path, "pad_id", true);
    this.integer(pid, at(path, "pad_id"), U32_MAX);
    const tid = this.field(cfg, path, "pad_type_id", true);
    this.integer(tid, at(path, "pad_type_id"), U32_MAX);
    this.string(cfg, path, "pad_token", { required: true });
  }
}

/**
 * Checks a parsed tokenizer.json (BPE model) field by field and throws a {@linkcode TokenlabError}
 * naming `file` and the JSON path of the first bad field. Cost: one pass over the vocabulary and
 * the merges (a few tens of ms for a 200k-token file).
 */
export function validateTokenizerJson(json: unknown, file: string): void {
  const c: Checker = new Checker(file);
  const top = c.object(json, "");
  for (const key of Object.keys(top)) {
    if (!TOP_KEYS.has(key)) {
      c.fail(key, "is not a tokenizer.json field", `the fields are ${[...TOP_KEYS].join(", ")}`);
    }
  }
  const version = c.string(top, "", "version", { required: false });
  if (version !== undefined && version !== "1.0") {
    c.fail("version", `must be "1.0", got ${show(version)}`);
  }
  c.truncation(top.truncation, "truncation");
  c.padding(top.padding, "padding");
  c.normalizer(top.normalizer, "normalizer");
  c.preTokenizer(top.pre_tokenizer, "pre_tokenizer");
  c.postProcessor(top.post_processor, "post_processor");
  c.decoder(top.decoder, "decoder");

  // added tokens: every field HF requires, typed
  const added: { id: number; content: string }[] = [];
  if (top.added_tokens !== undefined) {
    c.array(top.added_tokens, "added_tokens").forEach((t, i) => {
      const p = at("added_tokens", i);
      const o = c.object(t, p);
      const id = c.integer(c.field(o, p, "id", true), at(p, "id"), U32_MAX);
      const content = c.string(o, p, "content", { required: true }) as string;
      for (const k of ["single_word", "lstrip", "rstrip", "normalized", "special"]) {
        c.bool(o, p, k, { required: true });
      }
      added.push({ id, content });
    });
  }

  // the BPE model
  if (top.model === undefined) c.fail("model", "is missing (required)");
  const model = c.object(top.model, "model");
  const type = c.field(model, "model", "type", true);
  if (type !== "BPE") {
    c.fail(
      "model.type",
      `unsupported model type ${show(type)}`,
      "tokenlab loads BPE tokenizers " +
        "(WordPiece, Unigram and WordLevel are not supported)",
    );
  }
  const dropout = c.field(model, "model", "dropout", false);
  if (dropout !== undefined && dropout !== null) {
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout <= 1)) {
      c.fail("model.dropout", `must be null or a number from 0 to 1, got ${show(dropout)}`);
    }
    if (dropout !== 0) {
      c.fail("model.dropout", `BPE dropout ${dropout} is not supported (encoding would be random)`);
    }
  }
  const unk = c.string(model, "model", "unk_token", { required: false, nullable: true });
  for (const k of ["continuing_subword_prefix", "end_of_word_suffix"]) {
    const v = c.string(model, "model", k, { required: false, nullable: true });
    if (v) {
      c.fail(at("model", k), `${show(v)} is not supported (only null or "")`, SUPPORTED_HINT);
    }
  }
  for (const k of ["fuse_unk", "byte_fallback", "ignore_merges"]) {
    c.bool(model, "model", k, { required: false, nullable: true });
  }
  const vocab = c.object(c.field(model, "model", "vocab", true), "model.vocab");
  const merges = c.array(c.field(model, "model", "merges", true), "model.merges");

  // vocabulary: u32 ids, each id used once, not absurdly far beyond the number of tokens
  // (tokenlab keeps an id-indexed table, and such ids are corruption, not design)
  const keys = Object.keys(vocab);
  const idLimit = 2 * (keys.length + added.length) + 256;
  const owner: (string | undefined)[] = new Array(Math.min(idLimit, keys.length + 1024));
  const byteLevel = hasByteLevel(top.pre_tokenizer);
  const addedContent = new Set(added.map((t) => t.content));
  for (const tok of keys) {
    const id = vocab[tok];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > U32_MAX) {
      c.fail(at("model.vocab", tok), `id must be an integer from 0 to ${U32_MAX}, got ${show(id)}`);
    }
    if (id >= idLimit) {
      c.fail(
        at("model.vocab", tok),
        `id ${id} is far beyond the ${keys.length + added.length} tokens of the file ` +
          `(ids must be below ${idLimit})`,
      );
    }
    const prev = owner[id];
    if (prev !== undefined) {
      c.fail(
        at("model.vocab", tok),
        `id ${id} is also the id of ${show(prev)} (ids must be unique)`,
      );
    }
    owner[id] = tok;
    if (byteLevel && !isByteLevelToken(tok) && !addedContent.has(tok)) {
      c.fail(
        at("model.vocab", tok),
        "is not in the byte-level alphabet (the pre-tokenizer is ByteLevel)",
      );
    }
  }
  if (unk !== undefined && unk !== null && typeof vocab[unk] !== "number") {
    c.fail("model.unk_token", `${show(unk)} is not in model.vocab`);
  }

  // added tokens against the vocabulary and each other
  const addedById = new Map<number, string>();
  const addedByContent = new Map<string, number>();
  added.forEach(({ id, content }, i) => {
    const p = at("added_tokens", i);
    if (id >= idLimit) {
      c.fail(
        at(p, "id"),
        `id ${id} is far beyond the tokens of the file (ids must be below ${idLimit})`,
      );
    }
    const inVocab = vocab[content];
    if (typeof inVocab === "number" && Object.hasOwn(vocab, content) && inVocab !== id) {
      c.fail(p, `${show(content)} has id ${id} but model.vocab gives it ${inVocab}`);
    }
    const vocabTok = owner[id];
    if (vocabTok !== undefined && vocabTok !== content) {
      c.fail(
        at(p, "id"),
        `id ${id} of ${show(content)} is the id of ${show(vocabTok)} in model.vocab`,
      );
    }
    const other = addedById.get(id);
    if (other !== undefined && other !== content) {
      c.fail(
        at(p, "id"),
        `id ${id} of ${show(content)} is also the id of added token ${show(other)}`,
      );
    }
    const otherId = addedByContent.get(content);
    if (otherId !== undefined && otherId !== id) {
      c.fail(p, `${show(content)} is added twice, with ids ${otherId} and ${id}`);
    }
    addedById.set(id, content);
    addedByContent.set(content, id);
  });

  // merges: all strings "a b" or all pairs [a, b]; a, b and a+b in the vocabulary; no repeats.
  // Hot loop (~300k merges): only `typeof vocab[x]` lookups (every own value is a number by now,
  // and nothing inherited is), and repeats found through the merged token's id, not a pair Set.
  if (merges.length === 0) return;
  const pairs = Array.isArray(merges[0]);
  // merges with the same merged token, chained: a fixes b (a + b is the merged token), so two
  // merges with one merged token and one left token are the same merge
  const lastWith = new Int32Array(owner.length).fill(-1); // merged id → last merge making it
  const prevWith = new Int32Array(merges.length); // merge → earlier merge with its merged id
  const leftOf = new Int32Array(merges.length);
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i];
    let a: string, b: string;
    if (!pairs && typeof m === "string") {
      const sp = m.indexOf(" ");
      if (sp <= 0 || sp === m.length - 1 || m.indexOf(" ", sp + 1) >= 0) {
        c.fail(at("model.merges", i), `${show(m)} must be two tokens separated by one space`);
      }
      a = m.slice(0, sp);
      b = m.slice(sp + 1);
    } else if (pairs && Array.isArray(m) && m.length === 2) {
      a = m[0];
      b = m[1];
      if (typeof a !== "string") {
        c.fail(at(at("model.merges", i), 0), `must be a string, got ${kindOf(a)}`);
      }
      if (typeof b !== "string") {
        c.fail(at(at("model.merges", i), 1), `must be a string, got ${kindOf(b)}`);
      }
    } else {
      c.fail(
        at("model.merges", i),
        `must be ${pairs ? "a pair [a, b] like merge 0" : 'a string "a b" like merge 0'}, ` +
          `got ${show(m)}`,
      );
    }
    const ia = vocab[a], ib = vocab[b], ir = vocab[a + b];
    if (typeof ia !== "number" || typeof ib !== "number" || typeof ir !== "number") {
      const [role, tok] = typeof ia !== "number"
        ? ["token", a]
        : typeof ib !== "number"
        ? ["token", b]
        : ["the merged token", a + b];
      c.fail(
        at("model.merges", i),
        `${show(m)} names ${role} ${show(tok)} that is not in model.vocab`,
      );
    }
    for (let j = lastWith[ir]; j !== -1; j = prevWith[j]) {
      if (leftOf[j] === ia) c.fail(at("model.merges", i), `${show(m)} repeats merge ${j}`);
    }
    prevWith[i] = lastWith[ir];
    lastWith[ir] = i;
    leftOf[i] = ia;
  }
}
