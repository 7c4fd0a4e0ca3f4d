/**
 * Verification rules for a draft tree after the target scored every node in one pass
 * (`Model.forwardTree`): the greedy walk (temperature 0) and recursive rejection sampling with
 * residual distributions (temperature > 0), both lossless: the committed tokens are
 * distributed exactly as the target's own decoding would draw them.
 *
 * Both walks start at an already committed node, `start` (the root fed with the tree), or at
 * −1, a virtual root above the tree's roots whose target row is given as `contextLogits` (the
 * last row of the prefill). They return the accepted path (node indices, `start` first when
 * ≥ 0) and the next token, drawn from the target's row at the path's end (the "bonus" token).
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import { type SampleOptions, sampleReference, samplingProbabilities } from "../../kernels/mod.ts";
import type { TokenTree } from "../models/mod.ts";
import type { DraftTree } from "./token_tree.ts";

/** Result of a verification walk. */
export interface WalkResult {
  /** Accepted node indices from `start` (included when ≥ 0) down. */
  path: number[];
  /** The token after the path, drawn from the target's row at its last node. */
  next: number;
  /** Draft nodes accepted (the path without `start`). */
  accepted: number;
}

/** Options shared by the walks. */
export interface WalkOptions {
  /** Target logits of every tree node, [nodes × vocab] row-major (from `forwardTree`). */
  logits: Float32Array;
  /** Vocabulary size. */
  vocabSize: number;
  /** Node to start from (already committed), or −1 (default) for a virtual root. */
  start?: number;
  /** The target's row for the virtual root (needed when `start` is −1). */
  contextLogits?: Float32Array;
}

/** Options of {@linkcode rejectionWalk}. */
export interface RejectionWalkOptions extends WalkOptions {
  /** The target's sampling options (temperature, topK, topP); seed and counter are unused. */
  sampling: Pick<SampleOptions, "temperature" | "topK" | "topP">;
  /** A fresh uniform number in [0, 1) per call (seeded, e.g. from `samplingUniform`). */
  uniform: () => number;
}

/**
 * Greedy verification: from `start`, move to the child whose token is the target's argmax at
 * the current node (the kernels' order: lowest index on ties), while there is one; the next
 * token is the argmax at the last accepted node.
 *
 * @example
 * ```ts
 * import { greedyWalk } from "@tokenlab/tokenlab/decoding";
 * // vocab 3; node 0 (committed) predicts 2, node 1 (token 2) predicts 0
 * const tree = { ids: [1, 2, 1], parents: [-1, 0, 0] };
 * const logits = new Float32Array([0, 0, 5, 9, 0, 0, 0, 0, 0]);
 * console.log(greedyWalk(tree, { logits, vocabSize: 3, start: 0 })); // path [0, 1], next 0
 * ```
 */
export function greedyWalk(tree: TokenTree, options: WalkOptions): WalkResult {
  const { V, start, rowOf, children } = walkSetup(tree, options);
  const path = start >= 0 ? [start] : [];
  let node = start;
  for (;;) {
    const best = sampleReference({ data: rowOf(node), shape: [1, V] })[0];
    const child = children(node).find((c) => tree.ids[c] === best);
    if (child === undefined) {
      return { path, next: best, accepted: path.length - (start >= 0 ? 1 : 0) };
    }
    path.push(child);
    node = child;
  }
}

/**
 * Lossless verification at temperature > 0 (SpecInfer's recursive rejection sampling; for a
 * chain, Leviathan et al. / Chen et al.): at the current node with target distribution p
 * (`samplingProbabilities` of its row), try its children in order; child token x drawn from q
 * (the tree's `q`, a point mass when absent) is accepted with probability min(1, p(x)/q(x));
 * after a rejection p becomes the residual max(0, p − q) renormalised and the next child is
 * tried. When no child is accepted, the next token is drawn from the current p. At
 * temperature 0 (p a point mass) this is the greedy walk.
 *
 * @example
 * ```ts
 * import { rejectionWalk } from "@tokenlab/tokenlab/decoding";
 * import { samplingUniform } from "@tokenlab/tokenlab/kernels";
 * let n = 0;
 * const uniform = () => samplingUniform({ seed: 1, row: 0, counter: n++ });
 * const tree = { ids: [0, 2], parents: [-1, 0] }; // node 1 drafted deterministically
 * const logits = new Float32Array([0, 0, 1, 1, 1, 1]); // vocab 3
 * const r = rejectionWalk(tree, { logits, vocabSize: 3, start: 0, sampling: { temperature: 1 }, uniform });
 * console.log(r.path, r.next);
 * ```
 */
