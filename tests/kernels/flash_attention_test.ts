import { deepEqual, ok } from "node:assert/strict";
import { attentionAllowed, flashAttentionReference, treeAncestorMask } from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { assertClose } from "../_compare.ts";

const t = (a: number[], shape: number[]) => ({ data: new Float32Array(a), shape });
const close = (a: ArrayLike<number>, b: number[], atol = 1e-6) => assertClose(a, b, { atol });

Deno.test("flashAttentionReference: hand-derived causal case with lse and key mass", () => {
  // D = 1, scale 1. Keys 0 and ln 3 with query 1: scores (0, ln 3) → weights (1/4, 3/4).
  const q = t([1, 1], [2, 1, 1]), k = t([0, Math.log(3)], [2, 1, 1]), v = t([4, 8], [2, 1, 1]);
  const r = flashAttentionReference({ q, k, v }, { causal: true, scale: 1, keyMass: true });
  // query 0 sees only key 0 → 4; query 1: 4/4 + 8·3/4 = 7
  close(r.out.data, [4, 7]);
  // lse: query 0 → 0; query 1 → ln(1 + 3)
  close(r.lse.data, [0, Math.log(4)]);
  // key 0 got 1 + 1/4, key 1 got 3/4
  close(r.keyMass!.data, [1.25, 0.75]);
  // without causal, query 0 also averages (1/4, 3/4)
  close(flashAttentionReference({ q, k, v }, { scale: 1 }).out.data, [7, 7]);
});

Deno.test("flashAttentionReference: GQA shares kv heads; sequence ids block attention", () => {
  // 2 query heads, 1 kv head: both heads see identical k/v, so equal q rows give equal outputs
  const q = t([0, 0, 0, 0], [2, 2, 1]), k = t([0, 0], [2, 1, 1]), v = t([2, 6], [2, 1, 1]);
  const r = flashAttentionReference({ q, k, v }, { causal: true });
  close(r.out.data, [2, 2, 4, 4]);
  // packed sequences [0, 1]: position 1 starts a new sequence, so it sees only itself → 6
  const r2 = flashAttentionReference({ q, k, v }, { seqIds: [0, 1] });
  close(r2.out.data, [2, 2, 6, 6]);
});

Deno.test("treeAncestorMask and attentionAllowed agree with a hand-drawn tree", () => {
  //      0
  //     / \
  //    1   2
  //    |
  //    3
  const parents = [-1, 0, 0, 1];
  deepEqual([...treeAncestorMask(parents)], [0b0001, 0b0011, 0b0101, 0b1011]);
  // with a 2-token prefix: Skv = 6, queries at positions 2..5
  const seen = (i: number) =>
    [0, 1, 2, 3, 4, 5].filter((j) => attentionAllowed({ i, j, sq: 4, skv: 6 }, { parents }));
  deepEqual(seen(0), [0, 1, 2]);
  deepEqual(seen(2), [0, 1, 2, 4]);
  deepEqual(seen(3), [0, 1, 2, 3, 5]);
  // a tree of 40 nodes uses two words per row: node 39 under node 33
  const chain = Array.from({ length: 40 }, (_, i) => (i === 39 ? 33 : i - 1));
  const m = treeAncestorMask(chain);
  deepEqual([m[39 * 2], m[39 * 2 + 1]], [0xffffffff, 0b10000011]);
});

