import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { speculativeGenerate, type SpeculativeOptions } from "../../lib/decoding/speculative.ts";
import { AdjacencyTable } from "../../lib/decoding/adjacency.ts";
import { samplingProbabilities } from "../../kernels/mod.ts";
import { generate } from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { chiSquare } from "./_chi_square.ts";
import {
  checkCacheAfterSteps,
  checkFirstTokenDistribution,
  checkGreedyIds,
  checkThreeTokensExact,
  draft,
  PROMPTS as ALL_PROMPTS,
  target,
  tinyVocabModel,
} from "./_speculative_checks.ts";
import { gpuTest } from "../gpu/_child.ts";

// Brown-like continuations, then repetition-heavy text: a list and a license clause
const PROMPTS = ALL_PROMPTS.slice(0, 4);

const METHODS: [string, SpeculativeOptions][] = [
  ["pld", { method: "pld" }],
  ["pld, 3 tokens, unigrams only", { method: "pld", treeBudget: 3, maxNgram: 1 }],
  ["token-recycling", { method: "token-recycling" }],
  ["token-recycling, 60-node tree", { method: "token-recycling", treeBudget: 60 }],
  ["draft-chain γ 4", { method: "draft-chain", draft }],
  ["draft-chain γ 1", { method: "draft-chain", draft, gamma: 1 }],
];

Deno.test("temperature 0: every method's ids equal plain greedy generate, token for token", async () => {
  await checkGreedyIds(target, { prompts: PROMPTS, cases: METHODS, maxNewTokens: 40 });
});

Deno.test("temperature 0: pld accepts a lot on repetitive text; hot-start Token Recycling; stop ids", async () => {
  const rep = PROMPTS[2];
  const pld = await speculativeGenerate(target, rep, { method: "pld", maxNewTokens: 40 });
  ok(pld.stats.tau > 1.5, `pld on a repeated list: τ ${pld.stats.tau}`);
  ok(pld.stats.acceptedByDepth.length >= 3, "pld accepted chains of 3 or more");
  // one table across prompts (hot start): still lossless, and it has learnt before prompt 2
  const table = new AdjacencyTable({ vocabSize: target.config.vocabSize });
  for (const p of PROMPTS) {
    const before = table.updates;
    const r = await speculativeGenerate(target, p, {
      method: "token-recycling",
      adjacency: table,
      maxNewTokens: 24,
    });
    deepEqual(r.ids, await generate(target, p, { maxNewTokens: 24 }));
    ok(table.updates > before);
  }
  // a stop id ends both the same way (included)
  const plain = await generate(target, PROMPTS[0], { maxNewTokens: 30 });
  const stopId = plain[PROMPTS[0].length + 6];
  const want = await generate(target, PROMPTS[0], { maxNewTokens: 30, stop: [stopId] });
  for (const [name, o] of METHODS) {
    const r = await speculativeGenerate(target, PROMPTS[0], {
      ...o,
      maxNewTokens: 30,
      stop: [stopId],
    });
    deepEqual(r.ids, want, name);
  }
});

Deno.test("after every step the target's cache equals feeding the committed tokens plainly", async () => {
  const cases: [string, SpeculativeOptions][] = [
    ...METHODS.filter(([n]) => !n.includes("60")),
    ["draft-chain at temperature 1", { method: "draft-chain", draft, temperature: 1, seed: 4 }],
    ["token-recycling at temperature 0.8", {
      method: "token-recycling",
      temperature: 0.8,
      topK: 20,
      seed: 2,
    }],
  ];
  for (const [name, o] of cases) {
    const { accepted } = await checkCacheAfterSteps(target, {
      prompt: PROMPTS[3],
      options: { ...o, maxNewTokens: 14 },
      name,
    });
    if (!name.includes("temperature")) ok(accepted > 0, `${name}: some drafts accepted`);
  }
});

Deno.test("draft-chain with the target as its own draft accepts every draft (the draft cache stays exact)", async () => {
  for (const temperature of [0, 1]) {
    const r = await speculativeGenerate(target, PROMPTS[1], {
      method: "draft-chain",
      draft: target,
      gamma: 3,
      temperature,
      seed: 7,
      maxNewTokens: 21,
    });
    // the first step verifies 3 drafts below the prompt; every later one 3 more below the pending token
    deepEqual(r.stats.acceptedLengths, [4, 4, 4, 4, 4, 1], `temperature ${temperature}`);
    equal(r.stats.acceptedDrafts, r.stats.draftedNodes);
  }
});

