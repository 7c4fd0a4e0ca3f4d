/**
 * Documents to training data: one token stream from many documents, and the mean loss of a
 * model over a stream in non-overlapping windows.
 *
 * @example
 * ```ts
 * import { tokenStream } from "@tokenlab/tokenlab/models";
 * const tok = { encode: (s: string) => Uint32Array.from(s, (c) => c.charCodeAt(0)), decode: () => "" };
 * console.log(tokenStream(["ab", "c"], { tokenizer: tok, separatorId: 0 }).length); // 5
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";
import type { ModelTokenizer } from "./model.ts";
import type { TrainBatch } from "./train_types.ts";
import { streamWindows } from "./_token_windows.ts";

/**
 * Encodes documents into one token stream (documents joined by `separatorId` when given).
 *
 * @example
 * ```ts
 * import { tokenStream } from "@tokenlab/tokenlab/models";
 * const tok = { encode: (s: string) => Uint32Array.from(s, (c) => c.charCodeAt(0)), decode: () => "" };
 * console.log(tokenStream(["ab", "c"], { tokenizer: tok, separatorId: 0 }));
 * ```
 */
export function tokenStream(
  texts: string[],
  options: { tokenizer: ModelTokenizer; separatorId?: number },
): Int32Array {
  const parts: Uint32Array[] = [];
  let n = 0;
  for (const t of texts) {
    const ids = options.tokenizer.encode(t);
    parts.push(ids);
    n += ids.length + (options.separatorId != null ? 1 : 0);
  }
  const out = new Int32Array(n);
  let pos = 0;
  for (const ids of parts) {
    out.set(ids, pos);
    pos += ids.length;
    if (options.separatorId != null) out[pos++] = options.separatorId;
  }
  return out;
}

/** Options of {@linkcode streamLoss}. */
export interface StreamLossOptions {
  /** The token stream. */
  tokens: Int32Array;
  /** Window length. */
  seqLen: number;
  /** Cap on predicted tokens (default: the whole stream). */
  maxTokens?: number;
  /** Windows per batch (default 8). */
  batchSize?: number;
}

/**
 * Mean loss (nats/token) of a model over a token stream, in non-overlapping windows of
 * `seqLen` (each window predicts its tokens 2..seqLen+1 from the ones before, inside the window).
 *
 * @example
 * ```ts
 * import { parseConfig, streamLoss, TinyLM } from "@tokenlab/tokenlab/models";
 * const lm = new TinyLM(parseConfig({ model_type: "llama", hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, vocab_size: 20 }));
 * console.log(streamLoss(lm, { tokens: new Int32Array([1, 2, 3, 4, 5]), seqLen: 4 }));
 * ```
 */
export function streamLoss(
  lm: { loss(batch: TrainBatch): number },
  options: StreamLossOptions,
): number {
  check(
    Number.isInteger(options.seqLen) && options.seqLen > 0,
    `streamLoss: seqLen must be a positive integer, got ${options.seqLen}`,
  );
  let total = 0, count = 0;
  for (const { batch, n } of streamWindows(options)) {
    total += lm.loss(batch) * n;
    count += n;
  }
  return count ? total / count : NaN;
}
