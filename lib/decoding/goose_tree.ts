/**
 * Goose's building blocks (P29, Jin, Nguyen, Inoue; arXiv 2604.02047): anisotropic
 * speculation trees made of a deep **spine** copied from a context match and wide, shallow
 * **branches** read from a table of the target's earlier predictions.
 *
 * - {@linkcode contextMatch}: prompt lookup over prompt + committed tokens at n-gram lengths
 *   5, 4, 3 (longest first), the first occurrence's continuation (up to 20 tokens) and a
 *   confidence for it.
 * - {@linkcode GooseAdjacency}: Token Recycling's table with softmax-renormalised top-K scores
 *   and a second tier keyed by the pair (previous token, token), consulted first.
 * - {@linkcode gooseBudget} and {@linkcode gooseSpineShare}: node budget and spine share from
 *   the confidence and an EMA of the spine's acceptance.
 * - {@linkcode gooseTree}: the spine laid as one chain, branches at the root and along the
 *   spine (1/i weights), grown breadth-first with width ⌈remaining·score⌉ capped at K/depth.
 * - {@linkcode balancedTree}: the isotropic control (every node gets the same number of
 *   children from the same branch source), for comparisons at equal budget.
 *
 * Where the paper's wording leaves a constant open, the choice made here is named in the
 * function's documentation ("our reading").
 *
 * @module
 */
import { check } from "../util/errors.ts";
import type { DraftTree } from "./token_tree.ts";
import { topKIndices } from "./_top_k.ts";

/** Options of `speculativeGenerate` for method "goose" (see {@linkcode gooseTree}). */
export interface GooseOptions {
  /**
   * "goose": the branch table to draft from and update (pass the same one to several calls
   * for a hot start; default: a fresh, empty one per call). Its vocabulary must be the target's.
   */
  gooseTable?: GooseAdjacency;
  /** "goose": successors kept per token by a new table, K (default 10). */
  gooseK?: number;
  /** "goose": n-gram lengths of the context match, longest first (default [5, 4, 3]). */
  gooseNgrams?: number[];
  /** "goose": most spine tokens copied from a match (default 20). */
  gooseSpineLength?: number;
  /** "goose": deepest branch node below where it leaves the spine (default 6). */
  gooseMaxBranchDepth?: number;
  /** "goose": smallest score of a branch node (default 0.01). */
  gooseMinScore?: number;
  /** "goose": EMA weight of the spine acceptance rate (default 0.3). */
  gooseEmaAlpha?: number;
  /**
   * "goose": which sources build the tree: "both" (default), "spine" (the context match only,
   * a chain) or "branches" (the adjacency table only), for ablations.
   */
  gooseSources?: "both" | "spine" | "branches";
  /**
   * "goose": build the isotropic control instead: every node gets this many children from the
   * same branch source (3: iso3, 5: iso5), level by level, to the same budget.
   */
  gooseBalanced?: number;
}

/** Options of {@linkcode contextMatch}. */
export interface ContextMatchOptions {
  /** N-gram lengths tried, longest first (default [5, 4, 3]). */
  ngrams?: number[];
  /** Most tokens copied (default 20). */
  maxLength?: number;
}

/** A context match: the spine's tokens and how much to trust them. */
export interface ContextMatch {
  /** Tokens that followed the first earlier occurrence of the context's last n-gram. */
  tokens: number[];
  /** The n-gram length matched (0: no match). */
  ngram: number;
  /** Earlier occurrences of that n-gram (each followed by at least one token). */
  occurrences: number;
  /** At least two earlier occurrences, all followed by the same token. */
  consensus: boolean;
  /** Confidence in [0, 1] (see {@linkcode matchConfidence}). */
  confidence: number;
}

