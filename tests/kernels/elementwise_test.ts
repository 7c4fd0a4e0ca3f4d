import { ok } from "node:assert/strict";
import {
  rmsnormReference,
  ropeReference,
  softmaxReference,
  swigluReference,
} from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  ok(a.length === b.length, `length ${a.length} vs ${b.length}`);
  for (let i = 0; i < b.length; i++) ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

Deno.test("rmsnormReference: hand-derived values, residual add", () => {
  // x = (3, 4): mean square 12.5, rms = 3.5355…; weight (1, 2)
  const r = rmsnormReference({
    x: { data: new Float32Array([3, 4]), shape: [1, 2] },
    weight: { data: new Float32Array([1, 2]), shape: [2] },
  }, { eps: 0 });
  close(r.out.data, [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)]);
  // x + residual = (1, 1, 1, 1): rms 1, output = weight; h returned
  const r2 = rmsnormReference({
    x: { data: new Float32Array([2, 0, 1, -1]), shape: [1, 4] },
    weight: { data: new Float32Array([1, 2, 3, 4]), shape: [4] },
    residual: { data: new Float32Array([-1, 1, 0, 2]), shape: [1, 4] },
  }, { eps: 0 });
  close(r2.out.data, [1, 2, 3, 4]);
  close(r2.residual!.data, [1, 1, 1, 1]);
});

Deno.test("ropeReference: quarter turn, position 0 is identity, both layouts", () => {
  // D = 4, base 1 makes every frequency 1: position π/2 rotates each pair by 90°
  const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 1, 4] };
  // half layout pairs (0,2) and (1,3): (a,b) -> (-b, a)
  close(ropeReference({ x, positions: [Math.PI / 2] }, { base: 1 }).data, [-3, -4, 1, 2]);
  // interleaved pairs (0,1) and (2,3)
  close(ropeReference({ x, positions: [Math.PI / 2] }, { base: 1, layout: "interleaved" }).data, [
    -2,
    1,
    -4,
    3,
  ]);
  close(ropeReference({ x, positions: [0] }).data, [1, 2, 3, 4]);
  // base 10000, D = 4: second pair frequency 10000^(-1/2) = 0.01; position 100 → 1 rad
  const y = ropeReference({
    x: { data: new Float32Array([0, 1, 0, 0]), shape: [1, 1, 4] },
    positions: [100],
  });
  close(y.data, [0, Math.cos(1), 0, Math.sin(1)], 1e-6);
  // rotaryDim 2 of D 4: only the first pair (0,1) rotates, the rest is copied
  close(ropeReference({ x, positions: [Math.PI] }, { base: 1, rotaryDim: 2 }).data, [-1, -2, 3, 4]);
});

Deno.test("swigluReference and softmaxReference: hand-derived values", () => {
  close(
    swigluReference({
      gate: { data: new Float32Array([0, 1, -1]), shape: [3] },
      up: { data: new Float32Array([5, 2, 1]), shape: [3] },
    }).data,
    [0, 2 / (1 + Math.exp(-1)), -1 / (1 + Math.E)],
  );
  close(softmaxReference({ data: new Float32Array([0, Math.log(3), 7, 7]), shape: [2, 2] }).data, [
    0.25,
    0.75,
    0.5,
    0.5,
  ]);
  // scale 2 on (0, ln 2): exp(0), exp(2 ln 2) = 1, 4
  close(
    softmaxReference({ data: new Float32Array([0, Math.log(2)]), shape: [1, 2] }, { scale: 2 })
      .data,
    [0.2, 0.8],
  );
});

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference: rel 1e-5, abs 1e-5;
// rope angles are f32 (pos·freq with pos < 64, exp2 vs pow): abs 2e-5; f16 outputs add one
// half-precision rounding: rel 1e-3 (2^-11 ≈ 4.9e-4 plus the f32 error), abs 1e-3.
const F32 = { atol: 1e-5, rtol: 1e-5 };
const F16 = { atol: 1e-3, rtol: 1.5e-3 };
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("rmsnorm GPU vs CPU reference", S, [
  { name: "rows 5, D 64", kind: "rmsnorm", rows: 5, d: 64, ...F32 },
  { name: "D 1000 (not a multiple of 256)", kind: "rmsnorm", rows: 3, d: 1000, ...F32 },
  { name: "one row, D 1", kind: "rmsnorm", rows: 1, d: 1, eps: 1e-5, ...F32 },
  { name: "fused residual", kind: "rmsnorm", rows: 7, d: 300, residual: true, ...F32 },
  {
    name: "f16 fused residual",
    kind: "rmsnorm",
    rows: 4,
    d: 130,
    residual: true,
    dtype: "f16",
    ...F16,
  },
]);
gpuTest("rope GPU vs CPU reference", S, [
  {
    name: "half, 5 tokens 3 heads d64",
    kind: "rope",
    tokens: 5,
    heads: 3,
    d: 64,
    atol: 2e-5,
    rtol: 1e-5,
  },
  {
    name: "interleaved d128",
    kind: "rope",
    tokens: 4,
    heads: 2,
    d: 128,
    layout: "interleaved",
    atol: 2e-5,
    rtol: 1e-5,
  },
  {
    name: "partial rotary 8 of 12, one token one head",
    kind: "rope",
    tokens: 1,
    heads: 1,
    d: 12,
    rotaryDim: 8,
    atol: 2e-5,
    rtol: 1e-5,
  },
  {
    name: "f16 half d32, base 500000",
    kind: "rope",
    tokens: 9,
    heads: 2,
    d: 32,
    base: 500000,
    dtype: "f16",
    ...F16,
  },
]);
gpuTest("swiglu GPU vs CPU reference", S, [
  { name: "1000 elements", kind: "swiglu", shape: [10, 100], ...F32 },
  { name: "1 element", kind: "swiglu", shape: [1], ...F32 },
  { name: "f16 257 elements", kind: "swiglu", shape: [257], dtype: "f16", ...F16 },
]);
gpuTest("softmax GPU vs CPU reference", S, [
  { name: "4 rows x 1000", kind: "softmax", rows: 4, cols: 1000, ...F32 },
  { name: "1 column", kind: "softmax", rows: 3, cols: 1, ...F32 },
  {
    name: "scaled, wide logits",
    kind: "softmax",
    rows: 2,
    cols: 513,
    scale: 0.125,
    spread: 40,
    ...F32,
  },
  {
    name: "f16 5 x 77",
    kind: "softmax",
    rows: 5,
    cols: 77,
    dtype: "f16",
    atol: 1e-4,
    rtol: 1.5e-3,
  },
]);
