// One reference per check for the speculative-decoding tests (Token Recycling, PLD,
// draft-chain, Goose, ADED, DySpec, SpecTr, DEL): greedy ids against plain `generate` with the
// statistics' bookkeeping, the target's cache after every step against plain feeding, the first
// new token's distribution against the target's (chi-square), and three-token outputs of a
// vocabulary-6 model against the exactly enumerated distribution; plus the default models and
// the prompts these tests share.
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  speculativeGenerate,
  type SpeculativeOptions,
  type SpeculativeResult,
} from "../../lib/decoding/speculative.ts";
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
import { chiSquare } from "./_chi_square.ts";

export const target: Model = await loadModel(bundledModelPath("tiny-target"));
export const draft: Model = await loadModel(bundledModelPath("tiny-draft"));
const encode = (s: string) => Array.from(target.tokenizer!.encode(s));
/** The shared prompts, encoded with tiny-target's tokenizer. */
export const PROMPTS: number[][] = [
  // Brown-like continuations
  "The Fulton County Grand Jury said Friday an investigation of recent primary election",
  "She looked at him for a long moment, and then she",
  // repetition-heavy: a list and a license clause
  "1. apples 2. pears 3. plums 4. apples 5. pears 6. plums 7. apples 8.",
  "THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY KIND. THE SOFTWARE IS PROVIDED",
  // code
  "for (let i = 0; i < n; i++) { sum += x[i]; } for (let i = 0; i < n; i++) {",
].map(encode);

type Opts = Omit<SpeculativeOptions, "maxNewTokens">;

/**
 * A named case: options shared by every prompt's run (a table or matrix in them carries over),
 * or a function called for each run (fresh state per run).
 */
export type SpeculativeCase = [
  name: string,
  options: SpeculativeOptions | (() => SpeculativeOptions),
];

/** One run of {@linkcode checkGreedyIds}. */
export interface GreedyRun {
  name: string;
  prompt: number;
  options: SpeculativeOptions;
  result: SpeculativeResult;
}

/**
 * Greedy ids of every case equal plain `generate`'s on every prompt, token for token, and the
 * statistics add up: newTokens, one target call per step plus the prefill, τ, the steps cover
 * the output, accepted by depth and by source sum to the totals. Returns every run.
 */
export async function checkGreedyIds(
  model: Model,
  o: { prompts: number[][]; cases: SpeculativeCase[]; maxNewTokens: number },
): Promise<GreedyRun[]> {
  const max = o.maxNewTokens;
  const plain = [];
  for (const p of o.prompts) plain.push(await generate(model, p, { maxNewTokens: max }));
  const runs: GreedyRun[] = [];
  for (const [name, make] of o.cases) {
    const shared = typeof make === "function" ? undefined : make;
    for (let i = 0; i < o.prompts.length; i++) {
      const options = shared ?? (make as () => SpeculativeOptions)();
      const result = await speculativeGenerate(model, o.prompts[i], {
        ...options,
        maxNewTokens: max,
      });
      deepEqual(result.ids, plain[i], `${name}, prompt ${i}`);
      const s = result.stats;
      equal(s.newTokens, max, `${name}: newTokens`);
      equal(s.targetCalls, 1 + s.acceptedLengths.length, `${name}: prefill + one call per step`);
      equal(s.tau, s.newTokens / s.targetCalls, `${name}: τ`);
      ok(s.acceptedLengths.reduce((a, b) => a + b, 0) >= max - 1, `${name}: steps cover it`);
      equal(s.acceptedDrafts, s.acceptedByDepth.reduce((a, b) => a + b, 0), `${name}: by depth`);
      const bySource = Object.values(s.bySource);
      equal(bySource.reduce((a, b) => a + b.drafted, 0), s.draftedNodes, `${name}: drafted`);
      equal(bySource.reduce((a, b) => a + b.accepted, 0), s.acceptedDrafts, `${name}: accepted`);
      runs.push({ name, prompt: i, options, result });
    }
  }
  return runs;
}

