/**
 * Exact byte-level probabilities from a token language model (Phan et al., ICLR 2025,
 * arXiv 2410.09303): the Byte-Token Representation Lemma, and the two usual ways of reading a
 * next byte off a token model beside it (naive, token healing).
 *
 * **The lemma.** The probability that the text starts with the bytes x = x₁…xₙ is the sum, over
 * the *covers* of x, of their probabilities under the token model: a cover is a token sequence
 * t₁…tₖ whose first k − 1 tokens spell a prefix x₁…xⱼ (j < n) and whose last token starts with
 * the rest xⱼ₊₁…xₙ (it ends at n or reaches past it). The next byte after x then follows from the
 * covers of x·b for every byte b, plus the end of text (the stop token right after an encoding
 * of exactly x): {@linkcode nextByteDistribution}. It removes the *tokenization bias* of the
 * naive reading — encode the prompt, take the next-token distribution — which, when the prompt
 * ends inside a token, conditions on a tokenization the model hardly ever saw.
 *
 * **Which encodings.** `encodings: "canonical"` (default, the paper's choice): only token
 * sequences the tokenizer itself produces count (`encode(decode(t)) = t`, checked for every
 * cover); the prefix before the last token is then the unique encoding of x₁…xⱼ, so there are at
 * most (longest token) + 1 model calls per next-byte distribution. This is exact for a model
 * that puts no mass on other encodings, and the paper's approximation for a trained one.
 * `encodings: "all"`: every token sequence counts (exponentially many; bounded by
 * `maxEncodings`) — exact for any model, used to check the lemma by brute force. Covers whose
 * bytes end inside a UTF-8 character cannot be re-encoded as text and are kept unchecked, and
 * prefixes x₁…xⱼ that end inside a character are skipped in canonical mode (no text has that
 * encoding); prompts of ASCII text are not affected.
 *
 * The model is any {@linkcode TokenScorer} — a loaded `Model` is one (its KV cache is reused
 * across the covers' shared prefixes) — and the token sequences follow `contextIds` (default:
 * the tokenizer's `<|endoftext|>`, how the default models start a document).
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { NEXT_BYTE_END, nextByteDistribution } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel(bundledModelPath("tiny-target"));
 * const d = await nextByteDistribution(model, new TextEncoder().encode("The jury sa"));
 * const best = d.probabilities.indexOf(Math.max(...d.probabilities));
 * console.log(best === NEXT_BYTE_END ? "(end)" : String.fromCharCode(best), d.modelCalls);
 * ```
 *
 * @module
 */

import { Tokenizer } from "../tokenizers/tokenizer.ts";
import type { KvCache } from "../models/kv_cache.ts";
import { TokenlabError } from "../util/errors.ts";

/** Index of the end-of-text outcome in a next-byte distribution (after the 256 bytes). */
export const NEXT_BYTE_END = 256;

/**
 * What the byte-level functions need of a model: the id space and the logits of every position
 * of a token sequence ([ids.length × vocabSize], row i predicting the token after ids[i]). A
 * loaded `Model` is one.
 */
export interface TokenScorer {
  /** The model's config; `vocabSize` is the length of a logits row. */
  readonly config: { readonly vocabSize: number };
  /** Logits of every position of `ids`. */
  logits(ids: number[]): Promise<Float32Array>;
}

/** Options of {@linkcode nextByteDistribution} and the other byte-level readings. */
export interface NextByteOptions {
  /** The model's tokenizer (default: the model's own `tokenizer`). */
  tokenizer?: Tokenizer;
  /** Tokens before the prompt (default: `<|endoftext|>` when the tokenizer has it). */
  contextIds?: number[];
  /** Which token sequences count as encodings (default "canonical", see the module doc). */
  encodings?: "canonical" | "all";
  /** Ids whose probability is the end of the text (default: the `<|endoftext|>` id). */
  stopTokens?: number[];
  /** Most partial encodings `"all"` may visit before it refuses (default 20000). */
  maxEncodings?: number;
  /**
   * Check canonical covers on the text after the last space that follows and precedes a
   * non-space byte, assuming the tokenizer's encoding splits there whatever comes next (true
   * of GPT-2-style pre-tokenizers, ours included; the paper's code makes the same assumption).
   * Default true; false re-encodes the whole prompt for every check (slower, no assumption).
   */
  splitAtSpaces?: boolean;
}

