/**
 * Adaptive weighted rejection sampling (AWRS; Lipkin et al., COLM 2025, arXiv 2504.05410):
 * sampling under a Boolean constraint without evaluating it on the whole vocabulary.
 *
 * Tokens are visited in a seeded without-replacement order of the model's distribution p
 * (Gumbel-top-k: keys `log p(t) − log(−log u_t)`, largest first, with `u_t` from the kernels'
 * {@linkcode samplingUniform}); the constraint is evaluated on each until one passes. That token
 * is distributed exactly as p masked to the allowed set and renormalised, and the walk costs
 * about as many constraint evaluations as the model puts mass on forbidden tokens ahead of the
 * allowed ones (often 1–3) instead of one per vocabulary id for a full mask.
 *
 * Each draw also returns a weight ŵ, an unbiased estimate of the normaliser
 * Z = Σₜ p(t)·c(t) (the mass the constraint allows), as the paper gives it (two estimators):
 * - `"recursive"`: ŵ = Πᵢ (1 − qᵢ) over the rejected tokens, qᵢ = p(xᵢ) / (mass not yet
 *   rejected), times a tail term from one more evaluation: 1 if the next token in the order is
 *   allowed too, else q of the accepted token.
 * - `"geometric"`: the without-replacement walk is turned back into a with-replacement one by
 *   drawing the "phantom" draws of already-rejected tokens (geometric counts), run until
 *   `maxAccepts` accepts; ŵ = (maxAccepts − 1) / (draws − 1), the unbiased estimator of a
 *   success probability under inverse binomial sampling.
 * - `"auto"` (default): geometric when `maxAccepts > 2` or the top token holds at least 2/3 of
 *   the mass (then it needs fewer evaluations), recursive otherwise — the rule of the reference
 *   implementation.
 *
 * In sequential Monte Carlo, ŵ is the particle's incremental weight that corrects locally
 * constrained decoding towards the globally constrained distribution; {@linkcode awrsGenerate}
 * accumulates log ŵ along one sequence (it does not resample particles).
 *
 * @example
 * ```ts
 * import { awrsSample } from "@tokenlab/tokenlab/decoding";
 * const p = [0.5, 0.3, 0.15, 0.05];
 * const allowed = (t: number) => t >= 2; // Z = 0.2
 * const d = awrsSample(p, { accept: allowed, seed: 1 });
 * console.log(d.token, d.weight, d.evaluations);
 * ```
 *
 * @module
 */

import { samplingProbabilities, samplingUniform } from "../../kernels/sampling.ts";
import type { Model } from "../models/model.ts";
import { generationArgs } from "../models/_generation_args.ts";
import { TokenlabError } from "../util/errors.ts";
import type { CompiledGrammar, GrammarMatcher } from "./grammar.ts";

/** Which estimator of the normaliser {@linkcode awrsSample} uses. */
export type AwrsEstimator = "auto" | "recursive" | "geometric";

/** Options of {@linkcode awrsSample}. */
export interface AwrsSampleOptions {
  /** The constraint: whether token t is allowed (called at most once per token per draw). */
  accept: (token: number) => boolean;
  /** Seed of the uniforms (an unsigned 32-bit integer, default 0). */
  seed?: number;
  /** Draw counter: draws with the same seed and counter are identical (default 0). */
  counter?: number;
  /** Estimator of the weight (default "auto"). */
  estimator?: AwrsEstimator;
  /** Accepts the geometric estimator runs to (default 2, at least 2). */
  maxAccepts?: number;
}

/** One draw of {@linkcode awrsSample}. */
export interface AwrsDraw {
  /** The drawn token; −1 when no token of positive probability is allowed. */
  token: number;
  /** The unbiased estimate ŵ of the allowed mass Z (0 when nothing is allowed). */
  weight: number;
  /** Constraint evaluations this draw made (distinct tokens evaluated). */
  evaluations: number;
  /** The estimator used ("auto" resolved). */
  estimator: "recursive" | "geometric";
}

const GOLDEN = 0x9e3779b1;

/** Uniform in (0, 1) of stream `round` of a draw, at `row` (a token id, or ids past V). */
function uniform(seed: number, round: number, row: number, counter: number): number {
  const s = (seed ^ Math.imul(round, GOLDEN)) >>> 0;
  return samplingUniform({ seed: s, row, counter }) + 2 ** -25;
}

/**
 * The tokens of positive probability in a seeded Gumbel-top-k order (larger key first, lower
 * id on ties), produced lazily: the top two by one scan (most walks stop there), the rest
 * from a binary heap built on demand (a deep walk pays O(log V) per token, not a sort).
 */
