import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  balancedTree,
  contextMatch,
  GooseAdjacency,
  gooseBudget,
  gooseSpineShare,
  gooseTree,
  matchConfidence,
} from "../../lib/decoding/goose_tree.ts";
import {
  SPECULATIVE_METHODS,
  speculativeGenerate,
  type SpeculativeOptions,
} from "../../lib/decoding/speculative.ts";
import {
  checkCacheAfterSteps,
  checkFirstTokenDistribution,
  checkGreedyIds,
  draft,
  PROMPTS,
  target,
} from "./_speculative_checks.ts";

Deno.test("contextMatch: longest n-gram first, the first occurrence, occurrences and consensus", () => {
  // "7 1 2 3" occurs once earlier (5-gram fails, 4-gram matches at 0); a 3-gram "1 2 3" would match at 5 too
  const ctx = [7, 1, 2, 3, 9, 1, 2, 3, 8, 7, 1, 2, 3];
  const m = contextMatch(ctx);
  equal(m.ngram, 4);
  deepEqual(m.tokens, [9, 1, 2, 3, 8, 7, 1, 2, 3]);
  equal(m.occurrences, 1);
  equal(m.consensus, false);
  // only 3-grams: two earlier occurrences continue with 9 and 8: no consensus
  const m3 = contextMatch(ctx, { ngrams: [3], maxLength: 2 });
  deepEqual([m3.ngram, m3.occurrences, m3.consensus, m3.tokens], [3, 2, false, [9, 1]]);
  equal(m3.confidence, 0.6 * 2 / 8);
  // consensus: both earlier "1 2 3" continue with 4
  const c = contextMatch([1, 2, 3, 4, 5, 1, 2, 3, 4, 6, 1, 2, 3], { ngrams: [3] });
  deepEqual([c.occurrences, c.consensus, c.confidence], [2, true, 1]);
  // no match
  deepEqual(contextMatch([1, 2, 3, 4, 5, 6]).tokens, []);
  equal(contextMatch([1, 2, 3, 4, 5, 6]).confidence, 0);
  throws(() => contextMatch([1], { ngrams: [] }), /non-empty list/);
  throws(() => contextMatch([1], { maxLength: -1 }), /maxLength/);
});

Deno.test("confidence, budget and spine share follow the paper's constants", () => {
  equal(matchConfidence({ length: 0, consensus: true }), 0);
  equal(matchConfidence({ length: 3, consensus: true }), 1);
  equal(matchConfidence({ length: 4, consensus: false }), 0.3);
  equal(matchConfidence({ length: 8, consensus: false }), 0.7);
  equal(matchConfidence({ length: 14, consensus: false }), 0.8);
  equal(matchConfidence({ length: 20, consensus: false }), 0.9);
  deepEqual([gooseBudget(0), gooseBudget(0.25), gooseBudget(1)], [60, 70, 100]);
  deepEqual([gooseSpineShare(0, 0), gooseSpineShare(0.5, 0), gooseSpineShare(1, 0)], [
    0.15,
    0.3,
    0.5,
  ]);
  equal(gooseSpineShare(0.5, 1), 1);
  throws(() => gooseBudget(1.5), /confidence must be in \[0, 1\]/);
});

Deno.test("GooseAdjacency: renormalised top-K scores, the pair tier first, the last position of a token wins", () => {
  const t = new GooseAdjacency({ vocabSize: 4, k: 2 });
  const row = (...z: number[]) => Float32Array.from(z);
  // logits log(1..4): top-2 are tokens 3 and 2 with softmax mass 4 and 3 → 4/7, 3/7
  t.update([1], row(0, Math.log(2), Math.log(3), Math.log(4)), { prev: [0] });
  deepEqual(Array.from(t.successors(1).ids), [3, 2]);
  const s = Array.from(t.successors(1).scores);
  ok(Math.abs(s[0] - 4 / 7) < 1e-6 && Math.abs(s[1] - 3 / 7) < 1e-6, `scores ${s}`);
  // token 1 again, after token 2, in one pass twice: the last row wins for both tiers
  t.update([1, 1], new Float32Array([9, 0, 0, 0, 0, 9, 0, 0]), { prev: [2, 2] });
  equal(t.successors(1).ids[0], 1);
  equal(t.successors(1, 2).ids[0], 1);
  // the pair (0, 1) keeps its own, older row
  deepEqual(Array.from(t.successors(1, 0).ids), [3, 2]);
  // an unseen pair falls back to the token's row; an unseen token has empty slots
  equal(t.successors(1, 3).ids[0], 1);
  deepEqual(Array.from(t.successors(0).ids), [-1, -1]);
  const noPairs = new GooseAdjacency({ vocabSize: 4, k: 2, bigram: false });
  noPairs.update([1], row(0, Math.log(2), Math.log(3), Math.log(4)), { prev: [0] });
  equal(noPairs.pairs.size, 0);
  throws(() => t.update([1], new Float32Array(3)), /1 ids need 4 logits/);
  throws(() => new GooseAdjacency({ vocabSize: 4, k: 5 }), /k must be an integer in 1..4/);
});

