import { deepEqual, equal, notEqual, ok, rejects, throws } from "node:assert/strict";
import {
  AdaptiveTreeBudget,
  autoTreeBudget,
  chooseTreeBudget,
  measureTreeLatency,
  type TreeLatencyCurve,
} from "../../lib/decoding/tree_budget.ts";
import { optimalSparseTree } from "../../lib/decoding/sparse_tree.ts";
import { speculativeGenerate } from "../../lib/decoding/speculative.ts";
import { AdjacencyTable } from "../../lib/decoding/adjacency.ts";
import { bundledModelPath, generate, loadModel } from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

const curveOf = (pts: [number, number][]): TreeLatencyCurve => ({
  backend: "cpu",
  device: "synthetic",
  software: false,
  context: 0,
  points: pts.map(([size, ms]) => ({ size, ms, low: ms, high: ms })),
});

Deno.test("chooseTreeBudget: the argmax of E[tokens](n) / latency(n) over every n", () => {
  // latency linear from 1 ms at n = 1 to 4.2 ms at n = 33: exactly 1 + 0.1 (n − 1)
  const curve = curveOf([[1, 1], [33, 4.2]]);
  const c = chooseTreeBudget(curve, { alpha: 0.7 });
  equal(c.candidates.length, 33);
  let best = 1, top = -Infinity;
  for (let n = 1; n <= 33; n++) {
    const e = optimalSparseTree(n, { alpha: 0.7 }).expectedTokens;
    const ms = 1 + 0.1 * (n - 1);
    const cand = c.candidates[n - 1];
    equal(cand.size, n);
    ok(Math.abs(cand.expectedTokens - e) < 1e-12, `E at n = ${n}`);
    ok(Math.abs(cand.ms - ms) < 1e-12, `latency at n = ${n}`);
    if (e / ms > top) [top, best] = [e / ms, n];
  }
  equal(c.size, best);
  equal(c.budget, best - 1);
  ok(best > 1 && best < 33, `an interior optimum, got ${best}`);
  ok(Math.abs(c.speedup - top / 1) < 1e-9);
});

Deno.test("chooseTreeBudget: the size follows the latency curve, not only the acceptance", () => {
  // flat up to 8 nodes, then a step: the best tree fills the flat part
  const step = curveOf([[1, 1], [8, 1], [9, 3], [64, 4]]);
  equal(chooseTreeBudget(step, { alpha: 0.6 }).size, 8);
  // free verification: the largest tree measured
  equal(chooseTreeBudget(curveOf([[1, 1], [64, 1]]), { alpha: 0.6 }).size, 64);
  // a node costs a whole step: plain decoding wins (1.6 tokens for 2 ms < 1 token per ms)
  equal(chooseTreeBudget(curveOf([[1, 1], [64, 64]]), { alpha: 0.6 }).size, 1);
  // maxSize caps the search
  equal(chooseTreeBudget(curveOf([[1, 1], [64, 1]]), { alpha: 0.6, maxSize: 10 }).size, 10);
});

Deno.test("chooseTreeBudget: a noisy dip in the curve is smoothed unless monotone is false", () => {
  // size 2 measured faster than size 1 (noise): fitted to their mean, 1.5 ms each
  const noisy = curveOf([[1, 2], [2, 1], [4, 4]]);
  const fitted = chooseTreeBudget(noisy, { alpha: 0.6 });
  deepEqual(fitted.candidates.map((c) => c.ms), [1.5, 1.5, 2.75, 4]);
  const raw = chooseTreeBudget(noisy, { alpha: 0.6, monotone: false });
  deepEqual(raw.candidates.map((c) => c.ms), [2, 1, 2.5, 4]);
  equal(raw.size, 2);
});

Deno.test("chooseTreeBudget: a chain's expected tokens are 1 + α + α² + …", () => {
  const c = chooseTreeBudget(curveOf([[1, 1], [16, 1]]), { alpha: 0.8, shape: "chain" });
  for (const cand of c.candidates) {
    const closed = (1 - 0.8 ** cand.size) / (1 - 0.8);
    ok(Math.abs(cand.expectedTokens - closed) < 1e-9, `n = ${cand.size}`);
  }
  // with measured rank probabilities, a chain uses only the top rank's
  const m = chooseTreeBudget(curveOf([[1, 1], [4, 1]]), {
    rankProbabilities: [0.5, 0.3],
    shape: "chain",
  });
  deepEqual(m.candidates.map((x) => x.expectedTokens), [1, 1.5, 1.75, 1.875]);
});

