import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { mctsDraftPaths, trieTree, TrigramMatrix } from "../../lib/decoding/trigram_mcts.ts";
import {
  SPECULATIVE_METHODS,
  speculativeGenerate,
  type SpeculativeOptions,
} from "../../lib/decoding/speculative.ts";
import { samplingUniform } from "../../kernels/mod.ts";
import { generate } from "../../lib/models/mod.ts";
import { loadBrown, splitTrainTest } from "../../lib/data/mod.ts";
import {
  checkCacheAfterSteps,
  checkFirstTokenDistribution,
  checkGreedyIds,
  draft,
  PROMPTS,
  target,
} from "./_speculative_checks.ts";

const uniforms = (seed: number) => {
  let n = 0;
  return () => samplingUniform({ seed, row: 0, counter: n++ });
};

Deno.test("TrigramMatrix: counts per key, top-k pruning with renormalised probabilities, no tri-gram across streams", () => {
  // (1, 2) → 3 three times, → 4 twice, → 5 once; the second stream's first tri-gram is (2, 9, 9)
  const m = TrigramMatrix.fromTokens(
    [[1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 4, 1, 2, 4, 1, 2, 5], [2, 9, 9]],
    { vocabSize: 10, topK: 2 },
  );
  const s = m.successors(1, 2);
  deepEqual(Array.from(s.ids), [3, 4]);
  deepEqual(Array.from(s.probs), [3 / 5, 2 / 5]);
  // 5 … 2 9 would only exist if the streams were joined
  equal(m.successors(5, 2).ids.length, 0);
  deepEqual(Array.from(m.successors(2, 9).ids), [9]);
  equal(m.successors(0, 0).ids.length, 0);
  // keys: (1,2) (2,3) (3,1) (2,4) (4,1) (2,9)
  equal(m.size, 6);
  throws(() => TrigramMatrix.fromTokens([[1, 2, 10]], { vocabSize: 10 }), /token id 10/);
  throws(() => new TrigramMatrix({ vocabSize: 4, topK: 0 }), /topK/);
});

Deno.test("TrigramMatrix: adaptation adds counts to the pruned lists, clones adapt apart", () => {
  // corpus: (1, 2) → 3 twice, → 4 once; top-1 keeps 3 (count 2)
  const m = TrigramMatrix.fromTokens([[1, 2, 3, 1, 2, 3, 1, 2, 4]], { vocabSize: 8, topK: 1 });
  deepEqual(Array.from(m.successors(1, 2).ids), [3]);
  const c = m.clone();
  m.observe([1, 2, 5, 1, 2, 5, 1, 2, 5]); // (1, 2) → 5 three times: 5 (3) now beats 3 (2)
  deepEqual(Array.from(m.successors(1, 2).ids), [5]);
  deepEqual(Array.from(m.successors(2, 5).ids), [1]);
  equal(m.adapted, 7);
  deepEqual(Array.from(c.successors(1, 2).ids), [3], "the clone did not adapt");
  m.add(1, 2, 3, 2); // weight 2: 3 has 4 now
  deepEqual(Array.from(m.successors(1, 2).ids), [3]);
  const top2 = TrigramMatrix.fromTokens([[1, 2, 3, 1, 2, 3, 1, 2, 4]], { vocabSize: 8, topK: 2 });
  top2.add(1, 2, 4, 3); // 4: 1 + 3 = 4 vs 3: 2
  deepEqual(Array.from(top2.successors(1, 2).probs), [4 / 6, 2 / 6]);
  throws(() => m.add(1, 2, 3, 0), /weight must be > 0/);
});

Deno.test("mctsDraftPaths: a chain matrix, searched by hand (3 simulations, length 4)", () => {
  // (1,2)→3, (2,3)→4, (3,4)→1, (4,1)→2, each the only successor
  const m = TrigramMatrix.fromTokens([[1, 2, 3, 4, 1, 2]], { vocabSize: 5 });
  // sim 1 expands the root (child 3) and rolls out; sim 2 selects 3 and expands 4; sim 3
  // expands 4's child 1 and stops at length 4. Visits: root 3, [3] 3, [3 4] 2, [3 4 1] 1.
  // Top 3 by visits: [], [3], [3 4]; each non-root path gets its greedy next token.
  const paths = mctsDraftPaths(m, [1, 2], {
    simulations: 3,
    length: 4,
    paths: 3,
    uniform: uniforms(0),
  });
  deepEqual(paths, [[], [3, 4], [3, 4, 1]]);
  // an unseen state gives nothing to search
  deepEqual(mctsDraftPaths(m, [0, 0], { uniform: uniforms(0) }), [[]]);
});

