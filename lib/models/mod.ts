/**
 * Model runtime: HF config and safetensors I/O, Llama-style transformer, KV cache, generation, tiny-model training.
 *
 * @example
 * ```ts
 * import * as area from "@tokenlab/tokenlab/models";
 * console.log(Object.keys(area));
 * ```
 *
 * @module
 */
export * from "./safetensors.ts";
export * from "./config.ts";
export * from "./weights.ts";
export * from "./kv_cache.ts";
export * from "./model.ts";
export * from "./tree.ts";
export * from "./generate.ts";
export * from "./save.ts";
export * from "./bundled.ts";
export type { FloatArray } from "../../kernels/_common.ts";
export * from "./train_types.ts";
export * from "./param_layout.ts";
export * from "./tiny_lm.ts";
export * from "./optimizer.ts";
export * from "./token_stream.ts";
export * from "./trainer.ts";
export * from "./train.ts";
export * from "./gpu.ts";
export * from "./train_gpu.ts";
