/**
 * Lexicon-based tokenizer scores and a morphological tokenizer, for agglutinative languages
 * (Turkish in the catalogue): the share of a tokenizer's tokens that are valid words (%TR) or
 * single morphemes (%Pure), and a root + affix tokenizer with BPE fallback and case tokens.
 *
 * @module
 */
import type { HunspellDictionary } from "../data/hunspell.ts";
import { TokenlabError } from "../util/errors.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { trainBpe } from "./train_bpe.ts";

/** Roots and single affixes of a language. */
export interface MorphemeInventory {
  /** Dictionary roots. */
  roots: Set<string>;
  /** Affixes that are not a concatenation of two or more shorter affixes (of 2+ letters each). */
  affixes: Set<string>;
}

/**
 * The morpheme inventory of a hunspell dictionary: its roots, and its suffix strings reduced to
 * the atomic ones (a suffix such as "larla" that splits into the suffixes "lar" + "la" is not
 * a single morpheme; splits into one-letter pieces are not counted, so "ler" stays whole).
 *
 * @example
 * ```ts
 * import { loadHunspell } from "@tokenlab/tokenlab/data";
 * import { morphemeInventory } from "@tokenlab/tokenlab/tokenizers";
 * const inv = morphemeInventory(loadHunspell("tr_TR"));
 * console.log(inv.roots.size, inv.affixes.has("lar"));
 * ```
 */
export function morphemeInventory(dictionary: HunspellDictionary): MorphemeInventory {
  if (!dictionary || !(dictionary.roots instanceof Map) || !Array.isArray(dictionary.suffixes)) {
    throw new TokenlabError("morphemeInventory needs a dictionary from loadHunspell");
  }
  const all = new Set(dictionary.suffixes.map((r) => r.add).filter((a) => a.length > 0));
  const affixes = new Set<string>();
  // Pieces of one letter (-m, -n, -r …) are too ambiguous to count as a split.
  const long = new Set([...all].filter((a) => a.length >= 2));
  for (const a of all) if (!splitsInto(a, long, 2)) affixes.add(a);
  return { roots: new Set(dictionary.roots.keys()), affixes };
}

/** Whether `s` splits into at least `min` pieces from `set`. */
function splitsInto(s: string, set: Set<string>, min: number): boolean {
  // best[i] = most pieces covering s[i..] (−1: impossible)
  const best = new Int32Array(s.length + 1).fill(-1);
  best[s.length] = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    for (let j = i + 1; j <= s.length; j++) {
      if (best[j] >= 0 && set.has(s.slice(i, j))) best[i] = Math.max(best[i], best[j] + 1);
    }
  }
  return best[0] >= min;
}

/** Splits `s` into the fewest affixes from `set`, or null. */
function affixSplit(s: string, set: Set<string>): string[] | null {
  if (s === "") return [];
  const best = new Int32Array(s.length + 1).fill(1 << 29);
  const next = new Int32Array(s.length + 1);
  best[s.length] = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    for (let j = s.length; j > i; j--) {
      if (best[j] + 1 < best[i] && set.has(s.slice(i, j))) {
        best[i] = best[j] + 1;
        next[i] = j;
      }
    }
  }
  if (best[0] >= 1 << 29) return null;
  const out: string[] = [];
  for (let i = 0; i < s.length; i = next[i]) out.push(s.slice(i, next[i]));
  return out;
}

/** Options of {@linkcode lexicalTokenScores}. */
export interface LexicalScoreOptions {
  /** The language's dictionary (valid words). */
  dictionary: HunspellDictionary;
  /** Its morpheme inventory (default: {@linkcode morphemeInventory} of the dictionary). */
  inventory?: MorphemeInventory;
  /** Locale for case folding (default "tr"). */
  locale?: string;
}

/** Scores over the distinct tokens a tokenizer produced. */
export interface LexicalScores {
  /** Distinct tokens containing a letter (the ones scored). */
  types: number;
  /** Distinct tokens without letters (punctuation, digits, spaces, byte pieces), not scored. */
  unscored: number;
  /** Share of scored types that are valid words (%TR when the language is Turkish), 0–100. */
  validWordPercent: number;
  /** Share of scored types that are a single root or affix (%Pure), 0–100. */
  purePercent: number;
}