Deno.test("mctsDraftPaths: the likelier branch gets the visits; the same seed gives the same paths", () => {
  // (1, 2) → 3 nine times, → 4 once; both continue deterministically
  const stream: number[] = [];
  for (let i = 0; i < 9; i++) stream.push(1, 2, 3, 7);
  stream.push(1, 2, 4, 6);
  const m = TrigramMatrix.fromTokens([stream], { vocabSize: 8 });
  const o = { simulations: 60, length: 5, paths: 4 };
  const a = mctsDraftPaths(m, [1, 2], { ...o, uniform: uniforms(3) });
  deepEqual(a[0], [], "the root is the most visited");
  equal(a[1][0], 3, `the 0.9 branch is visited most: ${JSON.stringify(a)}`);
  deepEqual(mctsDraftPaths(m, [1, 2], { ...o, uniform: uniforms(3) }), a);
  throws(() => mctsDraftPaths(m, [1, 2], { length: 0, uniform: uniforms(0) }), /length ≥ 1/);
  throws(() => mctsDraftPaths(m, [1, 2], { c2: 0, uniform: uniforms(0) }), /c2 > 0/);
});

Deno.test("trieTree: shared prefixes merge, nodes added in path order up to the budget and depth", () => {
  const paths = [[1, 2, 3], [1, 2, 4], [5], [1, 6]];
  const t = trieTree(0, paths);
  deepEqual(t.ids, [0, 1, 2, 3, 4, 5, 6]);
  deepEqual(t.parents, [-1, 0, 1, 2, 2, 0, 1]);
  deepEqual(trieTree(0, paths, { budget: 4 }).ids, [0, 1, 2, 3, 4]);
  deepEqual(trieTree(0, paths, { maxDepth: 1 }).ids, [0, 1, 5]);
  deepEqual(trieTree(0, [[], []]).ids, [0]);
});

const encode = (s: string) => Array.from(target.tokenizer!.encode(s));
// a small corpus of the models' own training text (training split of the tokenizer/model card)
const train = splitTrainTest(loadBrown(), { testFraction: 0.1, seed: 0 }).train.slice(0, 6);
const corpus = TrigramMatrix.fromTokens(train.map((d) => encode(d.text)), {
  vocabSize: target.config.vocabSize,
});

const CASES: [string, () => SpeculativeOptions][] = [
  ["aded, empty matrix (outputs only)", () => ({ method: "aded" })],
  ["aded, corpus matrix", () => ({ method: "aded", adedMatrix: corpus.clone() })],
  ["aded, corpus, frozen, budget 10", () => ({
    method: "aded",
    adedMatrix: corpus,
    adedAdapt: false,
    treeBudget: 10,
  })],
  ["aded, 40 simulations, 4 paths", () => ({
    method: "aded",
    adedMatrix: corpus.clone(),
    adedSimulations: 40,
    adedPaths: 4,
  })],
];

Deno.test("aded at temperature 0: ids equal plain greedy generate on both default models", async () => {
  ok(SPECULATIVE_METHODS.includes("aded"));
  const before = corpus.adapted;
  // one options object per case: its matrix adapts across the prompts, as in a session
  const once = (cases: typeof CASES) =>
    cases.map(([n, f]) => [n, f()] as [string, SpeculativeOptions]);
  await checkGreedyIds(target, { prompts: PROMPTS, cases: once(CASES), maxNewTokens: 32 });
  await checkGreedyIds(draft, {
    prompts: PROMPTS.slice(1, 4),
    cases: once(CASES.slice(0, 2)),
    maxNewTokens: 32,
  });
  equal(corpus.adapted, before, "adedAdapt false left the matrix alone");
});