// every token t continues with 3t+1, 3t+2, 3t+3 scored 0.5, 0.3, 0.2
const three = (t: number) => ({ ids: [3 * t + 1, 3 * t + 2, 3 * t + 3], scores: [0.5, 0.3, 0.2] });

Deno.test("gooseTree: branches breadth-first with width ⌈remaining·score⌉ capped at K/depth", () => {
  // no spine: the whole budget of 10 goes to the root's branch (hand-computed):
  // root: min(⌈10·1⌉, 10) but 3 successors → 1, 2, 3 (left 7)
  // node 1 (0.5): min(⌈7·0.5⌉ = 4, ⌊10/2⌋) → 4, 5, 6 (left 4)
  // node 2 (0.3): ⌈4·0.3⌉ = 2 → 7, 8 (left 2); node 3 (0.2): ⌈2·0.2⌉ = 1 → 10 (left 1)
  // node 4 (0.25): ⌈1·0.25⌉ = 1 → 13 (left 0)
  const tree = gooseTree(0, { spine: [], budget: 10, successors: three });
  deepEqual(tree.ids, [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 13]);
  deepEqual(tree.parents, [-1, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4]);
  ok(tree.source!.slice(1).every((s) => s === "branch-root"));
  // min score 0.12: node 1's third child (0.5·0.2 = 0.1) is cut, so are deeper low scores
  const cut = gooseTree(0, { spine: [], budget: 10, successors: three, minScore: 0.12 });
  ok(!cut.ids.includes(6), `node 1's 0.1-scored child is below minScore: ${cut.ids}`);
  // branch depth 1 only: the root's three children
  deepEqual(gooseTree(0, { spine: [], budget: 10, successors: three, maxBranchDepth: 1 }).ids, [
    0,
    1,
    2,
    3,
  ]);
  // cap K/depth: with K = 2 the root takes 2 children, each of them ⌊2/2⌋ = 1
  const k2 = gooseTree(0, { spine: [], budget: 10, successors: three, k: 2 });
  deepEqual(k2.parents.filter((p) => p === 0).length, 2);
  deepEqual(k2.parents.filter((p) => p === 1).length, 1);
});

Deno.test("gooseTree: spine as one chain, branches split root / along the spine with 1/i weights", () => {
  // ten successors of equal score 0.1 for every token: a quota q at score 1 gives q children
  const ten = (t: number) => ({
    ids: Array.from({ length: 10 }, (_, j) => 1000 + 10 * t + j),
    scores: Array(10).fill(0.1),
  });
  // budget 15, spine of 3: 12 branch nodes, 6 at the root, 6 along the spine split by
  // 1 : 1/2 : 1/3 → 3.27, 1.64, 1.09 → floors 3, 1, 1 and the leftover to the largest fraction
  const tree = gooseTree(0, { spine: [5, 6, 7], budget: 15, successors: ten, maxBranchDepth: 1 });
  deepEqual(tree.ids.slice(0, 4), [0, 5, 6, 7]);
  deepEqual(tree.parents.slice(0, 4), [-1, 0, 1, 2]);
  deepEqual(tree.source!.slice(0, 4), ["root", "spine", "spine", "spine"]);
  const kids = (n: number) => tree.parents.filter((p, i) => p === n && tree.source![i] !== "spine");
  deepEqual([kids(0).length, kids(1).length, kids(2).length, kids(3).length], [6, 3, 2, 1]);
  equal(tree.ids.length - 1, 15);
  ok(tree.source!.every((s, i) => i === 0 || s !== "branch-root" || tree.parents[i] === 0));
  // the spine's share caps its length: share 0.2 of 15 → 3 of the 5 tokens
  const capped = gooseTree(0, {
    spine: [5, 6, 7, 8, 9],
    budget: 15,
    spineShare: 0.2,
    successors: ten,
  });
  equal(capped.source!.filter((s) => s === "spine").length, 3);
  // a branch never repeats a spine child's token at the same parent; spine children come first
  const dup = (t: number) => ({ ids: [t + 1, 50], scores: [0.6, 0.4] });
  const d = gooseTree(5, { spine: [6, 7], budget: 6, successors: dup, maxBranchDepth: 1 });
  for (let i = 1; i < d.ids.length; i++) {
    for (let j = i + 1; j < d.ids.length; j++) {
      ok(!(d.parents[i] === d.parents[j] && d.ids[i] === d.ids[j]), "no duplicate siblings");
    }
  }
  equal(d.parents.indexOf(0), 1, "the spine child is the root's first child");
  // depth limit of the whole tree
  const shallow = gooseTree(0, { spine: [5, 6, 7], budget: 15, successors: ten, maxDepth: 1 });
  deepEqual(shallow.parents.filter((p) => p > 0), []);
  throws(() => gooseTree(0, { spine: [], budget: -1, successors: ten }), /budget/);
  throws(
    () => gooseTree(0, { spine: [], budget: 1, spineShare: 2, successors: ten }),
    /spineShare/,
  );
});