/**
 * Goose's spine source: for n in `ngrams` (longest first), the first earlier occurrence of the
 * context's last n tokens and up to `maxLength` tokens that followed it; the match also counts
 * the earlier occurrences and whether they all continue with the same token (consensus).
 *
 * @example
 * ```ts
 * import { contextMatch } from "@tokenlab/tokenlab/decoding";
 * const ctx = [1, 2, 3, 4, 9, 1, 2, 3, 4, 8, 1, 2, 3];
 * const m = contextMatch(ctx, { ngrams: [3] });
 * console.log(m.tokens, m.occurrences, m.consensus); // [4, 9, 1, 2, 3, 4, 8, 1, 2, 3] 2 true
 * ```
 */
export function contextMatch(
  context: ArrayLike<number>,
  options: ContextMatchOptions = {},
): ContextMatch {
  const { ngrams = [5, 4, 3], maxLength = 20 } = options;
  check(
    Array.isArray(ngrams) && ngrams.length > 0 &&
      ngrams.every((n) => Number.isInteger(n) && n >= 1),
    `contextMatch: ngrams must be a non-empty list of positive integers, got ${
      JSON.stringify(ngrams)
    }`,
    { hint: "use the paper's [5, 4, 3]" },
  );
  check(
    Number.isInteger(maxLength) && maxLength >= 0,
    `contextMatch: maxLength must be a non-negative integer, got ${maxLength}`,
  );
  const L = context.length;
  const none: ContextMatch = {
    tokens: [],
    ngram: 0,
    occurrences: 0,
    consensus: false,
    confidence: 0,
  };
  if (maxLength === 0) return none;
  for (const n of ngrams) {
    if (n >= L) continue;
    let first = -1, occurrences = 0, agree = true, nextTok = -1;
    // starts s with context[s..s+n) equal to the suffix and something after it (s + n < L)
    for (let s = 0; s + n < L; s++) {
      let match = true;
      for (let j = 0; j < n; j++) {
        if (context[s + j] !== context[L - n + j]) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      occurrences++;
      if (first < 0) {
        first = s;
        nextTok = context[s + n];
      } else if (context[s + n] !== nextTok) agree = false;
    }
    if (first < 0) continue;
    const tokens: number[] = [];
    for (let j = first + n; j < L && tokens.length < maxLength; j++) tokens.push(context[j]);
    const consensus = occurrences >= 2 && agree;
    return {
      tokens,
      ngram: n,
      occurrences,
      consensus,
      confidence: matchConfidence({ length: tokens.length, consensus }),
    };
  }
  return none;
}

/**
 * The confidence of a context match: 1 with consensus; otherwise 0.7–0.9 for a chain of at
 * least 8 tokens (our reading: linear from 0.7 at 8 tokens to 0.9 at 20) and 0.6·length/8 for
 * a shorter one; 0 without a match.
 *
 * @example
 * ```ts
 * import { matchConfidence } from "@tokenlab/tokenlab/decoding";
 * console.log(matchConfidence({ length: 4, consensus: false })); // 0.3
 * console.log(matchConfidence({ length: 20, consensus: false })); // 0.9
 * ```
 */
export function matchConfidence(match: { length: number; consensus: boolean }): number {
  const { length, consensus } = match;
  if (!(length > 0)) return 0;
  if (consensus) return 1;
  if (length >= 8) return (7 + 2 * Math.min(1, (length - 8) / 12)) / 10;
  return 0.6 * length / 8;
}

/**
 * Goose's node budget for a confidence: B = 60 + confidence·(100 − 60), rounded.
 *
 * @example
 * ```ts
 * import { gooseBudget } from "@tokenlab/tokenlab/decoding";
 * console.log(gooseBudget(0), gooseBudget(0.5), gooseBudget(1)); // 60 80 100
 * ```
 */
export function gooseBudget(confidence: number): number {
  check(
    confidence >= 0 && confidence <= 1,
    `gooseBudget: confidence must be in [0, 1], got ${confidence}`,
  );
  return Math.round(60 + confidence * 40);
}

/**
 * The share of the budget the spine may take: a tier chosen by the EMA of the spine's
 * acceptance rate (below 1/3: 0.15, below 2/3: 0.30, else 0.50), pushed towards 1 by the
 * confidence (our reading: tier + (1 − tier)·confidence).
 *
 * @example
 * ```ts
 * import { gooseSpineShare } from "@tokenlab/tokenlab/decoding";
 * console.log(gooseSpineShare(0.1, 0), gooseSpineShare(0.5, 0), gooseSpineShare(0.9, 0.5)); // 0.15 0.3 0.75
 * ```
 */
export function gooseSpineShare(spineAcceptanceEma: number, confidence: number): number {
  check(
    spineAcceptanceEma >= 0 && spineAcceptanceEma <= 1 && confidence >= 0 && confidence <= 1,
    `gooseSpineShare: the EMA and the confidence must be in [0, 1], got ${spineAcceptanceEma} and ${confidence}`,
  );
  const tier = spineAcceptanceEma < 1 / 3 ? 0.15 : spineAcceptanceEma < 2 / 3 ? 0.3 : 0.5;
  return tier + (1 - tier) * confidence;
}

/** Ranked successors with scores (best first), as a branch source returns them. */
export interface ScoredSuccessors {
  /** Token ids, best first (a negative id marks an empty slot). */
  ids: ArrayLike<number>;
  /** Their scores in [0, 1] (same order, non-increasing). */
  scores: ArrayLike<number>;
}

/** Options of {@linkcode GooseAdjacency}. */
export interface GooseAdjacencyOptions {
  /** Vocabulary size of the model whose logits fill the table. */
  vocabSize: number;
  /** Successors kept per token (default 10, as in the reference code). */
  k?: number;
  /** Keep the (previous token, token) tier (default true). */
  bigram?: boolean;
}

/**
 * Goose's branch source: for every token, the K tokens the target ranked highest after it the
 * last time it was seen, with their softmax probabilities renormalised over those K; and a
 * second tier keyed by (previous token, token) — a `Map` keyed by prev·V + tok — consulted
 * first. Every row of every forward pass is harvested (prefill and every tree node, rejected
 * ones too); a key seen at several positions of one pass keeps its last position's row.
 *
 * @example
 * ```ts
 * import { GooseAdjacency } from "@tokenlab/tokenlab/decoding";
 * const table = new GooseAdjacency({ vocabSize: 4, k: 2 });
 * // token 1 (after token 0) was followed by logits favouring 3, then 0
 * table.update([1], new Float32Array([1, -9, -9, 2]), { prev: [0] });
 * console.log(table.successors(1, 0).ids, table.successors(1).ids); // [3, 0] [3, 0]
 * console.log(table.successors(1, 2) === table.successors(1)); // no pair row: the token's own
 * ```
 */
export class GooseAdjacency {
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** Successors per token. */
  readonly k: number;
  /** Whether the pair tier is kept. */
  readonly bigram: boolean;
  /** Per token: successor ids, row-major [vocab × k], −1 for an empty slot. */
  readonly ids: Int32Array;
  /** Per token: successor scores, row-major [vocab × k]. */
  readonly scores: Float32Array;
  /** The pair tier: prev·V + tok → successors. */
  readonly pairs: Map<number, { ids: Int32Array; scores: Float32Array }> = new Map();
  /** Rows harvested so far (counting rewrites). */
  updates = 0;
  #views: ScoredSuccessors[];

  /** An empty table. */
  constructor(options: GooseAdjacencyOptions) {
    const { vocabSize, k = 10, bigram = true } = options;
    check(
      Number.isInteger(vocabSize) && vocabSize > 0,
      `GooseAdjacency: vocabSize must be a positive integer, got ${vocabSize}`,
      { hint: "pass the model's config.vocabSize" },
    );
    check(
      Number.isInteger(k) && k > 0 && k <= vocabSize,
      `GooseAdjacency: k must be an integer in 1..${vocabSize}, got ${k}`,
    );
    this.vocabSize = vocabSize;
    this.k = k;
    this.bigram = bigram;
    this.ids = new Int32Array(vocabSize * k).fill(-1);
    this.scores = new Float32Array(vocabSize * k);
    this.#views = [];
  }

  /**
   * Harvests one forward pass: row i of `logits` ([ids.length × vocab]) is what the target
   * predicted after `ids[i]`; `prev[i]` is the token before it (−1 or absent: none).
   */
  update(
    ids: ArrayLike<number>,
    logits: Float32Array,
    options: { prev?: ArrayLike<number> } = {},
  ): void {
    const V = this.vocabSize, k = this.k, prev = options.prev;
    check(
      logits.length === ids.length * V,
      `GooseAdjacency.update: ${ids.length} ids need ${
        ids.length * V
      } logits, got ${logits.length}`,
      { hint: "pass the logits of the same forward pass that fed these ids" },
    );
    check(
      prev === undefined || prev.length === ids.length,
      `GooseAdjacency.update: prev has ${prev?.length} entries for ${ids.length} ids`,
    );
    const top = new Int32Array(k);
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      check(Number.isInteger(t) && t >= 0 && t < V, `GooseAdjacency.update: bad token id ${t}`);
      const row = logits.subarray(i * V, (i + 1) * V);
      const n = topKIndices(row, k, top);
      const o = t * k;
      this.ids.fill(-1, o, o + k);
      this.scores.fill(0, o, o + k);
      let total = 0;
      const best = n > 0 ? row[top[0]] : 0;
      for (let j = 0; j < n; j++) total += Math.exp(row[top[j]] - best);
      for (let j = 0; j < n; j++) {
        this.ids[o + j] = top[j];
        this.scores[o + j] = Math.exp(row[top[j]] - best) / total;
      }
      const p = prev?.[i] ?? -1;
      if (this.bigram && p >= 0 && p < V) {
        this.pairs.set(p * V + t, {
          ids: this.ids.slice(o, o + k),
          scores: this.scores.slice(o, o + k),
        });
      }
      this.updates++;
    }
  }

  /**
   * The successors of `token`: the (prev, token) row when there is one, else the token's own
   * row (views: do not modify them).
   */
  successors(token: number, prev = -1): ScoredSuccessors {
    if (this.bigram && prev >= 0) {
      const pair = this.pairs.get(prev * this.vocabSize + token);
      if (pair) return pair;
    }
    return this.#views[token] ??= {
      ids: this.ids.subarray(token * this.k, (token + 1) * this.k),
      scores: this.scores.subarray(token * this.k, (token + 1) * this.k),
    };
  }

  /** Empties the table (a cold start). */
  clear(): void {
    this.ids.fill(-1);
    this.scores.fill(0);
    this.pairs.clear();
    this.updates = 0;
  }
}

