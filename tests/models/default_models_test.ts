// The default models shipped in data/models: they load, share one tokenizer, stay under the
// 40 MB budget, were trained on the recorded split, and the target is the better model.
import { equal, ok } from "node:assert/strict";
import { loadModel, streamLoss, TinyLM, tokenStream } from "../../lib/models/mod.ts";
import { loadBrown, splitTrainTest } from "../../lib/data/mod.ts";

const ROOT = new URL("../../data/models/", import.meta.url).pathname;
const NAMES = ["tiny-target", "tiny-draft"];

Deno.test("default models: size budget, cards and shared tokenizer", async () => {
  let bytes = 0;
  for (const n of NAMES) {
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md"]) {
      bytes += (await Deno.stat(`${ROOT}${n}/${f}`)).size;
    }
  }
  ok(bytes < 40e6, `default models take ${bytes} bytes, over the 40 MB budget`);
  const shared = await Deno.readTextFile(`${ROOT}brown-bpe-8k/tokenizer.json`);
  for (const n of NAMES) {
    equal(await Deno.readTextFile(`${ROOT}${n}/tokenizer.json`), shared, `${n} tokenizer differs`);
  }
});

Deno.test("default models: recorded held-out split matches splitTrainTest", async () => {
  const split = splitTrainTest(loadBrown(), { testFraction: 0.1, seed: 0 });
  const recorded = JSON.parse(await Deno.readTextFile(`${ROOT}brown-bpe-8k/split.json`));
  equal(recorded.heldOut.join(), split.test.map((d) => d.id).join());
});

Deno.test("default models: target has lower held-out loss than draft, both beat uniform", async () => {
  const split = splitTrainTest(loadBrown(), { testFraction: 0.1, seed: 0 });
  const models = await Promise.all(NAMES.map((n) => loadModel(`${ROOT}${n}`)));
  const tok = models[0].tokenizer!;
  const tokens = tokenStream(split.test.slice(0, 3).map((d) => d.text), { tokenizer: tok });
  const losses = models.map((m) => {
    const lm = new TinyLM(m.config);
    lm.loadWeights(m);
    return streamLoss(lm, { tokens, seqLen: 128, maxTokens: 512 });
  });
  const uniform = Math.log(models[0].config.vocabSize);
  ok(
    losses.every((l) => Number.isFinite(l) && l < uniform - 1),
    `losses ${losses} vs ln V ${uniform}`,
  );
  ok(losses[0] < losses[1], `target loss ${losses[0]} should be below draft loss ${losses[1]}`);
});