Deno.test("balancedTree: level by level, `branching` children each, to the budget", () => {
  const t = balancedTree(0, { budget: 7, branching: 2, successors: three });
  deepEqual(t.ids, [0, 1, 2, 4, 5, 7, 8, 13]);
  deepEqual(t.parents, [-1, 0, 0, 1, 1, 2, 2, 3]);
  equal(balancedTree(0, { budget: 7, branching: 3, successors: three, maxDepth: 1 }).ids.length, 4);
  throws(() => balancedTree(0, { budget: 3, branching: 0, successors: three }), /branching/);
});

const CASES: [string, SpeculativeOptions][] = [
  ["goose (paper budgets)", { method: "goose" }],
  ["goose, treeBudget 12", { method: "goose", treeBudget: 12 }],
  ["goose, spine only", { method: "goose", gooseSources: "spine" }],
  ["goose, branches only", { method: "goose", gooseSources: "branches", treeBudget: 20 }],
  ["goose, iso3 control", { method: "goose", gooseBalanced: 3, treeBudget: 20 }],
];

Deno.test("goose at temperature 0: ids equal plain greedy generate on both default models", async () => {
  ok(SPECULATIVE_METHODS.includes("goose"));
  await checkGreedyIds(target, { prompts: PROMPTS, cases: CASES, maxNewTokens: 32 });
  await checkGreedyIds(draft, {
    prompts: PROMPTS.slice(1, 4),
    cases: CASES.slice(0, 2),
    maxNewTokens: 32,
  });
});

Deno.test("goose: the spine and the branches are counted apart; a repeated clause is accepted from the spine", async () => {
  const r = await speculativeGenerate(target, PROMPTS[3], { method: "goose", maxNewTokens: 30 });
  const s = r.stats.bySource;
  ok(s.spine && s.spine.drafted > 0, "spine nodes drafted");
  ok(s["branch-root"] && s["branch-root"].drafted > 0, "root branches drafted");
  ok(s.spine.accepted > 0, "spine nodes accepted");
  ok(r.stats.tau > 1.5, `τ ${r.stats.tau}`);
  const iso = await speculativeGenerate(target, PROMPTS[3], {
    method: "goose",
    gooseBalanced: 5,
    maxNewTokens: 30,
  });
  deepEqual(Object.keys(iso.stats.bySource), ["balanced"]);
});

Deno.test("goose: the cache after every step equals plain feeding (temperature 0 and 0.8)", async () => {
  for (
    const [name, o] of [
      ["goose", { method: "goose" }],
      ["goose at temperature 0.8", { method: "goose", temperature: 0.8, topK: 20, seed: 3 }],
    ] as [string, SpeculativeOptions][]
  ) {
    const { accepted } = await checkCacheAfterSteps(target, {
      prompt: PROMPTS[3],
      options: { ...o, maxNewTokens: 14 },
      name,
    });
    if (!o.temperature) ok(accepted > 0, `${name}: drafts accepted`);
  }
});

Deno.test("goose at temperature 1, top-k 12: the first new token follows the target (chi-square)", async () => {
  const rate = await checkFirstTokenDistribution(target, {
    prompt: PROMPTS[1],
    options: { method: "goose", temperature: 1, topK: 12, treeBudget: 6 },
    n: 400,
  });
  ok(rate > 0.02 && rate < 0.95, `both branches exercised: acceptance ${rate.toFixed(3)}`);
});

Deno.test("goose refuses bad options with clear messages", async () => {
  const bad: [Partial<SpeculativeOptions>, RegExp][] = [
    // deno-lint-ignore no-explicit-any
    [{ gooseSources: "spines" as any }, /gooseSources must be "both", "spine" or "branches"/],
    [{ gooseBalanced: 0 }, /gooseBalanced must be a positive integer/],
    [{ gooseEmaAlpha: 0 }, /gooseEmaAlpha must be in \(0, 1\]/],
    [{ gooseTable: new GooseAdjacency({ vocabSize: 6, k: 2 }) }, /Goose table has vocabulary 6/],
    [{ gooseNgrams: [] }, /ngrams must be a non-empty list/],
    [{ gooseMaxBranchDepth: -1 }, /gooseMaxBranchDepth/],
    [{ treeBudget: -2 }, /treeBudget must be a non-negative integer/],
  ];
  for (const [o, re] of bad) {
    await rejects(() => speculativeGenerate(target, [1, 2], { method: "goose", ...o }), re);
  }
});