/**
 * %TR and %Pure (Bayram et al.): over the distinct token strings given, the share that are valid
 * words of the dictionary and the share that are one morpheme. Distinct means distinct as
 * produced (" ev" and "ev" are two vocabulary items). Leading spaces and word-boundary
 * marks (`▁`) are removed first; a token is looked up as written, in lower case and capitalised.
 *
 * @example
 * ```ts
 * import { loadHunspell } from "@tokenlab/tokenlab/data";
 * import { lexicalTokenScores } from "@tokenlab/tokenlab/tokenizers";
 * const s = lexicalTokenScores([" ev", "ler", "xq", "."], { dictionary: loadHunspell("tr_TR") });
 * console.log(s); // { types: 3, unscored: 1, validWordPercent: 33.3…, purePercent: 66.6… }
 * ```
 */
export function lexicalTokenScores(
  tokens: Iterable<string>,
  options: LexicalScoreOptions,
): LexicalScores {
  if (!options?.dictionary) {
    throw new TokenlabError("lexicalTokenScores needs { dictionary } (from loadHunspell)");
  }
  const dict = options.dictionary;
  const inv = options.inventory ?? morphemeInventory(dict);
  const locale = options.locale ?? "tr";
  const seen = new Set<string>();
  let types = 0, unscored = 0, valid = 0, pure = 0;
  for (const raw of tokens) {
    if (typeof raw !== "string") {
      throw new TokenlabError("lexicalTokenScores: tokens must be strings");
    }
    if (seen.has(raw)) continue;
    seen.add(raw);
    const t = raw.replace(/^[\s▁]+/u, "");
    if (!/\p{L}/u.test(t) || t.includes("\uFFFD")) {
      unscored++;
      continue;
    }
    types++;
    const lower = t.toLocaleLowerCase(locale);
    const forms = [t, lower, lower.charAt(0).toLocaleUpperCase(locale) + lower.slice(1)];
    if (forms.some((f) => dict.isWord(f))) valid++;
    if (forms.some((f) => inv.roots.has(f)) || inv.affixes.has(lower)) pure++;
  }
  return {
    types,
    unscored,
    validWordPercent: types ? (100 * valid) / types : 0,
    purePercent: types ? (100 * pure) / types : 0,
  };
}

/**
 * The token strings a tokenizer produces on `texts`, in order (each id decoded on its own; a
 * token holding part of a UTF-8 character decodes with U+FFFD).
 *
 * @example
 * ```ts
 * import { loadPretrained, tokenStrings } from "@tokenlab/tokenlab/tokenizers";
 * console.log(tokenStrings(await loadPretrained("o200k_base"), ["evlerimizden"]));
 * ```
 */
export function tokenStrings(tokenizer: Tokenizer, texts: string[]): string[] {
  const dec = new TextDecoder("utf-8", { ignoreBOM: true });
  const cache = new Map<number, string>();
  const out: string[] = [];
  for (const text of texts) {
    for (const id of tokenizer.encode(text)) {
      let s = cache.get(id);
      if (s === undefined) cache.set(id, s = dec.decode(tokenizer.tokenBytes(id)));
      out.push(s);
    }
  }
  return out;
}

/** Options of {@linkcode trainMorphHybrid}. */
export interface TrainMorphHybridOptions {
  /** The language's dictionary. */
  dictionary: HunspellDictionary;
  /** Its morpheme inventory (default: derived from the dictionary). */
  inventory?: MorphemeInventory;
  /** Roots kept: the most frequent in the training text (default 20 000). */
  roots?: number;
  /** Vocabulary size of the BPE used for words with no analysis (default 4000). */
  fallbackVocabSize?: number;
  /** @deprecated Use `fallbackVocabSize` (one name, `…VocabSize`, for vocabulary sizes). */
  fallbackVocab?: number;
  /** Locale for case folding (default "tr"). */
  locale?: string;
}

/**
 * Options of {@linkcode trainMorphHybrid}.
 *
 * @deprecated Use {@linkcode TrainMorphHybridOptions} (named like the other trainers' options).
 */
export type MorphHybridOptions = TrainMorphHybridOptions;

/** Case marks the hybrid tokenizer emits before a lower-cased word. */
export const CASE_TOKENS: { capital: string; upper: string } = { capital: "<cap>", upper: "<up>" };

/** A root + affix tokenizer with case tokens and a BPE fallback. */
export interface MorphHybridTokenizer {
  /** Roots, affixes, case tokens and fallback BPE tokens. */
  vocabSize: number;
  /** Token strings for `text`. A single space before a word is implied, not emitted. */
  segment(text: string): string[];
  /** Share of words in `text` that got a root + affix analysis (the rest went to BPE). */
  coverage(text: string): number;
}

