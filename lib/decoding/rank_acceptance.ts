/**
 * Acceptance of a drafter's ranked candidates, measured: from the rank at which the target's
 * token appeared among the drafter's candidates (one list of ranks per context, one rank per
 * depth), the per-rank acceptance rates that {@linkcode optimalSparseTree} takes, a
 * non-increasing fit of them, and the number of tokens a given tree actually accepts on one
 * context — so a tree's predicted yield (independent ranks across depths) can be checked
 * against the yield it gets.
 *
 * A rank is 1 for the drafter's top candidate, 2 for the next, …; 0 means the target's token
 * was not among the candidates looked at (beyond `maxRank`).
 *
 * @module
 */
import { check } from "../util/errors.ts";
import type { SparseTree } from "./sparse_tree.ts";

/** Options for {@linkcode rankAcceptanceRates}. */
export interface RankAcceptanceOptions {
  /** Ranks counted, 1 … maxRank (the length of the result). */
  maxRank: number;
  /** Only this depth (0 = the first speculated token); default: every depth pooled. */
  depth?: number;
}

/**
 * The share of (context, depth) events whose target token was the drafter's rank-r
 * candidate, for r = 1 … `maxRank`. The rates need not be non-increasing (sampling noise, or a
 * drafter whose second guess is worse than its third); {@linkcode nonIncreasingFit} makes them
 * so for {@linkcode optimalSparseTree}.
 *
 * @example
 * ```ts
 * import { rankAcceptanceRates } from "@tokenlab/tokenlab/decoding";
 * // two contexts, two depths: ranks 1, 2 and 1, 0 (0 = not among the candidates)
 * console.log(rankAcceptanceRates([[1, 2], [1, 0]], { maxRank: 3 })); // [0.5, 0.25, 0]
 * console.log(rankAcceptanceRates([[1, 2], [1, 0]], { maxRank: 3, depth: 1 })); // [0, 0.5, 0]
 * ```
 */
export function rankAcceptanceRates(
  ranks: readonly (readonly number[])[],
  options: RankAcceptanceOptions,
): number[] {
  check(
    Array.isArray(ranks) && ranks.length > 0,
    "rankAcceptanceRates needs at least one context",
    {
      hint: "pass one array of ranks (1 = top candidate, 0 = none) per context",
    },
  );
  const maxRank = options?.maxRank;
  check(
    Number.isInteger(maxRank) && maxRank >= 1,
    `maxRank must be an integer ≥ 1, got ${maxRank}`,
  );
  const depth = options.depth;
  check(
    depth === undefined || (Number.isInteger(depth) && depth >= 0),
    `depth must be an integer ≥ 0, got ${depth}`,
  );
  const counts = new Array<number>(maxRank).fill(0);
  let events = 0;
  ranks.forEach((row, c) => {
    check(Array.isArray(row), `ranks[${c}] is not an array of ranks`);
    const picked = depth === undefined ? row : [row[depth]];
    for (const r of picked) {
      check(
        Number.isInteger(r) && r >= 0,
        `ranks[${c}] holds ${r}; a rank is an integer ≥ 1, or 0 for "not among the candidates"`,
        { hint: depth !== undefined ? `does every context have a depth ${depth}?` : undefined },
      );
      events++;
      if (r >= 1 && r <= maxRank) counts[r - 1]++;
    }
  });
  return counts.map((n) => n / events);
}

/**
 * The non-increasing sequence closest to `rates` in least squares (pool adjacent violators:
 * runs that increase are replaced by their mean), so the total is kept. What
 * {@linkcode optimalSparseTree}'s `rankProbabilities` needs from measured rates.
 *
 * @example
 * ```ts
 * import { nonIncreasingFit } from "@tokenlab/tokenlab/decoding";
 * console.log(nonIncreasingFit([0.5, 0.1, 0.2, 0.05])); // [0.5, 0.15, 0.15, 0.05] (up to rounding)
 * ```
 */
export function nonIncreasingFit(rates: readonly number[]): number[] {
  check(Array.isArray(rates), "nonIncreasingFit needs an array of numbers");
  const blocks: { sum: number; n: number }[] = [];
  rates.forEach((x, i) => {
    check(Number.isFinite(x), `rates[${i}] = ${x} is not a finite number`);
    blocks.push({ sum: x, n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1], a = blocks[blocks.length - 2];
      if (a.sum / a.n >= b.sum / b.n) break;
      blocks.pop();
      a.sum += b.sum;
      a.n += b.n;
    }
  });
  return blocks.flatMap((b) => new Array<number>(b.n).fill(b.sum / b.n));
}

/**
 * How many speculated tokens `tree` accepts on one context whose target tokens sat at these
 * drafter ranks (depth by depth): walk down from the root, at each depth to the child with
 * that rank; stop at the first depth whose rank is 0 or has no such child. A verification
 * step then commits this many tokens plus one.
 *
 * @example
 * ```ts
 * import { acceptedLength, optimalSparseTree } from "@tokenlab/tokenlab/decoding";
 * const tree = optimalSparseTree(5, { alpha: 0.5 }); // parents [-1, 0, 1, 0, 2], ranks [0, 1, 1, 2, 1]
 * console.log(acceptedLength(tree, [1, 1, 1, 2])); // 3 (the spine of top candidates)
 * console.log(acceptedLength(tree, [2, 1])); // 1 (rank 2 at depth 1 is a leaf)
 * ```
 */
export function acceptedLength(
  tree: Pick<SparseTree, "parents" | "ranks">,
  ranks: readonly number[],
): number {
  check(
    tree !== null && typeof tree === "object" && Array.isArray(tree.parents) &&
      Array.isArray(tree.ranks) && tree.parents.length === tree.ranks.length,
    "acceptedLength needs a tree with parents and ranks of equal length",
    { hint: "pass what optimalSparseTree returns" },
  );
  check(Array.isArray(ranks), "acceptedLength needs the ranks of one context, depth by depth");
  let node = 0, accepted = 0;
  for (const r of ranks) {
    if (r === 0) break;
    let child = -1;
    for (let i = node + 1; i < tree.parents.length; i++) {
      if (tree.parents[i] === node && tree.ranks[i] === r) {
        child = i;
        break;
      }
    }
    if (child < 0) break;
    node = child;
    accepted++;
  }
  return accepted;
}
