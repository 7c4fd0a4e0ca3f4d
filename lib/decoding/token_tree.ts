/**
 * Draft token trees and their builders: a chain, a complete top-k tree, a tree template filled
 * breadth-first from ranked successors (Token Recycling's adjacency table), and best-first
 * expansion by draft probability within a node budget (DySpec / EAGLE-2 style).
 *
 * A draft tree is the models layer's `TokenTree` (node ids, parent indices, parents first)
 * plus, per node, the distribution the node was drawn from, which lossless verification at
 * temperature > 0 needs (see `rejectionWalk`).
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { type TokenTree, tokenTreeDepths } from "../models/mod.ts";
import { MaxHeap } from "./_max_heap.ts";

/** A token tree of draft tokens, with what verification needs to know of each node. */
export interface DraftTree extends TokenTree {
  /**
   * Per node, the distribution over the vocabulary the node's token was drawn from, given
   * its parent and its earlier siblings (sampling without replacement removes them; i.i.d.
   * siblings share one). `null` or absent: the token was chosen deterministically (a point
   * mass), as n-gram, adjacency and greedy drafters do.
   */
  q?: (Float64Array | null)[];
  /** Per node, a label of the source that proposed it (for per-source acceptance). */
  source?: string[];
}

/** A tree shape to fill: parents (node 0 is the root, parent −1) and sibling ranks (1 = best). */
export interface TreeTemplate {
  /** Parent of each node; node 0 is the root; parents come first. */
  parents: number[];
  /** Rank of each node among its siblings, 1-based (the root's is ignored). */
  ranks: number[];
}

/** Options of {@linkcode treeFromTemplate}. */
export interface TreeFromTemplateOptions {
  /** Token of the root (node 0): the last committed token. */
  root: number;
  /** Ranked successors of a token (best first; a negative id marks an empty slot). */
  successors: (token: number) => ArrayLike<number>;
  /** Drop nodes deeper than this (default: keep all). */
  maxDepth?: number;
  /** Source label given to every non-root node (default "template"). */
  source?: string;
}

/** Options of {@linkcode topKTree}. */
export interface TopKTreeOptions {
  /** Ranked successors of a token (best first; a negative id marks an empty slot). */
  successors: (token: number) => ArrayLike<number>;
  /** Levels below the root. */
  depth: number;
  /** Children per node. */
  width: number;
}

/** Ranked candidate children of a node, as a drafter proposes them. */
export interface Candidates {
  /** Candidate tokens, best first. */
  ids: ArrayLike<number>;
  /** Their draft probabilities (same order; non-increasing for an optimal expansion). */
  probs: ArrayLike<number>;
}

/** Options of {@linkcode expandTreeByProbability}. */
export interface ExpandTreeOptions {
  /** Nodes to add below the root. */
  budget: number;
  /**
   * Candidates for the children of the node reached by `path` (token ids from the root,
   * root included): called once per added node, and for the root.
   */
  propose: (path: number[]) => Candidates | Promise<Candidates>;
  /** Do not add nodes deeper than this (default: no limit). */
  maxDepth?: number;
}

/**
 * A chain: `ids[0]` is the root and each next token the child of the one before.
 *
 * @example
 * ```ts
 * import { chainTree } from "@tokenlab/tokenlab/decoding";
 * console.log(chainTree([4, 7, 9]).parents); // [-1, 0, 1]
 * ```
 */
export function chainTree(ids: ArrayLike<number>, options: { source?: string } = {}): DraftTree {
  const tree: DraftTree = {
    ids: Array.from(ids),
    parents: Array.from(ids, (_, i) => i - 1),
  };
  if (options.source) tree.source = tree.ids.map((_, i) => i === 0 ? "root" : options.source!);
  return tree;
}

/**
 * Fills a tree template breadth-first: node i gets the rank-`ranks[i]` successor of its
 * parent's token (Token Recycling's tree filling). A node whose successor slot is empty, or
 * repeats an earlier sibling's token, is dropped with its subtree. A template from
 * `optimalSparseTree` works as is.
 *
 * @example
 * ```ts
 * import { treeFromTemplate } from "@tokenlab/tokenlab/decoding";
 * const next: Record<number, number[]> = { 1: [2, 3], 2: [4, 1], 3: [5, -1] };
 * const template = { parents: [-1, 0, 0, 1, 2], ranks: [0, 1, 2, 1, 1] };
 * const tree = treeFromTemplate(template, { root: 1, successors: (t) => next[t] ?? [] });
 * console.log(tree.ids, tree.parents); // [1, 2, 3, 4, 5] [-1, 0, 0, 1, 2]
 * ```
 */
export function treeFromTemplate(
  template: TreeTemplate,
  options: TreeFromTemplateOptions,
): DraftTree {
  const { parents, ranks } = template;
  check(
    Array.isArray(parents) && Array.isArray(ranks) && parents.length === ranks.length &&
      parents.length > 0 && parents[0] === -1,
    "treeFromTemplate: the template needs parents and ranks of equal length, node 0 the root",
    { hint: "use optimalSparseTree(size, { alpha }) or { parents: [-1, 0, …], ranks: [0, 1, …] }" },
  );
  const depth = tokenTreeDepths({ ids: parents.map(() => 0), parents });
  const maxDepth = options.maxDepth ?? Infinity;
  const source = options.source ?? "template";
  const tree: DraftTree = { ids: [options.root], parents: [-1], source: ["root"] };
  const map = new Int32Array(parents.length).fill(-1); // template node → tree node
  map[0] = 0;
  for (let i = 1; i < parents.length; i++) {
    const p = map[parents[i]];
    if (p < 0 || depth[i] > maxDepth) continue;
    const next = options.successors(tree.ids[p]);
    const r = ranks[i] - 1;
    const t = r >= 0 && r < next.length ? next[r] : -1;
    if (t < 0) continue;
    if (siblingHas(tree, p, t)) continue;
    map[i] = tree.ids.length;
    tree.ids.push(t);
    tree.parents.push(p);
    tree.source!.push(source);
  }
  return tree;
}

