// Shared cases of the packed-prefill tests: packed (and padded) prefill gives, for every
// prompt, the last-token logits of prefilling that prompt alone.
import { prepackPrompts } from "../../lib/data/mod.ts";
import type { Model } from "../../lib/models/mod.ts";
import { Rng } from "../../lib/util/rng.ts";

/** Seeded prompts of lengths 1..maxLen over the model's vocabulary. */
export function prompts(model: Model, options: { count: number; maxLen: number; seed: number }) {
  const rng = new Rng(options.seed);
  const V = model.config.vocabSize;
  return Array.from(
    { length: options.count },
    () => Array.from({ length: 1 + rng.int(options.maxLen) }, () => rng.int(V)),
  );
}

/** Max relative error (max |Δ| / max |ref|) of packed vs alone over all prompts. */
export async function packedVsAlone(
  model: Model,
  alone: Model,
  options: { mode: "packed" | "padded"; capacity?: number; seed: number },
): Promise<number> {
  const ps = prompts(model, { count: 7, maxLen: 13, seed: options.seed });
  const batch = prepackPrompts(ps, { mode: options.mode, capacity: options.capacity });
  const got = await model.forwardPacked(batch);
  const V = model.config.vocabSize;
  if (got.length !== ps.length * V) throw new Error(`got ${got.length / V} rows, not ${ps.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < ps.length; i++) {
    const full = await alone.forward(ps[i], alone.newCache());
    const want = full.subarray((ps[i].length - 1) * V);
    for (let v = 0; v < V; v++) {
      num = Math.max(num, Math.abs(got[i * V + v] - want[v]));
      den = Math.max(den, Math.abs(want[v]));
    }
  }
  return num / den;
}
