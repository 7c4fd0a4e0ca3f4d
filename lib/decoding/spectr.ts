/**
 * SpecTr's k-sequential selection (K-SEQ; Sun et al., NeurIPS 2023): a lossless way to pick one
 * of k draft tokens X₁..X_k drawn i.i.d. from a draft distribution q so that the selected
 * token follows the target distribution p, with a higher acceptance than one draft can give.
 *
 * With β(ρ) = Σₓ min(q(x), p(x)/ρ) and ρ* ∈ [1, k] the smallest ρ with
 * 1 − (1 − β(ρ))ᵏ ≤ ρ·β(ρ) (equality at the solution): try X₁..X_k in order, accept Xᵢ with
 * probability min(1, p(Xᵢ)/(ρ·q(Xᵢ))); if none is accepted, draw from the residual
 * ∝ p − min(q, p/ρ)·(1 − (1 − β)ᵏ)/β. The first accepted draft is y with probability
 * min(q(y), p(y)/ρ)·(1 − (1 − β)ᵏ)/β and none is accepted with probability (1 − β)ᵏ, so the
 * output is exactly p for any ρ meeting the inequality; the acceptance probability is
 * 1 − (1 − β(ρ*))ᵏ. With k = 1, ρ* = 1 and this is Leviathan et al.'s rule: accept with
 * min(1, p/q), else draw from max(0, p − q) renormalised.
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import { drawFrom } from "./verify.ts";

/** The two distributions of one K-SEQ position, over the same vocabulary. */
export interface KSeqDistributions {
  /** Target distribution p. */
  p: ArrayLike<number>;
  /** Draft distribution q the drafts were drawn from (i.i.d.). */
  q: ArrayLike<number>;
}

/** Options of {@linkcode kSeqResidual}. */
export interface KSeqResidualOptions {
  /** Number of drafts k. */
  k: number;
  /** The ρ used (default {@linkcode kSeqRho}). */
  rho?: number;
}

/** Options of {@linkcode kSeqSelect}. */
export interface KSeqSelectOptions {
  /** The draft tokens X₁..X_k, in the order they were drawn. */
  drafts: ArrayLike<number>;
  /** A fresh uniform number in [0, 1) per call (seeded). */
  uniform: () => number;
  /** The ρ to use (default {@linkcode kSeqRho} for k = drafts.length). */
  rho?: number;
}

/** Result of {@linkcode kSeqSelect}. */
export interface KSeqResult {
  /** Index of the accepted draft (the first accepted), or −1 when the residual was drawn. */
  index: number;
  /** The selected token (follows p). */
  token: number;
  /** The ρ used. */
  rho: number;
  /** β(ρ): the probability that one draft is accepted. */
  beta: number;
}

/**
 * β(ρ) = Σₓ min(q(x), p(x)/ρ): the probability that a single draft X ~ q passes K-SEQ's test
 * at ρ.
 *
 * @example
 * ```ts
 * import { kSeqBeta } from "@tokenlab/tokenlab/decoding";
 * const p = [0.5, 0.3, 0.2], q = [0.2, 0.6, 0.2];
 * console.log(kSeqBeta({ p, q }, 1)); // Σ min(p, q) = 0.2 + 0.3 + 0.2 = 0.7
 * ```
 */
export function kSeqBeta(d: KSeqDistributions, rho: number): number {
  checkDists(d, "kSeqBeta");
  let beta = 0;
  for (let i = 0; i < d.p.length; i++) beta += Math.min(d.q[i], d.p[i] / rho);
  return beta;
}

/**
 * The optimal ρ* ∈ [1, k]: the smallest ρ with 1 − (1 − β(ρ))ᵏ ≤ ρ·β(ρ), by bisection (the
 * returned value always meets the inequality, so selection with it is exactly lossless).
 * k = 1 gives 1.
 *
 * @example
 * ```ts
 * import { kSeqRho } from "@tokenlab/tokenlab/decoding";
 * const p = [0.5, 0.3, 0.2], q = [0.2, 0.6, 0.2];
 * console.log(kSeqRho({ p, q }, 1), kSeqRho({ p, q }, 3).toFixed(4));
 * ```
 */
