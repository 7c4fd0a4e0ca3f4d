/**
 * Quantised linear layers for the model runtime: `loadModel(dir, { quant })` quantises the
 * seven linear weights of every decoder layer (q, k, v, o, gate, up, down; the embedding,
 * the LM head and the norms stay f32, as bitsandbytes and transformers leave them), and
 * `loadModel(dir)` reads a bitsandbytes 4-bit HF checkpoint (config.json with a
 * `quantization_config`).
 *
 * - CPU path: the linear weights are the dequantised f32 values (the one CPU reference,
 *   `dequantize` + the kernels' matmul), so a quantised model on the CPU is the dequantised-f32
 *   model.
 * - GPU path: the weights stay quantised on the device and every linear layer runs the fused
 *   dequantise-and-multiply kernels of lib/quant (`quantMatmul`); DFloat11 weights are decoded
 *   on the GPU just before their matmul and the decoded copy dropped after it (as the paper
 *   does), so its logits equal the bf16-cast model's bit for bit.
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import { type GpuContext, Tensor } from "../gpu/mod.ts";
import { matmul } from "../../kernels/mod.ts";
import {
  compressBf16,
  decompressBf16,
  decompressBf16Gpu,
  dequantize,
  type Df11Tensor,
  fromBf16Bits,
  type GpuDf11Tensor,
  type GpuQuantizedTensor,
  loadBnb4bit,
  quantize,
  quantizedByteLength,
  type QuantizedTensor,
  quantMatmul,
  toBf16Bits,
  uploadDf11,
  uploadQuantized,
} from "../quant/mod.ts";
import { LAYER_TENSORS } from "./_layer_tensors.ts";
import type { ModelConfig } from "./config.ts";
import type { Tensor as FileTensor } from "./safetensors.ts";
import type { LayerWeights, ModelWeights } from "./weights.ts";

/**
 * A weight format for `loadModel(dir, { quant })`: bitsandbytes nf4 / fp4 (blocks of 64, with
 * `-dq` double quantisation), LLM.int8() row-wise int8, or lossless DFloat11 (bf16 weights,
 * Huffman-coded exponents).
 */
export type ModelQuant = "nf4" | "fp4" | "nf4-dq" | "fp4-dq" | "int8" | "dfloat11";

/** The formats {@linkcode ModelQuant} allows. */
export const MODEL_QUANTS: readonly ModelQuant[] = [
  "nf4",
  "fp4",
  "nf4-dq",
  "fp4-dq",
  "int8",
  "dfloat11",
];

/** The short names of a decoder layer's seven linear weights. */
export type LinearName = "q" | "k" | "v" | "o" | "gate" | "up" | "down";

/** One quantised linear weight: a bitsandbytes tensor or a DFloat11 one (with its shape). */
export type QuantizedLinear =
  | { kind: "bnb"; tensor: QuantizedTensor }
  | { kind: "dfloat11"; tensor: Df11Tensor; shape: [number, number] };

/** The quantised linear weights of a model. */
export interface QuantizedLinears {
  /** The format (for a bitsandbytes checkpoint: what its quant state says). */
  format: ModelQuant;
  /** Per decoder layer, the quantised weights by short name. */
  layers: Record<LinearName, QuantizedLinear>[];
  /** Bytes the quantised linear weights occupy (codes and scales, or the DFloat11 stream). */
  byteLength: number;
  /** Bytes the same weights take in f32. */
  f32ByteLength: number;
}

const LINEARS: LinearName[] = ["q", "k", "v", "o", "gate", "up", "down"];

function linearShape(config: ModelConfig, name: LinearName): [number, number] {
  const c = config, Dm = c.hiddenSize, QD = c.numHeads * c.headDim;
  const KD = c.numKvHeads * c.headDim, I = c.intermediateSize;
  const shapes: Record<string, [number, number]> = {
    q: [QD, Dm],
    k: [KD, Dm],
    v: [KD, Dm],
    o: [Dm, QD],
    gate: [I, Dm],
    up: [I, Dm],
    down: [Dm, I],
  };
  return shapes[name];
}