class GumbelOrder {
  #keys: Float64Array;
  #first: number[] = [];
  #pos = 0;
  #heap: Int32Array | null = null;
  #size = 0;
  #scanned = false;

  constructor(p: ArrayLike<number>, skip: (t: number) => boolean, at: (t: number) => number) {
    // the Gumbel key log p − log(−log u), kept as the monotone −(−log u) / p (one log per
    // token; an exponential race, the same order), floored so that every p > 0 stays finite
    this.#keys = new Float64Array(p.length);
    for (let t = 0; t < p.length; t++) {
      this.#keys[t] = p[t] > 0 && !skip(t)
        ? Math.max(Math.log(at(t)) / p[t], -Number.MAX_VALUE)
        : -Infinity;
    }
  }

  /** The next token of the order, or −1 when every token of positive probability was given. */
  next(): number {
    const t = this.peek();
    if (t < 0) return t;
    if (this.#pos < this.#first.length) this.#pos++;
    else this.#pop();
    return t;
  }

  /** The token `next()` would give, without taking it. */
  peek(): number {
    if (!this.#scanned) this.#scan();
    if (this.#pos < this.#first.length) return this.#first[this.#pos];
    if (!this.#heap) this.#build();
    return this.#size > 0 ? this.#heap![0] : -1;
  }

  #scan(): void {
    const k = this.#keys;
    let b1 = -1, b2 = -1;
    for (let t = 0; t < k.length; t++) {
      if (!(k[t] > -Infinity)) continue;
      if (b1 < 0 || k[t] > k[b1]) [b1, b2] = [t, b1];
      else if (b2 < 0 || k[t] > k[b2]) b2 = t;
    }
    this.#first = [b1, b2].filter((t) => t >= 0);
    this.#scanned = true;
  }

  /** Whether token a comes before token b. */
  #before(a: number, b: number): boolean {
    const k = this.#keys;
    return k[a] > k[b] || (k[a] === k[b] && a < b);
  }

  #build(): void {
    const k = this.#keys, h = new Int32Array(k.length);
    let n = 0;
    for (let t = 0; t < k.length; t++) {
      if (k[t] > -Infinity && t !== this.#first[0] && t !== this.#first[1]) h[n++] = t;
    }
    this.#heap = h;
    this.#size = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #pop(): void {
    const h = this.#heap!;
    h[0] = h[--this.#size];
    this.#down(0);
  }

  #down(i: number): void {
    const h = this.#heap!, n = this.#size;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < n && this.#before(h[l], h[m])) m = l;
      if (r < n && this.#before(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

function checkProbabilities(p: ArrayLike<number>): number {
  if (!p || typeof p.length !== "number" || p.length === 0) {
    throw new TokenlabError("awrsSample needs a non-empty array of probabilities");
  }
  let total = 0, top = 0;
  for (let t = 0; t < p.length; t++) {
    const x = p[t];
    if (!(x >= 0) || !Number.isFinite(x)) {
      throw new TokenlabError(`awrsSample: probability ${t} is ${x}, not a finite number ≥ 0`, {
        hint: "pass probabilities (e.g. samplingProbabilities of the logits), not logits",
      });
    }
    total += x;
    top = Math.max(top, x);
  }
  if (Math.abs(total - 1) > 1e-6) {
    throw new TokenlabError(`awrsSample: the probabilities sum to ${total}, not 1`, {
      hint: "normalise them (samplingProbabilities does)",
    });
  }
  return top;
}

/**
 * Draws one token from p restricted to the tokens `accept` allows (renormalised), evaluating
 * `accept` in a seeded without-replacement order until a token passes, and returns it with the
 * weight ŵ (an unbiased estimate of the allowed mass Z, see the module doc) and the number of
 * constraint evaluations. Deterministic in (seed, counter).
 *
 * @example
 * ```ts
 * import { awrsSample } from "@tokenlab/tokenlab/decoding";
 * const p = [0.7, 0.2, 0.1];
 * const d = awrsSample(p, { accept: (t) => t !== 0, seed: 3, counter: 5, estimator: "recursive" });
 * console.log(d.token === 1 || d.token === 2, d.evaluations); // true, 2 or 3
 * ```
 */
export function awrsSample(probabilities: ArrayLike<number>, options: AwrsSampleOptions): AwrsDraw {
  const top = checkProbabilities(probabilities);
  const accept = options?.accept;
  if (typeof accept !== "function") {
    throw new TokenlabError("awrsSample needs { accept: (token) => boolean }");
  }
  const maxAccepts = options.maxAccepts ?? 2;
  if (!Number.isInteger(maxAccepts) || maxAccepts < 2) {
    throw new TokenlabError(`awrsSample: maxAccepts must be an integer ≥ 2, got ${maxAccepts}`);
  }
  const est = options.estimator ?? "auto";
  if (est !== "auto" && est !== "recursive" && est !== "geometric") {
    throw new TokenlabError(`awrsSample: unknown estimator ${String(est)}`, {
      hint: 'use "auto", "recursive" or "geometric"',
    });
  }
  const estimator = est === "auto"
    ? (maxAccepts > 2 || top >= 2 / 3 ? "geometric" : "recursive")
    : est;
  const seed = (options.seed ?? 0) >>> 0, counter = options.counter ?? 0;
  return estimator === "recursive"
    ? recursive(probabilities, accept, seed, counter)
    : geometric(probabilities, accept, seed, counter, maxAccepts);
}

function recursive(
  p: ArrayLike<number>,
  accept: (t: number) => boolean,
  seed: number,
  counter: number,
): AwrsDraw {
  const order = new GumbelOrder(p, () => false, (t) => uniform(seed, 0, t, counter));
  let rejected = 0, logW = 0, evaluations = 0;
  for (let x = order.next(); x >= 0; x = order.next()) {
    const next = order.peek();
    // q: the probability of x given that the rejected tokens are gone; 1 for the last token
    const q = next < 0 ? 1 : Math.min(1, p[x] / Math.max(1 - rejected, p[x]));
    evaluations++;
    if (accept(x)) {
      let tail = 1;
      if (next >= 0) {
        evaluations++;
        if (!accept(next)) tail = q;
      }
      return { token: x, weight: Math.exp(logW) * tail, evaluations, estimator: "recursive" };
    }
    if (next < 0) break;
    rejected += p[x];
    logW += Math.log1p(-q);
  }
  return { token: -1, weight: 0, evaluations, estimator: "recursive" };
}

function geometric(
  p: ArrayLike<number>,
  accept: (t: number) => boolean,
  seed: number,
  counter: number,
  maxAccepts: number,
): AwrsDraw {
  const V = p.length;
  const isRejected = new Uint8Array(V), allowed = new Uint8Array(V);
  let rejectedMass = 0, nRej = 0, nAcc = 0, evaluations = 0, token = -1, phantoms = 0;
  for (let round = 0; round < maxAccepts; round++) {
    const order = new GumbelOrder(
      p,
      (t) => isRejected[t] === 1,
      (t) => uniform(seed, round, t, counter),
    );
    let found = false;
    for (let x = order.next(); x >= 0; x = order.next()) {
      if (rejectedMass > 0) {
        // draws of already-rejected tokens a with-replacement sampler would have made first
        if (rejectedMass >= 1) return { token: -1, weight: 0, evaluations, estimator: "geometric" };
        const u = uniform(seed, round, V + phantoms++, counter);
        nRej += Math.floor(Math.log(u) / Math.log(rejectedMass));
      }
      let ok = allowed[x] === 1;
      if (!ok) {
        evaluations++;
        ok = accept(x);
      }
      if (ok) {
        allowed[x] = 1;
        nAcc++;
        if (token < 0) token = x;
        found = true;
        break;
      }
      isRejected[x] = 1;
      nRej++;
      rejectedMass += p[x];
    }
    if (!found) break; // nothing of positive probability is allowed
  }
  if (nAcc === 0) return { token: -1, weight: 0, evaluations, estimator: "geometric" };
  const weight = Math.min(maxAccepts - 1, nAcc) / (nAcc + nRej - 1);
  return { token, weight, evaluations, estimator: "geometric" };
}

/** Options of {@linkcode awrsGenerate}. */
export interface AwrsGenerateOptions {
  /** The compiled grammar (for the model's tokenizer). */
  grammar: CompiledGrammar;
  /** Maximum new tokens (default 64). */
  maxNewTokens?: number;
  /** Sampling temperature, > 0 (default 1). */
  temperature?: number;
  /** Keep only the k most likely tokens before the constraint (0 = off). */
  topK?: number;
  /** Nucleus mass in (0, 1] before the constraint (1 = off). */
  topP?: number;
  /** Seed of the draws (default 0); step i uses `counter: i`. */
  seed?: number;
  /** Estimator of the weights (default "auto"). */
  estimator?: AwrsEstimator;
  /** Accepts of the geometric estimator (default 2). */
  maxAccepts?: number;
  /** Continue this matcher (its state is advanced) instead of starting a new one. */
  matcher?: GrammarMatcher;
}

/** What {@linkcode awrsGenerate} returns. */
export interface AwrsGenerateResult {
  /** The new ids (a stop token, when drawn, is the last one). */
  ids: number[];
  /** Per step: the weight ŵ (estimate of the mass the grammar allows at that step). */
  weights: number[];
  /** Per step: constraint evaluations (a full mask evaluates every id of the grammar's id space). */
  evaluations: number[];
  /** Σ log ŵ: the sequence's log importance weight against the locally constrained proposal. */
  logWeight: number;
  /** Whether the output is a complete document of the grammar. */
  complete: boolean;
  /** Whether generation ended on a stop token, a state allowing nothing, or a dead end. */
  stopped: boolean;
  /** Whether it stopped because no token of positive probability was allowed (weight 0). */
  dead: boolean;
}

/**
 * Generates under a grammar with AWRS: each step draws from the model's distribution
 * (temperature / top-k / top-p as `samplingProbabilities` gives it) restricted to what the
 * grammar allows, evaluating the constraint (`matcher.allows`, which changes no state) only
 * on the tokens the rejection walk visits — never the full mask. The tokens are distributed as
 * with `constrainedGenerate` at the same temperature (not draw for draw: the randomness is used
 * differently); the weights are the AWRS estimates of each step's allowed mass.
 *
 * @example
 * ```ts
 * import { awrsGenerate, compileGrammar } from "@tokenlab/tokenlab/decoding";
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * import { trainBpe } from "@tokenlab/tokenlab/tokenizers";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const tok = trainBpe("ab ab ba", { vocabSize: model.config.vocabSize });
 * const grammar = compileGrammar({ ebnf: 'root ::= ("a" | "b")+' }, tok);
 * const out = await awrsGenerate(model, [1, 2], { grammar, maxNewTokens: 5, seed: 1 });
 * console.log(tok.decode(out.ids), out.evaluations, out.logWeight);
 * ```
 */
export async function awrsGenerate(
  model: Model,
  promptIds: ArrayLike<number>,
  options: AwrsGenerateOptions,
): Promise<AwrsGenerateResult> {
  const g = options?.grammar;
  if (!g || typeof g.matcher !== "function") {
    throw new TokenlabError("awrsGenerate needs { grammar } from compileGrammar");
  }
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0)) {
    throw new TokenlabError(`awrsGenerate: temperature must be > 0, got ${temperature}`, {
      hint: "rejection sampling needs a distribution; for greedy decoding use constrainedGenerate",
    });
  }
  const { prompt, max } = generationArgs(promptIds, {
    maxNewTokens: options.maxNewTokens,
    defaultMax: 64,
    caller: "awrsGenerate",
  });
  const m = options.matcher ?? g.matcher();
  const V = model.config.vocabSize;
  const out: AwrsGenerateResult = {
    ids: [],
    weights: [],
    evaluations: [],
    logWeight: 0,
    complete: m.canTerminate(),
    stopped: false,
    dead: false,
  };
  if (max === 0) return out;
  const allowed = (t: number) => m.allows(t);
  const cache = model.newCache();
  let logits = await model.forward(prompt, cache);
  let row = logits.slice(logits.length - V);
  for (let i = 0; i < max; i++) {
    if (m.isTerminated()) return { ...out, complete: true, stopped: true };
    const p = samplingProbabilities({ data: row, shape: [1, V] }, {
      temperature,
      topK: options.topK,
      topP: options.topP,
    });
    const d = awrsSample(p, {
      accept: allowed,
      seed: options.seed,
      counter: i,
      estimator: options.estimator,
      maxAccepts: options.maxAccepts,
    });
    out.evaluations.push(d.evaluations);
    out.weights.push(d.weight);
    out.logWeight += Math.log(d.weight);
    if (d.token < 0) return { ...out, complete: m.canTerminate(), stopped: true, dead: true };
    if (!m.accept(d.token)) {
      throw new TokenlabError(
        `awrsGenerate: the constraint accepted ${d.token} and then refused it`,
      );
    }
    out.ids.push(d.token);
    if (m.isTerminated()) return { ...out, complete: true, stopped: true };
    if (i === max - 1) break;
    logits = await model.forward([d.token], cache);
    row = logits.slice();
  }
  return { ...out, complete: m.canTerminate() };
}