/** A distribution over the next byte: 256 byte values and the end of the text. */
export interface NextByteDistribution {
  /** 257 probabilities: index b < 256 the byte b, {@linkcode NEXT_BYTE_END} the end of text. */
  probabilities: Float64Array;
  /**
   * Natural-log masses behind the probabilities before normalising: for the lemma,
   * log P(text starts with x·b) and log P(text is exactly x).
   */
  logMass: Float64Array;
  /** Natural log of the probability the reading gives the prompt itself (see each function). */
  logPrefix: number;
  /** Model calls made (distinct token prefixes scored). */
  modelCalls: number;
  /** Covers (or, for the naive readings, candidate tokens) summed. */
  terms: number;
}

interface Vocabulary {
  bytes: (Uint8Array | null)[];
  /** prefix (latin1 string of 1…16 bytes) → tokens whose bytes start with it. */
  byPrefix: Map<string, number[]>;
  /** exact bytes → tokens. */
  exact: Map<string, number[]>;
  maxLen: number;
}

const vocabularies = new WeakMap<Tokenizer, Vocabulary>();

function key(b: Uint8Array, from = 0, to = b.length): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
  return s;
}

function vocabularyOf(tok: Tokenizer, V: number): Vocabulary {
  const had = vocabularies.get(tok);
  if (had && had.bytes.length === V) return had;
  const special = new Set(Object.values(tok.specialTokens));
  const bytes: (Uint8Array | null)[] = [];
  const byPrefix = new Map<string, number[]>(), exact = new Map<string, number[]>();
  let maxLen = 0;
  for (let t = 0; t < V; t++) {
    const b = t < tok.vocabSize && !special.has(t) ? tok.tokenBytes(t) : null;
    bytes.push(b && b.length > 0 ? b : null);
    if (!b || b.length === 0) continue;
    maxLen = Math.max(maxLen, b.length);
    for (let l = 1; l <= b.length; l++) {
      const k = key(b, 0, l);
      const list = byPrefix.get(k);
      if (list) list.push(t);
      else byPrefix.set(k, [t]);
    }
    const k = key(b);
    const list = exact.get(k);
    if (list) list.push(t);
    else exact.set(k, [t]);
  }
  const v = { bytes, byPrefix, exact, maxLen };
  vocabularies.set(tok, v);
  return v;
}

interface Scored {
  /** log P(ids after the context). */
  logP: number;
  /** log-softmax of the next-token row. */
  next: Float64Array;
}

function logSoftmax(row: ArrayLike<number>, from: number, V: number): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, row[from + i]);
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp(row[from + i] - m);
  const lse = m + Math.log(s);
  const out = new Float64Array(V);
  for (let i = 0; i < V; i++) out[i] = row[from + i] - lse;
  return out;
}

interface CachedModel {
  newCache(): KvCache;
  forward(ids: number[], cache: KvCache): Promise<Float32Array>;
}

/** Scores token sequences after a fixed context, memoised; a Model's KV cache is reused. */
class Scorer {
  #lm: TokenScorer;
  #ctx: number[];
  #V: number;
  #memo = new Map<string, Scored>();
  #cached: CachedModel | null;
  #cache: KvCache | null = null;
  #fed: number[] = [];
  #cum: number[] = []; // cum[i]: log P of fed[ctx.length..i]
  #lastRow: Float64Array | null = null;
  calls = 0;

  constructor(lm: TokenScorer, ctx: number[]) {
    if (ctx.length === 0) {
      throw new TokenlabError("byte probabilities: nothing to predict the first token from", {
        hint: "pass contextIds (e.g. the <|endoftext|> id) or a tokenizer that has <|endoftext|>",
      });
    }
    this.#lm = lm;
    this.#ctx = ctx;
    this.#V = lm.config.vocabSize;
    const m = lm as unknown as Partial<CachedModel>;
    this.#cached = typeof m.newCache === "function" && typeof m.forward === "function"
      ? (m as CachedModel)
      : null;
  }