/**
 * A complete tree: `width` children per node (the top-ranked successors) over `depth` levels.
 *
 * @example
 * ```ts
 * import { topKTree } from "@tokenlab/tokenlab/decoding";
 * const tree = topKTree(0, { depth: 2, width: 2, successors: (t) => [t + 1, t + 2] });
 * console.log(tree.ids, tree.parents); // [0, 1, 2, 2, 3, 3, 4] [-1, 0, 0, 1, 1, 2, 2]
 * ```
 */
export function topKTree(root: number, options: TopKTreeOptions): DraftTree {
  const { depth, width } = options;
  check(
    Number.isInteger(depth) && depth >= 0 && Number.isInteger(width) && width >= 1,
    `topKTree: depth must be ≥ 0 and width ≥ 1 (integers), got ${depth} and ${width}`,
  );
  const parents = [-1], ranks = [0];
  let level = [0];
  for (let d = 0; d < depth; d++) {
    const next: number[] = [];
    for (const p of level) {
      for (let r = 1; r <= width; r++) {
        next.push(parents.length);
        parents.push(p);
        ranks.push(r);
      }
    }
    level = next;
  }
  return treeFromTemplate({ parents, ranks }, {
    root,
    successors: options.successors,
    source: "top-k",
  });
}

/**
 * Grows a tree best-first by path probability (the product of draft probabilities from the
 * root): starting from the root's best candidate, repeatedly add the candidate node of
 * highest path probability, then offer its best child and its next sibling, until `budget`
 * nodes are added. With non-increasing candidate probabilities this picks the `budget` most
 * probable paths' nodes (DySpec's greedy expansion; EAGLE-2's reranking). The root is node 0.
 *
 * @example
 * ```ts
 * import { expandTreeByProbability } from "@tokenlab/tokenlab/decoding";
 * // every token continues with itself + 1 (p 0.6) or + 2 (p 0.3)
 * const tree = await expandTreeByProbability(0, {
 *   budget: 3,
 *   propose: (path) => ({ ids: [path.at(-1)! + 1, path.at(-1)! + 2], probs: [0.6, 0.3] }),
 * });
 * console.log(tree.ids, tree.parents); // [0, 1, 2, 2] [-1, 0, 1, 0]
 * ```
 */
export async function expandTreeByProbability(
  root: number,
  options: ExpandTreeOptions,
): Promise<DraftTree> {
  const { budget, propose } = options;
  const maxDepth = options.maxDepth ?? Infinity;
  check(
    Number.isInteger(budget) && budget >= 0,
    `expandTreeByProbability: budget must be a non-negative integer, got ${budget}`,
  );
  const tree: DraftTree = { ids: [root], parents: [-1], source: ["root"] };
  const depth = [0], paths = [[root]];
  // heap entries: candidate rank `rank` among the children of node `node`
  interface Entry {
    score: number;
    node: number;
    rank: number;
    cands: Candidates;
    base: number;
  }
  const heap = new MaxHeap<Entry>((x, y) => x.score > y.score);
  const offer = (node: number, rank: number, cands: Candidates, base: number) => {
    if (rank < cands.ids.length && depth[node] < maxDepth) {
      heap.push({ score: base * cands.probs[rank], node, rank, cands, base });
    }
  };
  if (budget > 0 && maxDepth > 0) offer(0, 0, await propose([root]), 1);
  while (tree.ids.length - 1 < budget && heap.size) {
    const e = heap.pop()!;
    offer(e.node, e.rank + 1, e.cands, e.base);
    const t = e.cands.ids[e.rank];
    if (t < 0 || siblingHas(tree, e.node, t)) continue;
    const id = tree.ids.length;
    tree.ids.push(t);
    tree.parents.push(e.node);
    tree.source!.push("expand");
    depth.push(depth[e.node] + 1);
    paths.push([...paths[e.node], t]);
    if (tree.ids.length - 1 < budget && depth[id] < maxDepth) {
      offer(id, 0, await propose(paths[id]), e.score);
    }
  }
  return tree;
}

/**
 * Node indices from a root down to `node` (root first).
 *
 * @example
 * ```ts
 * import { treePath } from "@tokenlab/tokenlab/decoding";
 * console.log(treePath({ ids: [1, 2, 3, 4], parents: [-1, 0, 0, 2] }, 3)); // [0, 2, 3]
 * ```
 */
export function treePath(tree: TokenTree, node: number): number[] {
  check(
    Number.isInteger(node) && node >= 0 && node < tree.parents.length,
    `treePath: node ${node} is not in the tree of ${tree.parents.length} nodes`,
  );
  const path = [node];
  while (tree.parents[path[0]] >= 0) path.unshift(tree.parents[path[0]]);
  return path;
}

function siblingHas(tree: TokenTree, parent: number, token: number): boolean {
  for (let j = parent + 1; j < tree.ids.length; j++) {
    if (tree.parents[j] === parent && tree.ids[j] === token) return true;
  }
  return false;
}
