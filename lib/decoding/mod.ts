/**
 * Decoding algorithms: speculative decoding (sparse speculation trees sized for the hardware);
 * KV-cache policies and constrained decoding are planned (see the catalogue).
 *
 * Size a speculation tree for a drafter whose top guess is accepted 80% of the time, then read
 * off its shape and the tokens it is expected to yield per verification step:
 *
 * @example
 * ```ts
 * import { geometricRankProbabilities, optimalSparseTree } from "@tokenlab/tokenlab/decoding";
 * console.log(geometricRankProbabilities(0.8, { maxRank: 3 })); // acceptance by rank
 * const tree = optimalSparseTree(8, { alpha: 0.8 });
 * console.log(tree.parents, tree.expectedTokens.toFixed(3));
 * ```
 *
 * @module
 */
export * from "./sparse_tree.ts";
