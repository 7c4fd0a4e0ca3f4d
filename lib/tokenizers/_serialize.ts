// Writing a tokenizer as an HF tokenizer.json: the byte-level vocabulary and merges (merges
// derived from the ranks for tiktoken tokenizers), the single pre-tokenizer pattern in the
// Oniguruma syntax HF compiles, the added tokens; and saving it to a file atomically.

import { TokenlabError } from "../util/errors.ts";
import { writeAtomically } from "../util/_write_atomically.ts";
import { binaryToByteLevel } from "./_bytes.ts";
import { bpeMerge } from "./_bpe_engine.ts";
import type { BpeModel } from "./_bpe_model.ts";
import type { TokenizerParts } from "./_tokenizer_parts.ts";

/** The tokenizer.json of a tokenizer (a loaded one: a copy of the file it came from). */
export function tokenizerJsonOf(parts: TokenizerParts, model: BpeModel): Record<string, unknown> {
  if (parts.json) return structuredClone(parts.json) as Record<string, unknown>;
  if (parts.level !== "byte") {
    throw new TokenlabError("only byte-level tokenizers can be written as tokenizer.json");
  }
  const merges = parts.rankMode === "merges" ? parts.merges : derivedMerges(parts, model);
  const vocab: Record<string, number> = {};
  parts.symbols.forEach((s, id) => {
    if (s !== "") vocab[binaryToByteLevel(s)] = id;
  });
  const pre = parts.patternSource === null
    ? { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }
    : {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: { Regex: toOnigurumaPattern(parts.patternSource) },
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
    added_tokens: parts.added.map((t) => ({
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
      ignore_merges: parts.rankMode === "ranks",
      vocab,
      merges: merges.map(([a, b]) => [binaryToByteLevel(a), binaryToByteLevel(b)]),
    },
  };
}

/**
 * Writes the tokenizer.json that `json()` builds to `path` (object first, then path, like the
 * other save functions) (which must end in .json; checked
 * before building), through a temporary file renamed into place.
 */
export async function saveTokenizerJson(
  json: () => Record<string, unknown>,
  path: string,
): Promise<void> {
  if (typeof path !== "string" || !path.endsWith(".json")) {
    throw new TokenlabError(`save needs a path ending in .json, got ${JSON.stringify(path)}`);
  }
  const text = JSON.stringify(json());
  await writeAtomically(path, text);
}

/** Merges implied by tiktoken ranks: the last merge BPE makes to build each token. */
function derivedMerges(parts: TokenizerParts, model: BpeModel): [string, string][] {
  const out: [string, string][] = [];
  parts.symbols.forEach((s, rank) => {
    if (s.length < 2) return;
    const pieces = bpeMerge([...s], (a, b) => {
      const r = model.idOf(a + b);
      return r !== undefined && r < rank ? r : undefined;
    });
    if (pieces.length === 2) out.push([pieces[0], pieces[1]]);
  });
  return out;
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
