import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  analyzeDivergence,
  confidenceRouterCurve,
  type DivergenceModel,
  type DivergencePosition,
  fitRouter,
  predictionDiffs,
  resynchronized,
  routedGenerate,
  routerFeatures,
  routerProbability,
} from "../../lib/decoding/divergence.ts";
import { bundledModelPath, generate, KvCache, loadModel } from "../../lib/models/mod.ts";

/**
 * A hand-made "model": the logits after token x put `peak` on next[x] (and `second` on
 * alt[x] when given), whatever came before. Its KV cache records the fed tokens, and every
 * forward checks that the cache is a contiguous prefix (as truncation must leave it).
 */
class TableModel implements DivergenceModel {
  readonly config: { vocabSize: number };
  calls = 0;
  constructor(readonly next: number[], readonly peak: number[] = [], readonly alt: number[] = []) {
    this.config = { vocabSize: next.length };
  }
  newCache(): KvCache {
    return new KvCache({ numLayers: 1, kvHeads: 1, headDim: 1 });
  }
  forward(ids: number[], cache: KvCache): Promise<Float32Array> {
    this.calls++;
    const V = this.config.vocabSize, n = cache.length(0);
    if (cache.nextPosition !== n || cache.positions[0].some((p, i) => p !== i)) {
      throw new Error(
        `cache is not a contiguous prefix: ${cache.positions[0]} next ${cache.nextPosition}`,
      );
    }
    const positions = ids.map((_, i) => n + i);
    cache.appendRows(0, { k: Float32Array.from(ids), v: Float32Array.from(ids), positions });
    cache.nextPosition += ids.length;
    const out = new Float32Array(ids.length * V);
    ids.forEach((x, i) => {
      out[i * V + this.next[x]] = this.peak[x] ?? 5;
      if (this.alt[x] !== undefined) out[i * V + this.alt[x]] = (this.peak[x] ?? 5) - 0.5;
    });
    return Promise.resolve(out);
  }
}

// target: two 4-cycles, 0→1→2→3→0 and 4→5→6→7→4; token 8 joins the first cycle at 2
const targetNext = [1, 2, 3, 0, 5, 6, 7, 4, 2];
// draft: agrees after 0 and 3; after 1 it says 8 (the target then comes back to its cycle one
// token late: neutral); after 2 it says 4 (the target then stays in the other cycle: divergent)
const draftNext = [1, 8, 4, 0, 5, 6, 7, 4, 2];

Deno.test("predictionDiffs: hand-made logits — argmax (lowest id on ties), confidence, entropy, margin, p of the target's token", () => {
  const draft = new Float32Array([0, Math.log(3), 0, /**/ 1, 1, 0]);
  const target = new Float32Array([5, 0, 0, /**/ 0, 0, 2]);
  const d = predictionDiffs({ draft, target }, { vocabSize: 3, firstPosition: 4 });
  equal(d.length, 2);
  deepEqual([d[0].position, d[0].draft, d[0].target, d[0].differs], [4, 1, 0, true]);
  ok(Math.abs(d[0].draftConfidence - 0.6) < 1e-7); // 3 / (1 + 3 + 1)
  ok(Math.abs(d[0].draftMargin - 0.4) < 1e-7);
  ok(Math.abs(d[0].draftProbOfTarget - 0.2) < 1e-7);
  const H = -(0.2 * Math.log(0.2) * 2 + 0.6 * Math.log(0.6));
  ok(Math.abs(d[0].draftEntropy - H) < 1e-7);
  // a tie between ids 0 and 1 goes to 0; the target says 2
  deepEqual([d[1].draft, d[1].target, d[1].differs], [0, 2, true]);
  ok(Math.abs(d[1].draftMargin) < 1e-7);
  const same = predictionDiffs({ draft: target, target }, { vocabSize: 3 });
  deepEqual(same.map((x) => x.differs), [false, false]);
  throws(
    () => predictionDiffs({ draft, target: target.subarray(1) }, { vocabSize: 3 }),
    /same whole number/,
  );
});

