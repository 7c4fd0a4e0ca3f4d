// Lossless-decoding checks shared by the DySpec and SpecTr tests: greedy ids against plain
// generate, the first new token's distribution against the target's (chi-square), three-token
// outputs of a vocabulary-6 model against the exactly enumerated distribution, and the target's
// cache after every step against plain feeding.
import { deepEqual, ok } from "node:assert/strict";
import { speculativeGenerate, type SpeculativeOptions } from "../../lib/decoding/speculative.ts";
import { samplingProbabilities } from "../../kernels/mod.ts";
import {
  bundledModelPath,
  generate,
  loadModel,
  type Model,
  parseConfig,
  TinyLM,
} from "../../lib/models/mod.ts";
import { chiSquare } from "./_chi_square.ts";
import { sameCache, snapshotCache } from "./_cache_check.ts";

export const target = await loadModel(bundledModelPath("tiny-target"));
export const draft = await loadModel(bundledModelPath("tiny-draft"));
const encode = (s: string) => Array.from(target.tokenizer!.encode(s));
export const PROMPTS = [
  "The Fulton County Grand Jury said Friday an investigation of recent primary election",
  "She looked at him for a long moment, and then she",
  "1. apples 2. pears 3. plums 4. apples 5. pears 6. plums 7. apples 8.",
  "THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY KIND. THE SOFTWARE IS PROVIDED",
].map(encode);

type Opts = Omit<SpeculativeOptions, "maxNewTokens">;

/** Greedy ids equal plain generate's on every prompt; returns the total draft calls. */
export async function greedyEqualsGenerate(o: Opts, max = 32): Promise<number> {
  let calls = 0;
  for (let i = 0; i < PROMPTS.length; i++) {
    const plain = await generate(target, PROMPTS[i], { maxNewTokens: max });
    const r = await speculativeGenerate(target, PROMPTS[i], { ...o, maxNewTokens: max });
    deepEqual(r.ids, plain, `${o.method}, prompt ${i}`);
    calls += r.stats.draftCalls;
  }
  return calls;
}

/** The first new token over `n` seeds follows the target's sampling distribution. */
export async function firstTokenChiSquare(o: Opts, n: number): Promise<number> {
  const prompt = PROMPTS[1];
  const sampling = { temperature: o.temperature ?? 1, topK: o.topK };
  const logits = await target.logits(prompt);
  const V = target.config.vocabSize;
  const p = samplingProbabilities(
    { data: logits.subarray(logits.length - V), shape: [1, V] },
    sampling,
  );
  const counts = new Float64Array(V);
  let drafted = 0, accepted = 0;
  for (let seed = 0; seed < n; seed++) {
    const r = await speculativeGenerate(target, prompt, { ...o, maxNewTokens: 2, seed });
    counts[r.ids[prompt.length]]++;
    drafted += r.stats.draftedNodes;
    accepted += r.stats.acceptedDrafts;
  }
  const { chi, critical } = chiSquare(counts, p);
  ok(chi < critical, `${o.method}: chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)}`);
  return accepted / drafted;
}

/** A vocabulary-6 Llama with peaked random weights. */
export function tinyVocabModel(seed: number): Model {
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

/** Exact P(x1, x2, x3) of a model's own sampling, by plain forwards of every prefix. */
export async function exactThreeTokens(t: Model, prompt: number[], temperature: number) {
  const V = t.config.vocabSize;
  const probs = async (ids: number[]) => {
    const z = await t.logits(ids);
    return samplingProbabilities({ data: z.subarray(z.length - V), shape: [1, V] }, {
      temperature,
    });
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

/**
 * Three-token outputs of the vocabulary-6 target (seed 1) with the vocabulary-6 draft (seed 2)
 * follow the exact distribution over `n` seeds; returns the acceptance rate of drafts.
 */
export async function threeTokensExact(o: Omit<Opts, "draft">, n: number): Promise<number> {
  const t = tinyVocabModel(1), d = tinyVocabModel(2), V = 6, prompt = [0, 3, 1, 0, 3];
  const temperature = o.temperature ?? 1;
  const exact = await exactThreeTokens(t, prompt, temperature);
  const counts = new Float64Array(V ** 3);
  let drafted = 0, accepted = 0;
  for (let seed = 0; seed < n; seed++) {
    const r = await speculativeGenerate(t, prompt, { ...o, draft: d, maxNewTokens: 3, seed });
    const [a, b, c] = r.ids.slice(prompt.length);
    counts[(a * V + b) * V + c]++;
    drafted += r.stats.draftedNodes;
    accepted += r.stats.acceptedDrafts;
  }
  const { chi, critical, df } = chiSquare(counts, exact);
  ok(
    chi < critical,
    `${o.method}: chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`,
  );
  return accepted / drafted;
}

/** After every step the target's cache equals feeding the committed tokens plainly. */
export async function cacheMatchesPlain(o: Opts): Promise<number> {
  let steps = 0;
  const checks: Promise<void>[] = [];
  await speculativeGenerate(target, PROMPTS[3], {
    ...o,
    maxNewTokens: 14,
    onStep: ({ ids, cache }) => {
      steps++;
      const snapshot = snapshotCache(target, cache);
      const at = steps;
      checks.push((async () => {
        const plain = target.newCache();
        await target.forward(ids.slice(0, -1), plain);
        sameCache(snapshot, plain, `${o.method}, step ${at}`);
      })());
    },
  });
  await Promise.all(checks);
  return steps;
}
