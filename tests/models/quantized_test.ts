// loadModel(dir, { quant }) and bitsandbytes 4-bit checkpoints on the CPU path; the GPU path
// is in tests/models/_quant_cases.ts (run as a child by the gpuTest below).
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  bundledModelPath,
  loadModel,
  Model,
  saveModel,
  saveSafetensors,
  tokenStream,
} from "../../lib/models/mod.ts";
import { parseBnb4bit, quantize, type QuantizedTensor, saveBnb4bit } from "../../lib/quant/mod.ts";
import { loadBrown, splitTrainTest } from "../../lib/data/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { codec, linearShapes, mapLinears, QUANTS } from "./_quant_helpers.ts";

const NAMES = ["tiny-target", "tiny-draft"];
const LINEARS = ["q", "k", "v", "o", "gate", "up", "down"] as const;

const split = splitTrainTest(loadBrown(), { testFraction: 0.1, seed: 0 });

function perplexity(logits: Float32Array, next: number[], V: number): number {
  let nll = 0;
  for (let i = 0; i < next.length; i++) {
    const row = logits.subarray(i * V, (i + 1) * V);
    let mx = -Infinity;
    for (const v of row) mx = Math.max(mx, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - mx);
    nll += Math.log(s) + mx - row[next[i]];
  }
  return Math.exp(nll / next.length);
}

for (const name of NAMES) {
  Deno.test(`${name}: every quant format on the CPU is the codec-dequantised model; perplexity sane`, async () => {
    const base = await loadModel(bundledModelPath(name));
    const ids = Array.from(
      tokenStream([split.test[0].text], { tokenizer: base.tokenizer! }),
    ).slice(0, 97);
    const V = base.config.vocabSize, input = ids.slice(0, 96), next = ids.slice(1);
    const logits0 = await base.logits(input);
    const ppl0 = perplexity(logits0, next, V);
    for (const quant of QUANTS) {
      const m = await loadModel(bundledModelPath(name), { quant });
      equal(m.quantized?.format, quant);
      const got = await m.logits(input);
      const want = await new Model(base.config, mapLinears(base, codec(quant))).logits(input);
      ok(got.every((v, i) => v === want[i]), `${quant}: logits differ from the codec's model`);
      ok(got.some((v, i) => v !== logits0[i]), `${quant}: the weights were not quantised`);
      const ppl = perplexity(got, next, V);
      // 4-bit moves a tiny model's perplexity by well under 5%; int8 and bf16 by under 0.5%
      const tol = quant === "int8" || quant === "dfloat11" ? 0.005 : 0.05;
      ok(Math.abs(ppl / ppl0 - 1) < tol, `${quant}: perplexity ${ppl} vs f32 ${ppl0}`);
    }
  });
}

Deno.test("quantised sizes: bits per weight of each format", async () => {
  const bits: Record<string, number> = {};
  for (const quant of QUANTS) {
    const q = (await loadModel(bundledModelPath("tiny-target"), { quant })).quantized!;
    bits[quant] = (32 * q.byteLength) / q.f32ByteLength;
  }
  // nf4/fp4: 4 bits + one f32 absmax per 64 = 4.5; double quant: 4 + 8/64 + 32/(64·256) ≈ 4.127
  ok(Math.abs(bits.nf4 - 4.5) < 1e-9 && Math.abs(bits.fp4 - 4.5) < 1e-9, JSON.stringify(bits));
  ok(Math.abs(bits["nf4-dq"] - 4.127) < 0.01, JSON.stringify(bits));
  // int8 row-wise: 8 bits + one f32 per row of 128 or 384 values
  ok(bits.int8 > 8 && bits.int8 < 8.3, JSON.stringify(bits));
  // DFloat11: 8 raw bits + the Huffman-coded exponent (≈ 2.6–3 bits) + the index, vs 16 bf16
  ok(bits.dfloat11 > 10 && bits.dfloat11 < 12, JSON.stringify(bits));
});

/** tiny-target written as a bitsandbytes 4-bit HF checkpoint: two shards, linears in bnb layout. */
async function writeBnbCheckpoint(quant: "nf4" | "fp4-dq", extra: Record<string, unknown> = {}) {
  const src = bundledModelPath("tiny-target");
  const dir = await Deno.makeTempDir();
  const config = JSON.parse(await Deno.readTextFile(`${src}/config.json`));
  const format = quant.startsWith("nf4") ? "nf4" : "fp4";
  config.quantization_config = {
    quant_method: "bitsandbytes",
    load_in_4bit: true,
    bnb_4bit_quant_type: format,
    bnb_4bit_use_double_quant: quant.endsWith("dq"),
    ...extra,
  };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  const m = await loadModel(src);
  const c = m.config;
  const plain = new Map<string, { data: Float32Array; shape: number[] }>([
    ["model.embed_tokens.weight", { data: m.weights.embed, shape: [c.vocabSize, c.hiddenSize] }],
    ["model.norm.weight", { data: m.weights.norm, shape: [c.hiddenSize] }],
  ]);
  const packed = new Map<string, QuantizedTensor>();
  const names: Record<string, string> = {
    q: "self_attn.q_proj",
    k: "self_attn.k_proj",
    v: "self_attn.v_proj",
    o: "self_attn.o_proj",
    gate: "mlp.gate_proj",
    up: "mlp.up_proj",
    down: "mlp.down_proj",
  };
  const shapes = linearShapes(m);
  m.weights.layers.forEach((L, l) => {
    const p = `model.layers.${l}.`;
    plain.set(p + "input_layernorm.weight", { data: L.inputNorm, shape: [c.hiddenSize] });
    plain.set(p + "post_attention_layernorm.weight", { data: L.postNorm, shape: [c.hiddenSize] });
    for (const k of LINEARS) {
      packed.set(
        `${p}${names[k]}.weight`,
        quantize(L[k], { format, shape: shapes[k], doubleQuant: quant.endsWith("dq") }),
      );
    }
  });
  await saveSafetensors(plain, `${dir}/model-00001-of-00002.safetensors`);
  await saveBnb4bit(packed, `${dir}/model-00002-of-00002.safetensors`);
  const weightMap: Record<string, string> = {};
  for (const k of plain.keys()) weightMap[k] = "model-00001-of-00002.safetensors";
  for (const k of packed.keys()) weightMap[k] = "model-00002-of-00002.safetensors";
  await Deno.writeTextFile(
    `${dir}/model.safetensors.index.json`,
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );
  return dir;
}

