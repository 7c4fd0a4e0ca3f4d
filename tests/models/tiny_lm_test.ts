import { deepEqual, ok } from "node:assert/strict";
import { loadModel, saveModel, TinyLM } from "../../lib/models/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assertClose, relErr } from "../_compare.ts";
import { randomBatch, tiny } from "./_tiny_cases.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;

/** Central finite differences on a sample of every tensor, in f64. */
function gradCheck(config: ReturnType<typeof tiny>, label: string) {
  const lm = new TinyLM(config, { seed: 3, precision: "f64", initStd: 0.3 });
  const rng = new Rng(11);
  // non-trivial norm gains so their gradients are exercised
  for (const s of lm.slots) {
    if (s.shape.length === 1) {
      for (let i = 0; i < s.size; i++) lm.params[s.offset + i] = 1 + 0.3 * rng.normal();
    }
  }
  const batch = randomBatch(5, { B: 2, S: 6, V: config.vocabSize });
  lm.lossAndGrad(batch);
  const analytic = Float64Array.from(lm.grads);
  const h = 1e-5;
  let worst = 0, worstName = "";
  for (const s of lm.slots) {
    for (let k = 0; k < 6; k++) {
      const i = s.offset + rng.int(s.size);
      const keep = lm.params[i];
      lm.params[i] = keep + h;
      const up = lm.loss(batch);
      lm.params[i] = keep - h;
      const down = lm.loss(batch);
      lm.params[i] = keep;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(numeric - analytic[i]) /
        Math.max(1e-4, Math.abs(numeric) + Math.abs(analytic[i]));
      if (err > worst) [worst, worstName] = [err, `${s.name}[${i - s.offset}]`];
    }
  }
  ok(worst < 1e-5, `${label}: worst relative gradient error ${worst} at ${worstName}`);
}

Deno.test("gradients match finite differences: untied head, GQA", () => {
  gradCheck(tiny({ tie_word_embeddings: false }), "untied");
});

Deno.test("gradients match finite differences: tied head, MHA, llama3 rope scaling", () => {
  gradCheck(
    tiny({
      num_key_value_heads: 4,
      tie_word_embeddings: true,
      rope_scaling: {
        rope_type: "llama3",
        factor: 4,
        original_max_position_embeddings: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
      },
    }),
    "tied",
  );
});

Deno.test("gradients match finite differences: one kv head, linear rope scaling; f64 stays f64", () => {
  const config = tiny({
    num_key_value_heads: 1,
    tie_word_embeddings: false,
    rope_scaling: { rope_type: "linear", factor: 3 },
  });
  gradCheck(config, "mqa");
  // the kernels' references keep the f64 twin in f64 all the way to the logits
  const lm = new TinyLM(config, { seed: 1, precision: "f64" });
  ok(lm.logits([1, 2, 3]) instanceof Float64Array, "f64 logits");
});

Deno.test("TinyLM forward equals the runtime Model's logits; checkpoint loads back", async () => {
  const config = tiny({ tie_word_embeddings: false });
  const lm = new TinyLM(config, { seed: 9, initStd: 0.2 });
  const ids = [3, 1, 4, 1, 5, 9, 2, 6];
  const a = lm.logits(ids);
  const model = lm.toModel();
  const b = await model.logits(ids);
  assertClose(a, b, { atol: 1e-5, what: "TinyLM vs Model logits" });
  const dir = await Deno.makeTempDir();
  try {
    await saveModel(lm.toModel(), dir);
    const again = await loadModel(dir);
    deepEqual(await again.logits(ids), b);
    const lm2 = new TinyLM(config, { seed: 1 });
    lm2.loadWeights(again);
    deepEqual(lm2.params, lm.params);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TinyLM forward reproduces a transformers fixture's logits (llama_tied)", async () => {
  const ref = JSON.parse(await Deno.readTextFile(`${FIX}llama_tied/reference.json`));
  const model = await loadModel(FIX + "llama_tied");
  const lm = new TinyLM(model.config);
  lm.loadWeights(model);
  const err = relErr([[lm.logits(ref.ids), ref.logits]]);
  ok(err < 1e-4, `relative error ${err}`);
});
