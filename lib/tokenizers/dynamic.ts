/**
 * Dynamic tokenization (retrofitting, Feher et al. 2024): within one batch, merge the most
 * frequent adjacent subword pairs BPE-style into batch-specific tokens, never across word
 * boundaries, so sequences get shorter without changing the static vocabulary.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { trainMerges, type TrainWord } from "./_bpe_trainer_core.ts";
import { bpeMerge, PAIR_SEP } from "./_bpe_engine.ts";
import { bytesToBinary } from "./_bytes.ts";

/** What {@linkcode dynamicTokenize} needs from a tokenizer. */
export interface DynamicBase {
  /** Size of the static vocabulary (dynamic ids start here). */
  readonly vocabSize: number;
  /** The bytes of a static token. */
  tokenBytes(id: number): Uint8Array;
}

/** Options of {@linkcode dynamicTokenize}. */
export interface DynamicOptions {
  /** The static tokenizer the ids come from. */
  tokenizer: DynamicBase;
  /** A pair must occur at least this often in the batch to merge (default 2). */
  minCount?: number;
  /** At most this many batch-level merges (default: unlimited). */
  maxMerges?: number;
}

/** The batch after dynamic merging. */
export interface DynamicResult {
  /** The shortened sequences (dynamic ids ≥ the static vocabulary size). */
  sequences: number[][];
  /** The merges, in order: merge i creates id `vocabSize + i` from two ids. */
  merges: Array<[number, number]>;
  /** Bytes of every dynamic token, indexed from 0 (= id vocabSize). */
  dynamicBytes: Uint8Array[];
  /** Expands a sequence back to static ids. */
  expand(sequence: ArrayLike<number>): number[];
}

/** A token starts a new word when its bytes begin with whitespace. */
function startsWord(bytes: Uint8Array): boolean {
  return bytes.length > 0 &&
    (bytes[0] === 0x20 || bytes[0] === 0x0a || bytes[0] === 0x09 || bytes[0] === 0x0d);
}

/**
 * Merges frequent subword pairs within words across a batch of token sequences.
 *
 * @example
 * ```ts
 * import { dynamicTokenize, loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await loadPretrained("o200k_base");
 * const batch = ["Menschenrechte und Menschenrechte", "die Menschenrechte"].map((t) => tok.encode(t));
 * const { sequences } = dynamicTokenize(batch, { tokenizer: tok });
 * console.log(batch.map((s) => s.length), sequences.map((s) => s.length));
 * ```
 */
export function dynamicTokenize(
  batch: ArrayLike<number>[],
  options: DynamicOptions,
): DynamicResult {
  const tok = options?.tokenizer;
  if (!tok || typeof tok.tokenBytes !== "function") {
    throw new TokenlabError("dynamicTokenize needs options.tokenizer (the static tokenizer)");
  }
  if (!Array.isArray(batch)) {
    throw new TokenlabError("dynamicTokenize needs an array of id sequences");
  }
  const base = tok.vocabSize;
  // symbols: static ids keep their own index; dynamic ids are appended after them
  const symbols: string[] = [];
  const symbolOf = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= base) {
      throw new TokenlabError(`dynamicTokenize: id ${id} is not a static token id (0…${base - 1})`);
    }
    return (symbols[id] ??= bytesToBinary(tok.tokenBytes(id)) + PAIR_SEP + id); // unique per id
  };
  const wordsOf = (seq: ArrayLike<number>): number[][] => {
    const words: number[][] = [];
    for (let i = 0; i < seq.length; i++) {
      const id = seq[i];
      symbolOf(id); // validates the id
      if (words.length === 0 || startsWord(tok.tokenBytes(id))) words.push([id]);
      else words[words.length - 1].push(id);
    }
    return words;
  };
  const batchTokens = batch.reduce((s, b) => s + b.length, 0);
  const counts = new Map<string, TrainWord>();
  const batchWords = batch.map(wordsOf);
  for (const words of batchWords) {
    for (const w of words) {
      if (w.length < 2) continue;
      const key = w.join(",");
      const hit = counts.get(key);
      if (hit) hit.count++;
      else counts.set(key, { symbols: [...w], count: 1 });
    }
  }
  // the trainer grows `symbols` by concatenation; fill holes so ids line up
  for (let i = 0; i < base; i++) symbols[i] ??= "\u0000" + i;
  const merges = trainMerges([...counts.values()], symbols, {
    // every merge removes at least one token, so the batch's length bounds the merges
    targetSize: base + Math.min(options.maxMerges ?? Infinity, batchTokens),
    minFrequency: options.minCount ?? 2,
  });
  const rank = new Map<string, number>();
  merges.forEach(([a, b], i) => rank.set(`${a},${b}`, i));
  const parts = new Map<number, [number, number]>();
  merges.forEach((m, i) => parts.set(base + i, m));
  const idOfSym = new Map<string, number>();
  symbols.forEach((s, i) => idOfSym.set(s, i));
  const cache = new Map<string, number[]>();
  const sequences = batchWords.map((words) =>
    words.flatMap((w) => {
      if (w.length < 2 || merges.length === 0) return w;
      const key = w.join(",");
      let hit = cache.get(key);
      if (!hit) {
        const merged = bpeMerge(w.map((id) => symbols[id]), (l, r) =>
          rank.get(`${idOfSym.get(l)},${idOfSym.get(r)}`));
        hit = merged.map((s) =>
          idOfSym.get(s)!
        );
        cache.set(key, hit);
      }
      return hit;
    })
  );
  const expandOne = (id: number, out: number[]) => {
    const p = parts.get(id);
    if (!p) out.push(id);
    else {
      expandOne(p[0], out);
      expandOne(p[1], out);
    }
  };
  const dynamicBytes = merges.map((_, i) => {
    const ids: number[] = [];
    expandOne(base + i, ids);
    const chunks = ids.map((id) => tok.tokenBytes(id));
    const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  });
  return {
    sequences,
    merges,
    dynamicBytes,
    expand(sequence: ArrayLike<number>): number[] {
      const out: number[] = [];
      for (let i = 0; i < sequence.length; i++) expandOne(sequence[i], out);
      return out;
    },
  };
}
