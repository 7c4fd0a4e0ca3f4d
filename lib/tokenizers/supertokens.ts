/**
 * Supertoken learning (the compression part of TokenAdapt/Supertokens, Sharthak et al. 2025):
 * BPE trained on a *stochastic multi-word pre-tokenization*: adjacent words are joined into
 * one pre-token with a given probability (up to `maxWords` words), so frequent multi-word
 * expressions can become single tokens while most merges stay within words.
 *
 * Encoding uses the superword pieces (runs of words and spaces, split at punctuation, digits
 * and line breaks) and applies the merges by priority.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { trainMerges, type TrainWord } from "./_bpe_trainer_core.ts";
import { utf8Binary } from "./_bytes.ts";
import { SUPERWORD_PATTERN } from "./superbpe.ts";
import type { Tokenizer } from "./tokenizer.ts";
import {
  byteSymbols,
  checkCorpus,
  checkVocabSize,
  progressFor,
  tokenizerFromMerges,
} from "./_train_common.ts";

/** Options of {@linkcode trainSupertokens}. */
export interface TrainSupertokensOptions {
  /** Final vocabulary size. */
  vocabSize: number;
  /** Probability of joining a word to the previous one in a pre-token (default 0.3). */
  joinProbability?: number;
  /** Most words per pre-token (default 3). */
  maxWords?: number;
  /** Seed of the stochastic pre-tokenization (default 0). */
  seed?: number;
  /** Minimum pair frequency (default 2). */
  minFrequency?: number;
  /** Progress callback. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Trains a supertoken BPE tokenizer.
 *
 * @example
 * ```ts
 * import { trainSupertokens } from "@tokenlab/tokenlab/tokenizers";
 * const tok = trainSupertokens(["of the people, by the people, for the people ".repeat(30)], { vocabSize: 300 });
 * console.log(tok.encode("by the people").length);
 * ```
 */
export function trainSupertokens(
  texts: string[] | string,
  options: TrainSupertokensOptions,
): Tokenizer {
  const corpus = checkCorpus(texts, "trainSupertokens");
  checkVocabSize(options?.vocabSize, 256, "trainSupertokens");
  const p = options.joinProbability ?? 0.3;
  const maxWords = options.maxWords ?? 3;
  if (!(p >= 0 && p <= 1)) {
    throw new TokenlabError(`trainSupertokens: joinProbability must be in [0, 1], got ${p}`);
  }
  if (!Number.isInteger(maxWords) || maxWords < 1) {
    throw new TokenlabError(
      `trainSupertokens: maxWords must be a positive integer, got ${maxWords}`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  const counts = new Map<string, number>();
  const add = (piece: string) => {
    const key = utf8Binary(piece);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  for (const text of corpus) {
    for (const m of text.matchAll(SUPERWORD_PATTERN)) {
      // words with their leading spaces, joined stochastically into pre-tokens
      const words = m[0].match(/\s*\S+|\s+/gu) ?? [];
      let current = "", n = 0;
      for (const w of words) {
        if (n > 0 && n < maxWords && rng.next() < p) {
          current += w;
          n++;
        } else {
          if (current) add(current);
          current = w;
          n = 1;
        }
      }
      if (current) add(current);
    }
  }
  const words: TrainWord[] = [];
  for (const [piece, count] of counts) {
    words.push({ symbols: Array.from(piece, (c) => c.charCodeAt(0)), count });
  }
  const symbols = byteSymbols();
  const bar = progressFor("trainSupertokens", options.onProgress);
  const merges = trainMerges(words, symbols, {
    targetSize: options.vocabSize,
    minFrequency: options.minFrequency,
    onMerge: bar.onMerge,
  });
  bar.finish();
  return tokenizerFromMerges(symbols, merges, {
    pretokenizer: SUPERWORD_PATTERN,
    name: `supertokens-${options.vocabSize}-p${p}`,
  });
}