Deno.test("resynchronized: shared tails, shifts within maxShift, no match otherwise", () => {
  ok(resynchronized([1, 2, 3, 4, 5, 6], [9, 2, 3, 4, 5, 6]));
  ok(resynchronized([1, 2, 3, 4, 5, 6, 0], [7, 7, 3, 4, 5, 6, 0, 0], { maxShift: 1 }));
  ok(!resynchronized([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 7])); // differs at the end
  ok(!resynchronized([1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 1, 2, 3, 4, 5], { maxShift: 2 })); // shift 3
  ok(resynchronized([1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], { maxShift: 3 }));
  ok(resynchronized([5, 6], [5, 6], { syncTokens: 2 }));
  ok(!resynchronized([5, 6], [5, 6], { syncTokens: 3 })); // too short to tell
  throws(() => resynchronized([1], [1], { syncTokens: 0 }), /syncTokens/);
});

Deno.test("analyzeDivergence: known identical, neutral and divergent positions of a hand-made pair", async () => {
  const target = new TableModel(targetNext), draft = new TableModel(draftNext);
  // the target's own greedy path from [0]: 0 1 2 3 0 1 2 3 …
  const ids = Array.from({ length: 30 }, (_, i) => i % 4);
  const a = await analyzeDivergence(target, {
    draft,
    ids,
    from: 1,
    horizon: 6,
    syncTokens: 3,
    maxShift: 2,
  });
  equal(a.positions.length, 29);
  for (const p of a.positions) {
    const prev = ids[p.position - 1];
    const want = prev === 1 ? "neutral" : prev === 2 ? "divergent" : "identical";
    equal(p.kind, want, `position ${p.position} after token ${prev}`);
    if (p.kind !== "identical") {
      // the target's continuations, as the table says
      deepEqual(p.draftPath!.slice(0, 4), prev === 1 ? [8, 2, 3, 0] : [4, 5, 6, 7]);
      deepEqual(p.targetPath!.slice(0, 3), [prev + 1, (prev + 2) % 4, (prev + 3) % 4]);
    }
  }
  deepEqual(a.counts, { identical: 15, neutral: 7, divergent: 7 });
  // the continuation after the target's token is read from ids where it can be (no recompute):
  // 14 draft branches of 8 passes; 4 near the end need the target branch as well
  equal(
    a.targetCalls,
    1 + 14 * 8 + a.positions.filter((p) => p.differs && p.position + 8 >= 30).length * 8,
  );
  // positions 1..9 only (to is exclusive); the tokens after still serve as the target's path
  const head = await analyzeDivergence(target, {
    draft,
    ids,
    from: 1,
    to: 10,
    horizon: 6,
    syncTokens: 3,
  });
  deepEqual(head.counts, { identical: 5, neutral: 2, divergent: 2 });
  equal(head.targetCalls, 1 + 4 * 8);
  await rejects(analyzeDivergence(target, { draft, ids, from: 5, to: 4 }), /to must be/);
  // without the shift allowance, the neutral case (one token late) is divergent
  const strict = await analyzeDivergence(target, {
    draft,
    ids,
    from: 1,
    horizon: 6,
    syncTokens: 3,
    maxShift: 0,
  });
  deepEqual(strict.counts, { identical: 15, neutral: 0, divergent: 14 });
});

Deno.test("analyzeDivergence: text that is not the target's path — the target's own continuation is computed", async () => {
  const target = new TableModel(targetNext), draft = new TableModel(draftNext);
  const ids = [0, 5, 1, 7, 2, 2, 6, 8, 1];
  const a = await analyzeDivergence(target, {
    draft,
    ids,
    from: 2,
    horizon: 5,
    syncTokens: 3,
    maxShift: 1,
  });
  // position q predicts ids[q] from ids[q-1]: after 5 → same (6); after 1 → 2 vs 8: neutral;
  // after 7 → same; after 2 → 3 vs 4: divergent (twice); after 6 → same; after 8 → same
  deepEqual(a.positions.map((p) => p.kind), [
    "identical",
    "neutral",
    "identical",
    "divergent",
    "divergent",
    "identical",
    "identical",
  ]);
  for (const p of a.positions.filter((x) => x.differs)) {
    equal(p.targetPath![0], targetNext[ids[p.position - 1]]);
    equal(p.targetPath!.length, 5 + 1 + 1);
  }
  await rejects(analyzeDivergence(target, { draft: new TableModel([0, 1]), ids }), /vocabulary/);
  await rejects(analyzeDivergence(target, { draft, ids, from: 0 }), /from/);
});

