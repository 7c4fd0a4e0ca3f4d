/**
 * Saving a model as an HF folder (config.json + model.safetensors in f32, and tokenizer.json
 * when the model's tokenizer can save itself).
 *
 * @module
 */
import type { Model } from "./model.ts";
import { saveSafetensors, type TensorToWrite } from "./safetensors.ts";
import { check } from "../util/errors.ts";

/**
 * Writes `config.json` and `model.safetensors` (HF names, f32) into `dir` (created if missing),
 * and `tokenizer.json` when `model.tokenizer` has a `save` method (lib/tokenizers' `Tokenizer`
 * has). The config written is the raw config read at load time, with dtype set to float32.
 * A trained `TinyLM` saves the same way: `saveModel(lm.toModel(), dir)`.
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
  await Deno.mkdir(dir, { recursive: true });
  const raw = { ...c.raw, dtype: "float32" };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(raw, null, 2) + "\n");
  await saveSafetensors(t, `${dir}/model.safetensors`);
  if (model.tokenizer?.save) await model.tokenizer.save(`${dir}/tokenizer.json`);
}
