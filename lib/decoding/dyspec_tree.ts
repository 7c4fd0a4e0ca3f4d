/**
 * DySpec's dynamic draft tree (P56; Xiong et al., arXiv 2410.11744; no reference code, this is
 * our reading of the paper): a max-heap of candidate nodes keyed by the draft probability of
 * the paths they can still produce; pop the best, draw its token from the draft's distribution
 * at its parent with its earlier siblings excluded (sampling without replacement, renormalised),
 * then offer its first child and its next sibling; stop at the node budget.
 *
 * A candidate's key is the draft probability product of its parent's path times the mass it
 * draws from: the mass of the tokens its earlier siblings did not take (1 for a first child).
 * Each node's `q` is the renormalised distribution its token was drawn from, earlier siblings
 * removed, so `rejectionWalk` verifies the tree losslessly as it is: at a node with target
 * distribution p₁ = p, sibling i (drawn from qᵢ given the earlier siblings) is accepted with
 * min(1, pᵢ/qᵢ) and after a rejection pᵢ₊₁ = max(0, pᵢ − qᵢ) renormalised. By induction from
 * the last sibling (after which the walk draws from its current p): if what follows a rejection
 * of sibling i yields pᵢ₊₁ whatever tokens came before, then P(out = y) = min(qᵢ(y), pᵢ(y)) +
 * (1 − Σ min(qᵢ, pᵢ))·pᵢ₊₁(y) = pᵢ(y), because Σ max(0, pᵢ − qᵢ) = 1 − Σ min(qᵢ, pᵢ). The
 * step needs only that sibling i's token, given everything drawn before it, follows qᵢ —
 * true for sampling without replacement with qᵢ renormalised, and whether a node exists at all
 * is decided by the heap before its token is drawn, from draws made earlier and never from the
 * verifier's uniforms. Using the parent's full distribution q for every sibling instead (the
 * i.i.d. residual) would be biased; tests/decoding/dyspec_tree_test.ts shows both.
 *
 * At temperature 0 the tree is deterministic: siblings are the draft's top tokens by
 * probability (softmax at temperature 1, lower index on ties), keyed by their path probability
 * — `expandTreeByProbability`'s order.
 *
 * The draft rows come from a callback that is asked for several nodes at once: when the best
 * candidate is a child of a node without a row, rows of every node still lacking one are asked
 * for in one request (one batched draft pass), so a tree of depth d costs about d draft passes.
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { samplingProbabilities } from "../../kernels/mod.ts";
import type { DraftTree, TreeTemplate } from "./token_tree.ts";
import { drawFrom } from "./verify.ts";
import { MaxHeap } from "./_max_heap.ts";
import { topKIndices } from "./_top_k.ts";

/** Options of {@linkcode dynamicDraftTree}. */
export interface DynamicDraftTreeOptions {
  /** Nodes to add below the root. */
  budget: number;
  /** Do not add nodes deeper than this (default: no limit). */
  maxDepth?: number;
  /** Sampling options of the drafts (temperature 0: deterministic top tokens). */
  sampling: { temperature?: number; topK?: number; topP?: number };
  /** A fresh uniform number in [0, 1) per call (seeded); unused at temperature 0. */
  uniform: () => number;
  /**
   * The draft's logits row after each of `nodes` of `tree` (one pass over several nodes; the
   * rows in the order asked).
   */
  rows: (tree: DraftTree, nodes: number[]) => Promise<Float32Array[]>;
}

/** A grown tree and what growing it cost. */
export interface DynamicDraftTree extends DraftTree {
  /** Per node, the draft probability product of its path (the root's is 1). */
  pathProbability: number[];
  /** Row requests made (batched draft passes). */
  requests: number;
}

/**
 * Grows DySpec's dynamic tree below `root` (see the module doc).
 *
 * @example
 * ```ts
 * import { dynamicDraftTree } from "@tokenlab/tokenlab/decoding";
 * // a vocabulary of 4 whose draft always prefers token 1, then 2
 * const row = Float32Array.of(0, 3, 2, 0);
 * const tree = await dynamicDraftTree(0, {
 *   budget: 4,
 *   sampling: { temperature: 0 },
 *   uniform: () => 0.5,
 *   rows: (_tree, nodes) => Promise.resolve(nodes.map(() => row)),
 * });
 * console.log(tree.ids, tree.parents); // [0, 1, 1, 2, 1] [-1, 0, 1, 0, 2]
 * ```
 */
