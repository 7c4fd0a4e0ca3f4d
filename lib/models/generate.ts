/**
 * Autoregressive generation: greedy (temperature 0, the default) or seeded sampling with
 * top-k / top-p, every token drawn by the kernels' one sampler (`sampleReference` in
 * `@tokenlab/tokenlab/kernels`, the CPU twin of the GPU `sample`): new token i (i = 0, 1, …)
 * is drawn from the last row of logits with `samplingUniform({ seed, row: 0, counter: i })`,
 * so a seed draws the same tokens on every backend and in any caller that samples the same
 * logits with the same options.
 *
 * @example
 * ```ts
 * import { generate, loadModel } from "@tokenlab/tokenlab/models";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const greedy = await generate(model, [1, 2, 3], { maxNewTokens: 4 });
 * const sampled = await generate(model, [1, 2, 3], { maxNewTokens: 4, temperature: 0.8, seed: 1 });
 * console.log(greedy, sampled);
 * ```
 *
 * @module
 */
import { sampleReference } from "../../kernels/sampling.ts";
import { generationArgs } from "./_generation_args.ts";
import type { Model } from "./model.ts";

/** Options for {@linkcode generate}; the sampling options are those of the kernels' `sample`. */
export interface GenerateOptions {
  /** Maximum new tokens (default 16). */
  maxNewTokens?: number;
  /** Sampling temperature; 0 (default) is greedy argmax, the lowest id on ties. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Nucleus sampling mass in (0, 1] (1 = off). */
  topP?: number;
  /** Seed of the sampler's counter-based hash, an unsigned 32-bit integer (default 0). */
  seed?: number;
  /** Stop after emitting any of these ids (the stop id is included). */
  stop?: number[];
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
  promptIds: ArrayLike<number>,
  options: GenerateOptions = {},
): AsyncGenerator<number> {
  const { prompt, max } = generationArgs(promptIds, {
    maxNewTokens: options.maxNewTokens,
    defaultMax: 16,
    caller: "generate",
  });
  const stop = new Set(options.stop ?? []);
  const cache = model.newCache();
  const V = model.config.vocabSize;
  if (max === 0) return;
  let logits = await model.forward(prompt, cache);
  let row = logits.subarray(logits.length - V);
  for (let i = 0; i < max; i++) {
    const id = sampleReference({ data: row, shape: [1, V] }, {
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      seed: options.seed,
      counter: i,
    })[0];
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
  promptIds: ArrayLike<number>,
  options: GenerateOptions = {},
): Promise<number[]> {
  const out = Array.from(promptIds);
  for await (const id of generateStream(model, promptIds, options)) out.push(id);
  return out;
}
