/**
 * Grammar-constrained generation: the grammar's mask applied to the logits (disallowed ids set
 * to −∞) before the library's one sampler, `sampleReference`, with the same seed/counter
 * contract as `generate` — so with a grammar that allows every token it draws what `generate`
 * draws.
 *
 * @module
 */

import { sampleReference } from "../../kernels/sampling.ts";
import type { Model } from "../models/model.ts";
import { generationArgs } from "../models/_generation_args.ts";
import { TokenlabError } from "../util/errors.ts";
import type { CompiledGrammar, GrammarMatcher } from "./grammar.ts";

/** Options of {@linkcode constrainedGenerate}. */
export interface ConstrainedGenerateOptions {
  /** The compiled grammar (for the model's tokenizer). */
  grammar: CompiledGrammar;
  /** Maximum new tokens (default 64). */
  maxNewTokens?: number;
  /** Sampling temperature; 0 (default) is greedy. */
  temperature?: number;
  /** Keep only the k most likely allowed tokens (0 = off). */
  topK?: number;
  /** Nucleus mass in (0, 1] over the allowed tokens (1 = off). */
  topP?: number;
  /** Seed of the sampler (default 0). */
  seed?: number;
  /** Continue this matcher (its state is advanced) instead of starting a new one. */
  matcher?: GrammarMatcher;
}

/** What {@linkcode constrainedGenerate} returns. */
export interface ConstrainedGenerateResult {
  /** The new ids (a stop token, when drawn, is the last one). */
  ids: number[];
  /** Whether the output is a complete document of the grammar. */
  complete: boolean;
  /** Whether generation ended on a stop token or on a state where nothing else is allowed. */
  stopped: boolean;
}

/**
 * Sets the logits of disallowed ids to −∞ in place (ids at or past the mask are disallowed);
 * returns how many ids stay allowed.
 *
 * @example
 * ```ts
 * import { applyTokenMask } from "@tokenlab/tokenlab/decoding";
 * const logits = new Float32Array([1, 2, 3]);
 * console.log(applyTokenMask(logits, new Uint32Array([0b101])), logits); // 2 [1, -Infinity, 3]
 * ```
 */
export function applyTokenMask(logits: Float32Array, mask: Uint32Array): number {
  let n = 0;
  for (let t = 0; t < logits.length; t++) {
    const w = t >>> 5;
    if (w < mask.length && (mask[w] >>> (t & 31)) & 1) n++;
    else logits[t] = -Infinity;
  }
  return n;
}

/**
 * Generates under a grammar: each step masks the logits with the matcher's mask and draws with
 * `sampleReference` (`counter` = step), then advances the matcher. Stops on a stop token, when
 * the grammar allows nothing more, or after `maxNewTokens`.
 *
 * @example
 * ```ts
 * import { compileGrammar, constrainedGenerate } from "@tokenlab/tokenlab/decoding";
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * import { trainBpe } from "@tokenlab/tokenlab/tokenizers";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const tok = trainBpe("ab ab ba", { vocabSize: model.config.vocabSize });
 * const grammar = compileGrammar({ ebnf: 'root ::= ("a" | "b")+' }, tok);
 * const out = await constrainedGenerate(model, [1, 2], { grammar, maxNewTokens: 5, seed: 1 });
 * console.log(tok.decode(out.ids), out.complete);
 * ```
 */
export async function constrainedGenerate(
  model: Model,
  promptIds: ArrayLike<number>,
  options: ConstrainedGenerateOptions,
): Promise<ConstrainedGenerateResult> {
  const g = options?.grammar;
  if (!g || typeof g.matcher !== "function") {
    throw new TokenlabError("constrainedGenerate needs { grammar } from compileGrammar");
  }
  const { prompt, max } = generationArgs(promptIds, {
    maxNewTokens: options.maxNewTokens,
    defaultMax: 64,
    caller: "constrainedGenerate",
  });
  const m = options.matcher ?? g.matcher();
  const V = model.config.vocabSize;
  const ids: number[] = [];
  const mask = new Uint32Array((g.idSpace + 31) >>> 5);
  if (max === 0) return { ids, complete: m.canTerminate(), stopped: false };
  const cache = model.newCache();
  let logits = await model.forward(prompt, cache);
  let row = logits.slice(logits.length - V);
  for (let i = 0; i < max; i++) {
    if (m.isTerminated()) return { ids, complete: true, stopped: true };
    const allowed = applyTokenMask(row, m.fillMask(mask));
    if (allowed === 0) {
      if (m.canTerminate()) return { ids, complete: true, stopped: true };
      throw new TokenlabError(
        `constrainedGenerate: the grammar allows no token of the model's ${V} ids at step ${i}`,
        { hint: "compile the grammar with the model's tokenizer (the ids must match)" },
      );
    }
    const id = sampleReference({ data: row, shape: [1, V] }, {
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      seed: options.seed,
      counter: i,
    })[0];
    if (!m.accept(id)) {
      throw new TokenlabError(
        `constrainedGenerate: the sampler drew ${id}, which the mask forbids`,
      );
    }
    ids.push(id);
    if (m.isTerminated()) return { ids, complete: true, stopped: true };
    if (i === max - 1) break;
    logits = await model.forward([id], cache);
    row = logits.slice();
  }
  return { ids, complete: m.canTerminate(), stopped: false };
}
