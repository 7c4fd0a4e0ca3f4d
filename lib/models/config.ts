/**
 * Hugging Face `config.json` parsing for llama, mistral and qwen2 checkpoints.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { RopeScaling } from "../../kernels/rope.ts";
export type { RopeScaling };

/** Rope types {@linkcode parseConfig} accepts. */
export const SUPPORTED_ROPE_TYPES: readonly string[] = ["default", "linear", "llama3"];

/** A normalised decoder-only transformer config. */
export interface ModelConfig {
  /** HF model_type: "llama", "mistral" or "qwen2". */
  modelType: string;
  /** Hidden size (d_model). */
  hiddenSize: number;
  /** Number of decoder layers. */
  numLayers: number;
  /** Attention heads. */
  numHeads: number;
  /** Key/value heads (GQA when < numHeads). */
  numKvHeads: number;
  /** Per-head dimension (explicit head_dim or hiddenSize / numHeads). */
  headDim: number;
  /** MLP intermediate size. */
  intermediateSize: number;
  /** Vocabulary size. */
  vocabSize: number;
  /** RMSNorm epsilon. */
  rmsNormEps: number;
  /** RoPE base. */
  ropeTheta: number;
  /** Whether q/k/v projections carry biases (qwen2: true). */
  qkvBias: boolean;
  /** Whether o_proj carries a bias (attention_bias in llama). */
  oBias: boolean;
  /** Whether lm_head shares the embedding matrix. */
  tieWordEmbeddings: boolean;
  /** Max positions from the config. */
  maxPositionEmbeddings: number;
  /** RoPE frequency scaling ("linear" or "llama3"), or null for plain RoPE. */
  ropeScaling: RopeScaling | null;
  /** Mistral sliding window, or null when none. */
  slidingWindow: number | null;
  /** The raw JSON as read. */
  raw: Record<string, unknown>;
}

/**
 * Parses an HF config object. Throws a TokenlabError naming the bad field.
 *
 * @example
 * ```ts
 * import { parseConfig } from "@tokenlab/tokenlab/models";
 * const c = parseConfig({
 *   model_type: "llama", hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4,
 *   intermediate_size: 64, vocab_size: 256,
 * });
 * console.log(c.headDim);
 * ```
 */
export function parseConfig(raw: Record<string, unknown>, source = "config.json"): ModelConfig {
  const bad = (msg: string, hint = "fix config.json"): never => {
    throw new TokenlabError(`${source}: ${msg}`, { hint });
  };
  if (typeof raw !== "object" || raw === null) bad("is not a JSON object");
  const modelType = String(raw.model_type ?? "");
  if (!["llama", "mistral", "qwen2"].includes(modelType)) {
    bad(`model_type "${modelType}" is not supported`, "supported: llama, mistral, qwen2");
  }
  const int = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      return bad(`${key} must be a positive integer, got ${JSON.stringify(raw[key])}`);
    }
    return v;
  };
  const hiddenSize = int("hidden_size");
  const numHeads = int("num_attention_heads");
  const numKvHeads = int("num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) {
    bad(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  const headDim = raw.head_dim == null ? hiddenSize / numHeads : int("head_dim");
  if (!Number.isInteger(headDim)) {
    bad(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  }
  const act = raw.hidden_act ?? "silu";
  if (act !== "silu") bad(`hidden_act "${act}" is not supported`, "only silu is supported");
  if (raw.mlp_bias === true) {
    bad("mlp_bias is not supported", "use a checkpoint without MLP biases");
  }
  const ropeParams = (raw.rope_parameters ?? null) as Record<string, unknown> | null;
  const scalingRaw = (raw.rope_scaling ?? null) as Record<string, unknown> | null;
  let ropeScaling: RopeScaling | null = null;
  for (
    const [field, p] of [["rope_parameters", ropeParams], ["rope_scaling", scalingRaw]] as const
  ) {
    if (!p) continue;
    const type = String(p.rope_type ?? p.type ?? "default");
    if (!SUPPORTED_ROPE_TYPES.includes(type)) {
      bad(
        `${field}: rope type "${type}" is not supported`,
        `supported rope types: ${SUPPORTED_ROPE_TYPES.join(", ")}`,
      );
    }
    if (type === "default") continue;
    const num = (key: string, fallback?: number): number => {
      const v = p[key] ?? fallback;
      if (typeof v !== "number" || !(v > 0)) {
        return bad(
          `${field}.${key} must be a positive number for ${type} rope scaling, got ${
            JSON.stringify(p[key])
          }`,
        );
      }
      return v;
    };
    ropeScaling = type === "linear" ? { type, factor: num("factor") } : {
      type: "llama3",
      factor: num("factor"),
      lowFreqFactor: num("low_freq_factor", 1),
      highFreqFactor: num("high_freq_factor", 4),
      originalMaxPositionEmbeddings: num("original_max_position_embeddings", 8192),
    };
    if (type === "llama3" && ropeScaling.lowFreqFactor! >= ropeScaling.highFreqFactor!) {
      bad(`${field}: low_freq_factor must be below high_freq_factor`);
    }
  }
  const theta = (ropeParams?.rope_theta ?? raw.rope_theta ?? 10000) as number;
  if (typeof theta !== "number" || !(theta > 0)) bad(`rope_theta must be positive, got ${theta}`);
  const eps = (raw.rms_norm_eps ?? 1e-6) as number;
  if (typeof eps !== "number" || !(eps > 0)) bad(`rms_norm_eps must be positive, got ${eps}`);
  const attnBias = raw.attention_bias === true;
  const qkvBias = modelType === "qwen2" ? true : attnBias;
  const sw = raw.sliding_window;
  const useSw = modelType === "mistral" ||
    (modelType === "qwen2" && raw.use_sliding_window === true);
  return {
    modelType,
    hiddenSize,
    numLayers: int("num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: int("intermediate_size"),
    vocabSize: int("vocab_size"),
    rmsNormEps: eps,
    ropeTheta: theta,
    qkvBias,
    oBias: modelType === "qwen2" ? false : attnBias,
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    maxPositionEmbeddings: int("max_position_embeddings", 2048),
    ropeScaling,
    slidingWindow: useSw && typeof sw === "number" ? sw : null,
    raw,
  };
}

/**
 * Reads and parses `<dir>/config.json`.
 *
 * @example
 * ```ts
 * import { readConfig } from "@tokenlab/tokenlab/models";
 * const c = await readConfig("tests/fixtures/models/llama_gqa").catch(() => null);
 * console.log(c?.numLayers);
 * ```
 */
export async function readConfig(dir: string): Promise<ModelConfig> {
  const path = `${dir}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new TokenlabError(`cannot read ${path}`, { hint: "is this a model folder?", cause: e });
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TokenlabError(`${path} is not valid JSON`, { hint: "fix the file", cause: e });
  }
  return parseConfig(raw, path);
}
