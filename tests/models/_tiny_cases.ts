// Small configs and random batches shared by the tiny-model tests.
import { parseConfig, tinyConfig } from "../../lib/models/mod.ts";
import { Rng } from "../../lib/util/rng.ts";

/** A 2-layer GQA config (vocab 23) with overrides. */
export function tiny(extra: Record<string, unknown> = {}) {
  return parseConfig(tinyConfig({
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 20,
    vocab_size: 23,
    rms_norm_eps: 1e-5,
    ...extra,
  }));
}

/** A random batch with one ignored target. */
export function randomBatch(seed: number, o: { B: number; S: number; V: number }) {
  const rng = new Rng(seed);
  const inputs = Int32Array.from({ length: o.B * o.S }, () => rng.int(o.V));
  const targets = Int32Array.from({ length: o.B * o.S }, () => rng.int(o.V));
  targets[1] = -1; // an ignored position
  return { inputs, targets, batchSize: o.B, seqLen: o.S };
}
