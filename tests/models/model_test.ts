import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  generate,
  generateStream,
  type KvCache,
  loadModel,
  Model,
  parseConfig,
  parseSafetensors,
  readCheckpoint,
  saveModel,
  serializeSafetensors,
} from "../../lib/models/mod.ts";
import { ropeInvFreq } from "../../kernels/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { relErr as maxRelErr } from "../_compare.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;
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

interface Ref {
  ids: number[];
  logits_shape: [number, number];
  logits: number[];
  greedy: number[];
}

async function ref(name: string): Promise<Ref> {
  return JSON.parse(await Deno.readTextFile(`${FIX}${name}/reference.json`));
}

/** max |a-b| / max |b|; arrays of different lengths throw. */
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => maxRelErr([[a, b]]);

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

Deno.test("bad backend and missing folder give clear errors", async () => {
  // the gpu backend itself is tested in a child process (tests/models/gpu_test.ts)
  await rejects(
    loadModel(FIX + "llama_gqa", { backend: "tpu" as "gpu" }),
    /unknown backend "tpu"/,
  );
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

Deno.test("ropeInvFreq: linear divides every frequency, llama3 keeps, smooths and scales bands", () => {
  const base = ropeInvFreq(16, { theta: 10000 });
  for (let i = 0; i < 8; i++) ok(Math.abs(base[i] - 10000 ** (-i / 8)) < 1e-6 * base[i] + 1e-12);
  const lin = ropeInvFreq(16, { theta: 10000, scaling: { type: "linear", factor: 4 } });
  for (let i = 0; i < 8; i++) ok(Math.abs(lin[i] - base[i] / 4) <= 1e-7 * base[i]);
  const l3 = ropeInvFreq(16, {
    theta: 10000,
    scaling: {
      type: "llama3",
      factor: 4,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 32,
    },
  });
  // wavelength 2π/f: < 32/4 = 8 kept, > 32/1 = 32 divided by 4, between: interpolated
  equal(l3[0], base[0]); // wavelength 6.28
  const w1 = 2 * Math.PI / base[1]; // 19.9: smoothed
  const sm = (32 / w1 - 1) / 3;
  ok(Math.abs(l3[1] - ((1 - sm) * base[1] / 4 + sm * base[1])) < 1e-6 * base[1]);
  ok(l3[1] < base[1] && l3[1] > base[1] / 4);
  for (let i = 2; i < 8; i++) ok(Math.abs(l3[i] - base[i] / 4) <= 1e-7 * base[i]);
});

Deno.test("sharded fixture: index lists several shards; a missing shard is named", async () => {
  const index = JSON.parse(
    await Deno.readTextFile(`${FIX}llama_sharded/model.safetensors.index.json`),
  );
  ok(new Set(Object.values(index.weight_map)).size > 1);
  const dir = await Deno.makeTempDir();
  try {
    for await (const e of Deno.readDir(FIX + "llama_sharded")) {
      if (!e.name.includes("00002")) {
        await Deno.copyFile(`${FIX}llama_sharded/${e.name}`, `${dir}/${e.name}`);
      }
    }
    await rejects(loadModel(dir), /model-00002-of-00004\.safetensors/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bf16 and f16 fixtures store 2-byte weights", async () => {
  for (const [name, dtype] of [["llama_bf16", "BF16"], ["qwen2_f16", "F16"]]) {
    const t = await readCheckpoint(FIX + name);
    equal(t.get("model.embed_tokens.weight")?.dtype, dtype);
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
  const l3 = parseConfig({ ...base, rope_scaling: { rope_type: "llama3", factor: 8 } });
  equal(l3.ropeScaling?.type, "llama3");
  equal(l3.ropeScaling?.originalMaxPositionEmbeddings, 8192);
  equal(
    parseConfig({ ...base, rope_scaling: { type: "linear", factor: 2 } }).ropeScaling?.factor,
    2,
  );
  throws(
    () => parseConfig({ ...base, rope_scaling: { rope_type: "yarn", factor: 4 } }),
    /rope type "yarn" is not supported.*default, linear, llama3/,
  );
  throws(
    () => parseConfig({ ...base, rope_parameters: { rope_type: "dynamic", factor: 4 } }),
    /rope_parameters: rope type "dynamic"/,
  );
  throws(
    () => parseConfig({ ...base, rope_scaling: { rope_type: "linear" } }),
    /rope_scaling\.factor must be a positive number/,
  );
  throws(() => parseConfig({ ...base, hidden_act: "gelu" }), /gelu/);
});

// ---- early exit and layer ranges (forwardLayers / forwardExit / exitLogits) ----

const TARGET = new URL("../../data/models/tiny-target", import.meta.url).pathname;

/** A model holding layers [from, to) of `m` (same embedding, final norm and head). */
function cutLayers(m: Model, from: number, to: number): Model {
  return new Model(
    { ...m.config, numLayers: to - from },
    { ...m.weights, layers: m.weights.layers.slice(from, to) },
  );
}

Deno.test("forwardExit at the last layer equals forward exactly; at layer ℓ, the model cut after ℓ", async () => {
  for (const dir of [TARGET, `${FIX}qwen2_bias`]) {
    const m = await loadModel(dir);
    const L = m.config.numLayers;
    const prefix = [5, 9, 2, 7], ids = [3, 11, 4];
    const run = (model: Model, f: (c: KvCache) => Float32Array | Promise<Float32Array>) => {
      const c = model.newCache();
      return model.forward(prefix, c).then(() => f(c));
    };
    const full = await run(m, (c) => m.forward(ids, c));
    const exitLast = await run(m, (c) => m.forwardExit(ids, c, { exitLayer: L - 1 }));
    deepEqual(exitLast, full, `${dir}: exit at layer ${L - 1}`);
    for (let l = 0; l < L - 1; l++) {
      const cut = cutLayers(m, 0, l + 1);
      const want = await run(cut, (c) => cut.forward(ids, c));
      const got = await run(m, (c) => m.forwardExit(ids, c, { exitLayer: l }));
      deepEqual(got, want, `${dir}: exit at layer ${l}`);
      ok(maxRelErr([[got, full]]) > 1e-3, `${dir}: exit ${l} differs from the full model`);
    }
  }
});

Deno.test("forwardLayers from layer s (the embedding entering s) equals the model without layers < s", async () => {
  const m = await loadModel(TARGET);
  const ids = [5, 9, 2, 7, 3];
  for (const s of [1, 3]) {
    const cache = m.newCache();
    const { hidden } = m.forwardLayers(ids, cache, { from: s });
    const cut = cutLayers(m, s, m.config.numLayers);
    deepEqual(m.exitLogits(hidden), await cut.logits(ids), `skip ${s}`);
    equal(cache.length(s - 1), 0, "skipped layers get no entries");
    equal(cache.length(s), ids.length);
    equal(cache.nextPosition, ids.length);
  }
});

Deno.test("LayerSkip-style shared cache: drafts through layers ≤ ℓ, verification of layers > ℓ as a tree, equals forwardTree", async () => {
  const m = await loadModel(TARGET);
  const L = m.config.numLayers, ell = 1;
  const prefix = [5, 9, 2, 7], chain = [3, 11, 4, 8];
  // reference: the full model verifies the chain as a tree
  const ref = m.newCache();
  await m.forward(prefix, ref);
  const tree = { ids: chain, parents: [-1, 0, 1, 2] };
  const want = await m.forwardTree(tree, ref);
  // shared: chain[0..2] drafted one by one through layers 0..ℓ (their exits are the drafts)
  const c = m.newCache();
  await m.forward(prefix, c);
  const start = c.nextPosition;
  const streams: Float32Array[] = [];
  for (const t of chain.slice(0, -1)) {
    streams.push(m.forwardLayers([t], c, { to: ell }).hidden);
  }
  equal(c.nextPosition, start + 3);
  equal(c.length(ell + 1), prefix.length, "upper layers untouched by drafting");
  // verification: the last node through layers 0..ℓ, then every node through ℓ+1..L−1
  streams.push(m.forwardLayers([chain[3]], c, { to: ell, positions: [start + 3] }).hidden);
  c.nextPosition = start;
  const hidden = new Float32Array(streams.reduce((n, s) => n + s.length, 0));
  streams.reduce((o, s) => (hidden.set(s, o), o + s.length), 0);
  const { hidden: top } = m.forwardLayers(chain, c, {
    from: ell + 1,
    hidden,
    parents: tree.parents,
  });
  deepEqual(m.exitLogits(top), want, "verification logits");
  ref.acceptTreePath(tree.parents, [0, 1]);
  c.acceptTreePath(tree.parents, [0, 1]);
  for (let l = 0; l < L; l++) {
    deepEqual(c.keyRows(l), ref.keyRows(l), `keys of layer ${l}`);
    deepEqual(c.valueRows(l), ref.valueRows(l), `values of layer ${l}`);
    deepEqual(c.positions[l], ref.positions[l]);
  }
  equal(c.nextPosition, ref.nextPosition);
});

Deno.test("forwardLayers checks its layer range and stream", async () => {
  const m = await loadModel(`${FIX}llama_gqa`);
  throws(() => m.forwardLayers([1], m.newCache(), { from: 1, to: 0 }), /0 ≤ from ≤ to < 2/);
  throws(() => m.forwardExit([1], m.newCache(), { exitLayer: 2 }), /0 ≤ from ≤ to < 2/);
  throws(
    () => m.forwardLayers([1, 2], m.newCache(), { hidden: new Float32Array(3) }),
    /hidden has 3 values/,
  );
  throws(() => m.exitLogits(new Float32Array(5)), /not rows of/);
});
