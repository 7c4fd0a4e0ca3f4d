// Checks shared by the Goose and ADED tests: plain greedy equality over prompts, and the
// target's cache after every step against a plain forward of the committed tokens.
import { deepEqual, equal, ok } from "node:assert/strict";
import { speculativeGenerate, type SpeculativeOptions } from "../../lib/decoding/speculative.ts";
import { samplingProbabilities } from "../../kernels/mod.ts";
import { generate, type KvCache, type Model } from "../../lib/models/mod.ts";
import { chiSquare } from "./_chi_square.ts";

/** Greedy ids of every case equal `generate`'s on every prompt; the stats add up. */
export async function checkGreedyIds(
  target: Model,
  prompts: number[][],
  cases: [string, SpeculativeOptions][],
  max: number,
): Promise<void> {
  const plain = [];
  for (const p of prompts) plain.push(await generate(target, p, { maxNewTokens: max }));
  for (const [name, o] of cases) {
    for (let i = 0; i < prompts.length; i++) {
      const r = await speculativeGenerate(target, prompts[i], { ...o, maxNewTokens: max });
      deepEqual(r.ids, plain[i], `${name}, prompt ${i}`);
      const s = r.stats;
      equal(s.newTokens, max);
      equal(s.targetCalls, 1 + s.acceptedLengths.length, `${name}: prefill + one call per step`);
      equal(s.acceptedDrafts, s.acceptedByDepth.reduce((a, b) => a + b, 0));
      const bySource = Object.values(s.bySource);
      equal(bySource.reduce((a, b) => a + b.drafted, 0), s.draftedNodes, `${name}: drafted`);
      equal(bySource.reduce((a, b) => a + b.accepted, 0), s.acceptedDrafts, `${name}: accepted`);
    }
  }
}

/** A copy of a cache's rows, positions and next position. */
function snapshotCache(target: Model, c: KvCache): KvCache {
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

/** After every step the cache equals feeding the committed tokens (all but the last) plainly. */
export async function checkCacheAfterSteps(
  target: Model,
  prompt: number[],
  options: SpeculativeOptions,
  what: string,
): Promise<{ steps: number; accepted: number }> {
  let steps = 0, accepted = 0;
  const snaps: { ids: number[]; cache: KvCache }[] = [];
  await speculativeGenerate(target, prompt, {
    ...options,
    onStep: ({ ids, cache, walk }) => {
      steps++;
      accepted += walk.accepted;
      snaps.push({ ids, cache: snapshotCache(target, cache) });
    },
  });
  for (const [i, { ids, cache }] of snaps.entries()) {
    const plain = target.newCache();
    await target.forward(ids.slice(0, -1), plain);
    equal(cache.nextPosition, plain.nextPosition, `${what}, step ${i + 1}: nextPosition`);
    for (let l = 0; l < cache.numLayers; l++) {
      deepEqual(cache.positions[l], plain.positions[l], `${what}, step ${i + 1}: positions`);
      deepEqual(cache.keyRows(l), plain.keyRows(l), `${what}, step ${i + 1}: layer ${l} keys`);
      deepEqual(
        cache.valueRows(l),
        plain.valueRows(l),
        `${what}, step ${i + 1}: layer ${l} values`,
      );
    }
  }
  return { steps, accepted };
}

/**
 * The first new token over `n` seeds follows the target's sampling distribution (chi-square
 * at 0.1%); returns the draft acceptance rate so callers can check both branches ran.
 */
export async function checkFirstTokenDistribution(
  target: Model,
  prompt: number[],
  options: SpeculativeOptions,
  n: number,
): Promise<number> {
  const V = target.config.vocabSize;
  const sampling = { temperature: options.temperature, topK: options.topK, topP: options.topP };
  const z = await target.logits(prompt);
  const p = samplingProbabilities({ data: z.subarray(z.length - V), shape: [1, V] }, sampling);
  const counts = new Float64Array(V);
  let drafted = 0, accepted = 0;
  for (let seed = 0; seed < n; seed++) {
    const r = await speculativeGenerate(target, prompt, { ...options, maxNewTokens: 2, seed });
    counts[r.ids[prompt.length]]++;
    drafted += r.stats.draftedNodes;
    accepted += r.stats.acceptedDrafts;
  }
  const { chi, critical } = chiSquare(counts, p);
  ok(chi < critical, `${options.method}: chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)}`);
  return drafted ? accepted / drafted : 0;
}
