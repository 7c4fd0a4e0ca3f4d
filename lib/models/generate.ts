/**
 * Autoregressive generation: greedy (temperature 0) or seeded sampling with top-k / top-p.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { TokenlabError } from "../util/errors.ts";
import type { Model } from "./model.ts";

/** Options for {@linkcode generate}. */
export interface GenerateOptions {
  /** Maximum new tokens (default 16). */
  maxNewTokens?: number;
  /** Sampling temperature; 0 (default) is greedy argmax. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Nucleus sampling mass (1 = off). */
  topP?: number;
  /** Seed for the sampling Rng (default 0). */
  seed?: number;
  /** Stop after emitting any of these ids (the stop id is included). */
  stop?: number[];
}

function pick(row: Float32Array, options: GenerateOptions, rng: Rng): number {
  const temperature = options.temperature ?? 0;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
    return best;
  }
  const order = [...row.keys()].sort((a, b) => row[b] - row[a]);
  const k = options.topK && options.topK > 0 ? Math.min(options.topK, row.length) : row.length;
  const cand = order.slice(0, k);
  const max = row[cand[0]];
  let probs = cand.map((i) => Math.exp((row[i] - max) / temperature));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  const topP = options.topP ?? 1;
  let n = probs.length;
  if (topP < 1) {
    let acc = 0;
    for (n = 0; n < probs.length;) {
      acc += probs[n++];
      if (acc >= topP) break;
    }
  }
  sum = 0;
  for (let i = 0; i < n; i++) sum += probs[i];
  let r = rng.next() * sum;
  for (let i = 0; i < n; i++) {
    r -= probs[i];
    if (r <= 0) return cand[i];
  }
  return cand[n - 1];
}

/**
 * Streams new token ids one at a time, using the KV cache.
 *
 * @example
 * ```ts
 * import { generateStream, loadModel } from "@tokenlab/tokenlab/models";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * for await (const id of generateStream(model, [1, 2, 3], { maxNewTokens: 3 })) console.log(id);
 * ```
 */
export async function* generateStream(
  model: Model,
  promptIds: number[],
  options: GenerateOptions = {},
): AsyncGenerator<number> {
  const max = options.maxNewTokens ?? 16;
  const temperature = options.temperature ?? 0;
  if (!(temperature >= 0)) {
    throw new TokenlabError(`temperature must be >= 0, got ${temperature}`, {
      hint: "use 0 for greedy",
    });
  }
  if (promptIds.length === 0) {
    throw new TokenlabError("generate needs a non-empty prompt", { hint: "start with a BOS id" });
  }
  const rng = new Rng(options.seed ?? 0);
  const stop = new Set(options.stop ?? []);
  const cache = model.newCache();
  const V = model.config.vocabSize;
  let logits = await model.forward(promptIds, cache);
  let row = logits.subarray(logits.length - V);
  for (let i = 0; i < max; i++) {
    const id = pick(row, options, rng);
    yield id;
    if (stop.has(id) || i === max - 1) return;
    logits = await model.forward([id], cache);
    row = logits;
  }
}

/**
 * Generates and returns prompt + new ids.
 *
 * @example
 * ```ts
 * import { generate, loadModel } from "@tokenlab/tokenlab/models";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * console.log(await generate(model, [1, 2, 3], { maxNewTokens: 4, temperature: 0.8, seed: 1 }));
 * ```
 */
export async function generate(
  model: Model,
  promptIds: number[],
  options: GenerateOptions = {},
): Promise<number[]> {
  const out = [...promptIds];
  for await (const id of generateStream(model, promptIds, options)) out.push(id);
  return out;
}
