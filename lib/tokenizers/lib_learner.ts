/**
 * The Less-is-Better (LiB) vocabulary learner: a lexicon of characters, subwords, words and
 * multi-word expressions that grows by memorising chunks that would shorten the segmentation
 * and shrinks by forgetting chunks that stopped being used, so that both the number of tokens
 * and the number of types stay small. Segmentation uses the fewest tokens the lexicon allows.
 *
 * Our reading of the model (Yang et al.): a memoriser adds the concatenation of adjacent units
 * once it has been seen `memorizeAfter` times; a forgetter periodically drops units used fewer
 * than `forgetBelow` times since the last check; the final lexicon is cut to `vocabSize` by how
 * many tokens each unit saves on the training text.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { progressFor } from "./_train_common.ts";

/** Options of {@linkcode trainLib}. */
export interface TrainLibOptions {
  /** Largest lexicon size, single characters included. */
  vocabSize: number;
  /** Longest unit, in UTF-16 code units (default 24). */
  maxUnitLength?: number;
  /** Passes over the training lines (default 3). */
  epochs?: number;
  /** Occurrences of a chunk before it is memorised (default 2). */
  memorizeAfter?: number;
  /** Lines between forgetting checks (default 2000). */
  forgetEvery?: number;
  /** Units used fewer times than this since the last check are forgotten (default 2). */
  forgetBelow?: number;
  /** Let units span spaces (multi-word expressions; default true). */
  multiword?: boolean;
  /** Seed of the line order (default 0). */
  seed?: number;
  /** Called with (lines done, lines total). */
  onProgress?: (done: number, total: number) => void;
}

/** A lexicon-based tokenizer: text is cut into the fewest lexicon units. */
export class LexiconTokenizer {
  /** The units, in id order: single characters first, then learned chunks by savings. */
  readonly vocab: readonly string[];
  #ids: Map<string, number>;
  #trie: Trie;

  /**
   * Builds a tokenizer from a lexicon. Characters missing from it are still segmented (each as
   * its own unit, with id `-1` in {@linkcode LexiconTokenizer.encode}'s output mapped to `vocabSize`).
   *
   * @example
   * ```ts
   * import { LexiconTokenizer } from "@tokenlab/tokenlab/tokenizers";
   * const t = new LexiconTokenizer(["a", "b", " ", "ab", "ab ab"]);
   * console.log(t.segment("ab ab b")); // ["ab ab", " ", "b"]
   * ```
   */
  constructor(vocab: readonly string[]) {
    if (!Array.isArray(vocab) || vocab.some((v) => typeof v !== "string" || v.length === 0)) {
      throw new TokenlabError("LexiconTokenizer needs an array of non-empty strings");
    }
    this.vocab = [...vocab];
    this.#ids = new Map(this.vocab.map((v, i) => [v, i]));
    this.#trie = trieOf(this.vocab);
  }

  /** Lexicon size. */
  get vocabSize(): number {
    return this.vocab.length;
  }

