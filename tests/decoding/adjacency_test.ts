import { deepEqual, equal, throws } from "node:assert/strict";
import { AdjacencyTable } from "../../lib/decoding/adjacency.ts";
import { topKIndices } from "../../lib/decoding/_top_k.ts";
import { topKReference } from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

Deno.test("topKIndices equals the kernels' topKReference order (ties by lower index)", () => {
  const rng = new Rng(2);
  for (const [cols, k] of [[50, 8], [8192, 8], [7, 7], [5, 9]]) {
    // few distinct values, so ties are common
    const row = new Float32Array(cols).map(() => Math.floor(rng.next() * 6) - 3);
    const out = new Int32Array(k);
    const n = topKIndices(row, k, out);
    equal(n, Math.min(k, cols));
    const want = topKReference({ data: row, shape: [1, cols] }, { k: n }).indices;
    deepEqual(Array.from(out.subarray(0, n)), Array.from(want));
  }
});

Deno.test("AdjacencyTable: rows overwritten by the latest pass, last position wins", () => {
  const t = new AdjacencyTable({ vocabSize: 4, k: 2 });
  deepEqual(Array.from(t.successors(0)), [-1, -1]);
  // token 1 fed twice in one pass: the second row (favouring 0 then 2) is kept
  t.update([1, 3, 1], new Float32Array([0, 1, 5, 2, 9, 8, 0, 0, 7, 0, 6, 1]));
  deepEqual(Array.from(t.successors(1)), [0, 2]);
  deepEqual(Array.from(t.successors(3)), [0, 1]);
  t.update([3], new Float32Array([0, 0, 0, 1]));
  deepEqual(Array.from(t.successors(3)), [3, 0]);
  equal(t.updates, 4);
  t.clear();
  deepEqual(Array.from(t.table), new Array(8).fill(-1));
  throws(() => t.update([1], new Float32Array(3)), /1 ids need 4 logits/);
  throws(() => new AdjacencyTable({ vocabSize: 4, k: 5 }), TokenlabError);
});
