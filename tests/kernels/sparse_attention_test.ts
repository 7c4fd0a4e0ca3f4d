import { deepEqual, ok, throws } from "node:assert/strict";
import { decodeAttentionReference, sparseAttentionReference } from "../../kernels/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";
import { gpuTest } from "../gpu/_child.ts";

const near = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  ok(a.length === b.length, `length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

Deno.test("sparseAttentionReference: hand-derived values, empty lists, length 1", () => {
  // D = 1, q = ln 2 · √1 so that score(j) = ln 2 · k_j: weights 2^k
  const q = { data: new Float32Array([Math.LN2]), shape: [1, 1, 1] };
  const k = { data: new Float32Array([0, 1, 2]), shape: [3, 1, 1] };
  const v = { data: new Float32Array([10, 20, 30]), shape: [3, 1, 1] };
  // positions 0 and 2: weights 1 and 4 → (10 + 4·30) / 5 = 26
  near(sparseAttentionReference({ q, k, v, positions: [[2, 0]] }).data, [26]);
  // a single position returns its value; an empty list gives zeros
  near(sparseAttentionReference({ q, k, v, positions: [[1]] }).data, [20]);
  near(sparseAttentionReference({ q, k, v, positions: [[]] }).data, [0]);
  // a repeated position counts twice: weights 1, 1, 4 → (10 + 10 + 120) / 6
  near(sparseAttentionReference({ q, k, v, positions: [[0, 0, 2]] }).data, [140 / 6]);
  // causal with 2 queries: query 0 sits at position 1 and cannot see 2 → only 0 remains
  const q2 = { data: new Float32Array([Math.LN2, Math.LN2]), shape: [2, 1, 1] };
  const c = sparseAttentionReference({ q: q2, k, v, positions: [[0, 2]] }, { causal: true });
  near(c.data, [10, 26]);
  // causal masking every selected position also gives zeros
  near(sparseAttentionReference({ q: q2, k, v, positions: [[2]] }, { causal: true }).data, [0, 30]);
});

Deno.test("sparseAttentionReference: all positions selected equals dense decode attention", () => {
  const rng = new Rng(3);
  const rand = (shape: number[]) => ({
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
    shape,
  });
  const q = rand([2, 4, 8]), k = rand([9, 2, 8]), v = rand([9, 2, 8]);
  const all = Array.from({ length: 9 }, (_, i) => 8 - i);
  const dense = decodeAttentionReference({ q, k, v }, { causal: true });
  for (const positions of [[all, all], [all, all, all, all]]) {
    near(sparseAttentionReference({ q, k, v, positions }, { causal: true }).data, dense.data, 1e-5);
  }
});

Deno.test("sparseAttentionReference: rejects wrong list counts and out-of-range positions", () => {
  const t = (shape: number[]) => ({ data: new Float32Array(shape.reduce((a, b) => a * b)), shape });
  const q = t([1, 4, 2]), k = t([5, 2, 2]);
  throws(() => sparseAttentionReference({ q, k, v: k, positions: [[0]] }), TokenlabError);
  throws(() => sparseAttentionReference({ q, k, v: k, positions: [[5], []] }), TokenlabError);
  throws(
    () => sparseAttentionReference({ q, k, v: k, positions: [[3], []] }, { kvLength: 3 }),
    TokenlabError,
  );
  deepEqual(sparseAttentionReference({ q, k, v: k, positions: [[], []] }).shape, [1, 4, 2]);
});

const F32 = { atol: 2e-5, rtol: 1e-4 };
gpuTest("sparse attention GPU vs CPU reference", "tests/kernels/_gpu_cases.ts", [
  {
    name: "GQA 8/2, d64, lists per kv head of 300 and 0 (empty → zeros), several chunks",
    kind: "sparse",
    nq: 1,
    cache: 500,
    hq: 8,
    hkv: 2,
    d: 64,
    lens: [300, 0],
    splitSize: 64,
    ...F32,
  },
  {
    name: "lists per query head, lengths 1, 0, 17, 40; d32",
    kind: "sparse",
    nq: 2,
    cache: 60,
    hq: 4,
    hkv: 2,
    d: 32,
    lens: [1, 0, 17, 40],
    perQueryHead: true,
    ...F32,
  },
  {
    name: "causal 3 queries, kvLength 50 of 64, d16",
    kind: "sparse",
    nq: 3,
    cache: 64,
    kvLength: 50,
    hq: 2,
    hkv: 1,
    d: 16,
    lens: [25],
    causal: true,
    ...F32,
  },
  {
    name: "length-1 lists, d128, one head",
    kind: "sparse",
    nq: 1,
    cache: 10,
    hq: 1,
    d: 128,
    lens: [1],
    ...F32,
  },
  {
    name: "f16, GQA 4/1, d256, 70 positions",
    kind: "sparse",
    dtype: "f16",
    nq: 2,
    cache: 100,
    hq: 4,
    hkv: 1,
    d: 256,
    lens: [70],
    atol: 2e-3,
    rtol: 2e-3,
  },
]);