/** A copy of a cache's rows, positions and next position (a new cache of `model`). */
function snapshotCache(model: Model, c: KvCache): KvCache {
  const copy = model.newCache();
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

/**
 * After every step the target's cache equals feeding the committed tokens (all but the last)
 * plainly: layers, positions, keys, values and the next position, over more than one step.
 * Returns the steps and the drafts accepted.
 */
export async function checkCacheAfterSteps(
  model: Model,
  o: { prompt: number[]; options: SpeculativeOptions; name: string },
): Promise<{ steps: number; accepted: number }> {
  let steps = 0, accepted = 0;
  const snaps: { ids: number[]; cache: KvCache }[] = [];
  await speculativeGenerate(model, o.prompt, {
    ...o.options,
    onStep: ({ ids, cache, walk }) => {
      steps++;
      accepted += walk.accepted;
      // copy now: the cache is edited again at the next step
      snaps.push({ ids, cache: snapshotCache(model, cache) });
    },
  });
  ok(steps > 1, `${o.name}: more than one step checked`);
  for (const [i, { ids, cache }] of snaps.entries()) {
    const what = `${o.name}, step ${i + 1}`;
    const plain = model.newCache();
    await model.forward(ids.slice(0, -1), plain);
    equal(cache.numLayers, plain.numLayers, `${what}: layers`);
    equal(cache.nextPosition, plain.nextPosition, `${what}: nextPosition`);
    for (let l = 0; l < plain.numLayers; l++) {
      deepEqual(cache.positions[l], plain.positions[l], `${what}: layer ${l} positions`);
      deepEqual(cache.keyRows(l), plain.keyRows(l), `${what}: layer ${l} keys`);
      deepEqual(cache.valueRows(l), plain.valueRows(l), `${what}: layer ${l} values`);
    }
  }
  return { steps, accepted };
}

/**
 * The first new token over `n` seeds follows the target's sampling distribution (chi-square at
 * 0.1%, the options' temperature, top-k and top-p); returns the draft acceptance rate so
 * callers can check both branches ran.
 */
export async function checkFirstTokenDistribution(
  model: Model,
  o: { prompt: number[]; options: Opts; n: number },
): Promise<number> {
  const { prompt, options } = o;
  ok((options.temperature ?? 0) > 0, "the first-token check needs a temperature above 0");
  const V = model.config.vocabSize;
  const sampling = { temperature: options.temperature, topK: options.topK, topP: options.topP };
  const z = await model.logits(prompt);
  const p = samplingProbabilities({ data: z.subarray(z.length - V), shape: [1, V] }, sampling);
  const counts = new Float64Array(V);
  let drafted = 0, accepted = 0;
  for (let seed = 0; seed < o.n; seed++) {
    const r = await speculativeGenerate(model, prompt, { ...options, maxNewTokens: 2, seed });
    counts[r.ids[prompt.length]]++;
    drafted += r.stats.draftedNodes;
    accepted += r.stats.acceptedDrafts;
  }
  const { chi, critical } = chiSquare(counts, p);
  ok(chi < critical, `${options.method}: chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)}`);
  return drafted ? accepted / drafted : 0;
}

/** A vocabulary-6 Llama with peaked random weights (`layers` deep, default 1). */
export function tinyVocabModel(seed: number, layers = 1): Model {
  const config = parseConfig({
    model_type: "llama",
    hidden_size: 16,
    num_hidden_layers: layers,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 32,
    vocab_size: 6,
    tie_word_embeddings: true,
  });
  return new TinyLM(config, { seed, initStd: 0.6 }).toModel();
}

/** Exact P(x1, x2, x3) of a model's own sampling, by plain forwards of every prefix. */
async function exactThreeTokens(t: Model, prompt: number[], temperature: number) {
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
 * Three-token outputs of a vocabulary-6 `model` from the prompt [0, 3, 1, 0, 3] follow the
 * exactly enumerated distribution over `n` seeds (chi-square at 0.1%, temperature of the options,
 * default 1). Returns the draft acceptance rate and the counts (index (a·6 + b)·6 + c).
 */
export async function checkThreeTokensExact(
  model: Model,
  o: { options: Opts; n: number; name?: string },
): Promise<{ rate: number; counts: Float64Array }> {
  const V = model.config.vocabSize, prompt = [0, 3, 1, 0, 3];
  const temperature = o.options.temperature ?? 1;
  const exact = await exactThreeTokens(model, prompt, temperature);
  const counts = new Float64Array(V ** 3);
  let drafted = 0, accepted = 0;
  for (let seed = 0; seed < o.n; seed++) {
    const r = await speculativeGenerate(model, prompt, {
      ...o.options,
      temperature,
      maxNewTokens: 3,
      seed,
    });
    const [a, b, c] = r.ids.slice(prompt.length);
    counts[(a * V + b) * V + c]++;
    drafted += r.stats.draftedNodes;
    accepted += r.stats.acceptedDrafts;
  }
  const { chi, critical, df } = chiSquare(counts, exact);
  const name = o.name ?? o.options.method;
  ok(chi < critical, `${name}: chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
  return { rate: drafted ? accepted / drafted : 0, counts };
}