  /**
   * Cuts `text` into the fewest units (ties: the longer first unit).
   *
   * @example
   * ```ts
   * import { LexiconTokenizer } from "@tokenlab/tokenlab/tokenizers";
   * console.log(new LexiconTokenizer(["t", "h", "e", "the"]).segment("thee")); // ["the", "e"]
   * ```
   */
  segment(text: string): string[] {
    if (typeof text !== "string") {
      throw new TokenlabError(`segment needs a string, got ${typeof text}`);
    }
    return segmentFewest(text, this.#trie);
  }

  /**
   * Unit ids; a character outside the lexicon gets id `vocabSize`.
   *
   * @example
   * ```ts
   * import { LexiconTokenizer } from "@tokenlab/tokenlab/tokenizers";
   * console.log(new LexiconTokenizer(["a", "b", "ab"]).encode("abb")); // Uint32Array [2, 1]
   * ```
   */
  encode(text: string): Uint32Array {
    return Uint32Array.from(this.segment(text), (u) => this.#ids.get(u) ?? this.vocab.length);
  }

  /**
   * Joins units back to text (lossless for text whose characters are all in the lexicon).
   *
   * @example
   * ```ts
   * import { LexiconTokenizer } from "@tokenlab/tokenlab/tokenizers";
   * const t = new LexiconTokenizer(["a", "b", "ab"]);
   * console.log(t.decode(t.encode("abba"))); // "abba"
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const u = this.vocab[ids[i]];
      if (u === undefined) {
        throw new TokenlabError(
          `decode: id ${ids[i]} is outside the lexicon (size ${this.vocab.length})`,
        );
      }
      s += u;
    }
    return s;
  }
}

/** A character trie of the lexicon, so segmentation walks prefixes instead of slicing. */
class Trie {
  #next: Array<Map<number, number>> = [new Map()];
  #end: boolean[] = [false];
  size = 0;

  add(unit: string): void {
    let node = 0;
    for (let i = 0; i < unit.length; i++) {
      const c = unit.charCodeAt(i);
      let nx = this.#next[node].get(c);
      if (nx === undefined) {
        nx = this.#next.length;
        this.#next.push(new Map());
        this.#end.push(false);
        this.#next[node].set(c, nx);
      }
      node = nx;
    }
    if (!this.#end[node]) this.size++;
    this.#end[node] = true;
  }

  /** Calls `found(j)` for every end `j` such that text[i..j) is a lexicon unit. */
  walk(text: string, i: number, found: (j: number) => void): void {
    let node = 0;
    for (let j = i; j < text.length; j++) {
      const nx = this.#next[node].get(text.charCodeAt(j));
      if (nx === undefined) return;
      node = nx;
      if (this.#end[node]) found(j + 1);
    }
  }
}

function trieOf(units: Iterable<string>): Trie {
  const t = new Trie();
  for (const u of units) t.add(u);
  return t;
}

/** Fewest-units segmentation by dynamic programming from the end; unknown chars are units. */
function segmentFewest(text: string, trie: Trie): string[] {
  const n = text.length;
  if (n === 0) return [];
  const best = new Int32Array(n + 1);
  const step = new Int32Array(n + 1);
  for (let i = n - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    // a surrogate pair is one character: never start or end a unit inside it
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = text.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) {
        best[i] = 1 << 29;
        continue;
      }
    }
    const one = c >= 0xd800 && c <= 0xdbff && i + 1 < n ? 2 : 1;
    best[i] = best[i + one] + 1;
    step[i] = one;
    trie.walk(text, i, (j) => {
      if (j - i > one && best[j] + 1 <= best[i]) {
        best[i] = best[j] + 1;
        step[i] = j - i;
      }
    });
  }
  const out: string[] = [];
  for (let i = 0; i < n; i += step[i]) out.push(text.slice(i, i + step[i]));
  return out;
}

/**
 * Learns a LiB lexicon from text lines.
 *
 * @example
 * ```ts
 * import { trainLib } from "@tokenlab/tokenlab/tokenizers";
 * const lines = Array.from({ length: 200 }, (_, i) => `the cat sat on the mat ${i % 7}`);
 * const tok = trainLib(lines, { vocabSize: 60, onProgress: () => {} });
 * console.log(tok.segment("the cat sat on the mat 3"));
 * ```
 */
export function trainLib(texts: string | string[], options: TrainLibOptions): LexiconTokenizer {
  const lines = typeof texts === "string" ? texts.split("\n") : texts;
  if (!Array.isArray(lines) || lines.some((l) => typeof l !== "string")) {
    throw new TokenlabError("trainLib needs a string or an array of strings");
  }
  const o = options ?? ({} as TrainLibOptions);
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < 1) {
    throw new TokenlabError(`trainLib: vocabSize must be a positive integer, got ${o.vocabSize}`);
  }
  const maxLen = o.maxUnitLength ?? 24;
  const epochs = o.epochs ?? 3;
  const memorizeAfter = o.memorizeAfter ?? 2;
  const forgetEvery = o.forgetEvery ?? 2000;
  const forgetBelow = o.forgetBelow ?? 2;
  const multiword = o.multiword ?? true;
  const data = lines.filter((l) => l.length > 0);
  if (data.length === 0) throw new TokenlabError("trainLib: the corpus is empty");

  const base = new Set<string>();
  for (const l of data) for (const ch of l) base.add(ch);
  const lexicon = new Set<string>(base);
  let trie = trieOf(lexicon);
  const usage = new Map<string, number>();
  const candidates = new Map<string, number>();
  const rng = new Rng(o.seed ?? 0);
  const bar = progressFor("trainLib", o.onProgress);
  const total = epochs * data.length;
  let seen = 0;
  const forget = () => {
    for (const u of lexicon) {
      if (!base.has(u) && (usage.get(u) ?? 0) < forgetBelow) lexicon.delete(u);
    }
    usage.clear();
    candidates.clear();
    trie = trieOf(lexicon);
  };
  for (let e = 0; e < epochs; e++) {
    const order = data.map((_, i) => i);
    rng.shuffle(order);
    for (const i of order) {
      const units = segmentFewest(data[i], trie);
      for (let k = 0; k < units.length; k++) {
        usage.set(units[k], (usage.get(units[k]) ?? 0) + 1);
        if (k + 1 === units.length) continue;
        const chunk = units[k] + units[k + 1];
        if (chunk.length > maxLen || lexicon.has(chunk)) continue;
        if (!multiword && /\S\s/.test(chunk)) continue; // a space may only lead a unit
        const c = (candidates.get(chunk) ?? 0) + 1;
        if (c >= memorizeAfter) {
          lexicon.add(chunk);
          trie.add(chunk);
          candidates.delete(chunk);
        } else candidates.set(chunk, c);
      }
      if (++seen % forgetEvery === 0) forget();
      if (seen % 200 === 0) bar.onMerge(seen, total);
    }
  }
  bar.onMerge(total, total);
  bar.finish();
  // Final cut: rank learned units by tokens saved on the training text (uses × (chars − 1)).
  const finalUse = new Map<string, number>();
  trie = trieOf(lexicon);
  for (const l of data) {
    for (const u of segmentFewest(l, trie)) finalUse.set(u, (finalUse.get(u) ?? 0) + 1);
  }
  const learned = [...lexicon].filter((u) => !base.has(u) && (finalUse.get(u) ?? 0) > 0)
    .map((u) => ({ u, saves: (finalUse.get(u) ?? 0) * (Array.from(u).length - 1) }))
    .sort((a, b) => b.saves - a.saves || (a.u < b.u ? -1 : 1))
    .slice(0, Math.max(0, o.vocabSize - base.size))
    .map((x) => x.u);
  return new LexiconTokenizer([...[...base].sort(), ...learned]);
}