  async score(ids: number[]): Promise<Scored> {
    const k = ids.join(",");
    const had = this.#memo.get(k);
    if (had) return had;
    const full = [...this.#ctx, ...ids];
    this.calls++;
    const r = this.#cached ? await this.#scoreCached(full) : await this.#scoreFull(full);
    this.#memo.set(k, r);
    return r;
  }

  async #scoreFull(full: number[]): Promise<Scored> {
    const V = this.#V, c = this.#ctx.length;
    const logits = await this.#lm.logits(full);
    let logP = 0;
    for (let i = c; i < full.length; i++) logP += logSoftmax(logits, (i - 1) * V, V)[full[i]];
    return { logP, next: logSoftmax(logits, (full.length - 1) * V, V) };
  }

  async #scoreCached(full: number[]): Promise<Scored> {
    const V = this.#V, c = this.#ctx.length, m = this.#cached!;
    let l = 0;
    while (l < this.#fed.length && l < full.length && this.#fed[l] === full[l]) l++;
    if (l === full.length && l === this.#fed.length && this.#lastRow) {
      return { logP: this.#cum[l - 1], next: this.#lastRow };
    }
    // re-feed from one token before the first difference, so that token's row scores the next
    const start = Math.max(0, Math.min(l, full.length) - 1);
    if (!this.#cache || start === 0) {
      this.#cache = m.newCache();
    } else {
      const keep = Array.from({ length: start }, (_, i) => i);
      for (let layer = 0; layer < this.#cache.numLayers; layer++) this.#cache.keep(layer, keep);
      this.#cache.nextPosition = start;
    }
    const feed = full.slice(start);
    const logits = await m.forward(feed, this.#cache);
    this.#fed = full.slice();
    this.#cum.length = start + 1;
    if (start === 0) this.#cum[0] = 0;
    let last: Float64Array | null = null;
    for (let r = 0; r < feed.length; r++) {
      const row = logSoftmax(logits, r * V, V);
      const pos = start + r + 1;
      if (pos < full.length) this.#cum[pos] = this.#cum[pos - 1] + (pos >= c ? row[full[pos]] : 0);
      last = row;
    }
    this.#lastRow = last;
    return { logP: this.#cum[full.length - 1], next: last! };
  }
}

/** Log-sum-exp accumulator over 257 outcomes plus a total. */
class Masses {
  terms: number[][] = Array.from({ length: 257 }, () => []);
  prefix: number[] = [];
  add(outcome: number, logv: number): void {
    if (logv > -Infinity) this.terms[outcome].push(logv);
  }
}

function lse(xs: number[]): number {
  if (xs.length === 0) return -Infinity;
  let m = -Infinity;
  for (const x of xs) m = Math.max(m, x);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

interface Setup {
  tok: Tokenizer;
  vocab: Vocabulary;
  scorer: Scorer;
  stops: Set<number>;
  canonical: boolean;
  maxEncodings: number;
  bytes: Uint8Array;
  /** Where canonical checks may start (0, or a space after which encodings split). */
  split: number;
  /** The encoding of bytes[0, split), or null. */
  head: number[] | null;
}

function setup(
  model: TokenScorer,
  prompt: Uint8Array,
  options: NextByteOptions | undefined,
  caller: string,
): Setup {
  if (!model || typeof model.logits !== "function" || !model.config) {
    throw new TokenlabError(`${caller} needs a model with logits(ids) and config.vocabSize`);
  }
  if (!(prompt instanceof Uint8Array)) {
    throw new TokenlabError(`${caller} needs the prompt as a Uint8Array of bytes`, {
      hint: "new TextEncoder().encode(text)",
    });
  }
  const tok = options?.tokenizer ?? (model as { tokenizer?: unknown }).tokenizer;
  if (!(tok instanceof Tokenizer)) {
    throw new TokenlabError(`${caller} needs a tokenlab Tokenizer`, {
      hint: "pass { tokenizer } or a model loaded with its tokenizer.json",
    });
  }
  const enc = options?.encodings ?? "canonical";
  if (enc !== "canonical" && enc !== "all") {
    throw new TokenlabError(
      `${caller}: encodings must be "canonical" or "all", got ${String(enc)}`,
    );
  }
  const eos = tok.specialTokens["<|endoftext|>"];
  const ctx = options?.contextIds ?? (eos === undefined ? [] : [eos]);
  const stops = new Set(options?.stopTokens ?? (eos === undefined ? [] : [eos]));
  const V = model.config.vocabSize;
  for (const t of [...ctx, ...stops]) {
    if (!Number.isInteger(t) || t < 0 || t >= V) {
      throw new TokenlabError(`${caller}: token id ${t} is outside the model's ${V} ids`);
    }
  }
  const out: Setup = {
    tok,
    vocab: vocabularyOf(tok, V),
    scorer: new Scorer(model, ctx),
    stops,
    canonical: enc === "canonical",
    maxEncodings: options?.maxEncodings ?? 20000,
    bytes: prompt,
    split: 0,
    head: null,
  };
  if (options?.splitAtSpaces !== false) {
    out.split = splitPoint(prompt);
    out.head = out.split > 0 ? encodeOf(tok, prompt.subarray(0, out.split)) : null;
  }
  return out;
}

const isSpace = (b: number) => b === 32 || (b >= 9 && b <= 13);

/** The last k with bytes[k] a space between two non-space bytes (0 when there is none). */
function splitPoint(x: Uint8Array): number {
  for (let k = x.length - 2; k >= 1; k--) {
    if (isSpace(x[k]) && !isSpace(x[k - 1]) && !isSpace(x[k + 1])) return k;
  }
  return 0;
}

/**
 * Whether `s + [t]` is the tokenizer's encoding of `x[0, j) + bytes(t)`, where s encodes x[0, j):
 * checked from the split point when the cover starts at least two bytes after it.
 */
function coverIsCanonical(st: Setup, s: number[], j: number, t: number): boolean {
  const b = st.vocab.bytes[t]!, k = st.split, head = st.head;
  if (head !== null && j >= k + 2) {
    if (head.every((id, i) => id === s[i])) {
      return isCanonical(st.tok, concat(st.bytes.subarray(k, j), b), [...s.slice(head.length), t]);
    }
  }
  return isCanonical(st.tok, concat(st.bytes.subarray(0, j), b), [...s, t]);
}

/** The tokenizer's own encoding of some bytes, or null when they are not text it can encode. */
function encodeOf(tok: Tokenizer, bytes: Uint8Array): number[] | null {
  try {
    return Array.from(tok.encodeBytes(bytes));
  } catch {
    return null;
  }
}

/** Whether `ids` (with bytes `bytes`) is the tokenizer's encoding of them; unknown (true) for non-text. */
function isCanonical(tok: Tokenizer, bytes: Uint8Array, ids: number[]): boolean {
  const e = encodeOf(tok, bytes);
  if (e === null) return true;
  if (e.length !== ids.length) return false;
  for (let i = 0; i < e.length; i++) if (e[i] !== ids[i]) return false;
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The covers of the prompt, grouped: calls `node(s, j)` for each partial encoding s spelling
 * exactly bytes[0, j) (j ≤ n) that the encodings mode admits, with its scored result.
 */
async function forEachNode(
  st: Setup,
  node: (s: number[], j: number, r: Scored) => void,
): Promise<void> {
  const x = st.bytes, n = x.length, v = st.vocab;
  if (st.canonical) {
    for (let j = Math.max(0, n - v.maxLen); j <= n; j++) {
      const s = j === 0 ? [] : encodeOf(st.tok, x.subarray(0, j));
      if (s === null) continue; // x[0, j) ends inside a character: no text is encoded so
      node(s, j, await st.scorer.score(s));
    }
    return;
  }
  let visited = 0;
  const walk = async (s: number[], j: number): Promise<void> => {
    if (++visited > st.maxEncodings) {
      throw new TokenlabError(
        `byte probabilities: more than ${st.maxEncodings} partial encodings of a ${n}-byte prompt`,
        { hint: 'use encodings: "canonical" or a shorter prompt, or raise maxEncodings' },
      );
    }
    const r = await st.scorer.score(s);
    node(s, j, r);
    for (let l = 1; j + l <= n && l <= v.maxLen; l++) {
      for (const t of v.exact.get(key(x, j, j + l)) ?? []) await walk([...s, t], j + l);
    }
  };
  await walk([], 0);
}

/**
 * The exact distribution of the byte after `promptBytes` under a token model, by the
 * Byte-Token Representation Lemma (see the module doc): 256 byte values and the end of text
 * ({@linkcode NEXT_BYTE_END}). `logPrefix` is log P(text starts with the prompt), the sum over
 * its covers; with `encodings: "all"` the masses sum to it exactly.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { nextByteDistribution } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel(bundledModelPath("tiny-draft"));
 * const d = await nextByteDistribution(model, new TextEncoder().encode("in the mor"));
 * console.log(d.probabilities["n".charCodeAt(0)].toFixed(3), d.logPrefix, d.terms);
 * ```
 */
export async function nextByteDistribution(
  model: TokenScorer,
  promptBytes: Uint8Array,
  options?: NextByteOptions,
): Promise<NextByteDistribution> {
  const st = setup(model, promptBytes, options, "nextByteDistribution");
  const x = st.bytes, n = x.length, v = st.vocab;
  const mass = new Masses();
  let terms = 0;
  await forEachNode(st, (s, j, r) => {
    if (j === n) {
      // encodings of exactly x: the next token's first byte, or the end
      for (let t = 0; t < v.bytes.length; t++) {
        const b = v.bytes[t];
        const lp = r.logP + r.next[t];
        if (st.stops.has(t)) {
          mass.add(NEXT_BYTE_END, lp);
          terms++;
          continue;
        }
        if (!b || lp === -Infinity) continue;
        if (st.canonical && !coverIsCanonical(st, s, j, t)) continue;
        mass.add(b[0], lp);
        terms++;
      }
      return;
    }
    // covers of x whose last token starts at j: it holds x[j, n) and maybe more
    for (const t of v.byPrefix.get(key(x, j, n)) ?? []) {
      const b = v.bytes[t]!;
      const lp = r.logP + r.next[t];
      if (lp === -Infinity) continue;
      if (st.canonical && !coverIsCanonical(st, s, j, t)) continue;
      mass.prefix.push(lp);
      if (b.length > n - j) {
        mass.add(b[n - j], lp);
        terms++;
      }
    }
  });
  if (n === 0) mass.prefix.push(0);
  const logMass = new Float64Array(257);
  for (let o = 0; o < 257; o++) logMass[o] = lse(mass.terms[o]);
  return finish(logMass, lse(mass.prefix), st.scorer.calls, terms);
}

function finish(
  logMass: Float64Array,
  logPrefix: number,
  calls: number,
  terms: number,
): NextByteDistribution {
  const total = lse(Array.from(logMass));
  if (total === -Infinity) {
    throw new TokenlabError("byte probabilities: the model gives this prompt probability 0", {
      hint: 'no encoding of it has positive probability; try encodings: "all"',
    });
  }
  const probabilities = logMass.map((l) => Math.exp(l - total));
  return { probabilities, logMass, logPrefix, modelCalls: calls, terms };
}

/**
 * log P(the text starts with `bytes`) under a token model: the log of the sum over the covers
 * of `bytes` (the lemma; see the module doc). With `contextIds` set to an encoded prompt it is
 * the model's probability of a continuation after that tokenization of the prompt.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { bytePrefixLogProbability } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel(bundledModelPath("tiny-draft"));
 * const bits = -(await bytePrefixLogProbability(model, new TextEncoder().encode("The"))) / Math.LN2;
 * console.log(bits.toFixed(2), "bits");
 * ```
 */
export async function bytePrefixLogProbability(
  model: TokenScorer,
  bytes: Uint8Array,
  options?: NextByteOptions,
): Promise<number> {
  const st = setup(model, bytes, options, "bytePrefixLogProbability");
  const x = st.bytes, n = x.length, v = st.vocab;
  if (n === 0) return 0;
  const terms: number[] = [];
  await forEachNodeBefore(st, (s, j, r) => {
    for (const t of v.byPrefix.get(key(x, j, n)) ?? []) {
      const lp = r.logP + r.next[t];
      if (lp === -Infinity) continue;
      if (st.canonical && !coverIsCanonical(st, s, j, t)) continue;
      terms.push(lp);
    }
  });
  return lse(terms);
}

/** forEachNode without the nodes at j = n (a prefix's covers start before its end). */
function forEachNodeBefore(
  st: Setup,
  node: (s: number[], j: number, r: Scored) => void,
): Promise<void> {
  return forEachNode(st, (s, j, r) => {
    if (j < st.bytes.length) node(s, j, r);
  });
}

/** Adds the first byte of each next token after a scored prefix (the naive reading) to `parts`. */
function firstBytes(st: Setup, r: Scored, logScale: number, parts: number[][]): number {
  let terms = 0;
  for (let t = 0; t < st.vocab.bytes.length; t++) {
    const lp = logScale + r.next[t];
    if (lp === -Infinity) continue;
    const b = st.vocab.bytes[t];
    const o = st.stops.has(t) ? NEXT_BYTE_END : b ? b[0] : -1;
    if (o < 0) continue;
    parts[o].push(lp);
    terms++;
  }
  return terms;
}

/**
 * The naive reading of the next byte: encode the prompt with the tokenizer, take the model's
 * next-token distribution, and give each token's probability to its first byte (the stop
 * token's to the end). Biased when the prompt ends inside a token. `logPrefix` is the log
 * probability of that one encoding.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { naiveNextByteDistribution } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel(bundledModelPath("tiny-draft"));
 * const d = await naiveNextByteDistribution(model, new TextEncoder().encode("in the mor"));
 * console.log(d.probabilities["n".charCodeAt(0)].toFixed(3));
 * ```
 */
export async function naiveNextByteDistribution(
  model: TokenScorer,
  promptBytes: Uint8Array,
  options?: Omit<NextByteOptions, "encodings" | "maxEncodings">,
): Promise<NextByteDistribution> {
  const st = setup(model, promptBytes, options, "naiveNextByteDistribution");
  const s = encodeOrThrow(st, "naiveNextByteDistribution");
  const r = await st.scorer.score(s);
  const parts: number[][] = Array.from({ length: 257 }, () => []);
  const terms = firstBytes(st, r, r.logP, parts);
  const logMass = new Float64Array(257).map((_, o) => lse(parts[o]));
  return finish(logMass, r.logP, st.scorer.calls, terms);
}

function encodeOrThrow(st: Setup, caller: string): number[] {
  const s = encodeOf(st.tok, st.bytes);
  if (s === null) {
    throw new TokenlabError(`${caller}: the tokenizer cannot encode these bytes`, {
      hint: "the prompt must be UTF-8 text for a tokenizer with a pre-tokenizer",
    });
  }
  return s;
}

/**
 * Token healing's reading of the next byte: encode the prompt, back off its last token (bytes
 * r), and let the model choose the next token among those whose bytes start with r
 * (renormalised); a token longer than r gives its byte after r, and r itself gives the naive
 * next byte after the full encoding. `logPrefix` is log P(the backed-off encoding, then a token
 * extending r). With an empty prompt it is the naive reading.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { tokenHealingNextByteDistribution } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel(bundledModelPath("tiny-draft"));
 * const d = await tokenHealingNextByteDistribution(model, new TextEncoder().encode("in the mor"));
 * console.log(d.probabilities["n".charCodeAt(0)].toFixed(3));
 * ```
 */
export async function tokenHealingNextByteDistribution(
  model: TokenScorer,
  promptBytes: Uint8Array,
  options?: Omit<NextByteOptions, "encodings" | "maxEncodings">,
): Promise<NextByteDistribution> {
  const st = setup(model, promptBytes, options, "tokenHealingNextByteDistribution");
  const s = encodeOrThrow(st, "tokenHealingNextByteDistribution");
  if (s.length === 0) return naiveNextByteDistribution(model, promptBytes, options);
  const rest = s.slice(0, -1), last = s[s.length - 1];
  const rb = st.vocab.bytes[last];
  if (!rb) {
    throw new TokenlabError("tokenHealingNextByteDistribution: the prompt ends in a special token");
  }
  const r0 = await st.scorer.score(rest);
  const ext = st.vocab.byPrefix.get(key(rb)) ?? [];
  const logZ = lse(ext.map((t) => r0.next[t]));
  const parts: number[][] = Array.from({ length: 257 }, () => []);
  let terms = 0;
  for (const t of ext) {
    const b = st.vocab.bytes[t]!;
    const lp = r0.next[t] - logZ;
    if (lp === -Infinity) continue;
    if (b.length > rb.length) {
      parts[b[rb.length]].push(lp);
      terms++;
    } else {
      // the backed-off token itself: what follows it is the naive next byte
      const r1 = await st.scorer.score([...rest, t]);
      terms += firstBytes(st, r1, lp, parts);
    }
  }
  const logMass = new Float64Array(257).map((_, o) => lse(parts[o]));
  return finish(logMass, r0.logP + logZ, st.scorer.calls, terms);
}
