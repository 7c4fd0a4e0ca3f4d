import { deepEqual, equal, throws } from "node:assert/strict";
import { streamLoss, tokenStream, type TrainBatch } from "../../lib/models/mod.ts";

const chars = {
  encode: (s: string) => Uint32Array.from(s, (c) => c.charCodeAt(0)),
  decode: () => "",
};

Deno.test("tokenStream joins documents, with the separator after each when given", () => {
  deepEqual([...tokenStream(["ab", "c"], { tokenizer: chars, separatorId: 0 })], [
    97,
    98,
    0,
    99,
    0,
  ]);
  deepEqual([...tokenStream(["ab", "c"], { tokenizer: chars })], [97, 98, 99]);
  equal(tokenStream([], { tokenizer: chars }).length, 0);
});

// A stand-in model whose "loss" is the mean target id: streamLoss must then be the mean of
// exactly the tokens its windows predict.
const meanTarget = {
  loss(batch: TrainBatch): number {
    let s = 0, n = 0;
    for (const t of batch.targets) if (t >= 0) (s += t, n++);
    return s / n;
  },
};

Deno.test("streamLoss weights each window by its predicted tokens (hand-worked)", () => {
  const tokens = Int32Array.from({ length: 9 }, (_, i) => 10 + i); // 10..18
  // windows of 4 from 0 and 4 predict 11..18; the window at 8 has nothing to predict
  equal(streamLoss(meanTarget, { tokens, seqLen: 4 }), 14.5);
  equal(streamLoss(meanTarget, { tokens, seqLen: 4, batchSize: 1 }), 14.5);
  equal(streamLoss(meanTarget, { tokens, seqLen: 4, maxTokens: 3 }), 12); // 11, 12, 13
  equal(Number.isNaN(streamLoss(meanTarget, { tokens: new Int32Array(1), seqLen: 4 })), true);
  throws(() => streamLoss(meanTarget, { tokens, seqLen: 0 }), /seqLen must be a positive integer/);
});
