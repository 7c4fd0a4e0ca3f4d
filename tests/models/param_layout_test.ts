import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { initParams, paramLayout, parseConfig } from "../../lib/models/mod.ts";
import { tiny } from "./_tiny_cases.ts";

Deno.test("paramLayout: HF order, contiguous slots, sizes counted by hand", () => {
  // hidden 16, 4 heads of 4 (q 16), 2 kv heads (k/v 8), intermediate 20, vocab 23, 2 layers
  const perLayer = 16 + 16 * 16 + 8 * 16 + 8 * 16 + 16 * 16 + 16 + 3 * 20 * 16;
  const tied = paramLayout(tiny());
  equal(tied.size, 23 * 16 + 2 * perLayer + 16);
  equal(paramLayout(tiny({ tie_word_embeddings: false })).size, tied.size + 23 * 16);
  deepEqual(tied.slots.slice(0, 3).map((s) => s.name), [
    "model.embed_tokens.weight",
    "model.layers.0.input_layernorm.weight",
    "model.layers.0.self_attn.q_proj.weight",
  ]);
  let offset = 0;
  for (const s of tied.slots) {
    equal(s.offset, offset, s.name);
    equal(s.size, s.shape.reduce((a, b) => a * b, 1), s.name);
    equal(s.decay, s.shape.length === 2, s.name);
    offset += s.size;
  }
  const qwen = parseConfig({
    model_type: "qwen2",
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    vocab_size: 20,
  });
  throws(() => paramLayout(qwen), /without attention biases/);
});

Deno.test("initParams: gains 1, weights N(0, std²), residual projections scaled by 1/√(2L)", () => {
  const config = tiny();
  const { slots, size } = paramLayout(config);
  const params = new Float32Array(size);
  initParams(params, { slots, numLayers: config.numLayers, seed: 7, initStd: 1 });
  const sd = (name: string) => {
    const s = slots.find((x) => x.name === name)!;
    const v = params.subarray(s.offset, s.offset + s.size);
    let ss = 0;
    for (const x of v) ss += x * x;
    return Math.sqrt(ss / v.length);
  };
  ok(params.subarray(slots[1].offset, slots[1].offset + 16).every((x) => x === 1));
  ok(Math.abs(sd("model.embed_tokens.weight") - 1) < 0.1, "embedding sd ≈ 1");
  const proj = 1 / Math.sqrt(2 * config.numLayers);
  ok(Math.abs(sd("model.layers.1.self_attn.o_proj.weight") - proj) < 0.1, "o_proj sd ≈ 0.5");
  ok(Math.abs(sd("model.layers.0.mlp.down_proj.weight") - proj) < 0.1, "down_proj sd ≈ 0.5");
  const again = new Float32Array(size);
  initParams(again, { slots, numLayers: config.numLayers, seed: 7, initStd: 1 });
  deepEqual(again, params, "same seed, same weights");
  throws(
    () => initParams(new Float32Array(3), { slots, numLayers: 2 }),
    /needs \d+ values, params has 3/,
  );
});
