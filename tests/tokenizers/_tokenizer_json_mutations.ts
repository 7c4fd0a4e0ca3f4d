// Mutated tokenizer.json files for the validator tests, built from three small valid files:
// every field removed, retyped, put out of range, plus inconsistent vocabularies, merges and
// added tokens, and truncated text. Shared with tests/fixtures/make_tokenizer_json_refusals.py,
// which runs this module (`deno run tests/tokenizers/_tokenizer_json_mutations.ts` prints the
// mutations as JSON) and records which of them HF `tokenizers` refuses.

// deno-lint-ignore no-explicit-any
type Json = any;

/** One mutated file. */
export interface Mutation {
  /** Unique, stable name ("base: what was done"). */
  name: string;
  /** The file text. */
  text: string;
  /** The JSON path a refusal must name ("" for text that is not JSON). */
  field: string;
  /** Why tokenlab refuses this even if HF accepts it (wrong ids otherwise); absent when tokenlab follows HF. */
  stricter?: string;
}

const added = (id: number, content: string, special = true) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special,
});

/** Valid files (each loads in HF `tokenizers` 0.23 and in tokenlab). */
export const BASES: Record<string, Json> = {
  // GPT-2 style: Split + ByteLevel, string merges, an added token past the vocabulary
  byte: {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(7, "<|end|>")],
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: { Regex: " ?\\p{L}+|\\s+" },
          behavior: "Isolated",
          invert: false,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: "ByteLevel",
      add_prefix_space: true,
      trim_offsets: false,
      use_regex: true,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: { a: 0, b: 1, c: 2, "Ġ": 3, ab: 4, abc: 5, "Ġa": 6 },
      merges: ["a b", "ab c", "Ġ a"],
    },
  },
  // SentencePiece style: pair merges, unk + byte fallback, added tokens inside the vocabulary,
  // truncation and padding set
  sp: {
    version: "1.0",
    truncation: { direction: "Right", max_length: 16, strategy: "LongestFirst", stride: 0 },
    padding: {
      strategy: { Fixed: 8 },
      direction: "Right",
      pad_to_multiple_of: null,
      pad_id: 0,
      pad_type_id: 0,
      pad_token: "<unk>",
    },
    added_tokens: [added(0, "<unk>"), added(1, "<s>")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: { "<unk>": 0, "<s>": 1, "<0x41>": 2, "▁": 3, h: 4, i: 5, "▁h": 6, "▁hi": 7 },
      merges: [["▁", "h"], ["▁h", "i"]],
    },
  },
  // the other pipeline pieces tokenlab reads
  misc: {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "WhitespaceSplit" },
        { type: "Digits", individual_digits: true },
        { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
        { type: "Whitespace" },
      ],
    },
    post_processor: {
      type: "Sequence",
      processors: [
        {
          type: "RobertaProcessing",
          sep: ["b", 1],
          cls: ["a", 0],
          trim_offsets: true,
          add_prefix_space: false,
        },
        { type: "BertProcessing", sep: ["b", 1], cls: ["a", 0] },
      ],
    },
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    model: {
      type: "BPE",
      dropout: 0,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab: { a: 0, b: 1, "▁": 2, ab: 3, "▁ab": 4 },
      merges: ["a b", "▁ ab"],
    },
  },
};