Deno.test("aded: the matrix adapts, and a second pass over the same prompt accepts more", async () => {
  const m = corpus.clone();
  const first = await speculativeGenerate(target, PROMPTS[0], {
    method: "aded",
    adedMatrix: m,
    maxNewTokens: 30,
  });
  ok(m.adapted > 0, "the committed tokens were added");
  const again = await speculativeGenerate(target, PROMPTS[0], {
    method: "aded",
    adedMatrix: m,
    maxNewTokens: 30,
  });
  deepEqual(again.ids, first.ids);
  ok(
    again.stats.tau > first.stats.tau,
    `adapted τ ${again.stats.tau.toFixed(2)} > first ${first.stats.tau.toFixed(2)}`,
  );
  deepEqual(Object.keys(again.stats.bySource), ["trigram"]);
  // "copy": adapts a private copy: same run as a fresh clone adapted in place, matrix untouched
  const before = corpus.adapted;
  const copied = await speculativeGenerate(target, PROMPTS[0], {
    method: "aded",
    adedMatrix: corpus,
    adedAdapt: "copy",
    maxNewTokens: 30,
  });
  const inPlace = await speculativeGenerate(target, PROMPTS[0], {
    method: "aded",
    adedMatrix: corpus.clone(),
    maxNewTokens: 30,
  });
  equal(corpus.adapted, before);
  deepEqual(copied.stats.acceptedLengths, inPlace.stats.acceptedLengths);
  deepEqual(copied.stats.acceptedLengths, first.stats.acceptedLengths);
  // seeded: the same call gives the same trees
  const a = await speculativeGenerate(target, PROMPTS[1], {
    method: "aded",
    adedMatrix: corpus.clone(),
    seed: 5,
    maxNewTokens: 16,
  });
  const b = await speculativeGenerate(target, PROMPTS[1], {
    method: "aded",
    adedMatrix: corpus.clone(),
    seed: 5,
    maxNewTokens: 16,
  });
  deepEqual(a.stats.acceptedLengths, b.stats.acceptedLengths);
  equal(a.stats.draftedNodes, b.stats.draftedNodes);
});

Deno.test("aded: the cache after every step equals plain feeding (temperature 0 and 0.8)", async () => {
  for (
    const [name, o] of [
      ["aded", { method: "aded", adedMatrix: corpus.clone() }],
      ["aded at temperature 0.8", {
        method: "aded",
        adedMatrix: corpus.clone(),
        temperature: 0.8,
        topK: 20,
        seed: 3,
      }],
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

Deno.test("aded at temperature 1, top-k 12: the first new token follows the target (chi-square)", async () => {
  // a matrix holding the target's own greedy continuation: the first step drafts its argmax
  const prompt = PROMPTS[1];
  const m = TrigramMatrix.fromTokens([await generate(target, prompt, { maxNewTokens: 3 })], {
    vocabSize: target.config.vocabSize,
  });
  const rate = await checkFirstTokenDistribution(target, {
    prompt,
    options: { method: "aded", adedMatrix: m, adedAdapt: false, temperature: 1, topK: 12 },
    n: 400,
  });
  ok(rate > 0.02 && rate < 0.95, `both branches exercised: acceptance ${rate.toFixed(3)}`);
});

Deno.test("aded refuses bad options with clear messages", async () => {
  const bad: [Partial<SpeculativeOptions>, RegExp][] = [
    [{ adedMatrix: new TrigramMatrix({ vocabSize: 6 }) }, /tri-gram matrix has vocabulary 6/],
    // deno-lint-ignore no-explicit-any
    [{ adedMatrix: {} as any }, /adedMatrix must be a TrigramMatrix/],
    [{ adedAdaptWeight: 0 }, /adedAdaptWeight must be a positive number/],
    // deno-lint-ignore no-explicit-any
    [{ adedAdapt: "yes" as any }, /adedAdapt must be true, false or "copy"/],
    [{ adedSimulations: -1 }, /simulations ≥ 0/],
    [{ adedLength: 0 }, /length ≥ 1/],
    [{ adedPaths: 1.5 }, /paths ≥ 0/],
  ];
  for (const [o, re] of bad) {
    await rejects(() => speculativeGenerate(target, [1, 2], { method: "aded", ...o }), re);
  }
});