Deno.test("chooseTreeBudget: hand-computed optima of a chain and of a tree", () => {
  // chain, α 0.8: E(n) = 1, 1.8, 2.44, 2.952; over 1, 1.2, 1.4, 2.6 ms: 1, 1.5, 1.743, 1.135
  const chain = chooseTreeBudget(curveOf([[1, 1], [2, 1.2], [3, 1.4], [4, 2.6]]), {
    alpha: 0.8,
    shape: "chain",
  });
  deepEqual([chain.size, chain.budget], [3, 2]);
  ok(Math.abs(chain.speedup - 2.44 / 1.4) < 1e-9);
  // tree, α 0.5: nodes 0.5, then 0.25 and 0.25 (child and sibling), then 0.125: E(n) = 1, 1.5,
  // 1.75, 2, 2.125; over 1, 1.1, 1.2, 1.3, 2 ms: 1, 1.364, 1.458, 1.538, 1.063 → n = 4
  const tree = chooseTreeBudget(curveOf([[1, 1], [2, 1.1], [3, 1.2], [4, 1.3], [5, 2]]), {
    alpha: 0.5,
  });
  deepEqual([tree.size, tree.budget], [4, 3]);
  ok(Math.abs(tree.expectedTokens - 2) < 1e-12);
});

// latency 0.3 + 0.7 n ms (a CPU: a node costs most of a step). Best chains by hand: α 0.6:
// n = 2 gives 1.6 / 1.7 < 1, so plain decoding; α 0.8: 1.8 / 1.7 = 1.059 > 2.44 / 2.4, n = 2;
// α 0.9: 1.9 / 1.7 = 1.118 < 2.71 / 2.4 = 1.129 > 3.439 / 3.1, n = 3 (the tree is a chain here:
// a second candidate, 0.1·p, is worth less than the next depth)
const cpuLike = curveOf([[1, 1], [16, 11.5]]);

Deno.test("chooseTreeBudget on a CPU-like curve: 0, 1, 2 drafts at α 0.6, 0.8, 0.9", () => {
  deepEqual([0.6, 0.8, 0.9].map((alpha) => chooseTreeBudget(cpuLike, { alpha }).budget), [0, 1, 2]);
});