export async function dynamicDraftTree(
  root: number,
  options: DynamicDraftTreeOptions,
): Promise<DynamicDraftTree> {
  const { budget, sampling, uniform } = options;
  const maxDepth = options.maxDepth ?? Infinity;
  check(
    Number.isInteger(budget) && budget >= 0,
    `dynamicDraftTree: budget must be a non-negative integer, got ${budget}`,
  );
  const greedy = (sampling.temperature ?? 0) === 0;
  const tree: DynamicDraftTree = {
    ids: [root],
    parents: [-1],
    q: [null],
    source: ["root"],
    pathProbability: [1],
    requests: 0,
  };
  const depth = [0];
  // per node: its draft distribution (for its children), the tokens its children took and the
  // mass left (sampling), its top tokens (temperature 0)
  const dist: (Float64Array | null)[] = [null];
  const taken: Set<number>[] = [new Set()];
  const left: number[] = [1];
  const top: (Int32Array | null)[] = [null];
  const topN: number[] = [0];
  interface Candidate {
    key: number;
    parent: number;
    rank: number;
    /** Temperature 0: a first child whose key is its parent's path probability, a bound. */
    bound?: boolean;
  }
  const heap = new MaxHeap<Candidate>((a, b) => a.key > b.key);
  const row = async (node: number) => {
    if (dist[node]) return;
    const lacking = [...dist.keys()].filter((n) => !dist[n] && depth[n] < maxDepth);
    const rows = await options.rows(tree, lacking);
    tree.requests++;
    lacking.forEach((n, i) => {
      const z = { data: rows[i], shape: [1, rows[i].length] };
      if (greedy) {
        dist[n] = samplingProbabilities(z, { temperature: 1 });
        const out = new Int32Array(Math.min(budget, rows[i].length));
        topN[n] = topKIndices(rows[i], out.length, out);
        top[n] = out;
      } else {
        dist[n] = samplingProbabilities(z, sampling);
      }
    });
  };
  const offerSibling = (parent: number, rank: number) => {
    if (greedy) {
      if (rank < topN[parent]) {
        const t = top[parent]![rank];
        heap.push({ key: tree.pathProbability[parent] * dist[parent]![t], parent, rank });
      }
    } else if (left[parent] > 1e-12) {
      heap.push({ key: tree.pathProbability[parent] * left[parent], parent, rank });
    }
  };
  if (budget > 0 && maxDepth > 0) heap.push({ key: 1, parent: 0, rank: 0, bound: greedy });
  while (tree.ids.length - 1 < budget && heap.size) {
    const c = heap.pop()!;
    const P = c.parent;
    if (!dist[P]) await row(P);
    if (c.bound) {
      // the key was an upper bound (the node's path probability): offer its real best child
      offerSibling(P, 0);
      continue;
    }
    const d = dist[P]!;
    let x: number, q: Float64Array | null = null;
    if (greedy) {
      x = top[P]![c.rank];
    } else {
      // the parent's distribution without the tokens earlier siblings took, renormalised
      q = new Float64Array(d.length);
      let total = 0;
      for (let i = 0; i < d.length; i++) {
        if (d[i] > 0 && !taken[P].has(i)) {
          q[i] = d[i];
          total += d[i];
        }
      }
      if (!(total > 0)) continue;
      for (let i = 0; i < q.length; i++) q[i] /= total;
      x = drawFrom(q, uniform());
      taken[P].add(x);
      left[P] = Math.max(0, total - d[x]);
    }
    const id = tree.ids.length;
    tree.ids.push(x);
    tree.parents.push(P);
    tree.q!.push(q);
    tree.source!.push("dyspec");
    tree.pathProbability.push(tree.pathProbability[P] * d[x]);
    depth.push(depth[P] + 1);
    dist.push(null);
    taken.push(new Set());
    left.push(1);
    top.push(null);
    topN.push(0);
    offerSibling(P, c.rank + 1);
    if (depth[id] < maxDepth) {
      // a first child draws from the node's whole distribution: its key is the node's path
      // probability (at temperature 0 an upper bound, replaced once the node's row is known)
      heap.push({ key: tree.pathProbability[id], parent: id, rank: 0, bound: greedy });
    }
  }
  return tree;
}

/** Options of {@linkcode templateDraftTree}. */
export interface TemplateDraftTreeOptions {
  /** The fixed shape (node 0 the root; `ranks` order each parent's children, 1 first). */
  template: TreeTemplate;
  /** Drop template nodes deeper than this (default: keep all). */
  maxDepth?: number;
  /** Sampling options of the drafts (temperature 0: the rank-r top token fills rank r). */
  sampling: { temperature?: number; topK?: number; topP?: number };
  /** A fresh uniform number in [0, 1) per call (seeded); unused at temperature 0. */
  uniform: () => number;
  /** The draft's logits rows after the given nodes (one pass), as for `dynamicDraftTree`. */
  rows: (tree: DraftTree, nodes: number[]) => Promise<Float32Array[]>;
}

