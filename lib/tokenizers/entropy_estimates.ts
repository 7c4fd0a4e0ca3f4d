/**
 * Entropy of a token stream without the plug-in estimator's bias: a Miller–Madow corrected
 * estimate of unigram and conditional entropy, and the held-out cross-entropy of a
 * Witten–Bell interpolated n-gram model.
 *
 * The plug-in (maximum-likelihood) entropy of k-grams from N positions is biased low, by about
 * (m − 1) / (2N) nats for m observed k-grams, so it falls as the stream gets shorter or the
 * vocabulary wider — at 4 096 token types and tens of thousands of tokens, the bias of the
 * bigram term is larger than most effects one wants to see. Miller–Madow adds that first-order
 * term back; a held-out cross-entropy (fit on one stream, score another) is biased the other
 * way (a model never beats the true distribution on new text), so the two bracket the truth.
 * Compare settings at the same number of tokens either way: both biases depend on N.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";

/** Options of {@linkcode entropyEstimates}. */
export interface EntropyEstimateOptions {
  /** Context length k: 0 for the unigram entropy, k ≥ 1 for H(X_t | k previous tokens) (default 0). */
  order?: number;
}

/** Two estimates of one entropy, in bits per token (see {@linkcode entropyEstimates}). */
export interface EntropyEstimates {
  /** The plug-in (maximum-likelihood) estimate. */
  plugIn: number;
  /** The plug-in estimate plus the Miller–Madow correction. */
  millerMadow: number;
  /** Positions counted (stream length − order). */
  positions: number;
  /** Distinct (order + 1)-grams seen. */
  types: number;
  /** Distinct contexts (order-grams) seen; 1 for order 0. */
  contexts: number;
}

/**
 * The plug-in and Miller–Madow estimates of a token stream's unigram entropy (order 0) or
 * conditional entropy H(X_t | X_{t−k} … X_{t−1}) (order k), in bits. The conditional entropy
 * is H(k+1-grams) − H(k-grams) over the same positions, each corrected by (m − 1) / (2N ln 2)
 * bits for its m observed types, so the correction is (m_joint − m_context) / (2N ln 2).
 *
 * @example
 * ```ts
 * import { entropyEstimates } from "@tokenlab/tokenlab/tokenizers";
 * const e = entropyEstimates([0, 1, 2, 3, 0, 1, 2, 3], { order: 0 });
 * console.log(e.plugIn, e.millerMadow.toFixed(3)); // 2 2.271
 * ```
 */
export function entropyEstimates(
  tokens: ArrayLike<number>,
  options: EntropyEstimateOptions = {},
): EntropyEstimates {
  const k = options.order ?? 0;
  checkOrder(k, "entropyEstimates");
  checkTokens(tokens, "entropyEstimates");
  if (tokens.length <= k) {
    throw new TokenlabError(
      `entropyEstimates: order ${k} needs more than ${k} tokens, got ${tokens.length}`,
      { hint: "pass a longer stream or a lower order" },
    );
  }
  const key = keyFunction(tokens, k + 1);
  const joint = new Map<number | string, number>(), context = new Map<number | string, number>();
  for (let t = k; t < tokens.length; t++) {
    const j = key(tokens, t - k, k + 1);
    joint.set(j, (joint.get(j) ?? 0) + 1);
    if (k > 0) {
      const c = key(tokens, t - k, k);
      context.set(c, (context.get(c) ?? 0) + 1);
    }
  }
  const n = tokens.length - k;
  const plugIn = Math.max(0, entropyOfCounts(joint, n) - (k > 0 ? entropyOfCounts(context, n) : 0));
  const mContext = k > 0 ? context.size : 1;
  return {
    plugIn,
    millerMadow: plugIn + (joint.size - mContext) / (2 * n * Math.LN2),
    positions: n,
    types: joint.size,
    contexts: mContext,
  };
}

/** Options of {@linkcode fitNgramModel}. */
export interface NgramModelOptions {
  /** Context length k ≥ 0 (0 = unigram model) (default 1). */
  order?: number;
  /** Vocabulary size |V|: every id must be below it; the model's floor is uniform over it. */
  vocabSize: number;
}

/** Total code length of a scored stream (see {@linkcode NgramModel.score}). */
export interface NgramScore {
  /** −Σ log₂ p(x_t | context) over the scored positions. */
  bits: number;
  /** Positions scored (those with a full context inside the stream: length − order). */
  positions: number;
}

/**
 * A Witten–Bell interpolated n-gram model over token ids (use {@linkcode fitNgramModel}):
 * p_k(w | c) = (C(c w) + T(c) · p_{k−1}(w | c′)) / (C(c) + T(c)), where T(c) is the number of
 * distinct tokens seen after c and c′ drops c's oldest token; unseen contexts back off; the
 * order −1 floor is uniform over the vocabulary, so every id has a probability.
 */
export class NgramModel {
  /** Context length. */
  readonly order: number;
  /** Vocabulary size of the uniform floor. */
  readonly vocabSize: number;
  readonly #levels: { next: Map<number | string, number>; ctx: Map<number | string, Ctx> }[];
  readonly #key: KeyFn;

  /** Builds the model from counts (use {@linkcode fitNgramModel}). */
  constructor(reference: ArrayLike<number>, options: NgramModelOptions) {
    const k = options.order ?? 1;
    this.order = k;
    this.vocabSize = options.vocabSize;
    this.#key = keyForBase(options.vocabSize, k + 1);
    this.#levels = [];
    for (let j = 0; j <= k; j++) {
      const next = new Map<number | string, number>(), ctx = new Map<number | string, Ctx>();
      for (let t = j; t < reference.length; t++) {
        const g = this.#key(reference, t - j, j + 1);
        const seen = next.get(g) ?? 0;
        next.set(g, seen + 1);
        const c = j === 0 ? "" : this.#key(reference, t - j, j);
        const s = ctx.get(c) ?? { count: 0, types: 0 };
        s.count++;
        if (seen === 0) s.types++;
        ctx.set(c, s);
      }
      this.#levels.push({ next, ctx });
    }
  }

