// HF names of one decoder layer's weights (after `model.layers.{l}.`), keyed by the short names
// the trainers use, so the CPU and GPU trainers look a layer up the same way.

/** Short name → HF tensor name suffix of a Llama-style decoder layer. */
export const LAYER_TENSORS = {
  inputNorm: "input_layernorm.weight",
  q: "self_attn.q_proj.weight",
  k: "self_attn.k_proj.weight",
  v: "self_attn.v_proj.weight",
  o: "self_attn.o_proj.weight",
  postNorm: "post_attention_layernorm.weight",
  gate: "mlp.gate_proj.weight",
  up: "mlp.up_proj.weight",
  down: "mlp.down_proj.weight",
} as const;

/** A layer weight's short name. */
export type LayerTensor = keyof typeof LAYER_TENSORS;

/** `get` applied to every weight of layer `layer` by its full HF name. */
export function mapLayerTensors<T>(
  layer: number,
  get: (name: string) => T,
): Record<LayerTensor, T> {
  const out = {} as Record<LayerTensor, T>;
  for (const [key, suffix] of Object.entries(LAYER_TENSORS)) {
    out[key as LayerTensor] = get(`model.layers.${layer}.${suffix}`);
  }
  return out;
}
