/**
 * Model runtime benchmark: CPU parity against the transformers fixtures (max|a-b|/max|b|) and
 * CPU forward / decode speed on the tiny fixtures. Run: `deno task bench:models`.
 *
 * @module
 */
import { generate, loadModel } from "../lib/models/mod.ts";

const FIX = new URL("../tests/fixtures/models/", import.meta.url).pathname;
const NAMES = [
  "llama_gqa",
  "mistral",
  "qwen2_bias",
  "llama_tied",
  "llama_rope_params",
  "mistral_window",
  "llama_bf16",
  "qwen2_f16",
  "llama_sharded",
  "llama3_rope",
  "llama_linear_rope",
];

for (const name of NAMES) {
  const ref = JSON.parse(await Deno.readTextFile(`${FIX}${name}/reference.json`));
  const model = await loadModel(FIX + name);
  const logits = await model.logits(ref.ids);
  let num = 0, den = 0;
  for (let i = 0; i < ref.logits.length; i++) {
    num = Math.max(num, Math.abs(logits[i] - ref.logits[i]));
    den = Math.max(den, Math.abs(ref.logits[i]));
  }
  const prompt = Array.from({ length: 64 }, (_, i) => (i * 37 + 1) % model.config.vocabSize);
  let t0 = performance.now();
  const reps = 20;
  for (let r = 0; r < reps; r++) await model.logits(prompt);
  const prefill = (reps * prompt.length) / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  await generate(model, prompt.slice(0, 8), { maxNewTokens: 64 });
  const decode = 64 / ((performance.now() - t0) / 1000);
  console.log(
    `${name.padEnd(18)} rel err ${(num / den).toExponential(2)}  prefill ${
      prefill.toFixed(0)
    } tok/s  decode ${decode.toFixed(0)} tok/s`,
  );
}
