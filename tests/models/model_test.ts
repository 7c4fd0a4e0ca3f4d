import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  generate,
  generateStream,
  loadModel,
  parseConfig,
  parseSafetensors,
  readCheckpoint,
  saveModel,
  serializeSafetensors,
} from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;
const NAMES = [
  "llama_gqa",
  "mistral",
  "qwen2_bias",
  "llama_tied",
  "llama_rope_params",
  "mistral_window",
];

interface Ref {
  ids: number[];
  logits_shape: [number, number];
  logits: number[];
  greedy: number[];
}

async function ref(name: string): Promise<Ref> {
  return JSON.parse(await Deno.readTextFile(`${FIX}${name}/reference.json`));
}

/** max |a-b| / max |b| */
function relErr(a: Float32Array, b: number[]): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

for (const name of NAMES) {
  Deno.test(`${name}: CPU logits match transformers within 1e-4 (max|a-b|/max|b|)`, async () => {
    const r = await ref(name);
    const model = await loadModel(FIX + name);
    const logits = await model.logits(r.ids);
    equal(logits.length, r.logits.length);
    const e = relErr(logits, r.logits);
    ok(e < 1e-4, `relative error ${e}`);
  });
  Deno.test(`${name}: greedy continuation identical to transformers`, async () => {
    const r = await ref(name);
    const model = await loadModel(FIX + name);
    const out = await generate(model, r.ids, { maxNewTokens: r.greedy.length - r.ids.length });
    deepEqual(out, r.greedy);
  });
}

Deno.test("incremental forward with the cache equals a full forward", async () => {
  const r = await ref("llama_gqa");
  const model = await loadModel(FIX + "llama_gqa");
  const V = model.config.vocabSize;
  const cache = model.newCache();
  await model.forward(r.ids.slice(0, 5), cache);
  const rest = await model.forward(r.ids.slice(5), cache);
  equal(cache.length(0), r.ids.length);
  equal(cache.keys[0].length, model.config.numKvHeads * r.ids.length * model.config.headDim);
  const tail = r.logits.slice(5 * V);
  ok(relErr(rest, tail) < 1e-4);
});

Deno.test("cache.keep/evict select entries and keep positions", async () => {
  const model = await loadModel(FIX + "llama_gqa");
  const ids = [1, 17, 42, 99, 3, 250];
  const cache = model.newCache();
  await model.forward(ids, cache);
  const full = cache.keys[1].slice();
  const D = model.config.headDim, T = ids.length;
  cache.keep(1, [0, 2, 5]);
  deepEqual(cache.positions[1], [0, 2, 5]);
  equal(cache.length(1), 3);
  // head 1, entry 1 is old entry 2
  deepEqual([...cache.keys[1].subarray((1 * 3 + 1) * D, (1 * 3 + 2) * D)], [
    ...full.subarray((1 * T + 2) * D, (1 * T + 3) * D),
  ]);
  cache.evict(1, [0]);
  deepEqual(cache.positions[1], [2, 5]);
  throws(() => cache.keep(1, [7]), TokenlabError);
  // evicting every layer to the full set changes nothing: keep all then continue
  const c2 = model.newCache();
  await model.forward(ids, c2);
  for (let l = 0; l < model.config.numLayers; l++) c2.keep(l, [...Array(T).keys()]);
  const a = await model.forward([7], c2);
  const b = (await model.logits([...ids, 7])).subarray(T * model.config.vocabSize);
  ok(relErr(a, [...b]) < 1e-6);
  // after eviction, the next token still gets absolute position T
  equal(cache.nextPosition, T);
});

Deno.test("attention capture: probabilities rows sum to 1 and are causal", async () => {
  const model = await loadModel(FIX + "mistral");
  const cache = model.newCache();
  cache.captureAttention = true;
  await model.forward([1, 2, 3, 4], cache);
  equal(cache.attention.length, model.config.numLayers);
  const H = model.config.numHeads, S = 4;
  const p = cache.attention[0];
  equal(p.length, H * S * S);
  for (let h = 0; h < H; h++) {
    for (let s = 0; s < S; s++) {
      let sum = 0;
      for (let t = 0; t < S; t++) {
        sum += p[(h * S + s) * S + t];
        if (t > s) equal(p[(h * S + s) * S + t], 0);
      }
      ok(Math.abs(sum - 1) < 1e-5);
    }
  }
});

Deno.test("seeded sampling is reproducible and respects topK=1 and stop", async () => {
  const model = await loadModel(FIX + "qwen2_bias");
  const r = await ref("qwen2_bias");
  const a = await generate(model, [1, 2, 3], { maxNewTokens: 6, temperature: 1, seed: 7 });
  const b = await generate(model, [1, 2, 3], { maxNewTokens: 6, temperature: 1, seed: 7 });
  deepEqual(a, b);
  const k1 = await generate(model, r.ids, { maxNewTokens: 4, temperature: 2, topK: 1, seed: 3 });
  deepEqual(k1, r.greedy.slice(0, r.ids.length + 4));
  const first = r.greedy[r.ids.length];
  const stopped = await generate(model, r.ids, { maxNewTokens: 5, stop: [first] });
  deepEqual(stopped, [...r.ids, first]);
  const streamed: number[] = [];
  for await (const id of generateStream(model, r.ids, { maxNewTokens: 3 })) streamed.push(id);
  deepEqual(streamed, r.greedy.slice(r.ids.length, r.ids.length + 3));
});