/** The JSON path convention of the validator's messages: `.key`, `["key"]`, `[i]`. */
export function jsonPath(parts: (string | number)[]): string {
  let p = "";
  for (const k of parts) {
    if (typeof k === "number") p += `[${k}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) p += p ? `.${k}` : k;
    else p += `[${JSON.stringify(k)}]`;
  }
  return p;
}

const SAMPLES: [string, unknown][] = [
  ["string", "x"],
  ["number", 7],
  ["null", null],
  ["array", []],
  ["object", {}],
  ["boolean", true],
];

function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function edit(
  base: Json,
  path: (string | number)[],
  f: (parent: Json, key: string | number) => void,
) {
  const json = structuredClone(base);
  let o = json;
  for (const k of path.slice(0, -1)) o = o[k];
  f(o, path[path.length - 1]);
  return json;
}

function set(base: Json, path: (string | number)[], value: unknown): Json {
  return edit(base, path, (o, k) => (o[k] = structuredClone(value)));
}

/** Every path in `v` (objects and arrays, depth first), with its value. */
function* walk(v: Json, path: (string | number)[] = []): Generator<[(string | number)[], Json]> {
  if (path.length > 0) yield [path, v];
  if (Array.isArray(v)) { for (let i = 0; i < v.length; i++) yield* walk(v[i], [...path, i]); }
  else if (v && typeof v === "object") {
    for (const k of Object.keys(v)) yield* walk(v[k], [...path, k]);
  }
}

/** Whether `path` is a vocabulary entry or a merge (these get their own, targeted mutations). */
function isVocabOrMerge(path: (string | number)[]): boolean {
  return path[0] === "model" && (path[1] === "vocab" || path[1] === "merges") && path.length > 2;
}

function inUnion(path: (string | number)[]): boolean {
  const parent = path.at(-2);
  return parent === "pattern" || parent === "strategy" ||
    (typeof parent === "number" && (path.at(-3) === "single" || path.at(-3) === "pair"));
}

/**
 * Why tokenlab refuses a generic mutation that HF may accept (undefined: tokenlab follows HF).
 * Judged from the path and the new kind alone, never from what the validator does.
 */
function stricter(path: (string | number)[], to: string): string | undefined {
  const key = path.at(-1);
  if (key === "type") {
    return path[0] === "model"
      ? 'tokenlab needs model.type "BPE"; HF guesses the model from its fields'
      : "HF guesses a pipeline piece from its fields when its type is missing or unknown, " +
        "tokenlab refuses to guess";
  }
  if (path[0] === "model" && key === "unk_token" && to === "string") {
    return "an unk_token that is not in the vocabulary cannot encode unknown text";
  }
  if (
    path[0] === "model" && (key === "continuing_subword_prefix" || key === "end_of_word_suffix") &&
    to === "string"
  ) return "tokenlab's BPE ignores subword prefixes and suffixes, so ids would differ";
  if (
    path.at(-3) === "processors" && (key === "trim_offsets" || key === "add_prefix_space") &&
    to !== "removed"
  ) {
    return "HF reads a RobertaProcessing with a bad flag as a BertProcessing instead";
  }
  return undefined;
}

/** All mutations of all bases. */
export function mutations(): Mutation[] {
  const out: Mutation[] = [];
  const add = (b: string, what: string, json: Json, field: string, stricter?: string) =>
    out.push({ name: `${b}: ${what}`, text: JSON.stringify(json, null, 1), field, stricter });
  for (const [b, base] of Object.entries(BASES)) {
    out.push({ name: `${b}: unchanged`, text: JSON.stringify(base, null, 1), field: "" });
    // generic: each field removed and retyped
    for (const [path, value] of walk(base)) {
      const p = jsonPath(path);
      if (!isVocabOrMerge(path)) {
        // removing a vocabulary entry or merge is judged by the targeted cases below
        const removed = edit(base, path, (o, k) => {
          if (Array.isArray(o)) o.splice(k as number, 1);
          else delete o[k];
        });
        // a one-key union ({"Regex": …}, {"SpecialToken": …}, {"Fixed": n}) left empty, or an
        // array one item short, is the parent's fault, so the message names the parent
        const parent = inUnion(path) || typeof path.at(-1) === "number";
        add(
          b,
          `${p} removed`,
          removed,
          parent ? jsonPath(path.slice(0, -1)) : p,
          stricter(path, "removed"),
        );
      }
      for (const [k, sample] of SAMPLES) {
        if (k === kind(value)) continue;
        add(b, `${p} retyped to ${k}`, set(base, path, sample), p, stricter(path, k));
      }
      if (typeof value === "number") {
        for (const bad of [-1, 1.5, 2 ** 32, 1e300]) {
          add(b, `${p} = ${bad}`, set(base, path, bad), p);
        }
      }
    }
    // enum-like strings and single characters given values outside their range
    for (const [path, value] of walk(base)) {
      if (typeof value !== "string" || isVocabOrMerge(path)) continue;
      const key = path[path.length - 1];
      const p = jsonPath(path);
      if (
        ["type", "behavior", "prepend_scheme", "direction", "strategy", "version"].includes(
          key as string,
        )
      ) {
        add(b, `${p} = "Nonsense"`, set(base, path, "Nonsense"), p, stricter(path, "Nonsense"));
      }
      if (
        ["replacement"].includes(key as string) ||
        (key === "content" && path.includes("decoders") && path.at(-2) === 3)
      ) {
        add(b, `${p} = two characters`, set(base, path, "ab"), p);
      }
      if (key === "Regex") add(b, `${p} does not compile`, set(base, path, "(ab"), p);
    }
    add(b, "unknown top-level field", { ...structuredClone(base), extra: 1 }, "extra");
    const text = JSON.stringify(base, null, 1);
    for (const frac of [0.1, 0.5, 0.9]) {
      out.push({
        name: `${b}: text truncated at ${frac * 100}%`,
        text: text.slice(0, Math.floor(text.length * frac)),
        field: "",
      });
    }
    out.push({
      name: `${b}: text with a trailing comma`,
      text: text.replace(/\n}$/, ",\n}"),
      field: "",
    });
    out.push({ name: `${b}: empty text`, text: "", field: "" });
  }

  // targeted: vocabulary ids, merges, added tokens
  const dup = "two tokens with one id give one of them the other's id";
  const far = "tokenlab keeps an id-indexed table; ids far beyond the token count are corruption";
  const byte = BASES.byte, sp = BASES.sp, misc = BASES.misc;
  add(
    "byte",
    "vocab id of c duplicates b",
    set(byte, ["model", "vocab", "c"], 1),
    "model.vocab.c",
    dup,
  );
  add(
    "byte",
    "vocab id 2**32-1",
    set(byte, ["model", "vocab", "c"], 2 ** 32 - 1),
    "model.vocab.c",
    far,
  );
  add(
    "byte",
    "vocab id 1000000",
    set(byte, ["model", "vocab", "c"], 1_000_000),
    "model.vocab.c",
    far,
  );
  add("byte", "vocab id negative", set(byte, ["model", "vocab", "Ġa"], -3), 'model.vocab["Ġa"]');
  add("byte", "vocab id as string", set(byte, ["model", "vocab", "Ġa"], "6"), 'model.vocab["Ġa"]');
  add(
    "byte",
    "vocab entry outside the byte-level alphabet",
    set(byte, ["model", "vocab", "→"], 8),
    'model.vocab["→"]',
    "a byte-level vocabulary entry that no bytes spell can never be produced",
  );
  add(
    "byte",
    "vocab entry b removed (used by merge 0)",
    edit(byte, ["model", "vocab", "b"], (o, k) => delete o[k]),
    "model.merges[0]",
  );
  add(
    "byte",
    "vocab entry abc removed (merged token of merge 1)",
    edit(byte, ["model", "vocab", "abc"], (o, k) => delete o[k]),
    "model.merges[1]",
  );
  add(
    "byte",
    "vocab entry c removed (used by merge 1)",
    edit(byte, ["model", "vocab", "c"], (o, k) => delete o[k]),
    "model.merges[1]",
  );
  add("byte", "vocab empty", set(byte, ["model", "vocab"], {}), "model.merges[0]");
  add(
    "byte",
    "merge naming an unknown right token",
    set(byte, ["model", "merges", 1], "ab d"),
    "model.merges[1]",
  );
  add(
    "byte",
    "merge naming an unknown left token",
    set(byte, ["model", "merges", 0], "z b"),
    "model.merges[0]",
  );
  add(
    "byte",
    "merge whose merged token is unknown",
    set(byte, ["model", "merges", 2], "b c"),
    "model.merges[2]",
  );
  add(
    "byte",
    "merge with three parts",
    set(byte, ["model", "merges", 0], "a b c"),
    "model.merges[0]",
  );
  add(
    "byte",
    "merge with a leading space",
    set(byte, ["model", "merges", 0], " a"),
    "model.merges[0]",
  );
  add("byte", "merge with no space", set(byte, ["model", "merges", 0], "ab"), "model.merges[0]");
  add(
    "byte",
    "merge repeated",
    set(byte, ["model", "merges"], ["a b", "ab c", "a b"]),
    "model.merges[2]",
    "HF keeps the later rank of a repeated merge, tokenlab the first: ids would differ",
  );
  add(
    "byte",
    "merges mixing strings and pairs",
    set(byte, ["model", "merges"], ["a b", ["ab", "c"]]),
    "model.merges[1]",
  );
  add(
    "sp",
    "pair merge with three tokens",
    set(sp, ["model", "merges", 0], ["▁", "h", "i"]),
    "model.merges[0]",
  );
  add(
    "sp",
    "pair merge with one token",
    set(sp, ["model", "merges", 1], ["▁h"]),
    "model.merges[1]",
  );
  add(
    "sp",
    "pair merge naming an unknown token",
    set(sp, ["model", "merges", 1], ["▁h", "x"]),
    "model.merges[1]",
  );
  add(
    "sp",
    "unk_token not in the vocabulary",
    set(sp, ["model", "unk_token"], "<oov>"),
    "model.unk_token",
    "unknown text would fail to encode instead of giving <unk>",
  );
  add(
    "byte",
    "added token id collides with vocab token c",
    set(byte, ["added_tokens", 0, "id"], 2),
    "added_tokens[0].id",
    dup,
  );
  add(
    "byte",
    "added token content is vocab token c with another id",
    set(byte, ["added_tokens", 0, "content"], "c"),
    "added_tokens[0]",
    "HF only warns and gives the vocabulary's id, so the file's id is wrong",
  );
  add(
    "sp",
    "added token <s> with the id of <unk>",
    set(sp, ["added_tokens", 1, "id"], 0),
    "added_tokens[1]",
    dup,
  );
  add(
    "byte",
    "two added tokens with one id",
    set(byte, ["added_tokens"], [added(7, "<|end|>"), added(7, "<|pad|>")]),
    "added_tokens[1].id",
    dup,
  );
  add(
    "byte",
    "one added token with two ids",
    set(byte, ["added_tokens"], [added(7, "<|end|>"), added(8, "<|end|>")]),
    "added_tokens[1]",
    dup,
  );
  add(
    "byte",
    "added token id 1000000",
    set(byte, ["added_tokens", 0, "id"], 1_000_000),
    "added_tokens[0].id",
    far,
  );
  add(
    "byte",
    "dropout 0.5",
    set(byte, ["model", "dropout"], 0.5),
    "model.dropout",
    "BPE dropout makes encoding random; tokenlab does not implement it",
  );
  add("byte", "dropout 2", set(byte, ["model", "dropout"], 2), "model.dropout");
  add(
    "byte",
    "continuing_subword_prefix ##",
    set(byte, ["model", "continuing_subword_prefix"], "##"),
    "model.continuing_subword_prefix",
    "tokenlab's BPE ignores the prefix, so ids would differ",
  );
  add(
    "byte",
    "end_of_word_suffix </w>",
    set(byte, ["model", "end_of_word_suffix"], "</w>"),
    "model.end_of_word_suffix",
    "tokenlab's BPE ignores the suffix, so ids would differ",
  );
  add(
    "byte",
    "Split with invert true",
    set(byte, ["pre_tokenizer", "pretokenizers", 0, "invert"], true),
    "pre_tokenizer.pretokenizers[0].invert",
    "tokenlab does not implement inverted Split",
  );
  add(
    "byte",
    "pattern with both String and Regex",
    set(byte, ["pre_tokenizer", "pretokenizers", 0, "pattern"], { String: "a", Regex: "a" }),
    "pre_tokenizer.pretokenizers[0].pattern",
  );
  add("misc", "model type WordPiece", set(misc, ["model", "type"], "WordPiece"), "model.type");
  add(
    "misc",
    "normalizer type HF knows but tokenlab does not run",
    set(misc, ["normalizer", "normalizers", 0], {
      type: "Strip",
      strip_left: true,
      strip_right: true,
    }),
    "normalizer.normalizers[0]",
    "tokenlab would skip the step and give other ids",
  );
  add(
    "misc",
    "pre-tokenizer type HF knows but tokenlab does not run",
    set(misc, ["pre_tokenizer", "pretokenizers", 0], { type: "Punctuation", behavior: "Isolated" }),
    "pre_tokenizer.pretokenizers[0]",
    "tokenlab would skip the step and give other ids",
  );
  return out;
}

if (import.meta.main) {
  console.log(JSON.stringify(mutations().map(({ name, text }) => ({ name, text }))));
}