Deno.test("loadModel of a bitsandbytes 4-bit checkpoint equals quantising on load", async () => {
  for (const quant of ["nf4", "fp4-dq"] as const) {
    const dir = await writeBnbCheckpoint(quant);
    const fromFile = await loadModel(dir);
    equal(fromFile.quantized?.format, quant);
    const onLoad = await loadModel(bundledModelPath("tiny-target"), { quant });
    const ids = [5, 17, 300, 4000, 2];
    deepEqual(await fromFile.logits(ids), await onLoad.logits(ids));
    await rejects(loadModel(dir, { quant: "nf4" }), /already quantised/);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveModel of a 4-bit model writes the bitsandbytes layout and loads back code for code", async () => {
  const ids = [5, 17, 300, 4000, 2];
  for (const quant of ["nf4", "fp4", "nf4-dq", "fp4-dq"] as const) {
    const m = await loadModel(bundledModelPath("tiny-draft"), { quant });
    const dir = await Deno.makeTempDir();
    await saveModel(m, dir);
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    equal(cfg.quantization_config.quant_method, "bitsandbytes");
    equal(cfg.quantization_config.load_in_4bit, true);
    equal(cfg.quantization_config.bnb_4bit_quant_type, quant.slice(0, 3));
    equal(cfg.quantization_config.bnb_4bit_use_double_quant, quant.endsWith("-dq"));
    // The file itself, read by the quant layer: 7 packed linears per layer, each the codes the
    // codec gives for the original f32 weights (not the saved model's own copy).
    const packed = parseBnb4bit(await Deno.readFile(`${dir}/model.safetensors`));
    const f32 = await loadModel(bundledModelPath("tiny-draft"));
    equal(packed.size, 7 * f32.config.numLayers);
    const shapes = linearShapes(f32);
    f32.weights.layers.forEach((L, l) => {
      for (const k of LINEARS) {
        const name = `model.layers.${l}.${
          k === "gate" || k === "up" || k === "down" ? "mlp" : "self_attn"
        }.${k}_proj.weight`;
        const want = quantize(L[k], {
          format: quant.slice(0, 3) as "nf4" | "fp4",
          shape: shapes[k],
          doubleQuant: quant.endsWith("-dq"),
        });
        const got = packed.get(name)!;
        deepEqual(got.codes, want.codes, name);
        deepEqual(got.nested?.codes ?? got.absmax, want.nested?.codes ?? want.absmax, name);
      }
    });
    const back = await loadModel(dir);
    equal(back.quantized?.format, quant);
    deepEqual(await back.logits(ids), await m.logits(ids));
    deepEqual(back.weights.embed, m.weights.embed);
    // Saving the reloaded checkpoint again gives the same bytes.
    const again = await Deno.makeTempDir();
    await saveModel(back, again);
    deepEqual(
      await Deno.readFile(`${again}/model.safetensors`),
      await Deno.readFile(`${dir}/model.safetensors`),
    );
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(again, { recursive: true });
  }
});

Deno.test("saveModel refuses int8 and DFloat11 models and leaves the folder untouched", async () => {
  for (const quant of ["int8", "dfloat11"] as const) {
    const m = await loadModel(bundledModelPath("tiny-draft"), { quant });
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/config.json`, "keep");
    await rejects(saveModel(m, dir), new RegExp(`${quant} model has no checkpoint layout`));
    equal(await Deno.readTextFile(`${dir}/config.json`), "keep");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel refuses 8-bit bitsandbytes checkpoints and unknown quant formats", async () => {
  const dir = await writeBnbCheckpoint("nf4", { load_in_4bit: false, load_in_8bit: true });
  await rejects(loadModel(dir), /bitsandbytes 8-bit.*not readable/);
  await Deno.remove(dir, { recursive: true });
  await rejects(
    // deno-lint-ignore no-explicit-any
    loadModel(bundledModelPath("tiny-draft"), { quant: "int4" as any }),
    /unknown quant format "int4"/,
  );
});

gpuTest(
  "quantised models on the GPU (fused kernels) vs the dequantised-f32 model",
  "tests/models/_quant_cases.ts",
  NAMES.flatMap((fixture) =>
    QUANTS.map((quant) => ({
      name: `${fixture} ${quant}`,
      kind: "quantModel",
      fixture,
      quant,
      // f32 GPU kernels vs the CPU reference on the same dequantised weights: measured max
      // |Δlogit| 5.7e-6 on lavapipe; 1e-4 leaves room for another GPU's rounding. DFloat11
      // must be exact.
      atol: quant === "dfloat11" ? 0 : 1e-4,
      rtol: quant === "dfloat11" ? 0 : 1e-4,
    }))
  ),
);
