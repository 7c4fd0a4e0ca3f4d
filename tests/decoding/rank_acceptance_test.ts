import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  acceptedLength,
  nonIncreasingFit,
  optimalSparseTree,
  rankAcceptanceRates,
} from "../../lib/decoding/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

const close = (a: number, b: number, tol = 1e-12) => ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("rankAcceptanceRates: shares of events by rank, pooled or per depth", () => {
  // 3 contexts × 2 depths = 6 events: ranks 1,1,1 | 2 | 3 (beyond maxRank 2) | 0
  const ranks = [[1, 2], [1, 3], [1, 0]];
  deepEqual(rankAcceptanceRates(ranks, { maxRank: 2 }), [3 / 6, 1 / 6]);
  deepEqual(rankAcceptanceRates(ranks, { maxRank: 3 }), [3 / 6, 1 / 6, 1 / 6]);
  deepEqual(rankAcceptanceRates(ranks, { maxRank: 3, depth: 0 }), [1, 0, 0]);
  deepEqual(rankAcceptanceRates(ranks, { maxRank: 3, depth: 1 }), [0, 1 / 3, 1 / 3]);
});

Deno.test("rankAcceptanceRates: refuses what is not a rank", () => {
  throws(() => rankAcceptanceRates([], { maxRank: 2 }), TokenlabError);
  throws(() => rankAcceptanceRates([[1, -1]], { maxRank: 2 }), TokenlabError);
  throws(() => rankAcceptanceRates([[1.5]], { maxRank: 2 }), TokenlabError);
  throws(() => rankAcceptanceRates([[1]], { maxRank: 0 }), TokenlabError);
  // a depth some context does not have
  throws(() => rankAcceptanceRates([[1, 2], [1]], { maxRank: 2, depth: 1 }), TokenlabError);
});

Deno.test("nonIncreasingFit: pools increasing runs into their mean and keeps the total", () => {
  const fit = nonIncreasingFit([0.5, 0.1, 0.2, 0.05]);
  [0.5, 0.15, 0.15, 0.05].forEach((x, i) => close(fit[i], x));
  const rising = nonIncreasingFit([0.1, 0.2, 0.3]);
  rising.forEach((x) => close(x, 0.2));
  // a violation that reaches back past earlier blocks: 0.1, 0.6 → 0.35 > 0.1, so 0.1, 0.1, 0.6 →
  // 0.267 > 0.2, so all four → 0.25
  nonIncreasingFit([0.2, 0.1, 0.1, 0.6]).forEach((x) => close(x, 0.25));
  // …and one that stops at a larger earlier block: 0.4 stays, the rest pool to 0.8 / 3
  const stop = nonIncreasingFit([0.4, 0.1, 0.1, 0.6]);
  close(stop[0], 0.4);
  stop.slice(1).forEach((x) => close(x, 0.8 / 3));
  deepEqual(nonIncreasingFit([0.6, 0.3, 0.1]), [0.6, 0.3, 0.1]);
  deepEqual(nonIncreasingFit([]), []);
  const p = [0.3, 0.05, 0.2, 0.2, 0.01, 0.1];
  close(nonIncreasingFit(p).reduce((a, b) => a + b, 0), p.reduce((a, b) => a + b, 0), 1e-12);
  const q = nonIncreasingFit(p);
  ok(q.every((x, i) => i === 0 || x <= q[i - 1]), `not non-increasing: ${q}`);
  throws(() => nonIncreasingFit([0.1, NaN]), TokenlabError);
});

Deno.test("acceptedLength: walks the tree by rank, depth by depth", () => {
  // root 0; children of 0: node 1 (rank 1), node 3 (rank 2); node 2 under 1 (rank 1); node 4 under 2
  const tree = { parents: [-1, 0, 1, 0, 2], ranks: [0, 1, 1, 2, 1] };
  equal(acceptedLength(tree, [1, 1, 1]), 3);
  equal(acceptedLength(tree, [1, 1, 1, 1]), 3); // the tree is 3 deep
  equal(acceptedLength(tree, [2, 1]), 1); // node 3 has no children
  equal(acceptedLength(tree, [1, 2, 1]), 1); // node 1 has no rank-2 child
  equal(acceptedLength(tree, [3]), 0);
  equal(acceptedLength(tree, [0, 1]), 0); // 0: not among the candidates
  equal(acceptedLength(tree, []), 0);
  equal(acceptedLength({ parents: [-1], ranks: [0] }, [1, 1]), 0); // plain decoding
  throws(() => acceptedLength({ parents: [-1, 0], ranks: [0] }, [1]), TokenlabError);
});

Deno.test("acceptedLength: its mean over ranks drawn independently matches optimalSparseTree's expectation", () => {
  // the tree builder computes E[accepted] in closed form; sampling ranks from the same model and
  // walking the tree is an independent route to the same number
  const p = [0.5, 0.2, 0.1];
  const tree = optimalSparseTree(12, { rankProbabilities: p });
  const rng = new Rng(3);
  const depth = Math.max(...tree.depths) + 1;
  const draw = () => {
    const u = rng.next();
    let acc = 0;
    for (let r = 0; r < p.length; r++) if (u < (acc += p[r])) return r + 1;
    return 0;
  };
  const n = 40000;
  let sum = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    const a = acceptedLength(tree, Array.from({ length: depth }, draw));
    sum += a;
    sq += a * a;
  }
  const mean = sum / n, se = Math.sqrt((sq / n - mean * mean) / n);
  ok(
    Math.abs(mean - tree.expectedAccepted) < 4 * se,
    `${mean} ± ${se} vs ${tree.expectedAccepted}`,
  );
});