export function rejectionWalk(tree: DraftTree, options: RejectionWalkOptions): WalkResult {
  const { V, start, rowOf, children } = walkSetup(tree, options);
  const { sampling, uniform } = options;
  const path = start >= 0 ? [start] : [];
  let node = start;
  for (;;) {
    let p = samplingProbabilities({ data: rowOf(node), shape: [1, V] }, sampling);
    let moved = false;
    for (const c of children(node)) {
      const x = tree.ids[c], q = tree.q?.[c] ?? null;
      const qx = q ? q[x] : 1;
      if (!(qx > 0)) {
        throw new TokenlabError(
          `rejectionWalk: node ${c}'s token ${x} has probability 0 under its q`,
          {
            hint: "q must be the distribution the node's token was actually drawn from",
          },
        );
      }
      if (uniform() < p[x] / qx) {
        path.push(c);
        node = c;
        moved = true;
        break;
      }
      p = residualDistribution(p, q ?? x);
    }
    if (!moved) {
      return { path, next: drawFrom(p, uniform()), accepted: path.length - (start >= 0 ? 1 : 0) };
    }
  }
}

/**
 * The residual distribution after a rejected draft: max(0, p − q) renormalised, where q is a
 * distribution or a token id (a point mass). When p ≤ q everywhere (a rejection of probability
 * 0, reachable only through rounding) p is returned unchanged.
 *
 * @example
 * ```ts
 * import { residualDistribution } from "@tokenlab/tokenlab/decoding";
 * const p = Float64Array.of(0.5, 0.3, 0.2), q = Float64Array.of(0.2, 0.6, 0.2);
 * console.log(residualDistribution(p, q)); // [1, 0, 0]
 * console.log(residualDistribution(p, 0)); // [0, 0.6, 0.4]
 * ```
 */
export function residualDistribution(p: Float64Array, q: Float64Array | number): Float64Array {
  const r = new Float64Array(p.length);
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    const d = p[i] - (typeof q === "number" ? (i === q ? 1 : 0) : q[i]);
    if (d > 0) {
      r[i] = d;
      total += d;
    }
  }
  if (!(total > 0)) return p;
  for (let i = 0; i < r.length; i++) r[i] /= total;
  return r;
}

/**
 * Draws an index from probabilities (or unnormalised weights) with one uniform u ∈ [0, 1):
 * the first index whose running sum exceeds u × the total (the sampler contract's last step).
 *
 * @example
 * ```ts
 * import { drawFrom } from "@tokenlab/tokenlab/decoding";
 * console.log(drawFrom(Float64Array.of(0.2, 0.5, 0.3), 0.6)); // 1
 * ```
 */
export function drawFrom(p: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += p[i];
  check(total > 0, "drawFrom: the weights sum to 0", { hint: "pass a distribution with mass" });
  const target = u * total;
  let cum = 0, last = -1;
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] > 0)) continue;
    cum += p[i];
    last = i;
    if (cum > target) return i;
  }
  return last;
}

function walkSetup(tree: TokenTree, options: WalkOptions) {
  const V = options.vocabSize, n = tree.ids.length;
  const start = options.start ?? -1;
  check(
    options.logits.length === n * V,
    `verification: a tree of ${n} nodes needs ${n * V} logits, got ${options.logits.length}`,
    { hint: "pass the logits forwardTree returned for this tree" },
  );
  check(
    Number.isInteger(start) && start >= -1 && start < n,
    `verification: start ${start} is not −1 or a node of the tree`,
  );
  if (start < 0) {
    check(
      options.contextLogits?.length === V,
      "verification from the virtual root (start −1) needs contextLogits, one row of the vocabulary",
      { hint: "pass the last row of the prefill's logits, or start at the fed root (start: 0)" },
    );
  }
  const kids: number[][] = Array.from({ length: n + 1 }, () => []);
  tree.parents.forEach((p, i) => kids[p + 1].push(i));
  return {
    V,
    start,
    rowOf: (node: number) =>
      node < 0 ? options.contextLogits! : options.logits.subarray(node * V, (node + 1) * V),
    children: (node: number) => kids[node + 1],
  };
}
