/**
 * Pre-tokenizers: the regular expressions that split text into pieces before BPE, equal to
 * tiktoken's and to the Split patterns of the HF tokenizer.json files we load.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { splitKeepAll } from "./_split.ts";
import { peerRegExp } from "./_unicode.ts";

const CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";

/** Named pre-tokenizer patterns (JavaScript syntax, used with the `gu` flags). */
export const PATTERNS: Readonly<Record<string, string>> = {
  /** GPT-2, r50k_base, p50k_base. */
  gpt2: `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`,
  /** cl100k_base (GPT-4, GPT-3.5). */
  // tiktoken's current statement adds `\s++$` before `\s*[\r\n]`: a whitespace run that ends
  // the text stays whole ("\n  " at the end is one piece, not "\n" and "  "); `\s+$` is the
  // same here (no multiline flag, and backtracking cannot make a shorter run end the text).
  cl100k:
    `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|` +
    `\\s+$|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  /** o200k_base (GPT-4o). */
  o200k:
    `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+` +
    `${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+` +
    `[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|` +
    `\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  /** Llama 3 (the cl100k pattern, as its tokenizer.json states it). */
  llama3:
    `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|` +
    `\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  /** Whitespace-separated words, each with its leading space (spaces stay with the word). */
  whitespace: ` ?\\S+|\\s+(?!\\S)|\\s+`,
};

/** A pre-tokenizer: a named pattern, `"none"` (the whole text is one piece) or a RegExp. */
export type PretokenizerSpec =
  | "gpt2"
  | "cl100k"
  | "o200k"
  | "llama3"
  | "whitespace"
  | "none"
  | RegExp;

/** Names accepted by {@linkcode resolvePretokenizer}. */
export const PRETOKENIZER_NAMES: readonly string[] = [...Object.keys(PATTERNS), "none"];

/**
 * Turns a spec into a global, unicode RegExp (or null for `"none"`). `\s` and `\S` are
 * rewritten to mean Unicode White_Space, as in tiktoken and HF (JavaScript's `\s` adds U+FEFF
 * and lacks U+0085), in named patterns and in RegExps given here alike, so a pattern saved to a
 * tokenizer.json splits the same way in HF.
 *
 * @example
 * ```ts
 * import { resolvePretokenizer } from "@tokenlab/tokenlab/tokenizers";
 * console.log(resolvePretokenizer("cl100k")!.flags); // "gu"
 * ```
 */
export function resolvePretokenizer(spec: PretokenizerSpec): RegExp | null {
  if (spec === "none") return null;
  if (spec instanceof RegExp) {
    const flags = new Set(spec.flags);
    flags.add("g");
    if (!flags.has("v")) flags.add("u");
    return peerRegExp(spec.source, [...flags].join(""));
  }
  const source = PATTERNS[spec as string];
  if (source === undefined) {
    throw new TokenlabError(`unknown pre-tokenizer ${JSON.stringify(spec)}`, {
      hint: `use one of ${PRETOKENIZER_NAMES.join(", ")}, or a RegExp`,
    });
  }
  return peerRegExp(source, "gu");
}

/**
 * Splits text into pre-tokens with the chosen pattern. Text the pattern does not match is
 * kept as its own piece, so the pieces always concatenate back to the text.
 *
 * @example
 * ```ts
 * import { pretokenize } from "@tokenlab/tokenlab/tokenizers";
 * console.log(pretokenize("Hello, world 2024!", "cl100k"));
 * // ["Hello", ",", " world", " ", "202", "4", "!"]
 * ```
 */
export function pretokenize(text: string, spec: PretokenizerSpec): string[] {
  if (typeof text !== "string") {
    throw new TokenlabError(`pretokenize needs a string, got ${typeof text}`);
  }
  const re = resolvePretokenizer(spec);
  if (re === null) return text.length ? [text] : [];
  return splitKeepAll(text, re);
}
