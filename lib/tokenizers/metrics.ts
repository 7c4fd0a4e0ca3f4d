/**
 * Tokenizer metrics: compression (bytes/chars per token, fertility), cross-lingual premiums,
 * and information-theoretic measures of the token distribution.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";

/** Anything that encodes text to ids (every `Tokenizer` does). */
export interface TokenEncoder {
  /** Encodes text, adding no special tokens. */
  encode(text: string): Uint32Array | number[];
}

const encoder = new TextEncoder();

function checkEncoder(enc: TokenEncoder, fn: string): void {
  if (!enc || typeof enc.encode !== "function") {
    throw new TokenlabError(`${fn} needs an encoder with an encode(text) method`);
  }
}

function checkTexts(texts: readonly string[], fn: string): void {
  if (!Array.isArray(texts) || texts.length === 0) {
    throw new TokenlabError(`${fn} needs a non-empty array of texts`);
  }
  texts.forEach((t, i) => {
    if (typeof t !== "string") throw new TokenlabError(`${fn}: texts[${i}] is not a string`);
  });
}

function totalTokens(enc: TokenEncoder, texts: readonly string[]): number {
  let n = 0;
  for (const t of texts) n += enc.encode(t).length;
  return n;
}

/**
 * UTF-8 bytes per token over the texts (higher = better compression).
 *
 * @example
 * ```ts
 * import { bytesPerToken, loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * console.log(bytesPerToken(await loadPretrained("o200k_base"), ["Hello world"]));
 * ```
 */
export function bytesPerToken(enc: TokenEncoder, texts: readonly string[]): number {
  checkEncoder(enc, "bytesPerToken");
  checkTexts(texts, "bytesPerToken");
  const tokens = totalTokens(enc, texts);
  if (tokens === 0) throw new TokenlabError("bytesPerToken: the texts encode to no tokens");
  return texts.reduce((s, t) => s + encoder.encode(t).length, 0) / tokens;
}

/**
 * Unicode code points per token.
 *
 * @example
 * ```ts
 * import { charsPerToken, loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * console.log(charsPerToken(await loadPretrained("o200k_base"), ["Hello world"]));
 * ```
 */
export function charsPerToken(enc: TokenEncoder, texts: readonly string[]): number {
  checkEncoder(enc, "charsPerToken");
  checkTexts(texts, "charsPerToken");
  const tokens = totalTokens(enc, texts);
  if (tokens === 0) throw new TokenlabError("charsPerToken: the texts encode to no tokens");
  let chars = 0;
  for (const t of texts) for (const _ of t) chars++;
  return chars / tokens;
}

function wordsOf(texts: readonly string[]): string[] {
  const words: string[] = [];
  for (const t of texts) {
    for (const line of t.split("\n")) {
      // each word is encoded as it appears mid-sentence: with its leading space, except the
      // first word of a line
      line.split(/\s+/).filter((w) => w.length > 0).forEach((w, i) =>
        words.push(i === 0 ? w : " " + w)
      );
    }
  }
  return words;
}

/**
 * Fertility: the tokens of the texts, each encoded as it is, per whitespace-separated word
 * (the usual definition: total tokens ÷ total words). Words are not encoded one by one: a
 * tokenizer that adds a prefix to every input (SentencePiece's dummy "▁") or merges across
 * word boundaries is counted as it encodes the running text.
 *
 * @example
 * ```ts
 * import { fertility, loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * console.log(fertility(await loadPretrained("o200k_base"), ["unbelievably long words"]));
 * ```
 */
export function fertility(enc: TokenEncoder, texts: readonly string[]): number {
  checkEncoder(enc, "fertility");
  checkTexts(texts, "fertility");
  let words = 0;
  for (const t of texts) words += t.split(/\s+/).filter((w) => w.length > 0).length;
  if (words === 0) throw new TokenlabError("fertility: the texts contain no words");
  return totalTokens(enc, texts) / words;
}

/**
 * Continued-word rate: the share of words split into more than one token.
 *
 * @example
 * ```ts
 * import { continuedWordRate, loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * console.log(continuedWordRate(await loadPretrained("o200k_base"), ["tokenization is fun"]));
 * ```
 */
export function continuedWordRate(enc: TokenEncoder, texts: readonly string[]): number {
  checkEncoder(enc, "continuedWordRate");
  checkTexts(texts, "continuedWordRate");
  const words = wordsOf(texts);
  if (words.length === 0) throw new TokenlabError("continuedWordRate: the texts contain no words");
  return words.filter((w) => enc.encode(w).length > 1).length / words.length;
}

