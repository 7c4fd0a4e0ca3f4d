/**
 * Token Recycling's adjacency table (Luo et al., arXiv 2408.08696): for every token, the k
 * tokens the target model ranked highest after it the last time it was seen, harvested from
 * every position of every forward pass (prefill and verified tree nodes, rejected ones too).
 * Drafts are read from it breadth-first along a tree template (see `treeFromTemplate`).
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { topKIndices } from "./_top_k.ts";

/** Options of {@linkcode AdjacencyTable}. */
export interface AdjacencyTableOptions {
  /** Vocabulary size of the model whose logits fill the table. */
  vocabSize: number;
  /** Successors kept per token (default 8, as in the reference code). */
  k?: number;
}

/**
 * A [vocab × k] table of ranked successor tokens (−1 where a token was never seen). Each
 * {@linkcode AdjacencyTable.update} overwrites the rows of the fed tokens with the top-k of
 * their logits; a token fed at several positions of one pass keeps its last position's row.
 * Keep one table across prompts for a "hot start"; {@linkcode AdjacencyTable.clear} (or a
 * fresh table) gives a "cold start".
 *
 * @example
 * ```ts
 * import { AdjacencyTable } from "@tokenlab/tokenlab/decoding";
 * const table = new AdjacencyTable({ vocabSize: 4, k: 2 });
 * // logits after token 1 favour 3, then 0
 * table.update([1], new Float32Array([0.5, -1, 0, 2]));
 * console.log(table.successors(1), table.successors(2)); // Int32Array [3, 0], Int32Array [-1, -1]
 * ```
 */
export class AdjacencyTable {
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** Successors per token. */
  readonly k: number;
  /** The table, row-major [vocab × k], −1 for an empty slot. */
  readonly table: Int32Array;
  /** Rows written so far (counting rewrites). */
  updates = 0;

  /** An empty table. */
  constructor(options: AdjacencyTableOptions) {
    const { vocabSize, k = 8 } = options;
    check(
      Number.isInteger(vocabSize) && vocabSize > 0,
      `AdjacencyTable: vocabSize must be a positive integer, got ${vocabSize}`,
      { hint: "pass the model's config.vocabSize" },
    );
    check(
      Number.isInteger(k) && k > 0 && k <= vocabSize,
      `AdjacencyTable: k must be an integer in 1..${vocabSize}, got ${k}`,
    );
    this.vocabSize = vocabSize;
    this.k = k;
    this.table = new Int32Array(vocabSize * k).fill(-1);
  }

  /**
   * Overwrites the rows of `ids[i]` with the top-k tokens of logits row i ([ids.length ×
   * vocab], row-major, as `Model.forward` and `Model.forwardTree` return them).
   */
  update(ids: ArrayLike<number>, logits: Float32Array): void {
    const V = this.vocabSize, k = this.k;
    check(
      logits.length === ids.length * V,
      `AdjacencyTable.update: ${ids.length} ids need ${
        ids.length * V
      } logits, got ${logits.length}`,
      { hint: "pass the logits of the same forward pass that fed these ids" },
    );
    const top = new Int32Array(k);
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      check(Number.isInteger(t) && t >= 0 && t < V, `AdjacencyTable.update: bad token id ${t}`);
      const n = topKIndices(logits.subarray(i * V, (i + 1) * V), k, top);
      const row = this.table.subarray(t * k, (t + 1) * k);
      row.fill(-1);
      row.set(top.subarray(0, n));
      this.updates++;
    }
  }

  /** The ranked successors of `token` (a view; −1 marks an empty slot). */
  successors(token: number): Int32Array {
    return this.table.subarray(token * this.k, (token + 1) * this.k);
  }

  /** Empties the table (a cold start). */
  clear(): void {
    this.table.fill(-1);
    this.updates = 0;
  }
}
