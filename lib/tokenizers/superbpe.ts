/**
 * SuperBPE (Liu et al., 2025): a two-stage curriculum. Stage 1 is ordinary byte-level BPE with
 * the usual pre-tokenization up to `transition` tokens; stage 2 keeps merging with the
 * whitespace boundary lifted, so tokens can span several words ("superwords").
 *
 * Our choices where the abstract is silent: stage 2 still splits at punctuation, digits and
 * line breaks (pieces are runs of words and spaces), and a superword holds at most `maxWords`
 * words (default 4). Encoding applies all merges by priority over the stage-2 pieces; stage 2
 * is trained on exactly that segmentation at the transition point, so training and encoding
 * agree.
 *
 * @module
 */
import { trainMerges, type TrainWord } from "./_bpe_trainer_core.ts";
import { type PretokenizerSpec, resolvePretokenizer } from "./pretokenizers.ts";
import type { Tokenizer } from "./tokenizer.ts";
import {
  byteSymbols,
  checkCorpus,
  checkVocabSize,
  countPieces,
  progressFor,
  tokenizerFromMerges,
} from "./_train_common.ts";
import { TokenlabError } from "../util/errors.ts";

/** Stage-2 pieces: runs of words and spaces; punctuation, digits and line breaks apart. */
export const SUPERWORD_PATTERN: RegExp = /[^\r\n\p{P}\p{N}]+|\p{N}{1,3}|\p{P}+|[\r\n]+/gu;

/** Options of {@linkcode trainSuperBpe}. */
export interface TrainSuperBpeOptions {
  /** Final vocabulary size (bytes + merges + specials). */
  vocabSize: number;
  /** Vocabulary size at which stage 2 (superwords) starts; must be ≤ vocabSize. */
  transition: number;
  /** Stage-1 pre-tokenizer (default "gpt2"). */
  pretokenizer?: PretokenizerSpec;
  /** Most words in one superword token (default 4). */
  maxWords?: number;
  /** Minimum pair frequency (default 2). */
  minFrequency?: number;
  /** Special tokens, given the last ids. */
  specialTokens?: string[];
  /** Progress callback over both stages: (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Trains a SuperBPE tokenizer.
 *
 * @example
 * ```ts
 * import { trainSuperBpe } from "@tokenlab/tokenlab/tokenizers";
 * const text = "in the middle of the night ".repeat(50);
 * const tok = trainSuperBpe([text], { vocabSize: 300, transition: 280 });
 * console.log(tok.encode("in the middle of the night").length);
 * ```
 */
export function trainSuperBpe(texts: string[] | string, options: TrainSuperBpeOptions): Tokenizer {
  const corpus = checkCorpus(texts, "trainSuperBpe");
  const specials = options?.specialTokens ?? [];
  checkVocabSize(options?.vocabSize, 256 + specials.length, "trainSuperBpe");
  const transition = options.transition;
  if (
    !Number.isInteger(transition) || transition < 256 ||
    transition > options.vocabSize - specials.length
  ) {
    throw new TokenlabError(
      `trainSuperBpe: transition ${transition} must be an integer in [256, vocabSize − specials]`,
      { hint: "the paper's best setting puts the transition at about 80% of the vocabulary" },
    );
  }
  const maxWords = options.maxWords ?? 4;
  const pretokenizer = options.pretokenizer ?? "gpt2";
  const total = options.vocabSize - specials.length - 256;
  const bar = progressFor("trainSuperBpe", options.onProgress);

  // Stage 1: ordinary BPE within pre-tokens.
  const symbols = byteSymbols();
  const words1: TrainWord[] = [];
  for (const [piece, count] of countPieces(corpus, resolvePretokenizer(pretokenizer))) {
    words1.push({ symbols: Array.from(piece, (c) => c.charCodeAt(0)), count });
  }
  const merges1 = trainMerges(words1, symbols, {
    targetSize: transition,
    minFrequency: options.minFrequency,
    onMerge: (d) => bar.onMerge(d, total),
  });

  // Stage 2: superword pieces, segmented as the stage-1 tokenizer encodes them.
  const atTransition = tokenizerFromMerges(symbols, merges1, {
    pretokenizer: SUPERWORD_PATTERN,
    name: "superbpe-stage1",
  });
  const chunkCounts = new Map<string, number>();
  for (const text of corpus) {
    for (const m of text.matchAll(SUPERWORD_PATTERN)) {
      chunkCounts.set(m[0], (chunkCounts.get(m[0]) ?? 0) + 1);
    }
  }
  const words2: TrainWord[] = [];
  for (const [chunk, count] of chunkCounts) {
    words2.push({ symbols: [...atTransition.encode(chunk)], count });
  }
  const wordCount = (s: string) => s.split(" ").filter((w) => w.length > 0).length;
  const merges2 = trainMerges(words2, symbols, {
    targetSize: options.vocabSize - specials.length,
    minFrequency: options.minFrequency,
    allow: (a, b) => wordCount(symbols[a] + symbols[b]) <= maxWords,
    onMerge: (d) => bar.onMerge(merges1.length + d, total),
  });
  bar.finish();
  return tokenizerFromMerges(symbols, [...merges1, ...merges2], {
    pretokenizer: SUPERWORD_PATTERN,
    specialTokens: specials,
    name: `superbpe-${options.vocabSize}-t${transition}`,
  });
}
