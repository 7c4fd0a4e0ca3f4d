import { deepEqual, ok } from "node:assert/strict";
import { matmul, matmulReference } from "../../kernels/mod.ts";
import { Tensor } from "../../lib/gpu/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { assertClose } from "../_compare.ts";

Deno.test("matmulReference: hand-worked 2×3 · 3×2, transposes and batch broadcast", () => {
  const a = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
  const b = { data: new Float32Array([7, 8, 9, 10, 11, 12]), shape: [3, 2] };
  // [1 2 3; 4 5 6]·[7 8; 9 10; 11 12] = [58 64; 139 154]
  deepEqual([...matmulReference({ a, b }).data], [58, 64, 139, 154]);
  // A stored transposed: Aᵀ = [1 4; 2 5; 3 6] as [3,2]
  const at = { data: new Float32Array([1, 4, 2, 5, 3, 6]), shape: [3, 2] };
  deepEqual([...matmulReference({ a: at, b }, { transposeA: true }).data], [58, 64, 139, 154]);
  // B stored transposed as [2,3]: rows (7 9 11), (8 10 12)
  const bt = { data: new Float32Array([7, 9, 11, 8, 10, 12]), shape: [2, 3] };
  deepEqual([...matmulReference({ a, b: bt }, { transposeB: true, alpha: 0.5 }).data], [
    29,
    32,
    69.5,
    77,
  ]);
  // batch of 2 A's against one B: the second A is the identity-like [1 0 0; 0 1 0]
  const a2 = { data: new Float32Array([1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0]), shape: [2, 2, 3] };
  const c = matmulReference({ a: a2, b });
  deepEqual(c.shape, [2, 2, 2]);
  deepEqual([...c.data], [58, 64, 139, 154, 7, 8, 9, 10]);
});

// Tolerances: f32 storage, f32 accumulation over K ≤ 300 unit-normal products: abs 1e-4·√K
// dominates; f16 inputs are exactly representable in f32, so the same holds with f32 output;
// f16 output adds one f16 rounding (rel 2^-11 ≈ 4.9e-4), so rtol 1e-3.
const F32 = { atol: 2e-3, rtol: 1e-4 };
const F16OUT = { atol: 2e-3, rtol: 1e-3 };
gpuTest("matmul GPU vs CPU reference", "tests/kernels/_gpu_cases.ts", [
  { name: "square 64", kind: "matmul", m: 64, n: 64, k: 64, ...F32 },
  { name: "odd 37x53x29", kind: "matmul", m: 37, n: 53, k: 29, ...F32 },
  { name: "1x1x1", kind: "matmul", m: 1, n: 1, k: 1, ...F32 },
  { name: "gemv 1x130x70", kind: "matmul", m: 1, n: 130, k: 70, ...F32 },
  { name: "transposeA", kind: "matmul", m: 33, n: 20, k: 17, transposeA: true, ...F32 },
  { name: "transposeB", kind: "matmul", m: 19, n: 65, k: 40, transposeB: true, ...F32 },
  {
    name: "both transposed, alpha",
    kind: "matmul",
    m: 21,
    n: 22,
    k: 23,
    transposeA: true,
    transposeB: true,
    alpha: 0.25,
    ...F32,
  },
  { name: "batched 3, B broadcast", kind: "matmul", batchA: 3, m: 17, n: 18, k: 19, ...F32 },
  {
    name: "batched 2 both",
    kind: "matmul",
    batchA: 2,
    batchB: 2,
    m: 40,
    n: 9,
    k: 300,
    seed: 4,
    ...F32,
  },
  { name: "big-tile path 600x520x48", kind: "matmul", m: 600, n: 520, k: 48, ...F32 },
  { name: "f16 in, f16 out", kind: "matmul", dtype: "f16", m: 45, n: 70, k: 66, ...F16OUT },
  {
    name: "f16 in, f32 out, transposeB",
    kind: "matmul",
    dtype: "f16",
    outDtype: "f32",
    m: 31,
    n: 33,
    k: 129,
    transposeB: true,
    ...F32,
  },
]);

// The wrappers on CPU tensors call the CPU references, so comparing them with those references
// proves nothing: they are checked against hand-worked values.
Deno.test("matmul accumulate on CPU tensors: hand-derived values, in place", async () => {
  const cpu = (data: number[], shape: number[]) => Tensor.fromArray(data, { shape, gpu: null });
  // matmul (1, 2)·I added into c = (1, 1)
  const c = cpu([1, 1], [1, 2]);
  const mm = await matmul({ a: cpu([1, 2], [1, 2]), b: cpu([1, 0, 0, 1], [2, 2]) }, {
    accumulate: c,
  });
  ok(mm === c);
  assertClose(c.host, [2, 3], { what: "matmul accumulate" });
});

// accumulate and the register-tiled kernel, f32 on both sides; sums over ≤ a few hundred terms
const ACC = { atol: 1e-4, rtol: 1e-4 };
gpuTest(
  "matmul accumulate and register-tiled kernel GPU vs CPU reference",
  "tests/kernels/_gpu_cases.ts",
  [
    { name: "matmul accumulate 37x29x41", kind: "matmulAccumulate", m: 37, n: 29, k: 41, ...ACC },
    {
      name: "matmul accumulate transposeA, alpha",
      kind: "matmulAccumulate",
      m: 70,
      n: 5,
      k: 3,
      transposeA: true,
      alpha: 0.5,
      ...ACC,
    },
    { name: "matmul registers 37x29x41", kind: "matmulRegisters", m: 37, n: 29, k: 41, ...ACC },
    {
      name: "matmul registers transposeA, accumulate, alpha",
      kind: "matmulRegisters",
      m: 70,
      n: 5,
      k: 3,
      transposeA: true,
      alpha: 0.5,
      accumulate: true,
      ...ACC,
    },
    {
      name: "matmul registers transposeB, batch 3 (B broadcast)",
      kind: "matmulRegisters",
      batchA: 3,
      m: 9,
      n: 130,
      k: 66,
      transposeB: true,
      atol: 2e-3,
      rtol: 1e-4,
    },
    {
      name: "matmul registers both transposed, batched both, 1x1",
      kind: "matmulRegisters",
      batchA: 2,
      batchB: 2,
      m: 1,
      n: 1,
      k: 300,
      transposeA: true,
      transposeB: true,
      atol: 2e-3,
      rtol: 1e-4,
    },
    {
      name: "matmul registers f16 in",
      kind: "matmulRegisters",
      dtype: "f16",
      m: 33,
      n: 17,
      k: 65,
      atol: 2e-3,
      rtol: 1e-4,
    },
  ],
);