Deno.test("confidenceRouterCurve and fitRouter on hand-made positions", () => {
  const p = (c: number, kind: DivergencePosition["kind"]) =>
    ({ draftConfidence: c, kind, differs: kind !== "identical" }) as DivergencePosition;
  const pos = [
    p(0.9, "identical"),
    p(0.8, "identical"),
    p(0.6, "neutral"),
    p(0.3, "divergent"),
    p(0.1, "divergent"),
  ];
  const [c0, c1, c2] = confidenceRouterCurve(pos, { thresholds: [0, 0.5, 1] });
  deepEqual(c0, {
    threshold: 0,
    routed: 0,
    divergentCaught: 0,
    divergentMissed: 0.4,
    differingKept: 0.6,
  });
  deepEqual(c1, {
    threshold: 0.5,
    routed: 0.4,
    divergentCaught: 1,
    divergentMissed: 0,
    differingKept: 0.2,
  });
  equal(c2.routed, 1);
  // a separable problem: low confidence ⇒ divergent
  const features = [[0.9], [0.85], [0.7], [0.65], [0.3], [0.2], [0.1]];
  const labels = [false, false, false, false, true, true, true];
  const r = fitRouter({ features, labels });
  features.forEach((f, i) => equal(routerProbability(r, f) > 0.5, labels[i], `sample ${i}`));
  ok(r.weights[0] < 0, "higher confidence must lower the probability of routing");
  throws(() => fitRouter({ features: [[1]], labels: [] }), /one length/);
  const f = routerFeatures(new Float32Array([0, 0]));
  ok(Math.abs(f[0] - 0.5) < 1e-12 && Math.abs(f[1] - Math.LN2) < 1e-12 && Math.abs(f[2]) < 1e-12);
});

Deno.test("routedGenerate: all-target is the target's greedy path, all-draft the draft's, mixed follows the router", async () => {
  const target = new TableModel(targetNext, [], [3, 3, 3, 3, 3, 3, 3, 3, 3]);
  const draft = new TableModel(draftNext, [9, 1, 9, 9, 9, 9, 9, 9, 9]); // unsure only after token 1
  const all = await routedGenerate(target, {
    draft,
    prompt: [0],
    maxNewTokens: 8,
    route: () => true,
  });
  deepEqual(all.ids, [0, 1, 2, 3, 0, 1, 2, 3, 0]);
  equal(all.targetCalls, 8);
  const none = await routedGenerate(target, {
    draft,
    prompt: [0],
    maxNewTokens: 8,
    route: () => false,
  });
  deepEqual(none.ids, [0, 1, 8, 2, 4, 5, 6, 7, 4]); // 8 joins the cycle at 2, then the draft goes astray
  equal(none.targetCalls, 0);
  // route when the draft is unsure (after token 1): the target fixes that step only
  const conf = (row: Float32Array) => Math.max(...row) < 5;
  const mixed = await routedGenerate(target, { draft, prompt: [0], maxNewTokens: 8, route: conf });
  deepEqual(mixed.ids, [0, 1, 2, 4, 5, 6, 7, 4, 5]);
  deepEqual(mixed.fromTarget, [false, true, false, false, false, false, false, false]);
  equal(mixed.targetCalls, 1);
});

Deno.test("analyzeDivergence on tiny-draft / tiny-target: continuations equal plain greedy generation from the prefix", async () => {
  const target = await loadModel(bundledModelPath("tiny-target"));
  const draft = await loadModel(bundledModelPath("tiny-draft"));
  const prompt = Array.from(target.tokenizer!.encode("The county officials said that the new"));
  const ids = await generate(target, prompt, { maxNewTokens: 10 });
  const a = await analyzeDivergence(target, {
    draft,
    ids,
    from: prompt.length,
    horizon: 3,
    maxShift: 1,
  });
  equal(a.positions.length, ids.length - prompt.length);
  const differing = a.positions.filter((p) => p.differs);
  for (const p of differing.slice(0, 3)) {
    const prefix = ids.slice(0, p.position);
    deepEqual(
      p.draftPath,
      (await generate(target, [...prefix, p.draft], { maxNewTokens: 4 })).slice(prefix.length),
    );
    deepEqual(
      p.targetPath,
      (await generate(target, [...prefix, p.target], { maxNewTokens: 4 })).slice(prefix.length),
    );
  }
  // on the target's own path, its prediction is the next id
  for (const p of a.positions) equal(p.target, ids[p.position]);
  // the all-target router reproduces generate
  const r = await routedGenerate(target, { draft, prompt, maxNewTokens: 10, route: () => true });
  deepEqual(r.ids, ids);
});
