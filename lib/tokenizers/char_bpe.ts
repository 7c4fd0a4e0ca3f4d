/**
 * Character-level BPE (KL3M-style "char" tokenizers): the base alphabet is the characters seen
 * in training, merges are capped at a maximum token length in characters, and unseen
 * characters fall back to byte tokens `<0xNN>`.
 *
 * @module
 */
import { trainMerges, type TrainWord } from "./_bpe_trainer_core.ts";
import { PATTERNS } from "./pretokenizers.ts";
import { Tokenizer } from "./tokenizer.ts";
import { checkCorpus, checkVocabSize, progressFor } from "./_train_common.ts";
import { TokenlabError } from "../util/errors.ts";

/** Options of {@linkcode trainCharBpe}. */
export interface TrainCharBpeOptions {
  /** Final vocabulary size: 256 byte-fallback tokens + characters + merges + specials. */
  vocabSize: number;
  /** Longest token in characters (default 4). */
  maxTokenChars?: number;
  /** Minimum pair frequency (default 2). */
  minFrequency?: number;
  /** Special tokens, given the last ids. */
  specialTokens?: string[];
  /** Progress callback. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Trains a character-level BPE tokenizer with byte fallback. Pieces are whitespace words with
 * their leading space (merges never cross words). The result loads in HF `tokenizers` too
 * (`save()` writes a BPE model with `byte_fallback`).
 *
 * @example
 * ```ts
 * import { trainCharBpe } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await trainCharBpe(["the party of the first part"], { vocabSize: 300, maxTokenChars: 3 });
 * console.log(tok.encode("the part"));
 * ```
 */
export async function trainCharBpe(
  texts: string[] | string,
  options: TrainCharBpeOptions,
): Promise<Tokenizer> {
  const corpus = checkCorpus(texts, "trainCharBpe");
  const specials = options?.specialTokens ?? [];
  const maxChars = options?.maxTokenChars ?? 4;
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw new TokenlabError(
      `trainCharBpe: maxTokenChars must be a positive integer, got ${maxChars}`,
    );
  }
  const re = new RegExp(PATTERNS.whitespace, "gu");
  const pieceCounts = new Map<string, number>();
  const charCounts = new Map<string, number>();
  for (const text of corpus) {
    for (const m of text.matchAll(re)) {
      pieceCounts.set(m[0], (pieceCounts.get(m[0]) ?? 0) + 1);
    }
  }
  for (const [piece, count] of pieceCounts) {
    for (const ch of piece) charCounts.set(ch, (charCounts.get(ch) ?? 0) + count);
  }
  // Alphabet: byte fallbacks, then characters by frequency (ties by code point).
  const symbols = Array.from(
    { length: 256 },
    (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`,
  );
  const chars = [...charCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  checkVocabSize(options?.vocabSize, 256 + specials.length + 1, "trainCharBpe");
  const room = options.vocabSize - specials.length - 256;
  const kept = chars.slice(0, room).map(([c]) => c); // rare characters beyond the budget use bytes
  const idOf = new Map<string, number>();
  for (const c of kept) {
    idOf.set(c, symbols.length);
    symbols.push(c);
  }
  const words: TrainWord[] = [];
  for (const [piece, count] of pieceCounts) {
    const ids = [...piece].map((c) => idOf.get(c) ?? -1);
    // merges never involve byte-fallback characters: split words at them
    let run: number[] = [];
    for (const id of ids) {
      if (id < 0) {
        if (run.length > 1) words.push({ symbols: run, count });
        run = [];
      } else run.push(id);
    }
    if (run.length > 1) words.push({ symbols: run, count });
  }
  const bar = progressFor("trainCharBpe", options.onProgress);
  const merges = trainMerges(words, symbols, {
    targetSize: options.vocabSize - specials.length,
    minFrequency: options.minFrequency,
    allow: (a, b) => [...symbols[a]].length + [...symbols[b]].length <= maxChars,
    onMerge: bar.onMerge,
  });
  bar.finish();
  const vocab: Record<string, number> = {};
  symbols.forEach((s, id) => (vocab[s] ??= id));
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => ({
      id: symbols.length + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: "Split",
      pattern: { Regex: PATTERNS.whitespace },
      behavior: "Isolated",
      invert: false,
    },
    post_processor: null,
    decoder: { type: "Sequence", decoders: [{ type: "ByteFallback" }, { type: "Fuse" }] },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => [symbols[a], symbols[b]]),
    },
  };
  const tok = await Tokenizer.fromTokenizerJson(json);
  Object.defineProperty(tok, "name", { value: `char-bpe-${options.vocabSize}-max${maxChars}` });
  return tok;
}
