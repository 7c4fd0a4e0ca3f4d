import { deepEqual, equal, notEqual, ok, rejects, throws } from "node:assert/strict";
import {
  autoTreeBudget,
  chooseTreeBudget,
  measureTreeLatency,
  type TreeLatencyCurve,
} from "../../lib/decoding/tree_budget.ts";
import { optimalSparseTree } from "../../lib/decoding/sparse_tree.ts";
import { speculativeGenerate } from "../../lib/decoding/speculative.ts";
import { generate, loadModel } from "../../lib/models/mod.ts";
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
  // after the first step the fed tree is the template: the root and `budget` nodes
  // (fewer only near the end, where depth is capped)
  equal(sizes[1], budget + 1);
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
