/**
 * The f32 weight set of a Llama-style decoder (HF layouts) and its assembly from checkpoint
 * tensors, checked against the config. A leaf shared by the CPU runtime (`model.ts`), the GPU
 * forward (`gpu.ts`) and the trainers.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { ModelConfig } from "./config.ts";
import type { Tensor } from "./safetensors.ts";

/** Weights of one decoder layer (f32, HF layouts). */
export interface LayerWeights {
  /** input_layernorm.weight [hidden]. */
  inputNorm: Float32Array;
  /** post_attention_layernorm.weight [hidden]. */
  postNorm: Float32Array;
  /** q_proj.weight [heads*headDim, hidden]. */
  q: Float32Array;
  /** k_proj.weight [kvHeads*headDim, hidden]. */
  k: Float32Array;
  /** v_proj.weight [kvHeads*headDim, hidden]. */
  v: Float32Array;
  /** o_proj.weight [hidden, heads*headDim]. */
  o: Float32Array;
  /** Optional q/k/v/o biases. */
  qBias?: Float32Array;
  /** k_proj.bias. */
  kBias?: Float32Array;
  /** v_proj.bias. */
  vBias?: Float32Array;
  /** o_proj.bias. */
  oBias?: Float32Array;
  /** gate_proj.weight [inter, hidden]. */
  gate: Float32Array;
  /** up_proj.weight [inter, hidden]. */
  up: Float32Array;
  /** down_proj.weight [hidden, inter]. */
  down: Float32Array;
}

/** All weights of a model (f32). */
export interface ModelWeights {
  /** embed_tokens.weight [vocab, hidden]. */
  embed: Float32Array;
  /** Decoder layers. */
  layers: LayerWeights[];
  /** model.norm.weight [hidden]. */
  norm: Float32Array;
  /** lm_head.weight [vocab, hidden] (the embedding when tied). */
  lmHead: Float32Array;
}

function getTensor(
  tensors: Map<string, Tensor>,
  name: string,
  opts: { shape: number[]; dir: string; optional?: boolean },
): Float32Array | undefined {
  const t = tensors.get(name);
  if (!t) {
    if (opts.optional) return undefined;
    throw new TokenlabError(`${opts.dir}: checkpoint lacks tensor "${name}"`, {
      hint: "the checkpoint does not match config.json",
    });
  }
  if (t.shape.join(",") !== opts.shape.join(",") || !(t.data instanceof Float32Array)) {
    throw new TokenlabError(
      `${opts.dir}: tensor "${name}" has shape [${t.shape}] ${t.dtype}, expected [${opts.shape}] float`,
      { hint: "the checkpoint does not match config.json" },
    );
  }
  return t.data;
}

/**
 * Builds the weight set from checkpoint tensors, checking names and shapes against the config.
 *
 * @example
 * ```ts
 * import { readCheckpoint, readConfig, weightsFromTensors } from "@tokenlab/tokenlab/models";
 * const dir = "tests/fixtures/models/llama_gqa";
 * const w = weightsFromTensors(await readConfig(dir), await readCheckpoint(dir)).layers?.length;
 * console.log(w);
 * ```
 */
export function weightsFromTensors(
  config: ModelConfig,
  tensors: Map<string, Tensor>,
  dir = "checkpoint",
): ModelWeights {
  const c = config, Dm = c.hiddenSize, QD = c.numHeads * c.headDim, KD = c.numKvHeads * c.headDim;
  const get = (n: string, shape: number[], optional = false) =>
    getTensor(tensors, n, { shape, dir, optional });
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    layers.push({
      inputNorm: get(p + "input_layernorm.weight", [Dm])!,
      postNorm: get(p + "post_attention_layernorm.weight", [Dm])!,
      q: get(p + "self_attn.q_proj.weight", [QD, Dm])!,
      k: get(p + "self_attn.k_proj.weight", [KD, Dm])!,
      v: get(p + "self_attn.v_proj.weight", [KD, Dm])!,
      o: get(p + "self_attn.o_proj.weight", [Dm, QD])!,
      qBias: get(p + "self_attn.q_proj.bias", [QD], !c.qkvBias),
      kBias: get(p + "self_attn.k_proj.bias", [KD], !c.qkvBias),
      vBias: get(p + "self_attn.v_proj.bias", [KD], !c.qkvBias),
      oBias: get(p + "self_attn.o_proj.bias", [Dm], !c.oBias),
      gate: get(p + "mlp.gate_proj.weight", [c.intermediateSize, Dm])!,
      up: get(p + "mlp.up_proj.weight", [c.intermediateSize, Dm])!,
      down: get(p + "mlp.down_proj.weight", [Dm, c.intermediateSize])!,
    });
  }
  const embed = get("model.embed_tokens.weight", [c.vocabSize, Dm])!;
  const lmHead = c.tieWordEmbeddings
    ? (get("lm_head.weight", [c.vocabSize, Dm], true) ?? embed)
    : get("lm_head.weight", [c.vocabSize, Dm])!;
  return { embed, layers, norm: get("model.norm.weight", [Dm])!, lmHead };
}