Deno.test("AdaptiveTreeBudget: censored rank trials, the Beta prior, exploration, probes", () => {
  const auto = new AdaptiveTreeBudget(cpuLike, { shape: "chain" });
  equal(auto.alpha, 0.6);
  // the prior alone says 0 drafts; with no evidence it explores with 4
  equal(auto.next(), 4);
  equal(auto.history[0].reason, "explore");
  const chain = { parents: [-1, 0, 1, 2, 3] };
  // all 4 accepted: 4 trials, 4 successes (the last node has no children)
  auto.observe(chain, { path: [0, 1, 2, 3, 4], start: 0 });
  equal(auto.evidence, 4);
  equal(auto.next(), 4, "still exploring below 8 trials");
  // 3 accepted, the 4th rejected: 4 trials, 3 successes → α = (7 + 4·0.6) / (8 + 4) = 0.7833
  auto.observe(chain, { path: [0, 1, 2, 3], start: 0 });
  ok(Math.abs(auto.alpha - 9.4 / 12) < 1e-12);
  // α 0.785: n = 2 gives 1.785 / 1.7 = 1.050, n = 3 gives 2.401 / 2.4 = 1.0004 → 1 draft
  equal(auto.next(), 1);
  equal(auto.history.at(-1)!.reason, "choice");

  // a tree: root with children 1 and 2, node 1 with child 3
  const t = new AdaptiveTreeBudget(cpuLike, { prior: 0.5, priorWeight: 2 });
  const tree = { parents: [-1, 0, 0, 1] };
  t.observe(tree, { path: [0, 2], start: 0 }); // rank 2 accepted: 2 trials, 1 success
  t.observe(tree, { path: [0, 1, 3], start: 0 }); // rank 1, rank 1: 2 trials, 2 successes
  t.observe(tree, { path: [0], start: 0 }); // both children rejected: 2 trials
  // the first step's tree has no root: its parentless nodes are the candidates
  t.observe({ parents: [-1, -1, 0] }, { path: [1], start: -1 }); // rank 2, then no child: 2 trials
  equal(t.evidence, 8);
  ok(Math.abs(t.alpha - (4 + 1) / (8 + 2)) < 1e-12);
  throws(() => t.observe(tree, { path: [0, 3], start: 0 }), /not a child/);

  // low acceptance: plain decoding, with a one-draft probe every 8th zero step
  const low = new AdaptiveTreeBudget(cpuLike);
  const star = { parents: [-1, 0, 0, 0, 0] };
  low.observe(star, { path: [0], start: 0 });
  low.observe(star, { path: [0], start: 0 }); // 8 trials, 0 successes: α = 2.4 / 12 = 0.2
  const picks = Array.from({ length: 16 }, () => low.next());
  deepEqual(picks, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
  throws(() => new AdaptiveTreeBudget(cpuLike, { prior: 1 }), /prior/);
  throws(() => new AdaptiveTreeBudget(cpuLike, { minBudget: -1 }), /minBudget/);
  throws(() => new AdaptiveTreeBudget(curveOf([[2, 1]])), /size 1/);
});

Deno.test("chooseTreeBudget: bad curves and options are refused", () => {
  throws(() => chooseTreeBudget(curveOf([[2, 1], [4, 2]]), { alpha: 0.6 }), /size 1/);
  throws(() => chooseTreeBudget(curveOf([[1, 0], [4, 2]]), { alpha: 0.6 }), /positive time/);
  throws(() => chooseTreeBudget(curveOf([[1, 1], [4, 2]]), { alpha: 0.6, maxSize: 5 }), /maxSize/);
  throws(() => chooseTreeBudget(curveOf([[1, 1]]), { alpha: 1.5 }), /alpha/);
  throws(() => chooseTreeBudget(curveOf([[1, 1]]), {}), /exactly one/);
  // deno-lint-ignore no-explicit-any
  throws(() => chooseTreeBudget(null as any, { alpha: 0.6 }), TokenlabError);
});

const model = await loadModel("tests/fixtures/models/llama_gqa");

Deno.test("measureTreeLatency: one timed point per size, cached per model in the process", async () => {
  const opts = { sizes: [8, 1, 4], reps: 2, context: 16 };
  const a = await measureTreeLatency(model, opts);
  deepEqual(a.points.map((p) => p.size), [1, 4, 8]);
  for (const p of a.points) ok(p.ms > 0 && p.low <= p.ms && p.ms <= p.high);
  equal(a.backend, "cpu");
  ok(a.device.includes("CPU"), a.device);
  equal(a.software, false);
  equal(a.context, 16);
  equal(await measureTreeLatency(model, opts), a, "the same curve, not measured again");
  notEqual(await measureTreeLatency(model, { ...opts, refresh: true }), a);
  // another model has its own curve
  const other = await loadModel("tests/fixtures/models/llama_gqa");
  notEqual(await measureTreeLatency(other, opts), a);
  await rejects(measureTreeLatency(model, { sizes: [1, 200], context: 16 }), /positions/);
  await rejects(measureTreeLatency(model, { sizes: [0] }), /integers ≥ 1/);
  await rejects(measureTreeLatency(model, { sizes: [1, 1] }), /repeat/);
});

Deno.test('speculativeGenerate treeBudget "auto": the measured budget, lossless', async () => {
  const prompt = [5, 9, 12, 5, 9, 12, 5, 9, 3, 7, 5, 9];
  const budget = await autoTreeBudget(model);
  ok(Number.isInteger(budget) && budget >= 0 && budget <= 63, `budget ${budget}`);
  const plain = await generate(model, prompt, { maxNewTokens: 20 });
  const sizes: number[] = [];
  const tr = await speculativeGenerate(model, prompt, {
    method: "token-recycling",
    treeBudget: "auto",
    maxNewTokens: 20,
    onStep: (s) => sizes.push(s.tree.ids.length),
  });
  deepEqual(tr.ids, plain);
  // re-chosen every step: one budget per proposal, exploring (≥ 4 drafts) before evidence;
  // after the first step the fed tree is the template: the root and that step's budget of nodes
  // (fewer only near the end, where depth is capped)
  const chosen = tr.stats.treeBudgets!;
  equal(chosen.length, sizes.length);
  ok(chosen[0] >= 4, `explores first: ${chosen}`);
  for (let i = 1; i < sizes.length - 1; i++) ok(sizes[i] <= chosen[i] + 1, `step ${i}`);
  equal(sizes[1], chosen[1] + 1);
  const pld = await speculativeGenerate(model, prompt, {
    method: "pld",
    treeBudget: "auto",
    maxNewTokens: 20,
  });
  deepEqual(pld.ids, plain);
  await rejects(
    speculativeGenerate(model, prompt, { method: "draft-chain", draft: model, treeBudget: "auto" }),
    /gamma/,
  );
});

Deno.test('"auto" on tiny-target: high measured acceptance moves the budget off 0, lossless', async () => {
  const tiny = await loadModel(bundledModelPath("tiny-target"));
  const prompt = Array.from(tiny.tokenizer!.encode(
    "1. apples 2. pears 3. plums 4. apples 5. pears 6. plums 7. apples 8.",
  ));
  const table = new AdjacencyTable({ vocabSize: tiny.config.vocabSize });
  await speculativeGenerate(tiny, prompt, { method: "token-recycling", adjacency: table });
  // the CPU-like curve: the prior (α 0.6) alone would decode plainly
  equal(chooseTreeBudget(cpuLike, { alpha: 0.6 }).budget, 0);
  const rule = new AdaptiveTreeBudget(cpuLike);
  const r = await speculativeGenerate(tiny, prompt, {
    method: "token-recycling",
    adjacency: table,
    treeBudget: rule,
    maxNewTokens: 24,
  });
  deepEqual(r.ids, await generate(tiny, prompt, { maxNewTokens: 24 }));
  deepEqual(r.stats.treeBudgets, rule.history.map((h) => h.budget));
  ok(rule.alpha > 0.7, `measured α ${rule.alpha.toFixed(3)}`);
  const chosen = rule.history.filter((h) => h.reason === "choice");
  ok(chosen.length > 0 && chosen.every((h) => h.budget > 0), JSON.stringify(rule.history));
});
