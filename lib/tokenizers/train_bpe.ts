/**
 * Byte-level BPE training: every byte is a base token, merges are learned over pre-tokenized
 * words. The result is a {@linkcode Tokenizer} with its merges in order.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { bytesToBinary } from "./_bytes.ts";
import { trainMerges, type TrainWord } from "./_bpe_trainer_core.ts";
import {
  byteSymbols,
  checkCorpus,
  checkVocabSize,
  countPieces,
  progressFor,
  tokenizerFromMerges,
} from "./_train_common.ts";
import { type PretokenizerSpec, resolvePretokenizer } from "./pretokenizers.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** Options of {@linkcode trainBpe}. */
export interface TrainBpeOptions {
  /** Final vocabulary size, including the 256 byte tokens and the special tokens. */
  vocabSize: number;
  /** Pre-tokenizer (default "gpt2"); merges never cross its pieces. */
  pretokenizer?: PretokenizerSpec;
  /** A pair must occur at least this often to be merged (default 2). */
  minFrequency?: number;
  /** Special tokens, given the last ids. */
  specialTokens?: string[];
  /** Called with (merges done, merges wanted); when absent, a progress bar shows in a terminal or notebook. */
  onProgress?: (done: number, total: number) => void;
  /** A name for the result. */
  name?: string;
  /**
   * Merge objective: "frequency" (default: classic BPE, the most frequent pair) or "codeLength",
   * a compression-aware variant that, among the `candidates` most frequent pairs, merges the one
   * that most lowers the order-0 code length N·H₁ of the training token stream (P34).
   */
  objective?: "frequency" | "codeLength";
  /** Pairs rescored per merge with objective "codeLength" (default 64). */
  candidates?: number;
}

/**
 * Trains a byte-level BPE tokenizer.
 *
 * @example
 * ```ts
 * import { trainBpe } from "@tokenlab/tokenlab/tokenizers";
 * const tok = trainBpe(["the cat sat on the mat", "the cat ate"], { vocabSize: 260 });
 * console.log(tok.merges.length, tok.encode("the cat"));
 * ```
 */
export function trainBpe(texts: string[] | string, options: TrainBpeOptions): Tokenizer {
  const corpus = checkCorpus(texts, "trainBpe");
  const specials = options?.specialTokens ?? [];
  checkVocabSize(options?.vocabSize, 256 + specials.length, "trainBpe");
  const pretokenizer = options.pretokenizer ?? "gpt2";
  const objective = options.objective ?? "frequency";
  if (objective !== "frequency" && objective !== "codeLength") {
    throw new TokenlabError(`trainBpe: unknown objective ${JSON.stringify(objective)}`, {
      hint: 'use "frequency" (classic BPE) or "codeLength" (compression-aware)',
    });
  }
  const c = options.candidates;
  if (c !== undefined && !(Number.isInteger(c) && c >= 1)) {
    throw new TokenlabError(`trainBpe: candidates must be a positive integer, got ${c}`);
  }
  const re = resolvePretokenizer(pretokenizer);
  const counts = countPieces(corpus, re);
  const words: TrainWord[] = [];
  for (const [piece, count] of counts) {
    const symbols = new Array<number>(piece.length);
    for (let i = 0; i < piece.length; i++) symbols[i] = piece.charCodeAt(i);
    words.push({ symbols, count });
  }
  const symbols = byteSymbols();
  const bar = progressFor("trainBpe", options.onProgress);
  const merges = trainMerges(words, symbols, {
    targetSize: options.vocabSize - specials.length,
    minFrequency: options.minFrequency,
    onMerge: bar.onMerge,
    objective,
    candidates: options.candidates,
  });
  bar.finish();
  return tokenizerFromMerges(symbols, merges, {
    pretokenizer,
    specialTokens: specials,
    name: options.name ??
      `bpe-${options.vocabSize}${objective === "codeLength" ? "-codelength" : ""}`,
  });
}

/** Options of {@linkcode trainBinaryBpe}. */
export interface TrainBinaryBpeOptions {
  /** Final vocabulary size (≥ 256). */
  vocabSize: number;
  /** Training chunk size in bytes (default 256): merges never cross chunk edges in training. */
  chunkBytes?: number;
  /** Minimum pair frequency (default 2). */
  minFrequency?: number;
  /** Progress callback. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Trains BPE on raw bytes with no pre-tokenization (e.g. executables). For tractability the
 * training data is cut into fixed chunks (identical chunks counted once with their count);
 * encoding (`encodeBytes`) runs the merges over whole files.
 *
 * @example
 * ```ts
 * import { trainBinaryBpe } from "@tokenlab/tokenlab/tokenizers";
 * const bin = new Uint8Array(4096).map((_, i) => (i * 7) % 13);
 * const tok = trainBinaryBpe([bin], { vocabSize: 300 });
 * console.log(tok.encodeBytes(bin).length);
 * ```
 */
export function trainBinaryBpe(files: Uint8Array[], options: TrainBinaryBpeOptions): Tokenizer {
  if (!Array.isArray(files) || files.some((f) => !(f instanceof Uint8Array))) {
    throw new TokenlabError("trainBinaryBpe needs an array of Uint8Array files");
  }
  if (files.every((f) => f.length === 0)) {
    throw new TokenlabError("trainBinaryBpe: no bytes to train on");
  }
  checkVocabSize(options?.vocabSize, 256, "trainBinaryBpe");
  const chunk = options.chunkBytes ?? 256;
  const counts = new Map<string, number>();
  for (const f of files) {
    for (let i = 0; i < f.length; i += chunk) {
      const key = bytesToBinary(f.subarray(i, i + chunk));
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const words: TrainWord[] = [...counts].map(([s, count]) => ({
    symbols: Array.from(s, (c) => c.charCodeAt(0)),
    count,
  }));
  const symbols = byteSymbols();
  const bar = progressFor("trainBinaryBpe", options.onProgress);
  const merges = trainMerges(words, symbols, {
    targetSize: options.vocabSize,
    minFrequency: options.minFrequency,
    onMerge: bar.onMerge,
  });
  bar.finish();
  return tokenizerFromMerges(symbols, merges, {
    pretokenizer: "none",
    name: `binary-bpe-${options.vocabSize}`,
  });
}