/**
 * A fixed-shape draft tree — the static baseline DySpec compares with (SpecInfer/Sequoia-style
 * trees): a template's nodes filled level by level (one row request per level), each parent's
 * children drawn from the draft without replacement in rank order (each node's `q` the
 * renormalised distribution it was drawn from), or its top tokens at temperature 0. A node
 * whose parent has no mass left is dropped with its subtree. Nodes come level by level, each
 * parent's children in rank order (the order they were drawn in, which `rejectionWalk` tries
 * them in — required for losslessness), so the indices need not be the template's.
 *
 * @example
 * ```ts
 * import { templateDraftTree } from "@tokenlab/tokenlab/decoding";
 * const row = Float32Array.of(0, 3, 2, 0);
 * const tree = await templateDraftTree(0, {
 *   template: { parents: [-1, 0, 0, 1], ranks: [0, 1, 2, 1] },
 *   sampling: { temperature: 0 },
 *   uniform: () => 0.5,
 *   rows: (_tree, nodes) => Promise.resolve(nodes.map(() => row)),
 * });
 * console.log(tree.ids, tree.parents); // [0, 1, 2, 1] [-1, 0, 0, 1]
 * ```
 */
export async function templateDraftTree(
  root: number,
  options: TemplateDraftTreeOptions,
): Promise<DynamicDraftTree> {
  const { template, sampling, uniform } = options;
  const maxDepth = options.maxDepth ?? Infinity;
  check(
    Array.isArray(template?.parents) && Array.isArray(template?.ranks) &&
      template.parents.length === template.ranks.length && template.parents[0] === -1,
    "templateDraftTree: the template needs parents and ranks of equal length, node 0 the root",
    { hint: "use optimalSparseTree(size, { alpha }) or { parents: [-1, 0, …], ranks: [0, 1, …] }" },
  );
  const greedy = (sampling.temperature ?? 0) === 0;
  const tree: DynamicDraftTree = {
    ids: [root],
    parents: [-1],
    q: [null],
    source: ["root"],
    pathProbability: [1],
    requests: 0,
  };
  const n = template.parents.length;
  const tdepth = new Array<number>(n).fill(0);
  for (let i = 1; i < n; i++) tdepth[i] = tdepth[template.parents[i]] + 1;
  const map = new Int32Array(n).fill(-1); // template node → tree node
  map[0] = 0;
  const maxD = Math.min(maxDepth, Math.max(...tdepth));
  for (let d = 1; d <= maxD; d++) {
    const level = [...Array(n).keys()].filter((i) =>
      tdepth[i] === d && map[template.parents[i]] >= 0
    )
      .sort((a, b) =>
        template.parents[a] - template.parents[b] || template.ranks[a] - template.ranks[b]
      );
    if (!level.length) break;
    const parents = [...new Set(level.map((i) => map[template.parents[i]]))];
    const rows = await options.rows(tree, parents);
    tree.requests++;
    const at = new Map(parents.map((p, j) => [p, rows[j]]));
    const taken = new Map<number, Set<number>>();
    const dists = new Map<number, Float64Array>();
    for (const i of level) {
      const P = map[template.parents[i]], z = at.get(P)!;
      const seen = taken.get(P) ?? new Set<number>();
      taken.set(P, seen);
      let dist = dists.get(P)!;
      if (!dist) {
        dist = samplingProbabilities(
          { data: z, shape: [1, z.length] },
          greedy ? { temperature: 1 } : sampling,
        );
        dists.set(P, dist);
      }
      let x: number, q: Float64Array | null = null;
      if (greedy) {
        const out = new Int32Array(Math.min(seen.size + 1, z.length));
        if (topKIndices(z, out.length, out) <= seen.size) continue;
        x = out[seen.size];
      } else {
        q = new Float64Array(dist.length);
        let total = 0;
        for (let t = 0; t < dist.length; t++) {
          if (dist[t] > 0 && !seen.has(t)) {
            q[t] = dist[t];
            total += dist[t];
          }
        }
        if (!(total > 1e-12)) continue;
        for (let t = 0; t < q.length; t++) q[t] /= total;
        x = drawFrom(q, uniform());
      }
      seen.add(x);
      map[i] = tree.ids.length;
      tree.ids.push(x);
      tree.parents.push(P);
      tree.q!.push(q);
      tree.source!.push("template");
      tree.pathProbability.push(tree.pathProbability[P] * dist[x]);
    }
  }
  return tree;
}

/**
 * Options of `speculativeGenerate` for method "dyspec" (the tree's size is `treeBudget` draft
 * nodes, default 16; the draft model is `draft`).
 */
export interface DySpecOptions {
  /** "dyspec": deepest draft node below the root (default: no limit but the budget). */
  dyspecMaxDepth?: number;
  /**
   * "dyspec": a fixed tree shape to fill instead of growing the tree (the static baseline of
   * P56's comparison, e.g. `optimalSparseTree(treeBudget + 1, { alpha })`); `treeBudget` is
   * then unused.
   */
  dyspecTemplate?: TreeTemplate;
}
