import { ok } from "node:assert/strict";
import { decodeAttentionReference } from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";

Deno.test("decodeAttentionReference: kvLength cuts the cache; causal multi-query", () => {
  const q = { data: new Float32Array([0, 0]), shape: [2, 1, 1] };
  const kv = { data: new Float32Array([2, 4, 6, 1000]), shape: [4, 1, 1] };
  // all scores are 0: non-causal queries average the 3 valid values → 4
  const r = decodeAttentionReference({ q, k: kv, v: kv }, { kvLength: 3 });
  ok(Math.abs(r.data[0] - 4) < 1e-9 && Math.abs(r.data[1] - 4) < 1e-9);
  // causal: query 0 sits at position 1 (sees 2, 4 → 3), query 1 at position 2 (→ 4)
  const c = decodeAttentionReference({ q, k: kv, v: kv }, { kvLength: 3, causal: true });
  ok(Math.abs(c.data[0] - 3) < 1e-9 && Math.abs(c.data[1] - 4) < 1e-9);
});

// Tolerances as for flash attention: f32 abs 2e-5 + rel 1e-4; f16 storage abs/rel 2e-3.
const F32 = { atol: 2e-5, rtol: 1e-4 };
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("decode attention GPU vs CPU reference", S, [
  {
    name: "1 query, GQA 8/2, d128, cache 1000 (several splits)",
    kind: "decode",
    nq: 1,
    cache: 1000,
    hq: 8,
    hkv: 2,
    d: 128,
    splitSize: 96,
    ...F32,
  },
  {
    name: "kv heads 1, d64, kvLength 77 of 100",
    kind: "decode",
    nq: 1,
    cache: 100,
    kvLength: 77,
    hq: 4,
    hkv: 1,
    d: 64,
    ...F32,
  },
  {
    name: "4 causal queries, d32, split 32",
    kind: "decode",
    nq: 4,
    cache: 200,
    hq: 4,
    hkv: 2,
    d: 32,
    causal: true,
    splitSize: 32,
    ...F32,
  },
  { name: "cache length 1, one head", kind: "decode", nq: 1, cache: 1, hq: 1, d: 8, ...F32 },
  {
    name: "many rows per group (40 > 32 rows/workgroup), d16",
    kind: "decode",
    nq: 5,
    cache: 70,
    hq: 8,
    hkv: 1,
    d: 16,
    causal: true,
    ...F32,
  },
  {
    name: "odd d12, split not multiple of cache",
    kind: "decode",
    nq: 2,
    cache: 65,
    hq: 2,
    d: 12,
    splitSize: 40,
    ...F32,
  },
  {
    name: "f16 cache 600 d128",
    kind: "decode",
    nq: 1,
    cache: 600,
    hq: 4,
    hkv: 2,
    d: 128,
    dtype: "f16",
    atol: 2e-3,
    rtol: 2e-3,
  },
  {
    name: "d256 (8-key tiles), 4 grouped heads, cache 37",
    kind: "decode",
    nq: 2,
    cache: 37,
    hq: 8,
    hkv: 2,
    d: 256,
    causal: true,
    ...F32,
  },
  {
    name: "d100 (16-key tiles, partial last tile), split 48",
    kind: "decode",
    nq: 1,
    cache: 99,
    hq: 3,
    hkv: 1,
    d: 100,
    splitSize: 48,
    ...F32,
  },
]);
