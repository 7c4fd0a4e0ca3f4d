// GPU child of tests/models/generate_test.ts: generate() on the gpu backend draws the tokens
// that the GPU sampler (`sample` on a GPU tensor) draws step by step from the same logits.
import { Tensor } from "../../lib/gpu/mod.ts";
import { sample } from "../../kernels/mod.ts";
import { generate, loadModel } from "../../lib/models/mod.ts";
import { registerCase, serve } from "../kernels/_gpu_cases.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;

registerCase("generateSampled", async (gpu, s) => {
  const model = await loadModel(FIX + s.fixture, { backend: "gpu" });
  if (model.backend !== "gpu") throw new Error("not on the gpu backend");
  const opts = { temperature: s.temperature, topK: s.topK, topP: s.topP, seed: s.seed };
  const n = s.maxNewTokens as number, prompt = s.prompt as number[];
  const out = await generate(model, prompt, { ...opts, maxNewTokens: n });
  // step by step: the model's logits, sampled on the GPU with counter = step
  const V = model.config.vocabSize, cache = model.newCache(), steps: number[] = [];
  let logits = await model.forward(prompt, cache);
  for (let i = 0; i < n; i++) {
    const row = Tensor.fromArray(logits.subarray(logits.length - V), { shape: [1, V], gpu });
    const t = await sample(row, { ...opts, counter: i });
    const id = (await t.toArray())[0];
    row.release();
    t.release();
    steps.push(id);
    logits = await model.forward([id], cache);
  }
  return [{ got: out.slice(prompt.length), want: steps }];
});

if (import.meta.main) await serve();
