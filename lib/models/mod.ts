/**
 * Model runtime: HF config and safetensors I/O, a Llama-style transformer (CPU or WebGPU), the
 * KV cache, generation, and tiny-model training (`trainTinyLM` driving a CPU or GPU trainer).
 *
 * @example
 * ```ts
 * import { bundledModelPath, generate, loadModel, saveModel } from "@tokenlab/tokenlab/models";
 * // load a bundled default model (config.json + model.safetensors + tokenizer.json)
 * const model = await loadModel(bundledModelPath("tiny-target"));
 * const prompt = model.tokenizer!.encode("Once upon a time");
 * // greedy by default; temperature/topK/topP with a seed draw the same tokens on CPU and GPU
 * const ids = await generate(model, prompt, { maxNewTokens: 12 });
 * console.log(model.tokenizer!.decode(ids));
 * await saveModel(model, await Deno.makeTempDir()); // an HF folder transformers can load
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
export * from "./quantized.ts";
