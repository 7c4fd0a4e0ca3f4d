import { deepEqual, throws } from "node:assert/strict";
import {
  embedding,
  embeddingBackward,
  embeddingBackwardReference,
  embeddingReference,
} from "../../kernels/mod.ts";
import { Tensor } from "../../lib/gpu/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { assertClose } from "../_compare.ts";

Deno.test("embedding references: lookup, scatter-add with repeats, accumulate, bad ids", () => {
  const table = { data: Float32Array.from({ length: 8 }, (_, i) => i), shape: [4, 2] };
  deepEqual([...embeddingReference({ table, ids: [3, 0, 3] }).data], [6, 7, 0, 1, 6, 7]);
  const dy = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] };
  deepEqual([...embeddingBackwardReference({ dy, ids: [3, 0, 3] }, { vocab: 4 }).data], [
    3,
    4,
    0,
    0,
    0,
    0,
    6,
    8,
  ]);
  const acc = { data: new Float32Array(8).fill(1), shape: [4, 2] };
  deepEqual(
    [...embeddingBackwardReference({ dy, ids: [3, 0, 3] }, { vocab: 4, accumulate: acc }).data],
    [4, 5, 1, 1, 1, 1, 7, 9],
  );
  throws(() => embeddingReference({ table, ids: [4] }), /outside the vocabulary 0..3/);
});

// The wrappers on CPU tensors call the CPU references, so comparing them with those references
// proves nothing: they are checked against hand-worked values.
Deno.test("embedding wrappers on CPU tensors: hand-derived values, scatter-add in place", async () => {
  const cpu = (data: number[], shape: number[]) => Tensor.fromArray(data, { shape, gpu: null });
  // embedding rows 4, 4 → backward adds 2·row 4 into the head's row 4 (in place)
  const table = cpu([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 2]);
  const head = cpu([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [5, 2]);
  const rows = await embedding({ table, ids: [4, 4] });
  assertClose(await rows.toArray(), [8, 9, 8, 9], { what: "embedding" });
  await embeddingBackward({ dy: rows, ids: [4, 4] }, { vocab: 5, accumulate: head });
  assertClose(head.host, [1, 1, 1, 1, 1, 1, 1, 1, 17, 19], { what: "embedding scatter-add" });
});

// Backward kernels: f32 on both sides, sums over at most a few hundred terms: atol 1e-4, rtol
// 1e-4.
const GRAD = { atol: 1e-4, rtol: 1e-4 };
gpuTest("embedding and its backward GPU vs CPU reference", "tests/kernels/_gpu_cases.ts", [
  { name: "embedding 200 ids into 50x7", kind: "embedding", vocab: 50, n: 200, d: 7, ...GRAD },
  {
    name: "embedding backward accumulate 1x1",
    kind: "embedding",
    vocab: 1,
    n: 3,
    d: 1,
    accumulate: true,
    ...GRAD,
  },
  {
    name: "embedding accumulate 300x33",
    kind: "embedding",
    vocab: 300,
    n: 40,
    d: 33,
    accumulate: true,
    ...GRAD,
  },
]);
