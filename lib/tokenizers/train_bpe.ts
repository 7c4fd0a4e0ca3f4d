/**
 * Byte-level BPE training: every byte is a base token, merges are learned over pre-tokenized
 * words. The result is a {@linkcode Tokenizer} with its merges in order.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { isJupyter } from "../util/jupyter.ts";
import { progress } from "../util/progress.ts";
import { bytesToBinary, utf8Binary } from "./_bytes.ts";
import { trainMerges, type TrainWord } from "./_bpe_trainer_core.ts";
import { type PretokenizerSpec, resolvePretokenizer } from "./pretokenizers.ts";
import { Tokenizer } from "./tokenizer.ts";

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

/** Checks the corpus and returns it as an array of strings. */
export function checkCorpus(texts: unknown, fn: string): string[] {
  if (typeof texts === "string") return [texts];
  if (!Array.isArray(texts)) {
    throw new TokenlabError(`${fn} needs a string or an array of strings, got ${typeof texts}`);
  }
  texts.forEach((t, i) => {
    if (typeof t !== "string") {
      throw new TokenlabError(`${fn}: texts[${i}] is a ${typeof t}, not a string`, {
        hint: "decode files to strings first (or use trainBinaryBpe for raw bytes)",
      });
    }
  });
  if (texts.every((t) => t.length === 0)) {
    throw new TokenlabError(`${fn}: the corpus is empty`, {
      hint: "pass at least one non-empty text",
    });
  }
  return texts as string[];
}

/** Counts pre-tokens (as UTF-8 binary strings). */
export function countPieces(texts: string[], re: RegExp | null): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (piece: string) => {
    const key = utf8Binary(piece);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  for (const text of texts) {
    if (re === null) {
      if (text) add(text);
      continue;
    }
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      if (m.index > last) add(text.slice(last, m.index));
      add(m[0]);
      last = m.index + m[0].length;
    }
    if (last < text.length) add(text.slice(last));
  }
  return counts;
}

/** The 256 byte symbols (id = byte value). */
export function byteSymbols(): string[] {
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));
}

/** A progress callback: the user's, or a bar when someone is watching. */
export function progressFor(
  label: string,
  onProgress?: (done: number, total: number) => void,
): { onMerge: (done: number, total: number) => void; finish: () => void } {
  if (onProgress) return { onMerge: onProgress, finish: () => {} };
  let watching = isJupyter();
  try {
    watching ||= Deno.stderr.isTerminal();
  } catch { /* no stderr */ }
  if (!watching) return { onMerge: () => {}, finish: () => {} };
  let bar: ReturnType<typeof progress> | null = null;
  return {
    onMerge: (done, total) => {
      bar ??= progress(total, { label, unit: "merges" });
      bar.set(done);
    },
    finish: () => bar?.finish(),
  };
}

/** Builds a Tokenizer from byte symbols + merges (+ specials at the end). */
export function tokenizerFromMerges(
  symbols: string[],
  merges: Array<[number, number]>,
  options: { pretokenizer: PretokenizerSpec; specialTokens?: string[]; name: string },
): Tokenizer {
  const vocab = symbols.map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0)));
  const specialTokens: Record<string, number> = {};
  (options.specialTokens ?? []).forEach((t, i) => (specialTokens[t] = symbols.length + i));
  const tok = Tokenizer.fromBpe({
    vocab: [...vocab, ...(options.specialTokens ?? []).map(() => new Uint8Array(0))],
    merges,
    pretokenizer: options.pretokenizer,
    specialTokens,
    name: options.name,
  });
  return tok;
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

/** Validates a vocabulary size against the base alphabet. */
export function checkVocabSize(vocabSize: unknown, minimum: number, fn: string): void {
  if (typeof vocabSize !== "number" || !Number.isInteger(vocabSize)) {
    throw new TokenlabError(`${fn}: vocabSize must be an integer, got ${vocabSize}`);
  }
  if (vocabSize < minimum) {
    throw new TokenlabError(
      `${fn}: vocabSize ${vocabSize} is below the base alphabet (${minimum})`,
      {
        hint:
          "byte-level BPE needs one token per byte (256) plus the special tokens before any merge",
      },
    );
  }
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