/** A branch source: successors of `token` when `prev` precedes it (−1: unknown). */
export type BranchSource = (token: number, prev: number) => ScoredSuccessors;

/** Options of {@linkcode gooseTree}. */
export interface GooseTreeOptions {
  /** The context-matched continuation (laid as one chain below the root). */
  spine: ArrayLike<number>;
  /** Draft nodes below the root, spine and branches together. */
  budget: number;
  /** Largest share of the budget the spine may take, in [0, 1] (default 1: all of it). */
  spineShare?: number;
  /** The branch source. */
  successors: BranchSource;
  /** The token before the root (for the pair tier; default −1). */
  prev?: number;
  /** Successors per node at most, K (default 10); depth d of a branch gets ⌊K/d⌋ at most. */
  k?: number;
  /** Deepest branch node, counted from where the branch leaves the spine (default 6). */
  maxBranchDepth?: number;
  /** Branch nodes whose score (product of scores from the spine) is below this are not added (default 0.01). */
  minScore?: number;
  /** Share of the branch budget given to alternatives at the root (default 0.5). */
  rootShare?: number;
  /** Deepest node of the whole tree (default: no limit). */
  maxDepth?: number;
}

/**
 * Goose's anisotropic tree (Algorithm 1 as the note reads it). The spine (as many tokens as
 * `spineShare`·`budget` allows, at least one) is laid as one deep chain (source "spine").
 * The remaining budget is split `rootShare` / rest between alternatives at the root (source
 * "branch-root") and alternatives along the spine (source "branch-spine"), the latter spread
 * over spine nodes 1..L with weights 1/i (largest quotas near the root); quotas are rounded
 * down and the leftover nodes given by largest fraction, and a quota a branch cannot use
 * passes to the next attachment point. Each branch grows breadth-first: a node of score s
 * gets up to min(⌈remaining·s⌉, ⌊K/d⌋) children (d: the children's depth in the branch), in
 * the source's order, each child scoring s times its own score; children below `minScore`,
 * deeper than `maxBranchDepth` or repeating a sibling's token are skipped. Spine children are
 * added first, so a walk that tries children in order prefers the spine.
 *
 * @example
 * ```ts
 * import { gooseTree } from "@tokenlab/tokenlab/decoding";
 * // every token t is followed by t + 1 (score 0.9) or t + 2 (score 0.1)
 * const successors = (t: number) => ({ ids: [t + 1, t + 2], scores: [0.9, 0.1] });
 * const tree = gooseTree(0, { spine: [5, 6], budget: 4, successors });
 * console.log(tree.ids, tree.parents); // [0, 5, 6, 1, 7] [-1, 0, 1, 0, 1]
 * console.log(tree.source); // ["root", "spine", "spine", "branch-root", "branch-spine"]
 * ```
 */
