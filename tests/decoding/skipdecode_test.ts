import { deepEqual, equal, notDeepEqual, ok, rejects, throws } from "node:assert/strict";
import {
  skipDecodeComputeRatio,
  skipDecodeLayers,
  skipDecodeSkips,
} from "../../lib/decoding/skipdecode.ts";
import { speculativeGenerate } from "../../lib/decoding/speculative.ts";
import type { SkipDecodeReport } from "../../lib/decoding/_skipdecode_drafter.ts";
import { bundledModelPath, generate, loadModel, Model, TinyLM } from "../../lib/models/mod.ts";

Deno.test("skipDecodeLayers: the prompt runs every layer, then k falls linearly and never rises", () => {
  const s = { numLayers: 8, kMax: 6, kMin: 2, span: 4, promptLength: 3 };
  const ks = Array.from({ length: 10 }, (_, t) => skipDecodeLayers(t, s));
  // by hand: 6 − 4·i/4 for i = 0..4, then 2
  deepEqual(ks, [8, 8, 8, 6, 5, 4, 3, 2, 2, 2]);
  deepEqual([...skipDecodeSkips(10, s)], ks.map((k) => 8 - k));
  // 4 generated tokens run 6 + 5 + 4 + 3 = 18 layers: 8 / 4.5
  ok(Math.abs(skipDecodeComputeRatio(4, s) - 8 / 4.5) < 1e-12);
  throws(() => skipDecodeLayers(0, { numLayers: 4, kMax: 5, promptLength: 0 }), /kMin ≤ kMax/);
  throws(() => skipDecodeLayers(0, { numLayers: 4, span: 0, promptLength: 0 }), /span/);
});

const base = await loadModel(bundledModelPath("tiny-target"));
const encode = (s: string) => Array.from(base.tokenizer!.encode(s));
const prompt = encode("The Fulton County Grand Jury said Friday an investigation of");

Deno.test("skipdecode refuses a model without SkipDecode training", async () => {
  await rejects(
    () => speculativeGenerate(base, prompt, { method: "skipdecode" }),
    /not trained with SkipDecode's schedule/,
  );
});

Deno.test("skipdecode: every new token is the argmax of the training forward under the same schedule; compute ratio", async () => {
  const marked = new Model(
    {
      ...base.config,
      raw: { ...base.config.raw, tokenlab_exit_training: { method: "skipdecode" } },
    },
    base.weights,
  );
  const schedule = { kMax: 3, kMin: 1, span: 8 };
  const report: SkipDecodeReport = { layersRun: [] };
  const n = 16;
  const r = await speculativeGenerate(marked, prompt, {
    method: "skipdecode",
    maxNewTokens: n,
    skipdecodeKMax: schedule.kMax,
    skipdecodeKMin: schedule.kMin,
    skipdecodeSpan: schedule.span,
    skipdecodeReport: report,
  });
  equal(r.ids.length, prompt.length + n);
  equal(r.stats.tau, n / r.stats.targetCalls);
  // the training forward (TinyLM, causal-attention reference) with the schedule's skips
  const lm = new TinyLM(base.config);
  lm.loadWeights(base);
  const seq = r.ids.slice(0, -1);
  const L = base.config.numLayers, V = base.config.vocabSize;
  const skips = skipDecodeSkips(seq.length, {
    numLayers: L,
    ...schedule,
    promptLength: prompt.length,
  });
  const z = lm.logits(seq, { skipLayers: skips });
  for (let t = prompt.length - 1; t < seq.length; t++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (z[t * V + v] > z[t * V + best]) best = v;
    equal(r.ids[t + 1], best, `token at ${t + 1}`);
  }
  // fed tokens: the first n − 1 generated ones
  deepEqual(
    report.layersRun,
    Array.from(
      { length: n - 1 },
      (_, i) => skipDecodeLayers(i, { numLayers: L, ...schedule, promptLength: 0 }),
    ),
  );
  const ratio = L / (report.layersRun.reduce((a, b) => a + b, 0) / report.layersRun.length);
  ok(Math.abs(ratio - skipDecodeComputeRatio(n - 1, { numLayers: L, ...schedule })) < 1e-12);
  // not lossless: the full model decodes otherwise
  notDeepEqual(r.ids, await generate(base, prompt, { maxNewTokens: n }));
});
