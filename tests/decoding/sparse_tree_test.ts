import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { geometricRankProbabilities, optimalSparseTree } from "../../lib/decoding/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

const close = (a: number, b: number, tol = 1e-12) => ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("optimalSparseTree: hand-worked trees", () => {
  // size 1 is plain decoding: one token per step
  const one = optimalSparseTree(1, { alpha: 0.8 });
  deepEqual(one.parents, [-1]);
  equal(one.expectedTokens, 1);
  // α = 0.5: p = ½, ¼, ⅛ …; root's top child (½), then its top child and the root's
  // second candidate (¼ each, the child first by creation order), then ⅛ nodes
  const t = optimalSparseTree(5, { alpha: 0.5 });
  deepEqual(t.parents, [-1, 0, 1, 0, 2]);
  deepEqual(t.depths, [0, 1, 2, 1, 3]);
  deepEqual(t.ranks, [0, 1, 1, 2, 1]);
  deepEqual(t.acceptance, [1, 0.5, 0.25, 0.25, 0.125]);
  close(t.expectedTokens, 2.125);
  // a chain when only the top candidate can be right: E = α + α² + α³
  const chain = optimalSparseTree(4, { rankProbabilities: [0.9] });
  deepEqual(chain.parents, [-1, 0, 1, 2]);
  close(chain.expectedAccepted, 0.9 + 0.81 + 0.729);
  // explicit ranks: p = [0.6, 0.3]; best 3 nodes: 0.6 (r1), 0.36 (r1·r1), 0.3 (r2 of root)
  const r = optimalSparseTree(4, { rankProbabilities: [0.6, 0.3] });
  deepEqual(r.parents, [-1, 0, 1, 0]);
  close(r.expectedAccepted, 0.6 + 0.36 + 0.3);
  deepEqual(geometricRankProbabilities(0.5, { maxRank: 3 }), [0.5, 0.25, 0.125]);
});

/** All trees of `size` nodes over ranks ≤ R, built by adding one child at a time. */
function bruteForceBest(size: number, p: number[]): number {
  let best = 0;
  const grow = (nodes: { value: number; kids: number }[], sum: number) => {
    if (nodes.length === size) {
      best = Math.max(best, sum);
      return;
    }
    // children must be added in rank order: a node's next child has rank kids + 1
    nodes.forEach((n, i) => {
      if (n.kids >= p.length) return;
      const value = n.value * p[n.kids];
      const next = nodes.map((m, j) => (j === i ? { ...m, kids: m.kids + 1 } : m));
      next.push({ value, kids: 0 });
      grow(next, sum + value);
    });
  };
  grow([{ value: 1, kids: 0 }], 0);
  return best;
}

Deno.test("optimalSparseTree is optimal: equals a brute-force search over all trees", () => {
  for (const p of [[0.7, 0.2, 0.1], [0.4, 0.3, 0.2], [0.9, 0.05]]) {
    for (let size = 1; size <= 7; size++) {
      close(
        optimalSparseTree(size, { rankProbabilities: p }).expectedAccepted,
        bruteForceBest(size, p),
      );
    }
  }
});

Deno.test("expected accepted length matches a seeded simulation of the acceptance model", () => {
  const alpha = 0.7, tree = optimalSparseTree(24, { alpha });
  const p = geometricRankProbabilities(alpha);
  const rng = new Rng(3);
  const trials = 40000;
  let total = 0;
  for (let t = 0; t < trials; t++) {
    // walk down: at each node draw the target's rank, move to the child with that rank if any
    let node = 0;
    for (;;) {
      let u = rng.next(), rank = 0;
      for (let r = 0; r < p.length; r++) {
        if (u < p[r]) {
          rank = r + 1;
          break;
        }
        u -= p[r];
      }
      const child = tree.parents.findIndex((q, i) => q === node && tree.ranks[i] === rank);
      if (rank === 0 || child < 0) break;
      total++;
      node = child;
    }
  }
  const mean = total / trials;
  // standard error below 0.01 for accepted counts under ~3
  close(mean, tree.expectedAccepted, 0.03);
});

Deno.test("optimalSparseTree refuses bad input with a hint", () => {
  throws(() => optimalSparseTree(0, { alpha: 0.5 }), /integer ≥ 1/);
  throws(() => optimalSparseTree(4, {}), /exactly one of/);
  throws(() => optimalSparseTree(4, { alpha: 0.5, rankProbabilities: [0.5] }), /exactly one of/);
  throws(() => optimalSparseTree(4, { rankProbabilities: [0.2, 0.5] }), /must not increase/);
  throws(() => optimalSparseTree(4, { rankProbabilities: [0.7, 0.6] }), /more than 1/);
  throws(() => geometricRankProbabilities(0), TokenlabError);
});
