// Shared by tests/models/quantized_test.ts and its GPU child: the codec calls each model
// quant format stands for, spelled out independently of lib/models/quantized.ts.
import type { Model, ModelWeights } from "../../lib/models/mod.ts";
import { dequantize, fromBf16Bits, quantize, toBf16Bits } from "../../lib/quant/mod.ts";

export const QUANTS = ["nf4", "fp4", "nf4-dq", "fp4-dq", "int8", "dfloat11"] as const;
const LINEARS = ["q", "k", "v", "o", "gate", "up", "down"] as const;

/** [out, in] of each decoder linear. */
export function linearShapes(m: Model): Record<string, [number, number]> {
  const c = m.config, Dm = c.hiddenSize, QD = c.numHeads * c.headDim;
  const KD = c.numKvHeads * c.headDim, I = c.intermediateSize;
  return {
    q: [QD, Dm],
    k: [KD, Dm],
    v: [KD, Dm],
    o: [Dm, QD],
    gate: [I, Dm],
    up: [I, Dm],
    down: [Dm, I],
  };
}

/** The model with each decoder linear replaced by `f(values, [out, in])`. */
export function mapLinears(
  m: Model,
  f: (w: Float32Array, shape: [number, number]) => Float32Array,
): ModelWeights {
  const shapes = linearShapes(m);
  const weights: ModelWeights = {
    ...m.weights,
    layers: m.weights.layers.map((L) => {
      const out = { ...L };
      for (const k of LINEARS) out[k] = f(L[k], shapes[k]);
      return out;
    }),
  };
  return weights;
}

/** The codec calls each format stands for, spelled out independently of lib/models. */
export function codec(quant: typeof QUANTS[number]) {
  return (w: Float32Array, shape: [number, number]): Float32Array => {
    if (quant === "dfloat11") return fromBf16Bits(toBf16Bits(w)); // the bf16-cast weights
    if (quant === "int8") return dequantize(quantize(w, { format: "int8-rowwise", shape }));
    const format = quant.startsWith("nf4") ? "nf4" : "fp4";
    return dequantize(
      quantize(w, { format, shape, blockSize: 64, doubleQuant: quant.endsWith("dq") }),
    );
  };
}
