/**
 * Saving a model as an HF folder (config.json + model.safetensors, and tokenizer.json when the
 * model's tokenizer can save itself): f32, or, for a model quantised to nf4/fp4, the
 * bitsandbytes 4-bit layout transformers writes.
 *
 * @module
 */
import type { Model } from "./model.ts";
import { saveSafetensors, type TensorToWrite } from "./safetensors.ts";
import { check, TokenlabError } from "../util/errors.ts";
import { writeAtomically } from "../util/_write_atomically.ts";
import { type DenseTensor, type QuantizedTensor, serializeBnb4bit } from "../quant/mod.ts";
import { LAYER_TENSORS } from "./_layer_tensors.ts";
import type { QuantizedLinears } from "./quantized.ts";

/**
 * Writes `config.json` and `model.safetensors` (HF names, f32) into `dir` (created if missing),
 * and `tokenizer.json` when `model.tokenizer` has a `save` method (lib/tokenizers' `Tokenizer`
 * has). The config written is the raw config read at load time, with dtype set to float32.
 * A trained `TinyLM` saves the same way: `saveModel(lm.toModel(), dir)`.
 *
 * A model loaded with `{ quant: "nf4" | "fp4" | "nf4-dq" | "fp4-dq" }` (or from a bitsandbytes
 * checkpoint) saves in the bitsandbytes 4-bit layout: the decoder linears as packed codes with
 * their quant state, everything else f32, and a `quantization_config` in config.json as
 * transformers writes it, so `loadModel(dir)` (or transformers with bitsandbytes) reads it back
 * with the same codes. int8 and DFloat11 models are refused: save the unquantised model and
 * pass `{ quant }` on load (both formats are re-derived exactly from the f32/bf16 weights).
 *
 * @example
 * ```ts
 * import { loadModel, saveModel } from "@tokenlab/tokenlab/models";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * await saveModel(model, await Deno.makeTempDir());
 * ```
 */
export async function saveModel(model: Model, dir: string): Promise<void> {
  check(
    model != null && typeof model === "object" && "weights" in model && "config" in model,
    "saveModel: the first argument must be a Model (from loadModel, or TinyLM.toModel())",
  );
  check(typeof dir === "string" && dir.length > 0, "saveModel: dir must be a folder path");
  const c = model.config, w = model.weights;
  const Dm = c.hiddenSize, QD = c.numHeads * c.headDim, KD = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const t = new Map<string, TensorToWrite>();
  const put = (n: string, shape: number[], data?: Float32Array) => {
    if (data) t.set(n, { shape, data });
  };
  put("model.embed_tokens.weight", [c.vocabSize, Dm], w.embed);
  w.layers.forEach((L, l) => {
    const p = `model.layers.${l}.`;
    put(p + "input_layernorm.weight", [Dm], L.inputNorm);
    put(p + "post_attention_layernorm.weight", [Dm], L.postNorm);
    put(p + "self_attn.q_proj.weight", [QD, Dm], L.q);
    put(p + "self_attn.k_proj.weight", [KD, Dm], L.k);
    put(p + "self_attn.v_proj.weight", [KD, Dm], L.v);
    put(p + "self_attn.o_proj.weight", [Dm, QD], L.o);
    put(p + "self_attn.q_proj.bias", [QD], L.qBias);
    put(p + "self_attn.k_proj.bias", [KD], L.kBias);
    put(p + "self_attn.v_proj.bias", [KD], L.vBias);
    put(p + "self_attn.o_proj.bias", [Dm], L.oBias);
    put(p + "mlp.gate_proj.weight", [I, Dm], L.gate);
    put(p + "mlp.up_proj.weight", [I, Dm], L.up);
    put(p + "mlp.down_proj.weight", [Dm, I], L.down);
  });
  put("model.norm.weight", [Dm], w.norm);
  if (!c.tieWordEmbeddings) put("lm_head.weight", [c.vocabSize, Dm], w.lmHead);
  const q = model.quantized;
  if (
    q && q.format !== "nf4" && q.format !== "fp4" && q.format !== "nf4-dq" && q.format !== "fp4-dq"
  ) {
    throw new TokenlabError(`saveModel: a ${q.format} model has no checkpoint layout here`, {
      hint:
        `save the unquantised model and load it with { quant: "${q.format}" }; the codes are re-derived exactly from its weights`,
    });
  }
  await Deno.mkdir(dir, { recursive: true });
  const raw: Record<string, unknown> = { ...c.raw, dtype: "float32" };
  delete raw.quantization_config;
  if (q) raw.quantization_config = bnbQuantizationConfig(q);
  await writeAtomically(`${dir}/config.json`, JSON.stringify(raw, null, 2) + "\n");
  if (q) {
    await writeAtomically(`${dir}/model.safetensors`, bnbCheckpointBytes(q, t));
  } else {
    await saveSafetensors(t, `${dir}/model.safetensors`);
  }
  if (model.tokenizer?.save) await model.tokenizer.save(`${dir}/tokenizer.json`);
}

/** The `quantization_config` transformers' `BitsAndBytesConfig.to_dict()` writes for 4-bit. */
function bnbQuantizationConfig(q: QuantizedLinears): Record<string, unknown> {
  return {
    _load_in_4bit: true,
    _load_in_8bit: false,
    bnb_4bit_compute_dtype: "float32",
    bnb_4bit_quant_storage: "uint8",
    bnb_4bit_quant_type: q.format.startsWith("nf4") ? "nf4" : "fp4",
    bnb_4bit_use_double_quant: q.format.endsWith("-dq"),
    llm_int8_enable_fp32_cpu_offload: false,
    llm_int8_has_fp16_weight: false,
    llm_int8_skip_modules: null,
    llm_int8_threshold: 6.0,
    load_in_4bit: true,
    load_in_8bit: false,
    quant_method: "bitsandbytes",
  };
}

/** The decoder linears as bitsandbytes 4-bit tensors, every other tensor f32 beside them. */
function bnbCheckpointBytes(q: QuantizedLinears, all: Map<string, TensorToWrite>): Uint8Array {
  const packed = new Map<string, QuantizedTensor>();
  q.layers.forEach((L, l) => {
    for (const [short, name] of Object.entries(LAYER_TENSORS)) {
      const w = L[short as keyof typeof L];
      if (!w) continue;
      check(w.kind === "bnb", `saveModel: layer ${l} ${short} is not a 4-bit tensor`);
      packed.set(`model.layers.${l}.${name}`, w.tensor as QuantizedTensor);
    }
  });
  const dense = new Map<string, DenseTensor>();
  for (const [name, t] of all) {
    if (!packed.has(name)) dense.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  return serializeBnb4bit(packed, { dense });
}
