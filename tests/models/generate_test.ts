import { deepEqual, notDeepEqual, ok, rejects } from "node:assert/strict";
import { generate, loadModel } from "../../lib/models/mod.ts";
import { sampleReference } from "../../kernels/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { gpuTest } from "../gpu/_child.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;
const PROMPT = [1, 17, 42, 99];
const SAMPLED = [
  { temperature: 1.3, seed: 1234 },
  { temperature: 0.9, topK: 20, topP: 0.9, seed: 7 },
];

Deno.test("generate at temperature > 0 draws the one sampler's tokens, step by step", async () => {
  const model = await loadModel(FIX + "llama_gqa");
  const V = model.config.vocabSize, n = 12;
  for (const opts of SAMPLED) {
    const out = await generate(model, PROMPT, { ...opts, maxNewTokens: n });
    // the contract: new token i is sampleReference of the last logits row with counter i
    const cache = model.newCache(), steps: number[] = [];
    let logits = await model.forward(PROMPT, cache), notArgmax = 0;
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(logits.length - V);
      const id = sampleReference({ data: row, shape: [1, V] }, { ...opts, counter: i })[0];
      if (id !== sampleReference({ data: row, shape: [1, V] })[0]) notArgmax++;
      steps.push(id);
      logits = await model.forward([id], cache);
    }
    deepEqual(out.slice(PROMPT.length), steps, JSON.stringify(opts));
    // the draws are not all greedy, so the test sees the sampler's randomness
    ok(notArgmax > 0, `${JSON.stringify(opts)}: every draw was the argmax`);
  }
  // another seed draws another continuation; the default (temperature 0) is greedy
  const a = await generate(model, PROMPT, { ...SAMPLED[0], maxNewTokens: n });
  const b = await generate(model, PROMPT, { ...SAMPLED[0], seed: 4321, maxNewTokens: n });
  notDeepEqual(a, b);
  deepEqual(
    await generate(model, PROMPT, { maxNewTokens: 4 }),
    await generate(model, PROMPT, { maxNewTokens: 4, temperature: 0, seed: 99 }),
  );
});

Deno.test("generate rejects sampling options the sampler rejects", async () => {
  const model = await loadModel(FIX + "llama_gqa");
  await rejects(() => generate(model, PROMPT, { temperature: -1 }), TokenlabError);
  await rejects(() => generate(model, PROMPT, { temperature: 1, topP: 0 }), TokenlabError);
  await rejects(() => generate(model, PROMPT, { temperature: 1, seed: -1 }), TokenlabError);
});

gpuTest(
  "generate on the gpu backend draws the GPU sampler's tokens",
  "tests/models/_generate_cases.ts",
  [
    ...SAMPLED.map((o) => ({
      name: `llama_gqa, ${JSON.stringify(o)}`,
      kind: "generateSampled",
      fixture: "llama_gqa",
      prompt: PROMPT,
      maxNewTokens: 12,
      ...o,
      atol: 0,
      rtol: 0,
    })),
  ],
);
