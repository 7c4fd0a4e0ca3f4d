/**
 * Decoding algorithms: speculative decoding (sparse speculation trees sized for the hardware);
 * KV-cache policies and constrained decoding are planned (see the catalogue).
 *
 * @example
 * ```ts
 * import { optimalSparseTree } from "@tokenlab/tokenlab/decoding";
 * const tree = optimalSparseTree(8, { alpha: 0.8 });
 * console.log(tree.parents, tree.expectedTokens.toFixed(3));
 * ```
 *
 * @module
 */
export * from "./sparse_tree.ts";
