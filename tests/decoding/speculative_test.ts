import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { speculativeGenerate, type SpeculativeOptions } from "../../lib/decoding/speculative.ts";
import { AdjacencyTable } from "../../lib/decoding/adjacency.ts";
import { samplingProbabilities } from "../../kernels/mod.ts";
import {
  bundledModelPath,
  generate,
  type KvCache,
  loadModel,
  type Model,
  parseConfig,
  TinyLM,
} from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { chiSquare } from "./_chi_square.ts";
import { gpuTest } from "../gpu/_child.ts";

const target = await loadModel(bundledModelPath("tiny-target"));
const draft = await loadModel(bundledModelPath("tiny-draft"));
const encode = (s: string) => Array.from(target.tokenizer!.encode(s));
const PROMPTS = [
  // Brown-like continuations
  "The Fulton County Grand Jury said Friday an investigation of recent primary election",
  "She looked at him for a long moment, and then she",
  // repetition-heavy: a list and a license clause
  "1. apples 2. pears 3. plums 4. apples 5. pears 6. plums 7. apples 8.",
  "THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY KIND. THE SOFTWARE IS PROVIDED",
].map(encode);

const METHODS: [string, Partial<SpeculativeOptions>][] = [
  ["pld", { method: "pld" }],
  ["pld, 3 tokens, unigrams only", { method: "pld", treeBudget: 3, maxNgram: 1 }],
  ["token-recycling", { method: "token-recycling" }],
  ["token-recycling, 60-node tree", { method: "token-recycling", treeBudget: 60 }],
  ["draft-chain γ 4", { method: "draft-chain", draft }],
  ["draft-chain γ 1", { method: "draft-chain", draft, gamma: 1 }],
];

Deno.test("temperature 0: every method's ids equal plain greedy generate, token for token", async () => {
  const max = 40;
  const plain = await Promise.all(PROMPTS.map((p) => generate(target, p, { maxNewTokens: max })));
  for (const [name, o] of METHODS) {
    for (let i = 0; i < PROMPTS.length; i++) {
      const r = await speculativeGenerate(target, PROMPTS[i], {
        ...o,
        method: o.method!,
        maxNewTokens: max,
      });
      deepEqual(r.ids, plain[i], `${name}, prompt ${i}`);
      const s = r.stats;
      equal(s.newTokens, max);
      equal(s.targetCalls, 1 + s.acceptedLengths.length, `${name}: prefill + one call per step`);
      ok(
        s.acceptedLengths.reduce((a, b) => a + b, 0) >= max - 1,
        `${name}: steps cover the output`,
      );
      equal(s.tau, s.newTokens / s.targetCalls);
      equal(s.acceptedDrafts, s.acceptedByDepth.reduce((a, b) => a + b, 0));
    }
  }
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
      method: o.method!,
      maxNewTokens: 30,
      stop: [stopId],
    });
    deepEqual(r.ids, want, name);
  }
});

function sameCache(got: KvCache, want: KvCache, what: string): void {
  equal(got.nextPosition, want.nextPosition, `${what}: nextPosition`);
  for (let l = 0; l < got.numLayers; l++) {
    deepEqual(got.positions[l], want.positions[l], `${what}: layer ${l} positions`);
    deepEqual(got.keyRows(l), want.keyRows(l), `${what}: layer ${l} keys`);
    deepEqual(got.valueRows(l), want.valueRows(l), `${what}: layer ${l} values`);
  }
}

Deno.test("after every step the target's cache equals feeding the committed tokens plainly", async () => {
  const cases: [string, Partial<SpeculativeOptions>][] = [
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
    let steps = 0, accepted = 0;
    const checks: Promise<void>[] = [];
    await speculativeGenerate(target, PROMPTS[3], {
      ...o,
      method: o.method!,
      maxNewTokens: 14,
      onStep: ({ ids, cache, walk }) => {
        steps++;
        accepted += walk.accepted;
        // compare now: the cache is edited again at the next step
        const snapshot = snapshotCache(cache);
        checks.push((async () => {
          const plain = target.newCache();
          await target.forward(ids.slice(0, -1), plain);
          sameCache(snapshot, plain, `${name}, step ${steps}`);
        })());
      },
    });
    await Promise.all(checks);
    ok(steps > 1, name);
    if (!name.includes("temperature")) ok(accepted > 0, `${name}: some drafts accepted`);
  }
});

