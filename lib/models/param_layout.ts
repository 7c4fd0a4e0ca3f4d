/**
 * The parameter layout of a trainable Llama-style decoder (no biases): every HF tensor as a slot
 * of one flat buffer, in HF's order, and its initialisation. Shared by the CPU model (`TinyLM`)
 * and the GPU trainer, which upload and download the same slots.
 *
 * @example
 * ```ts
 * import { initParams, paramLayout, parseConfig } from "@tokenlab/tokenlab/models";
 * const config = parseConfig({
 *   model_type: "llama", hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
 *   intermediate_size: 16, vocab_size: 20,
 * });
 * const { slots, size } = paramLayout(config);
 * const params = new Float32Array(size);
 * initParams(params, { slots, numLayers: config.numLayers, seed: 1 });
 * console.log(slots.length, size);
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import type { ModelConfig } from "./config.ts";
import type { FloatArray } from "../../kernels/_common.ts";
import type { ParamSlot } from "./train_types.ts";

/** What {@linkcode paramLayout} returns. */
export interface ParamLayout {
  /** One slot per HF tensor, in HF order (the tied head has none). */
  slots: ParamSlot[];
  /** Values in the flat buffer. */
  size: number;
}

/**
 * The flat-buffer layout of `config`'s parameters: embedding, then per layer the input norm,
 * q/k/v/o, the post-attention norm, gate/up/down, then the final norm and (untied) head.
 * Matrices decay, norm gains do not.
 *
 * @example
 * ```ts
 * import { paramLayout, parseConfig } from "@tokenlab/tokenlab/models";
 * const { slots } = paramLayout(parseConfig({ model_type: "llama", hidden_size: 8,
 *   num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * console.log(slots.map((s) => s.name));
 * ```
 */
export function paramLayout(config: ModelConfig): ParamLayout {
  const c = config;
  check(
    !c.qkvBias && !c.oBias,
    `TinyLM trains models without attention biases; config ${c.modelType} has them`,
    { hint: 'use model_type "llama" or "mistral" with attention_bias false' },
  );
  check(c.headDim % 2 === 0, `head_dim must be even for RoPE, got ${c.headDim}`);
  const Dm = c.hiddenSize, QD = c.numHeads * c.headDim, KD = c.numKvHeads * c.headDim;
  const I = c.intermediateSize, V = c.vocabSize;
  const slots: ParamSlot[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    slots.push({ name, shape, offset, size, decay: shape.length > 1 });
    offset += size;
  };
  add("model.embed_tokens.weight", [V, Dm]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    add(p + "input_layernorm.weight", [Dm]);
    add(p + "self_attn.q_proj.weight", [QD, Dm]);
    add(p + "self_attn.k_proj.weight", [KD, Dm]);
    add(p + "self_attn.v_proj.weight", [KD, Dm]);
    add(p + "self_attn.o_proj.weight", [Dm, QD]);
    add(p + "post_attention_layernorm.weight", [Dm]);
    add(p + "mlp.gate_proj.weight", [I, Dm]);
    add(p + "mlp.up_proj.weight", [I, Dm]);
    add(p + "mlp.down_proj.weight", [Dm, I]);
  }
  add("model.norm.weight", [Dm]);
  if (!c.tieWordEmbeddings) add("lm_head.weight", [V, Dm]);
  return { slots, size: offset };
}

/** Options of {@linkcode initParams}. */
export interface InitParamsOptions {
  /** The layout of `params`. */
  slots: readonly ParamSlot[];
  /** Decoder layers (scales the residual projections' std). */
  numLayers: number;
  /** Seed (default 0). */
  seed?: number;
  /** Standard deviation of the weights (default 0.02; o/down projections get std/√(2L)). */
  initStd?: number;
}

/**
 * Initialises `params` in place, GPT-2 style: norm gains 1, matrices N(0, std²) drawn in slot
 * order from one seeded stream, the residual projections (o_proj, down_proj) scaled by 1/√(2L).
 *
 * @example
 * ```ts
 * import { initParams } from "@tokenlab/tokenlab/models";
 * const params = new Float32Array(6);
 * initParams(params, { numLayers: 1, slots: [
 *   { name: "model.norm.weight", shape: [2], offset: 0, size: 2, decay: false },
 *   { name: "lm_head.weight", shape: [2, 2], offset: 2, size: 4, decay: true },
 * ] });
 * console.log(params[0], params[1]); // 1 1
 * ```
 */
export function initParams(params: FloatArray, options: InitParamsOptions): void {
  const end = options.slots.reduce((m, s) => Math.max(m, s.offset + s.size), 0);
  check(
    params.length >= end,
    `initParams: the layout needs ${end} values, params has ${params.length}`,
    { hint: "allocate params with paramLayout(config).size values" },
  );
  check(
    Number.isInteger(options.numLayers) && options.numLayers > 0,
    `initParams: numLayers must be a positive integer, got ${options.numLayers}`,
  );
  const rng = new Rng(options.seed ?? 0);
  const std = options.initStd ?? 0.02;
  const projStd = std / Math.sqrt(2 * options.numLayers);
  for (const s of options.slots) {
    const view = params.subarray(s.offset, s.offset + s.size);
    if (s.shape.length === 1) view.fill(1);
    else {
      const sd = /o_proj|down_proj/.test(s.name) ? projStd : std;
      for (let i = 0; i < view.length; i++) view[i] = sd * rng.normal();
    }
  }
}