// Tolerances: f32 storage with f32 online softmax vs f64 reference: outputs are convex
// combinations of unit-normal values, abs 2e-5 + rel 1e-4; lse and key mass are sums of up to
// a few hundred exp terms: rel 1e-4. f16 storage rounds the output once (rel 2^-11): abs 2e-3.
const F32 = { atol: 2e-5, rtol: 1e-4 };
const F16 = { atol: 2e-3, rtol: 2e-3 };
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("flash attention GPU vs CPU reference", S, [
  { name: "causal d64 S70 2 heads", kind: "attention", sq: 70, hq: 2, d: 64, causal: true, ...F32 },
  {
    name: "causal d128 GQA 4/2, prefix 10",
    kind: "attention",
    sq: 20,
    skv: 30,
    hq: 4,
    hkv: 2,
    d: 128,
    causal: true,
    ...F32,
  },
  {
    name: "non-causal d16 kv heads 1",
    kind: "attention",
    sq: 33,
    skv: 47,
    hq: 3,
    hkv: 1,
    d: 16,
    ...F32,
  },
  {
    name: "small d4, length 1, one head",
    kind: "attention",
    sq: 1,
    hq: 1,
    d: 4,
    causal: true,
    ...F32,
  },
  {
    name: "d256 causal GQA 8/1 (group larger than a 4-row block), prefix 3",
    kind: "attention",
    sq: 6,
    skv: 9,
    hq: 8,
    hkv: 1,
    d: 256,
    causal: true,
    ...F32,
  },
  {
    name: "group 3 (blocks split queries across heads), d10, tree + key mass",
    kind: "attention",
    sq: 23,
    skv: 30,
    hq: 6,
    hkv: 2,
    d: 10,
    tree: true,
    keyMass: true,
    seed: 5,
    ...F32,
  },
  { name: "odd d6", kind: "attention", sq: 9, hq: 2, hkv: 1, d: 6, causal: true, ...F32 },
  {
    name: "random tree 37 + prefix 5, key mass",
    kind: "attention",
    sq: 37,
    skv: 42,
    hq: 2,
    hkv: 1,
    d: 32,
    tree: true,
    keyMass: true,
    seed: 7,
    ...F32,
  },
  {
    name: "random tree 70, d64",
    kind: "attention",
    sq: 70,
    hq: 2,
    d: 64,
    tree: true,
    seed: 11,
    ...F32,
  },
  {
    name: "packed sequences 5+31+1+29, causal, key mass",
    kind: "attention",
    sq: 66,
    hq: 2,
    hkv: 1,
    d: 16,
    causal: true,
    seqLens: [5, 31, 1, 29],
    keyMass: true,
    ...F32,
  },
  {
    name: "many packed sequences (key tiles before a block's first sequence skipped), GQA",
    kind: "attention",
    sq: 200,
    hq: 4,
    hkv: 2,
    d: 32,
    causal: true,
    seqLens: [3, 70, 1, 1, 40, 9, 60, 16],
    ...F32,
  },
  {
    name: "sequence ids that recur (not contiguous), queries after a prefix",
    kind: "attention",
    sq: 30,
    skv: 50,
    hq: 2,
    d: 16,
    causal: true,
    seqLens: [10, 15, 10, 15],
    recurIds: true,
    ...F32,
  },
  {
    name: "packed sequences, non-causal",
    kind: "attention",
    sq: 40,
    hq: 1,
    d: 8,
    seqLens: [17, 23],
    ...F32,
  },
  {
    name: "key mass causal d64 GQA",
    kind: "attention",
    sq: 65,
    hq: 4,
    hkv: 2,
    d: 64,
    causal: true,
    keyMass: true,
    ...F32,
  },
  {
    name: "f16 causal d64",
    kind: "attention",
    sq: 40,
    hq: 2,
    d: 64,
    causal: true,
    dtype: "f16",
    ...F16,
  },
]);

Deno.test("flashAttentionReference: sliding window by key positions, probabilities, f64 in → f64 out", () => {
  // D = 1, scale 1, all scores 0: each query averages the values it sees.
  // Keys at positions 0, 5, 6, 7 (an evicted gap); window 2 → query at 7 sees 6 and 7 only.
  const q = { data: new Float64Array([0, 0]), shape: [2, 1, 1] };
  const k = { data: new Float64Array([0, 0, 0, 0]), shape: [4, 1, 1] };
  const v = { data: new Float64Array([1, 2, 4, 8]), shape: [4, 1, 1] };
  const keyPositions = [0, 5, 6, 7];
  const r = flashAttentionReference({ q, k, v }, {
    causal: true,
    scale: 1,
    window: 2,
    keyPositions,
    probs: true,
  });
  ok(r.out.data instanceof Float64Array && r.probs!.data instanceof Float64Array);
  // query 0 sits at slot 2 (position 6): sees positions 5, 6 → (2 + 4)/2; query 1: (4 + 8)/2
  close(r.out.data, [3, 6]);
  close(r.probs!.data, [0, 0.5, 0.5, 0, 0, 0, 0.5, 0.5]);
  // without the window, causal only: (1 + 2 + 4)/3 and (1 + 2 + 4 + 8)/4
  close(flashAttentionReference({ q, k, v }, { causal: true, scale: 1 }).out.data, [7 / 3, 15 / 4]);
  // the same rule, stated by attentionAllowed
  deepEqual(
    [0, 1, 2, 3].map((j) =>
      attentionAllowed({ i: 1, j, sq: 2, skv: 4 }, { window: 2, keyPositions })
    ),
    [false, false, true, true],
  );
});
