/**
 * The best speculation tree of a given size under a simple acceptance model, computed exactly:
 * the rule Medusa, Sequoia and Hardware-Aware Parallel Prompt Decoding (PPD) use to shape
 * "sparse" token trees, which a hardware-aware decoder then sizes by measured latency.
 *
 * **Model.** A verification step feeds a tree of `size` tokens: a root (the token committed
 * last, whose successor is not yet known) and `size − 1` speculated nodes below it. Every node
 * has candidate children ranked 1, 2, 3 … by the drafter; the target's next token is the
 * rank-r candidate with probability `p[r−1]` (`rankProbabilities`), independently at every
 * depth. A node whose path from the root has ranks r₁ … r_d is accepted exactly when all of
 * them match, with probability p(r₁)·…·p(r_d). Siblings hold different tokens, so at most one
 * node per depth is accepted, and the expected number of accepted speculated tokens is the sum
 * of these path probabilities over the tree's nodes. A step commits the accepted tokens plus
 * one token the target predicts after the last of them, so it yields 1 + that sum tokens
 * (plain decoding: a tree of size 1, one token per step).
 *
 * **Construction.** A child's path probability never exceeds its parent's, and with
 * non-increasing p neither does a later sibling's exceed an earlier one's, so the `size − 1`
 * most probable nodes of the infinite tree form a tree; taking them best-first (a heap seeded
 * with the root's first child; popping a node pushes its first child and its next sibling) is
 * therefore optimal, and the sum is exact.
 *
 * @module
 */

import { check } from "../util/errors.ts";
import { MaxHeap } from "./_max_heap.ts";

/** Options of {@linkcode optimalSparseTree}: the acceptance model, one of the two. */
export interface SparseTreeOptions {
  /**
   * Probability that the target's next token is the drafter's rank-r candidate, for r = 1, 2 …
   * (non-increasing, each in [0, 1], sum ≤ 1). Ranks beyond the list have probability 0.
   */
  rankProbabilities?: number[];
  /**
   * Shorthand for geometric rank probabilities p(r) = α(1 − α)^(r−1): the top candidate is
   * right with probability α, and each further candidate catches a share α of what is left
   * (see {@linkcode geometricRankProbabilities}).
   */
  alpha?: number;
}

/** A speculation tree and its expected yield. */
export interface SparseTree {
  /** Parent index of each node (node 0 is the root, with parent −1); parents come first. */
  parents: number[];
  /** Depth of each node (root 0). */
  depths: number[];
  /** Drafter rank of each node among its siblings (1 = top candidate; 0 for the root). */
  ranks: number[];
  /** Probability that each node is accepted (1 for the root). */
  acceptance: number[];
  /** Expected accepted speculated tokens per step: the sum of `acceptance` without the root. */
  expectedAccepted: number;
  /** Expected tokens committed per step: 1 + `expectedAccepted`. */
  expectedTokens: number;
}

/**
 * Geometric rank probabilities p(r) = α(1 − α)^(r−1) for r = 1 … `maxRank` (default: until
 * p(r) < 1e-9, at most 64 ranks).
 *
 * @example
 * ```ts
 * import { geometricRankProbabilities } from "@tokenlab/tokenlab/decoding";
 * console.log(geometricRankProbabilities(0.5, { maxRank: 3 })); // [0.5, 0.25, 0.125]
 * ```
 */
export function geometricRankProbabilities(
  alpha: number,
  options: { maxRank?: number } = {},
): number[] {
  check(
    Number.isFinite(alpha) && alpha > 0 && alpha <= 1,
    `alpha must be in (0, 1], got ${alpha}`,
    { hint: "alpha is the probability that the drafter's top candidate is accepted" },
  );
  const max = options.maxRank ?? 64;
  check(Number.isInteger(max) && max >= 1, `maxRank must be an integer ≥ 1, got ${max}`);
  const out: number[] = [];
  for (let r = 1; r <= max; r++) {
    const p = alpha * (1 - alpha) ** (r - 1);
    if (options.maxRank === undefined && p < 1e-9) break;
    out.push(p);
  }
  return out;
}

function rankModel(options: SparseTreeOptions): number[] {
  const { rankProbabilities: p, alpha } = options ?? {};
  check(
    (p === undefined) !== (alpha === undefined),
    "give the acceptance model as exactly one of rankProbabilities or alpha",
    { hint: "e.g. optimalSparseTree(16, { alpha: 0.8 })" },
  );
  if (alpha !== undefined) return geometricRankProbabilities(alpha);
  check(Array.isArray(p), "rankProbabilities must be an array of probabilities");
  let sum = 0;
  p.forEach((x, i) => {
    check(
      Number.isFinite(x) && x >= 0 && x <= 1,
      `rankProbabilities[${i}] = ${x} is not in [0, 1]`,
    );
    check(
      i === 0 || x <= p[i - 1],
      `rankProbabilities must not increase with rank, but p[${i}] = ${x} > p[${i - 1}] = ${
        p[i - 1]
      }`,
      { hint: "order the drafter's candidates best first" },
    );
    sum += x;
  });
  check(sum <= 1 + 1e-9, `rankProbabilities sum to ${sum}, more than 1`);
  return p;
}

/**
 * The speculation tree of `size` tokens (root included) that maximises the expected number of
 * accepted tokens under the rank model of `options`, with that expectation computed exactly
 * (see the module documentation for the model and why best-first is optimal). Ties are broken
 * towards the node created first, so the tree is deterministic.
 *
 * @example
 * ```ts
 * import { optimalSparseTree } from "@tokenlab/tokenlab/decoding";
 * // top candidate right half the time: root, its top child (0.5), then that child's top
 * // child and the root's second candidate (0.25 each)
 * const t = optimalSparseTree(4, { alpha: 0.5 });
 * console.log(t.parents, t.expectedTokens); // [-1, 0, 1, 0] 2
 * ```
 */
export function optimalSparseTree(size: number, options: SparseTreeOptions): SparseTree {
  check(Number.isInteger(size) && size >= 1, `tree size must be an integer ≥ 1, got ${size}`, {
    hint: "size counts the root (the last committed token) plus the speculated nodes",
  });
  const p = rankModel(options);
  const parents = [-1], depths = [0], ranks = [0], acceptance = [1];
  // heap of candidate nodes: (value, parent, rank, creation order)
  type Cand = { value: number; parent: number; rank: number; order: number };
  let order = 0;
  const heap = new MaxHeap<Cand>((a, b) =>
    a.value > b.value || (a.value === b.value && a.order < b.order)
  );
  const offer = (parent: number, rank: number) => {
    if (rank <= p.length && p[rank - 1] > 0) {
      heap.push({ value: acceptance[parent] * p[rank - 1], parent, rank, order: order++ });
    }
  };
  offer(0, 1);
  while (parents.length < size) {
    // an exhausted model (finite ranks, all used) adds nodes that are never accepted
    const c = heap.size ? heap.pop()! : { value: 0, parent: parents.length - 1, rank: 1, order: 0 };
    const id = parents.length;
    parents.push(c.parent);
    depths.push(depths[c.parent] + 1);
    ranks.push(c.rank);
    acceptance.push(c.value);
    if (c.value > 0) {
      offer(id, 1);
      offer(c.parent, c.rank + 1);
    }
  }
  let expectedAccepted = 0;
  for (let i = 1; i < acceptance.length; i++) expectedAccepted += acceptance[i];
  return {
    parents,
    depths,
    ranks,
    acceptance,
    expectedAccepted,
    expectedTokens: 1 + expectedAccepted,
  };
}