Deno.test("saveModel → loadModel round trip gives identical logits", async () => {
  const model = await loadModel(FIX + "qwen2_bias");
  const dir = await Deno.makeTempDir();
  try {
    await saveModel(model, dir);
    const again = await loadModel(dir);
    deepEqual(await again.logits([5, 6, 7]), await model.logits([5, 6, 7]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gpu backend and bad dtype give clear errors", async () => {
  await rejects(loadModel(FIX + "llama_gqa", { backend: "gpu" }), /not yet available/);
  await rejects(loadModel(FIX + "no_such_model"), TokenlabError);
});

Deno.test("safetensors: corrupt and truncated files give TokenlabErrors naming file and tensor", () => {
  const good = serializeSafetensors(
    new Map([["a", { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }], [
      "b",
      { shape: [1], data: new Float32Array([5]) },
    ]]),
  );
  const parsed = parseSafetensors(good, "x.safetensors");
  deepEqual([...(parsed.tensors.get("a")!.data as Float32Array)], [1, 2, 3, 4]);
  throws(
    () => parseSafetensors(good.subarray(0, good.length - 4), "x.safetensors"),
    /x\.safetensors.*"b"/,
  );
  throws(() => parseSafetensors(good.subarray(0, 5), "x.safetensors"), /too short/);
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  throws(() => parseSafetensors(huge, "x.safetensors"), /header length/);
  const make = (header: unknown, dataLen: number) => {
    let j = JSON.stringify(header);
    while (j.length % 8) j += " ";
    const hb = new TextEncoder().encode(j);
    const out = new Uint8Array(8 + hb.length + dataLen);
    new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
    out.set(hb, 8);
    return out;
  };
  throws(
    () => parseSafetensors(make({ w: { dtype: "Q4", shape: [1], data_offsets: [0, 4] } }, 4), "f"),
    /"w".*dtype Q4/,
  );
  throws(
    () => parseSafetensors(make({ w: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, 4), "f"),
    /"w".*needs 8/,
  );
  throws(
    () =>
      parseSafetensors(
        make({
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        }, 12),
        "f",
      ),
    /overlaps/,
  );
  const bad = make({}, 0);
  bad[8] = 0x7b;
  bad[9] = 0x7b;
  throws(() => parseSafetensors(bad, "f"), /not valid JSON/);
});

Deno.test("safetensors: f16 and bf16 are widened to f32", () => {
  let j = JSON.stringify({
    h: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
    b: { dtype: "BF16", shape: [2], data_offsets: [4, 8] },
  });
  while (j.length % 8) j += " ";
  const hb = new TextEncoder().encode(j);
  const out = new Uint8Array(8 + hb.length + 8);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  const o = 8 + hb.length;
  dv.setUint16(o, 0x3c00, true); // 1.0
  dv.setUint16(o + 2, 0xc100, true); // -2.5
  dv.setUint16(o + 4, 0x3f80, true); // bf16 1.0
  dv.setUint16(o + 6, 0x4049, true); // bf16 3.140625
  const t = parseSafetensors(out, "f").tensors;
  deepEqual([...(t.get("h")!.data as Float32Array)], [1, -2.5]);
  deepEqual([...(t.get("b")!.data as Float32Array)], [1, 3.140625]);
});

Deno.test("sharded checkpoints via model.safetensors.index.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(
      `${dir}/a.safetensors`,
      serializeSafetensors(new Map([["x", { shape: [1], data: new Float32Array([1]) }]])),
    );
    await Deno.writeFile(
      `${dir}/b.safetensors`,
      serializeSafetensors(new Map([["y", { shape: [1], data: new Float32Array([2]) }]])),
    );
    await Deno.writeTextFile(
      `${dir}/model.safetensors.index.json`,
      JSON.stringify({ weight_map: { x: "a.safetensors", y: "b.safetensors" } }),
    );
    const t = await readCheckpoint(dir);
    deepEqual([...t.keys()].sort(), ["x", "y"]);
    await Deno.writeTextFile(
      `${dir}/model.safetensors.index.json`,
      JSON.stringify({ weight_map: { x: "a.safetensors", z: "b.safetensors" } }),
    );
    await rejects(readCheckpoint(dir), /"z"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: bad configs give clear errors", () => {
  const base = {
    model_type: "llama",
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    vocab_size: 256,
  };
  equal(parseConfig(base).headDim, 8);
  equal(
    parseConfig({ ...base, rope_parameters: { rope_type: "default", rope_theta: 7 } }).ropeTheta,
    7,
  );
  equal(parseConfig({ ...base, rope_theta: 9 }).ropeTheta, 9);
  ok(parseConfig({ ...base, model_type: "qwen2" }).qkvBias);
  throws(() => parseConfig({ ...base, model_type: "gpt2" }), /model_type "gpt2"/);
  throws(() => parseConfig({ ...base, num_key_value_heads: 3 }), /multiple/);
  throws(() => parseConfig({ ...base, hidden_size: "x" }), /hidden_size/);
  throws(
    () => parseConfig({ ...base, rope_scaling: { rope_type: "llama3", factor: 8 } }),
    /llama3 rope scaling is not supported yet/,
  );
  throws(() => parseConfig({ ...base, hidden_act: "gelu" }), /gelu/);
});