/** Options of {@linkcode tokenPremiums}. */
export interface PremiumOptions {
  /** Parallel texts: language → text with the same content. */
  texts: Record<string, string>;
  /** The reference language (its premium is 1). */
  reference: string;
}

/**
 * Token premium of each language over the reference on parallel text: tokens(L) / tokens(ref)
 * (Petrov et al. 2023). Parity is premium = 1.
 *
 * @example
 * ```ts
 * import { loadPretrained, tokenPremiums } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await loadPretrained("o200k_base");
 * console.log(tokenPremiums(tok, { texts: { en: "All human beings", de: "Alle Menschen" }, reference: "en" }));
 * ```
 */
export function tokenPremiums(enc: TokenEncoder, options: PremiumOptions): Record<string, number> {
  checkEncoder(enc, "tokenPremiums");
  const texts = options?.texts;
  if (!texts || typeof texts !== "object") {
    throw new TokenlabError("tokenPremiums needs options.texts");
  }
  if (!(options.reference in texts)) {
    throw new TokenlabError(
      `tokenPremiums: reference ${JSON.stringify(options.reference)} is not among the texts`,
      {
        hint: `languages given: ${Object.keys(texts).join(", ")}`,
      },
    );
  }
  const ref = enc.encode(texts[options.reference]).length;
  if (ref === 0) throw new TokenlabError("tokenPremiums: the reference text encodes to no tokens");
  const out: Record<string, number> = {};
  for (const [lang, text] of Object.entries(texts)) {
    if (typeof text !== "string") {
      throw new TokenlabError(`tokenPremiums: text of ${lang} is not a string`);
    }
    out[lang] = enc.encode(text).length / ref;
  }
  return out;
}

/** Token counts (id → count) from a token stream. */
function countsOf(tokens: ArrayLike<number> | Map<number, number> | readonly number[]): number[] {
  if (tokens instanceof Map) return [...tokens.values()];
  const m = new Map<number, number>();
  for (let i = 0; i < tokens.length; i++) m.set(tokens[i], (m.get(tokens[i]) ?? 0) + 1);
  return [...m.values()];
}

/**
 * Shannon entropy of the unigram token distribution, in bits.
 *
 * @example
 * ```ts
 * import { unigramEntropy } from "@tokenlab/tokenlab/tokenizers";
 * console.log(unigramEntropy([1, 2, 3, 4])); // 2
 * ```
 */
export function unigramEntropy(tokens: ArrayLike<number>): number {
  if (!tokens || tokens.length === 0) {
    throw new TokenlabError("unigramEntropy needs a non-empty token stream");
  }
  const counts = countsOf(tokens);
  const n = tokens.length;
  let h = 0;
  for (const c of counts) h -= (c / n) * Math.log2(c / n);
  return h;
}

/** Options of {@linkcode renyiEfficiency}. */
export interface RenyiOptions {
  /** Order α > 0 (default 2.5, the value Zouhar et al. found to correlate best with BLEU). */
  alpha?: number;
  /** Vocabulary size |V| (default: number of token types seen). */
  vocabSize?: number;
}

/**
 * Rényi efficiency H_α(p) / log|V| of a token distribution (Zouhar et al., 2023); α = 1 is the
 * Shannon limit. A uniform distribution over the vocabulary scores 1.
 *
 * @example
 * ```ts
 * import { renyiEfficiency } from "@tokenlab/tokenlab/tokenizers";
 * console.log(renyiEfficiency([0, 1, 2, 3], { alpha: 2.5 })); // 1
 * ```
 */
export function renyiEfficiency(
  tokens: ArrayLike<number> | Map<number, number>,
  options: RenyiOptions = {},
): number {
  const counts = countsOf(tokens as ArrayLike<number>);
  if (counts.length === 0) {
    throw new TokenlabError("renyiEfficiency needs a non-empty token stream");
  }
  const alpha = options.alpha ?? 2.5;
  if (!(alpha > 0)) throw new TokenlabError(`renyiEfficiency: alpha must be > 0, got ${alpha}`);
  const v = options.vocabSize ?? counts.length;
  if (v < counts.length) {
    throw new TokenlabError(
      `renyiEfficiency: vocabSize ${v} is below the ${counts.length} types seen`,
    );
  }
  if (v === 1) return 1;
  const n = counts.reduce((a, b) => a + b, 0);
  let h: number;
  if (Math.abs(alpha - 1) < 1e-12) {
    h = 0;
    for (const c of counts) h -= (c / n) * Math.log(c / n);
  } else {
    let s = 0;
    for (const c of counts) s += Math.pow(c / n, alpha);
    h = Math.log(s) / (1 - alpha);
  }
  return h / Math.log(v);
}

