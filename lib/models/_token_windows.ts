/**
 * Windows of a token stream as training batches: the non-overlapping windows evaluation runs
 * over, and the seeded random windows of a training step.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import type { TrainBatch } from "./train_types.ts";

/** The non-overlapping windows of a stream as batches, with their number of predicted tokens. */
export function* streamWindows(
  options: { tokens: Int32Array; seqLen: number; maxTokens?: number; batchSize?: number },
): Generator<{ batch: TrainBatch; n: number }> {
  const { tokens, seqLen } = options;
  const limit = Math.min(tokens.length, (options.maxTokens ?? Infinity) + 1);
  const bs = options.batchSize ?? 8;
  const starts: number[] = [];
  for (let s = 0; s + 1 < limit; s += seqLen) starts.push(s);
  for (let i = 0; i < starts.length; i += bs) {
    const group = starts.slice(i, i + bs);
    const inputs = new Int32Array(group.length * seqLen);
    const targets = new Int32Array(group.length * seqLen).fill(-1);
    let n = 0;
    group.forEach((s, b) => {
      for (let j = 0; j < seqLen; j++) {
        if (s + j + 1 >= limit) break;
        inputs[b * seqLen + j] = tokens[s + j];
        targets[b * seqLen + j] = tokens[s + j + 1];
        n++;
      }
    });
    if (n === 0) continue;
    yield { batch: { inputs, targets, batchSize: group.length, seqLen }, n };
  }
}

/**
 * Fills `batch` with `batchSize` windows of `seqLen + 1` tokens drawn uniformly from `tokens`
 * by `rng` (inputs the first `seqLen`, targets shifted by one).
 */
export function fillRandomWindows(
  batch: TrainBatch,
  options: { tokens: Int32Array; rng: Rng },
): void {
  const { tokens, rng } = options, S = batch.seqLen;
  for (let b = 0; b < batch.batchSize; b++) {
    const s0 = rng.int(tokens.length - S);
    for (let j = 0; j < S; j++) {
      batch.inputs[b * S + j] = tokens[s0 + j];
      batch.targets[b * S + j] = tokens[s0 + j + 1];
    }
  }
}