  /** p(tokens[t] | the `order` tokens before it), for t ≥ order. */
  probability(tokens: ArrayLike<number>, t: number): number {
    let p = 1 / this.vocabSize;
    for (let j = 0; j <= this.order; j++) {
      const { next, ctx } = this.#levels[j];
      const s = ctx.get(j === 0 ? "" : this.#key(tokens, t - j, j));
      if (!s) break; // a longer context containing this one is unseen too
      const c = next.get(this.#key(tokens, t - j, j + 1)) ?? 0;
      p = (c + s.types * p) / (s.count + s.types);
    }
    return p;
  }

  /**
   * The code length of a stream under the model: positions from `order` on are scored, so
   * contexts never reach outside the stream (score documents one by one to keep them apart).
   */
  score(tokens: ArrayLike<number>): NgramScore {
    checkTokens(tokens, "NgramModel.score");
    checkIds(tokens, this.vocabSize, "NgramModel.score");
    let bits = 0, positions = 0;
    for (let t = this.order; t < tokens.length; t++) {
      bits -= Math.log2(this.probability(tokens, t));
      positions++;
    }
    return { bits, positions };
  }

  /** Bits per token on a held-out stream: {@linkcode NgramModel.score}'s bits ÷ positions. */
  crossEntropy(tokens: ArrayLike<number>): number {
    const s = this.score(tokens);
    if (s.positions === 0) {
      throw new TokenlabError(
        `NgramModel.crossEntropy: a stream of ${tokens.length} tokens has no position with a ` +
          `full context of ${this.order}`,
      );
    }
    return s.bits / s.positions;
  }
}

/**
 * Fits a Witten–Bell interpolated n-gram model of the given order on a reference token
 * stream. Its cross-entropy on a *held-out* stream is an upper-biased estimate of the
 * stream's conditional entropy (the plug-in estimate on the same stream is biased low).
 *
 * @example
 * ```ts
 * import { fitNgramModel } from "@tokenlab/tokenlab/tokenizers";
 * const model = fitNgramModel([0, 1, 0, 1, 0, 1, 0, 1], { order: 1, vocabSize: 4 });
 * console.log(model.crossEntropy([0, 1, 0, 1]).toFixed(3)); // low: the pattern was seen
 * console.log(model.crossEntropy([2, 3, 2, 3]).toFixed(3)); // high: never seen
 * ```
 */
export function fitNgramModel(
  reference: ArrayLike<number>,
  options: NgramModelOptions,
): NgramModel {
  const k = options?.order ?? 1;
  checkOrder(k, "fitNgramModel");
  const v = options?.vocabSize;
  if (!Number.isInteger(v) || v < 1) {
    throw new TokenlabError(`fitNgramModel: vocabSize must be a positive integer, got ${v}`, {
      hint: "pass the tokenizer's vocabulary size, e.g. { vocabSize: tok.vocabSize }",
    });
  }
  checkTokens(reference, "fitNgramModel");
  checkIds(reference, v, "fitNgramModel");
  if (reference.length <= k) {
    throw new TokenlabError(
      `fitNgramModel: order ${k} needs more than ${k} reference tokens, got ${reference.length}`,
    );
  }
  return new NgramModel(reference, { order: k, vocabSize: v });
}

// —— internals ————————————————————————————————————————————————————————————————

interface Ctx {
  count: number;
  types: number;
}

type KeyFn = (tokens: ArrayLike<number>, start: number, length: number) => number | string;

function entropyOfCounts(m: Map<unknown, number>, n: number): number {
  let h = 0;
  for (const c of m.values()) h -= (c / n) * Math.log2(c / n);
  return h;
}

function keyFunction(tokens: ArrayLike<number>, length: number): KeyFn {
  let max = 0;
  for (let i = 0; i < tokens.length; i++) if (tokens[i] > max) max = tokens[i];
  return keyForBase(max + 1, length);
}

/** Numeric keys (base-`base` digits) while they stay exact, else comma-joined strings. */
function keyForBase(base: number, maxLength: number): KeyFn {
  if (Math.pow(base, maxLength) <= Number.MAX_SAFE_INTEGER) {
    return (tokens, start, length) => {
      let key = 0; // each map holds keys of one length, so no length marker is needed
      for (let i = start; i < start + length; i++) key = key * base + tokens[i];
      return key;
    };
  }
  return (tokens, start, length) => {
    let key = "";
    for (let i = start; i < start + length; i++) key += tokens[i] + ",";
    return key;
  };
}

function checkOrder(k: number, fn: string): void {
  if (!Number.isInteger(k) || k < 0) {
    throw new TokenlabError(`${fn}: order must be an integer ≥ 0, got ${k}`);
  }
}

function checkTokens(tokens: ArrayLike<number>, fn: string): void {
  if (!tokens || typeof tokens.length !== "number" || tokens.length === 0) {
    throw new TokenlabError(`${fn} needs a non-empty token stream`);
  }
}

function checkIds(tokens: ArrayLike<number>, v: number, fn: string): void {
  for (let i = 0; i < tokens.length; i++) {
    const x = tokens[i];
    if (!Number.isInteger(x) || x < 0 || x >= v) {
      throw new TokenlabError(`${fn}: id ${x} at ${i} is outside the vocabulary of ${v}`, {
        hint: "pass the vocabulary size of the tokenizer that produced the ids",
      });
    }
  }
}