/** Options of {@linkcode conditionalEntropy}. */
export interface ConditionalEntropyOptions {
  /** Context length k ≥ 1 (default 1). */
  order?: number;
}

/**
 * Plug-in estimate of H(X_t | X_{t−k} … X_{t−1}) in bits over a token stream: the entropy of
 * (k+1)-grams minus that of k-grams (counted over the same positions).
 *
 * @example
 * ```ts
 * import { conditionalEntropy } from "@tokenlab/tokenlab/tokenizers";
 * console.log(conditionalEntropy([1, 2, 1, 2, 1, 2], { order: 1 })); // 0
 * ```
 */
export function conditionalEntropy(
  tokens: ArrayLike<number>,
  options: ConditionalEntropyOptions = {},
): number {
  const k = options.order ?? 1;
  if (!Number.isInteger(k) || k < 1) {
    throw new TokenlabError(`conditionalEntropy: order must be an integer ≥ 1, got ${k}`);
  }
  if (!tokens || tokens.length <= k) {
    throw new TokenlabError(
      `conditionalEntropy: need more than ${k} tokens, got ${tokens?.length ?? 0}`,
    );
  }
  const joint = new Map<string, number>(), context = new Map<string, number>();
  const n = tokens.length - k;
  for (let t = k; t < tokens.length; t++) {
    let ctx = "";
    for (let j = t - k; j < t; j++) ctx += tokens[j] + ",";
    const full = ctx + tokens[t];
    joint.set(full, (joint.get(full) ?? 0) + 1);
    context.set(ctx, (context.get(ctx) ?? 0) + 1);
  }
  const h = (m: Map<string, number>) => {
    let s = 0;
    for (const c of m.values()) s -= (c / n) * Math.log2(c / n);
    return s;
  };
  return Math.max(0, h(joint) - h(context));
}

/** Options of {@linkcode vocabularyUtilisation}. */
export interface UtilisationOptions {
  /** Vocabulary size. */
  vocabSize: number;
}

/**
 * The share of the vocabulary's ids that occur in the token stream.
 *
 * @example
 * ```ts
 * import { vocabularyUtilisation } from "@tokenlab/tokenlab/tokenizers";
 * console.log(vocabularyUtilisation([0, 1, 1, 3], { vocabSize: 8 })); // 0.375
 * ```
 */
export function vocabularyUtilisation(
  tokens: ArrayLike<number>,
  options: UtilisationOptions,
): number {
  const v = options?.vocabSize;
  if (!Number.isInteger(v) || v <= 0) {
    throw new TokenlabError(
      `vocabularyUtilisation: vocabSize must be a positive integer, got ${v}`,
    );
  }
  const seen = new Set<number>();
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= v || tokens[i] < 0) {
      throw new TokenlabError(
        `vocabularyUtilisation: id ${tokens[i]} is outside the vocabulary of ${v}`,
      );
    }
    seen.add(tokens[i]);
  }
  return seen.size / v;
}

/** Options of {@linkcode unigramSurprisals}. */
export interface SurprisalOptions {
  /** Token stream the unigram model is estimated from (e.g. the training text's encoding). */
  reference: ArrayLike<number>;
  /** Vocabulary size, for add-one smoothing (default: types in reference ∪ tokens). */
  vocabSize?: number;
}

/**
 * Per-token surprisal −log₂ p(token) under an add-one-smoothed unigram model of `reference`:
 * a cheap proxy for how hard each token is to predict.
 *
 * @example
 * ```ts
 * import { unigramSurprisals } from "@tokenlab/tokenlab/tokenizers";
 * console.log(unigramSurprisals([1, 2], { reference: [1, 1, 1, 2] }));
 * ```
 */
export function unigramSurprisals(
  tokens: ArrayLike<number>,
  options: SurprisalOptions,
): Float64Array {
  const ref = options?.reference;
  if (!ref || ref.length === 0) {
    throw new TokenlabError("unigramSurprisals needs a non-empty reference stream");
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < ref.length; i++) counts.set(ref[i], (counts.get(ref[i]) ?? 0) + 1);
  const types = new Set(counts.keys());
  for (let i = 0; i < tokens.length; i++) types.add(tokens[i]);
  const v = options.vocabSize ?? types.size;
  if (v < types.size) {
    throw new TokenlabError(
      `unigramSurprisals: vocabSize ${v} is below the ${types.size} types seen`,
    );
  }
  const denom = ref.length + v;
  const out = new Float64Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    out[i] = -Math.log2(((counts.get(tokens[i]) ?? 0) + 1) / denom);
  }
  return out;
}