function byteLengthOf(q: QuantizedLinear): number {
  return q.kind === "bnb" ? quantizedByteLength(q.tensor) : q.tensor.byteLength;
}

function quantizeOne(w: Float32Array, shape: [number, number], quant: ModelQuant): QuantizedLinear {
  if (quant === "dfloat11") return { kind: "dfloat11", tensor: compressBf16(toBf16Bits(w)), shape };
  if (quant === "int8") {
    return { kind: "bnb", tensor: quantize(w, { format: "int8-rowwise", shape }) };
  }
  const format = quant.startsWith("nf4") ? "nf4" : "fp4";
  return {
    kind: "bnb",
    tensor: quantize(w, { format, shape, doubleQuant: quant.endsWith("-dq") }),
  };
}

/** The f32 values a quantised linear stands for (dequantised, or the bf16 values widened). */
export function linearValues(q: QuantizedLinear): Float32Array {
  return q.kind === "bnb" ? dequantize(q.tensor) : fromBf16Bits(decompressBf16(q.tensor));
}

function withLinears(
  weights: ModelWeights,
  layers: Record<LinearName, QuantizedLinear>[],
): ModelWeights {
  return {
    ...weights,
    layers: weights.layers.map((L, l): LayerWeights => {
      const out = { ...L };
      for (const k of LINEARS) out[k] = linearValues(layers[l][k]);
      return out;
    }),
  };
}

function summary(
  format: ModelQuant,
  layers: Record<LinearName, QuantizedLinear>[],
): QuantizedLinears {
  let byteLength = 0, f32ByteLength = 0;
  for (const L of layers) {
    for (const k of LINEARS) {
      byteLength += byteLengthOf(L[k]);
      const s = L[k].kind === "bnb"
        ? (L[k].tensor as QuantizedTensor).shape
        : (L[k] as { shape: number[] }).shape;
      f32ByteLength += 4 * s[0] * s[1];
    }
  }
  return { format, layers, byteLength, f32ByteLength };
}

/** Options of {@linkcode quantizeModelWeights}. */
export interface QuantizeModelOptions {
  /** The model's config (for the weight shapes). */
  config: ModelConfig;
  /** The format. */
  quant: ModelQuant;
}

/**
 * Quantises the linear weights of every decoder layer; returns the quantised set and the
 * weights the CPU path computes with (the linears replaced by their dequantised f32 values).
 *
 * @example
 * ```ts
 * import { loadModel, quantizeModelWeights } from "@tokenlab/tokenlab/models";
 * const m = await loadModel("tests/fixtures/models/llama_gqa");
 * const { quantized } = quantizeModelWeights(m.weights, { config: m.config, quant: "nf4" });
 * console.log(quantized.byteLength / quantized.f32ByteLength); // ≈ 0.14
 * ```
 */
export function quantizeModelWeights(
  weights: ModelWeights,
  options: QuantizeModelOptions,
): { weights: ModelWeights; quantized: QuantizedLinears } {
  const { config, quant } = options;
  if (!MODEL_QUANTS.includes(quant)) {
    throw new TokenlabError(`unknown quant format ${JSON.stringify(quant)}`, {
      hint: `use one of ${MODEL_QUANTS.join(", ")}`,
    });
  }
  const layers = weights.layers.map((L) => {
    const out = {} as Record<LinearName, QuantizedLinear>;
    for (const k of LINEARS) {
      out[k] = quantizeOne(L[k], linearShape(config, k), quant);
    }
    return out;
  });
  return { weights: withLinears(weights, layers), quantized: summary(quant, layers) };
}

/**
 * Whether a config.json (its raw JSON) describes a bitsandbytes-quantised checkpoint; throws
 * for a quantisation this runtime cannot read (8-bit bitsandbytes, other methods).
 */
export function bnbCheckpointKind(raw: Record<string, unknown>, dir: string): boolean {
  const qc = raw.quantization_config as Record<string, unknown> | undefined;
  if (qc == null) return false;
  const method = qc.quant_method ?? "bitsandbytes";
  if (method !== "bitsandbytes" || qc.load_in_4bit !== true) {
    throw new TokenlabError(
      `${dir}: config.json's quantization_config (${
        qc.load_in_8bit ? "bitsandbytes 8-bit" : String(method)
      }) is not readable here`,
      {
        hint:
          'tokenlab reads bitsandbytes 4-bit checkpoints (load_in_4bit); load the f32/bf16 weights and pass { quant: "int8" } instead',
      },
    );
  }
  return true;
}

