import { deepEqual, ok, throws } from "node:assert/strict";
import { loadModel, saveModel, TinyLM, type TrainBatch } from "../../lib/models/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assertClose, relErr } from "../_compare.ts";
import { randomBatch, tiny } from "./_tiny_cases.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;

/** Central finite differences on a sample of every tensor, in f64. */
function gradCheck(
  config: ReturnType<typeof tiny>,
  label: string,
  extra: Pick<TrainBatch, "exitLossWeights" | "skipLayers"> = {},
) {
  const lm = new TinyLM(config, { seed: 3, precision: "f64", initStd: 0.3 });
  const rng = new Rng(11);
  // non-trivial norm gains so their gradients are exercised
  for (const s of lm.slots) {
    if (s.shape.length === 1) {
      for (let i = 0; i < s.size; i++) lm.params[s.offset + i] = 1 + 0.3 * rng.normal();
    }
  }
  const batch = { ...randomBatch(5, { B: 2, S: 6, V: config.vocabSize }), ...extra };
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

Deno.test("gradients match finite differences: early-exit loss and SkipDecode's skipped layers", () => {
  const config = tiny({ num_hidden_layers: 3, tie_word_embeddings: false });
  gradCheck(config, "exit loss", { exitLossWeights: [0.3, 0.5, 1] });
  // sequence 0 skips 0, 0, 1, 1, 2, 2 layers; sequence 1 skips 1 or 2
  const skipLayers = Int32Array.from([0, 0, 1, 1, 2, 2, 1, 1, 1, 2, 2, 2]);
  gradCheck(config, "skip", { skipLayers });
  gradCheck(tiny({ num_hidden_layers: 3, tie_word_embeddings: true }), "both", {
    skipLayers,
    exitLossWeights: [0, 0.4, 1],
  });
});

/** A TinyLM holding layers [from, to) of `lm` (same embedding, final norm and head). */
function sliceLayers(lm: TinyLM, from: number, to: number): TinyLM {
  const c = lm.config;
  const cut = new TinyLM(
    tiny({
      num_hidden_layers: to - from,
      hidden_size: c.hiddenSize,
      intermediate_size: c.intermediateSize,
      vocab_size: c.vocabSize,
      num_attention_heads: c.numHeads,
      num_key_value_heads: c.numKvHeads,
      tie_word_embeddings: c.tieWordEmbeddings,
    }),
    { precision: "f64" },
  );
  for (const s of cut.slots) {
    const m = /^model\.layers\.(\d+)\.(.*)$/.exec(s.name);
    const name = m ? `model.layers.${Number(m[1]) + from}.${m[2]}` : s.name;
    const src = lm.slots.find((x) => x.name === name)!;
    cut.params.set(lm.params.subarray(src.offset, src.offset + src.size), s.offset);
  }
  return cut;
}

Deno.test("early-exit loss at layer ℓ alone equals the loss of the model cut after layer ℓ", () => {
  const config = tiny({ num_hidden_layers: 3 });
  const lm = new TinyLM(config, { seed: 4, precision: "f64", initStd: 0.3 });
  const batch = randomBatch(8, { B: 2, S: 5, V: config.vocabSize });
  for (let l = 0; l < 2; l++) {
    const w = [0, 0, 0];
    w[l] = 1;
    const got = lm.loss({ ...batch, exitLossWeights: w });
    const want = sliceLayers(lm, 0, l + 1).loss(batch);
    ok(Math.abs(got - want) < 1e-12, `exit ${l}: ${got} vs ${want}`);
  }
  // weights add the exits' losses
  const sum = lm.loss({ ...batch, exitLossWeights: [0.5, 0, 2] });
  const want = 0.5 * sliceLayers(lm, 0, 1).loss(batch) + 2 * lm.loss(batch);
  ok(Math.abs(sum - want) < 1e-12, `weighted sum ${sum} vs ${want}`);
});

Deno.test("tokens skipping the lowest s layers equal the model without those layers", () => {
  const config = tiny({ num_hidden_layers: 3 });
  const lm = new TinyLM(config, { seed: 6, precision: "f64", initStd: 0.3 });
  const batch = randomBatch(9, { B: 1, S: 6, V: config.vocabSize });
  for (const s of [1, 2]) {
    const got = lm.loss({ ...batch, skipLayers: new Int32Array(6).fill(s) });
    const want = sliceLayers(lm, s, 3).loss(batch);
    ok(Math.abs(got - want) < 1e-12, `skip ${s}: ${got} vs ${want}`);
  }
  // a prefix running every layer is unaffected by the skipping suffix (causal)
  const one = (n: number) => ({
    ...batch,
    targets: Int32Array.from(batch.targets, (t, i) => (i === n ? t : -1)),
  });
  const mixed = Int32Array.from([0, 0, 0, 2, 2, 2]);
  const a = lm.loss({ ...one(2), skipLayers: mixed }), b = lm.loss(one(2));
  ok(Math.abs(a - b) < 1e-12, `prefix token: ${a} vs ${b}`);
  const c = lm.loss({ ...one(4), skipLayers: mixed }), d = lm.loss(one(4));
  ok(Math.abs(c - d) > 1e-6, "a skipping token's loss changes");
});

Deno.test("exitLossWeights and skipLayers are checked", () => {
  const lm = new TinyLM(tiny(), { seed: 1 });
  const batch = randomBatch(1, { B: 1, S: 4, V: 23 });
  throws(() => lm.loss({ ...batch, exitLossWeights: [1] }), /exitLossWeights must hold 2/);
  throws(
    () => lm.loss({ ...batch, skipLayers: Int32Array.from([0, 1, 0, 1]) }),
    /non-decreasing/,
  );
  throws(() => lm.loss({ ...batch, skipLayers: Int32Array.from([0, 0, 2, 2]) }), /must be 0\.\.1/);
});