export function gooseTree(root: number, options: GooseTreeOptions): DraftTree {
  const {
    spine,
    budget,
    spineShare = 1,
    successors,
    prev = -1,
    k = 10,
    maxBranchDepth = 6,
    minScore = 0.01,
    rootShare = 0.5,
    maxDepth = Infinity,
  } = options;
  check(
    Number.isInteger(budget) && budget >= 0,
    `gooseTree: budget must be a non-negative integer, got ${budget}`,
  );
  check(
    spineShare >= 0 && spineShare <= 1 && rootShare >= 0 && rootShare <= 1,
    `gooseTree: spineShare and rootShare must be in [0, 1], got ${spineShare} and ${rootShare}`,
  );
  check(
    Number.isInteger(k) && k >= 1 && Number.isInteger(maxBranchDepth) && maxBranchDepth >= 0,
    `gooseTree: k must be a positive integer and maxBranchDepth a non-negative one, got ${k} and ${maxBranchDepth}`,
  );
  check(minScore >= 0, `gooseTree: minScore must be ≥ 0, got ${minScore}`);
  check(typeof successors === "function", "gooseTree: successors must be a function");
  const tree: DraftTree = { ids: [root], parents: [-1], source: ["root"] };
  const depth = [0];
  const add = (parent: number, token: number, source: string) => {
    tree.ids.push(token);
    tree.parents.push(parent);
    tree.source!.push(source);
    depth.push(depth[parent] + 1);
    return tree.ids.length - 1;
  };
  let L = Math.min(spine.length, budget, maxDepth === Infinity ? Infinity : Math.max(0, maxDepth));
  if (L > 0) L = Math.min(L, Math.max(1, Math.floor(spineShare * budget)));
  const spineNodes = [0];
  for (let i = 0; i < L; i++) spineNodes.push(add(spineNodes.at(-1)!, spine[i], "spine"));
  const rest = budget - L;
  // attachment points and their quotas: the root, then spine nodes 1..L with weights 1/i
  const points: { node: number; quota: number; source: string }[] = [];
  if (L === 0) points.push({ node: 0, quota: rest, source: "branch-root" });
  else {
    const atRoot = Math.round(rest * rootShare);
    points.push({ node: 0, quota: atRoot, source: "branch-root" });
    const along = rest - atRoot;
    const w = Array.from({ length: L }, (_, i) => 1 / (i + 1));
    const wSum = w.reduce((a, b) => a + b, 0);
    const exact = w.map((x) => along * x / wSum);
    const quotas = exact.map(Math.floor);
    let left = along - quotas.reduce((a, b) => a + b, 0);
    const order = exact.map((x, i) => ({ f: x - Math.floor(x), i }))
      .sort((a, b) => b.f - a.f || a.i - b.i);
    for (const { i } of order) {
      if (left <= 0) break;
      quotas[i]++;
      left--;
    }
    quotas.forEach((q, i) =>
      points.push({ node: spineNodes[i + 1], quota: q, source: "branch-spine" })
    );
  }
  const prevOf = (node: number) => {
    const p = tree.parents[node];
    return p < 0 ? prev : tree.ids[p];
  };
  let carry = 0;
  for (const point of points) {
    let remaining = point.quota + carry;
    const queue: { node: number; score: number; d: number }[] = [{
      node: point.node,
      score: 1,
      d: 0,
    }];
    for (let qi = 0; qi < queue.length && remaining > 0; qi++) {
      const { node, score, d } = queue[qi];
      if (d >= maxBranchDepth || depth[node] >= maxDepth) continue;
      const cap = Math.max(1, Math.floor(k / (d + 1)));
      const width = Math.min(Math.ceil(remaining * score), cap);
      const next = successors(tree.ids[node], prevOf(node));
      let added = 0;
      for (let j = 0; j < next.ids.length && added < width && remaining > 0; j++) {
        const t = next.ids[j];
        if (t < 0) continue;
        const s = score * next.scores[j];
        if (!(s >= minScore)) break;
        if (hasChild(tree, node, t)) continue;
        const c = add(node, t, point.source);
        queue.push({ node: c, score: s, d: d + 1 });
        added++;
        remaining--;
      }
    }
    carry = remaining;
  }
  return tree;
}