Deno.test("draft-chain at temperature 1, top-k 12: the first new token follows the target (chi-square)", async () => {
  const rate = await checkFirstTokenDistribution(target, {
    prompt: PROMPTS[1],
    options: { method: "draft-chain", draft, gamma: 1, temperature: 1, topK: 12 },
    n: 800,
  });
  ok(rate > 0.05 && rate < 0.95, `both branches exercised: acceptance ${rate.toFixed(2)}`);
});

Deno.test("vocabulary of 6, temperature 1: three-token outputs follow the exactly enumerated distribution", async () => {
  const t = tinyVocabModel(1), d = tinyVocabModel(2), V = 6, prompt = [0, 3, 1, 0, 3];
  const sampling = { temperature: 1 };
  const cases: [string, SpeculativeOptions][] = [
    ["draft-chain γ 3 (sampled drafts)", { method: "draft-chain", draft: d, gamma: 3 }],
    // deterministic siblings: the adjacency tree puts several candidates under one node
    ["token-recycling (deterministic tree)", {
      method: "token-recycling",
      treeBudget: 6,
      adjacencyK: 3,
    }],
  ];
  const n = 5000;
  for (const [name, o] of cases) {
    const { rate, counts } = await checkThreeTokensExact(t, {
      options: { ...o, ...sampling },
      n,
      name,
    });
    ok(
      rate > 0.05 && rate < 0.95,
      `${name}: acceptance ${rate.toFixed(2)}, both branches exercised`,
    );
    if (o.method === "draft-chain") {
      // the same harness rejects the draft's own distribution, so it can tell them apart
      const dz = await d.logits(prompt);
      const q1 = samplingProbabilities(
        { data: dz.subarray(dz.length - V), shape: [1, V] },
        sampling,
      );
      const first = new Float64Array(V);
      counts.forEach((k, i) => first[Math.floor(i / (V * V))] += k);
      const vsDraft = chiSquare(first, q1);
      ok(vsDraft.chi > vsDraft.critical, `draft ≠ target here: chi ${vsDraft.chi.toFixed(1)}`);
    }
  }
});

Deno.test("speculativeGenerate refuses unknown, unimplemented and ill-configured methods", async () => {
  await rejects(
    () => speculativeGenerate(target, [1, 2], { method: "skipdecode" }),
    /not trained with SkipDecode's schedule/,
  );
  await rejects(
    // deno-lint-ignore no-explicit-any
    () => speculativeGenerate(target, [1, 2], { method: "medusa" as any }),
    /unknown method "medusa"/,
  );
  await rejects(
    () => speculativeGenerate(target, [1, 2], { method: "draft-chain" }),
    /needs a draft model/,
  );
  await rejects(
    () => speculativeGenerate(target, [1, 2], { method: "draft-chain", draft: tinyVocabModel(1) }),
    /vocabulary \(6\) differs/,
  );
  await rejects(() => speculativeGenerate(target, [], { method: "pld" }), TokenlabError);
  await rejects(
    () => speculativeGenerate(target, [1], { method: "pld", temperature: -1 }),
    /temperature/,
  );
  const none = await speculativeGenerate(target, [1, 2], { method: "pld", maxNewTokens: 0 });
  deepEqual(none.ids, [1, 2]);
  equal(none.stats.targetCalls, 0);
});

gpuTest(
  "gpu backend: tree verification rows and greedy speculative ids equal plain decoding's",
  "tests/decoding/_speculative_child.ts",
  [
    { name: "tiny-target tree rows = single-row rows, bit for bit", kind: "rows" },
    { name: "pld ids = generate", kind: "ids", method: "pld" },
    { name: "token-recycling ids = generate", kind: "ids", method: "token-recycling" },
    { name: "draft-chain ids = generate", kind: "ids", method: "draft-chain" },
    { name: "goose ids = generate", kind: "ids", method: "goose" },
    { name: "aded ids = generate", kind: "ids", method: "aded" },
    { name: "dyspec ids = generate", kind: "ids", method: "dyspec" },
    { name: "spectr ids = generate", kind: "ids", method: "spectr" },
  ],
);