/**
 * A simplified hybrid morphological tokenizer (after "Tokens with Meaning"): each word is
 * lower-cased behind a case token, split into a dictionary root and atomic affixes (longest
 * root first), and falls back to a BPE trained on the same text when no analysis exists.
 *
 * @example
 * ```ts
 * import { loadHunspell } from "@tokenlab/tokenlab/data";
 * import { trainMorphHybrid } from "@tokenlab/tokenlab/tokenizers";
 * const tok = trainMorphHybrid(["Evlerimizden geldik."], { dictionary: loadHunspell("tr_TR"), fallbackVocabSize: 300 });
 * console.log(tok.segment("Evlerimizden geldik.")); // ["<cap>", "ev", "ler", "imiz", "den", "gel", "dik", "."] or similar
 * ```
 */
export function trainMorphHybrid(
  texts: string[],
  options: TrainMorphHybridOptions,
): MorphHybridTokenizer {
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string")) {
    throw new TokenlabError("trainMorphHybrid needs an array of strings");
  }
  if (!options?.dictionary) {
    throw new TokenlabError("trainMorphHybrid needs { dictionary } (from loadHunspell)");
  }
  const dict = options.dictionary;
  const inv = options.inventory ?? morphemeInventory(dict);
  const locale = options.locale ?? "tr";
  const rootBudget = options.roots ?? 20_000;
  const analyse = (lower: string, roots: { has(s: string): boolean }): string[] | null => {
    for (let k = lower.length; k >= 1; k--) {
      const root = lower.slice(0, k);
      if (!roots.has(root)) continue;
      const rest = affixSplit(lower.slice(k), inv.affixes);
      if (rest) return [root, ...rest];
    }
    return null;
  };
  // Keep the roots the training text uses most.
  const rootUse = new Map<string, number>();
  for (const t of texts) {
    for (const w of t.match(/\p{L}+/gu) ?? []) {
      const a = analyse(w.toLocaleLowerCase(locale), inv.roots);
      if (a) rootUse.set(a[0], (rootUse.get(a[0]) ?? 0) + 1);
    }
  }
  const kept = new Set(
    [...rootUse].sort((a, b) => b[1] - a[1]).slice(0, rootBudget).map(([r]) => r),
  );
  const bpe = trainBpe(texts, {
    vocabSize: options.fallbackVocabSize ?? options.fallbackVocab ?? 4000,
    pretokenizer: "gpt2",
    onProgress: () => {},
  });
  const dec = new TextDecoder("utf-8", { ignoreBOM: true });
  const fallback = (s: string) => Array.from(bpe.encode(s), (id) => dec.decode(bpe.tokenBytes(id)));
  const word = (w: string, out: string[]): boolean => {
    const lower = w.toLocaleLowerCase(locale);
    const upper = w.toLocaleUpperCase(locale);
    let mark: string | null = null;
    if (w !== lower) {
      if (w === upper && w.length > 1) mark = CASE_TOKENS.upper;
      else if (w.slice(1) === lower.slice(1) || w.length === 1) mark = CASE_TOKENS.capital;
      else {
        out.push(...fallback(w)); // mixed case (camelCase, names): leave it to BPE
        return false;
      }
    }
    if (mark) out.push(mark);
    const a = analyse(lower, kept);
    if (a) {
      out.push(...a);
      return true;
    }
    out.push(...fallback(lower));
    return false;
  };
  const run = (text: string, out: string[]) => {
    let analysed = 0, words = 0;
    for (const m of text.matchAll(/(\s*)(\p{L}+|[^\s\p{L}]+)|\s+$/gu)) {
      const [, space = "", body] = m;
      if (space && space !== " ") out.push(...fallback(space));
      if (space === " " && body && !/\p{L}/u.test(body)) out.push(" ");
      if (!body) {
        if (m[0]) out.push(...fallback(m[0]));
        continue;
      }
      if (/\p{L}/u.test(body)) {
        words++;
        if (word(body, out)) analysed++;
      } else out.push(...fallback(body));
    }
    return words ? analysed / words : 0;
  };
  return {
    vocabSize: kept.size + inv.affixes.size + 2 + bpe.vocabSize,
    segment(text: string): string[] {
      if (typeof text !== "string") {
        throw new TokenlabError(`segment needs a string, got ${typeof text}`);
      }
      const out: string[] = [];
      run(text, out);
      return out;
    },
    coverage(text: string): number {
      return run(text, []);
    },
  };
}