/** Options of {@linkcode balancedTree}. */
export interface BalancedTreeOptions {
  /** Draft nodes below the root. */
  budget: number;
  /** Children per node (iso3: 3, iso5: 5). */
  branching: number;
  /** The branch source (only the ranks are used). */
  successors: BranchSource;
  /** The token before the root (for the pair tier; default −1). */
  prev?: number;
  /** Deepest node (default: no limit). */
  maxDepth?: number;
  /** Source label of the nodes (default "balanced"). */
  source?: string;
}

/**
 * An isotropic tree: filled level by level, every node taking the top `branching`
 * successors of its token, until `budget` nodes are placed (Goose's iso3 / iso5 controls).
 * Slots the source leaves empty, and repeats of a sibling's token, are skipped.
 *
 * @example
 * ```ts
 * import { balancedTree } from "@tokenlab/tokenlab/decoding";
 * const successors = (t: number) => ({ ids: [t + 1, t + 2], scores: [0.6, 0.4] });
 * const tree = balancedTree(0, { budget: 4, branching: 2, successors });
 * console.log(tree.ids, tree.parents); // [0, 1, 2, 2, 3] [-1, 0, 0, 1, 1]
 * ```
 */
export function balancedTree(root: number, options: BalancedTreeOptions): DraftTree {
  const { budget, branching, successors, prev = -1, maxDepth = Infinity } = options;
  const source = options.source ?? "balanced";
  check(
    Number.isInteger(budget) && budget >= 0 && Number.isInteger(branching) && branching >= 1,
    `balancedTree: budget must be ≥ 0 and branching ≥ 1 (integers), got ${budget} and ${branching}`,
  );
  const tree: DraftTree = { ids: [root], parents: [-1], source: ["root"] };
  const depth = [0];
  for (let i = 0; i < tree.ids.length && tree.ids.length - 1 < budget; i++) {
    if (depth[i] >= maxDepth) continue;
    const p = tree.parents[i];
    const next = successors(tree.ids[i], p < 0 ? prev : tree.ids[p]);
    let added = 0;
    for (let j = 0; j < next.ids.length && added < branching; j++) {
      if (tree.ids.length - 1 >= budget) break;
      const t = next.ids[j];
      if (t < 0 || hasChild(tree, i, t)) continue;
      tree.ids.push(t);
      tree.parents.push(i);
      tree.source!.push(source);
      depth.push(depth[i] + 1);
      added++;
    }
  }
  return tree;
}

function hasChild(tree: DraftTree, parent: number, token: number): boolean {
  for (let j = parent + 1; j < tree.ids.length; j++) {
    if (tree.parents[j] === parent && tree.ids[j] === token) return true;
  }
  return false;
}