async function shardPaths(dir: string): Promise<string[]> {
  try {
    const index = JSON.parse(await Deno.readTextFile(`${dir}/model.safetensors.index.json`));
    return [...new Set(Object.values(index.weight_map ?? {}) as string[])].map((f) =>
      `${dir}/${f}`
    );
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [`${dir}/model.safetensors`];
    throw e;
  }
}

/**
 * Reads a bitsandbytes 4-bit HF checkpoint: each quantised weight (via `loadBnb4bit`) replaces
 * its packed tensor in `tensors` by its dequantised f32 values, so the f32 weight set can be
 * built as usual; the quantised decoder linears are returned for the GPU path.
 */
export async function readBnbCheckpoint(
  dir: string,
  init: { config: ModelConfig; tensors: Map<string, FileTensor> },
): Promise<QuantizedLinears> {
  const { config, tensors } = init;
  const all = new Map<string, QuantizedTensor>();
  for (const path of await shardPaths(dir)) {
    for (const [k, q] of await loadBnb4bit(path)) all.set(k, q);
  }
  check(
    all.size > 0,
    `${dir}: config.json says 4-bit bitsandbytes, but no weight has a quant state`,
    {
      hint: "the checkpoint's tensors do not match its config.json",
    },
  );
  for (const [name, q] of all) {
    tensors.set(name, { dtype: "F32", shape: [...q.shape], data: dequantize(q) });
  }
  const formats = new Set<string>();
  const layers = Array.from({ length: config.numLayers }, (_, l) => {
    const out = {} as Record<LinearName, QuantizedLinear>;
    for (const k of LINEARS) {
      const q = all.get(`model.layers.${l}.${LAYER_TENSORS[k]}`);
      if (!q) {
        throw new TokenlabError(
          `${dir}: model.layers.${l}.${LAYER_TENSORS[k]} is not 4-bit quantised`,
          { hint: "tokenlab expects every decoder linear quantised (transformers' default)" },
        );
      }
      const shape = linearShape(config, k);
      check(
        q.shape.length === 2 && q.shape[0] === shape[0] && q.shape[1] === shape[1],
        `${dir}: model.layers.${l}.${LAYER_TENSORS[k]} has shape [${q.shape}], expected [${shape}]`,
        { hint: "the checkpoint does not match config.json" },
      );
      formats.add(q.format + (q.nested ? "-dq" : ""));
      out[k] = { kind: "bnb", tensor: q };
    }
    return out;
  });
  const format = formats.size === 1 ? [...formats][0] as ModelQuant : "nf4";
  return summary(format, layers);
}

/** A linear weight on the device: f32, quantised for the fused kernels, or DFloat11. */
export type GpuLinearWeight =
  | Tensor
  | { kind: "bnb"; weight: GpuQuantizedTensor }
  | { kind: "dfloat11"; weight: GpuDf11Tensor; shape: [number, number] };

/** Uploads one quantised linear for {@linkcode gpuLinear}. */
export function uploadLinear(q: QuantizedLinear, gpu: GpuContext): GpuLinearWeight {
  return q.kind === "bnb"
    ? { kind: "bnb", weight: uploadQuantized(q.tensor, gpu) }
    : { kind: "dfloat11", weight: uploadDf11(q.tensor, gpu), shape: q.shape };
}

/** `x · Wᵀ` on the device for any {@linkcode GpuLinearWeight}. */
export async function gpuLinear(x: Tensor, w: GpuLinearWeight): Promise<Tensor> {
  if (w instanceof Tensor) return await matmul({ a: x, b: w }, { transposeB: true });
  if (w.kind === "bnb") return await quantMatmul({ x, w: w.weight });
  const dense = (await decompressBf16Gpu(w.weight, { dtype: "f32" })).reshape(w.shape);
  const y = await matmul({ a: x, b: dense }, { transposeB: true });
  dense.release();
  return y;
}