/** A copy of a cache's rows, positions and next position. */
function snapshotCache(c: KvCache): KvCache {
  const copy = target.newCache();
  for (let l = 0; l < c.numLayers; l++) {
    copy.appendRows(l, {
      k: c.keyRows(l).slice(),
      v: c.valueRows(l).slice(),
      positions: [...c.positions[l]],
    });
  }
  copy.nextPosition = c.nextPosition;
  return copy;
}

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
  const prompt = PROMPTS[1];
  const sampling = { temperature: 1, topK: 12 };
  const logits = await target.logits(prompt);
  const V = target.config.vocabSize;
  const p = samplingProbabilities(
    { data: logits.subarray(logits.length - V), shape: [1, V] },
    sampling,
  );
  const n = 800, counts = new Float64Array(V);
  let drafted = 0, accepted = 0;
  for (let seed = 0; seed < n; seed++) {
    const r = await speculativeGenerate(target, prompt, {
      method: "draft-chain",
      draft,
      gamma: 1,
      maxNewTokens: 2,
      seed,
      ...sampling,
    });
    counts[r.ids[prompt.length]]++;
    drafted += r.stats.draftedNodes;
    accepted += r.stats.acceptedDrafts;
  }
  const { chi, critical } = chiSquare(counts, p);
  ok(chi < critical, `chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)}`);
  const rate = accepted / drafted;
  ok(rate > 0.05 && rate < 0.95, `both branches exercised: acceptance ${rate.toFixed(2)}`);
});

/** A vocabulary-6 Llama with peaked random weights. */
function tinyVocabModel(seed: number): Model {
  const config = parseConfig({
    model_type: "llama",
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 32,
    vocab_size: 6,
    tie_word_embeddings: true,
  });
  return new TinyLM(config, { seed, initStd: 0.6 }).toModel();
}

/** Exact P(x1, x2, x3) of the target's own sampling, by plain forwards of every prefix. */
async function exactThreeTokens(t: Model, prompt: number[], sampling: { temperature: number }) {
  const V = t.config.vocabSize;
  const probs = async (ids: number[]) => {
    const z = await t.logits(ids);
    return samplingProbabilities({ data: z.subarray(z.length - V), shape: [1, V] }, sampling);
  };
  const exact = new Float64Array(V ** 3);
  const p1 = await probs(prompt);
  for (let a = 0; a < V; a++) {
    const p2 = await probs([...prompt, a]);
    for (let b = 0; b < V; b++) {
      const p3 = await probs([...prompt, a, b]);
      for (let c = 0; c < V; c++) exact[(a * V + b) * V + c] = p1[a] * p2[b] * p3[c];
    }
  }
  return exact;
}

Deno.test("vocabulary of 6, temperature 1: three-token outputs follow the exactly enumerated distribution", async () => {
  const t = tinyVocabModel(1), d = tinyVocabModel(2), V = 6, prompt = [0, 3, 1, 0, 3];
  const sampling = { temperature: 1 };
  const exact = await exactThreeTokens(t, prompt, sampling);
  const cases: [string, Partial<SpeculativeOptions>][] = [
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
    const counts = new Float64Array(V ** 3);
    let drafted = 0, accepted = 0;
    for (let seed = 0; seed < n; seed++) {
      const r = await speculativeGenerate(t, prompt, {
        ...o,
        method: o.method!,
        maxNewTokens: 3,
        seed,
        ...sampling,
      });
      const [a, b, c] = r.ids.slice(prompt.length);
      counts[(a * V + b) * V + c]++;
      drafted += r.stats.draftedNodes;
      accepted += r.stats.acceptedDrafts;
    }
    const { chi, critical, df } = chiSquare(counts, exact);
    ok(chi < critical, `${name}: chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
    const rate = accepted / drafted;
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