export function kSeqRho(d: KSeqDistributions, k: number): number {
  checkDists(d, "kSeqRho");
  check(Number.isInteger(k) && k >= 0, `kSeqRho: k must be a non-negative integer, got ${k}`);
  if (k <= 1) return 1;
  const gap = (rho: number) => {
    const beta = kSeqBeta(d, rho);
    return 1 - (1 - beta) ** k - rho * beta;
  };
  if (gap(1) <= 0) return 1;
  let lo = 1, hi = k;
  if (gap(hi) > 0) return hi; // only through rounding (Bernoulli's inequality holds at k)
  for (let it = 0; it < 100 && hi - lo > 1e-13 * k; it++) {
    const mid = (lo + hi) / 2;
    if (gap(mid) <= 0) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Probability that K-SEQ accepts one of k i.i.d. drafts: 1 − (1 − β(ρ*))ᵏ (k = 1: Σ min(p, q),
 * Leviathan's acceptance rate).
 *
 * @example
 * ```ts
 * import { kSeqAcceptance } from "@tokenlab/tokenlab/decoding";
 * const p = [0.5, 0.3, 0.2], q = [0.2, 0.6, 0.2];
 * for (const k of [1, 2, 4]) console.log(k, kSeqAcceptance({ p, q }, k).toFixed(3));
 * ```
 */
export function kSeqAcceptance(d: KSeqDistributions, k: number): number {
  const rho = kSeqRho(d, k);
  return 1 - (1 - kSeqBeta(d, rho)) ** k;
}

/**
 * The distribution K-SEQ draws from when no draft is accepted:
 * max(0, p − min(q, p/ρ)·(1 − (1 − β)ᵏ)/β) renormalised (p itself when β = 0 or k = 0).
 *
 * @example
 * ```ts
 * import { kSeqResidual } from "@tokenlab/tokenlab/decoding";
 * const p = [0.5, 0.3, 0.2], q = [0.2, 0.6, 0.2];
 * console.log(kSeqResidual({ p, q }, { k: 1 })); // max(0, p − q) renormalised: [1, 0, 0]
 * ```
 */
export function kSeqResidual(d: KSeqDistributions, options: KSeqResidualOptions): Float64Array {
  checkDists(d, "kSeqResidual");
  const { k } = options;
  const rho = options.rho ?? kSeqRho(d, k);
  const beta = kSeqBeta(d, rho);
  const V = d.p.length, r = new Float64Array(V);
  const c = beta > 0 && k > 0 ? (1 - (1 - beta) ** k) / beta : 0;
  let total = 0;
  for (let i = 0; i < V; i++) {
    const v = d.p[i] - Math.min(d.q[i], d.p[i] / rho) * c;
    if (v > 0) {
      r[i] = v;
      total += v;
    }
  }
  if (!(total > 0)) {
    for (let i = 0; i < V; i++) r[i] = d.p[i];
    return r;
  }
  for (let i = 0; i < V; i++) r[i] /= total;
  return r;
}

/**
 * K-SEQ selection at one position: tries the drafts in order, accepting Xᵢ with probability
 * min(1, p(Xᵢ)/(ρ·q(Xᵢ))) (one uniform each); when none is accepted, draws from
 * {@linkcode kSeqResidual} (one more uniform). The token returned follows p exactly.
 *
 * @example
 * ```ts
 * import { kSeqSelect } from "@tokenlab/tokenlab/decoding";
 * import { samplingUniform } from "@tokenlab/tokenlab/kernels";
 * let n = 0;
 * const uniform = () => samplingUniform({ seed: 3, row: 0, counter: n++ });
 * const p = [0.5, 0.3, 0.2], q = [0.2, 0.6, 0.2];
 * console.log(kSeqSelect({ p, q }, { drafts: [1, 1, 0], uniform })); // { index, token, rho, beta }
 * ```
 */
export function kSeqSelect(d: KSeqDistributions, options: KSeqSelectOptions): KSeqResult {
  checkDists(d, "kSeqSelect");
  const { drafts, uniform } = options;
  const k = drafts.length;
  const rho = options.rho ?? kSeqRho(d, k);
  check(rho >= 1, `kSeqSelect: rho must be ≥ 1, got ${rho}`);
  for (let i = 0; i < k; i++) {
    const x = drafts[i], qx = d.q[x];
    if (!(qx > 0)) {
      throw new TokenlabError(`kSeqSelect: draft ${i} (token ${x}) has probability 0 under q`, {
        hint: "q must be the distribution the drafts were actually drawn from",
      });
    }
    if (uniform() < d.p[x] / (rho * qx)) {
      return { index: i, token: x, rho, beta: kSeqBeta(d, rho) };
    }
  }
  const residual = kSeqResidual(d, { k, rho });
  return { index: -1, token: drawFrom(residual, uniform()), rho, beta: kSeqBeta(d, rho) };
}

function checkDists(d: KSeqDistributions, caller: string): void {
  check(
    d.p.length === d.q.length && d.p.length > 0,
    `${caller}: p and q must cover the same vocabulary, got ${d.p.length} and ${d.q.length} entries`,
    { hint: "pass both distributions over the full vocabulary" },
  );
}

/** Options of `speculativeGenerate` for method "spectr". */
export interface SpecTrOptions {
  /** "spectr": draft sequences k (default 4; 1 is Leviathan/Chen's speculative sampling). */
  draftSequences?: number;
  /**
   * "draft-chain", "spectr": draft tokens per sequence γ (default 4; for "spectr" with a
   * `treeBudget`, ⌊treeBudget / draftSequences⌋, the trie holding at most kγ nodes).
   */
  gamma?: number;
}
