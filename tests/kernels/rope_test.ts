import { ok } from "node:assert/strict";
import { rope, ropeBackwardReference, ropeQkReference, ropeReference } from "../../kernels/mod.ts";
import { Tensor } from "../../lib/gpu/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { gpuTest } from "../gpu/_child.ts";
import { close, dotf, rand, throwsWith } from "./_checks.ts";

Deno.test("ropeReference: quarter turn, position 0 is identity, both layouts", () => {
  // D = 4, theta 1 makes every frequency 1: position π/2 rotates each pair by 90°
  const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 1, 4] };
  // half layout pairs (0,2) and (1,3): (a,b) -> (-b, a)
  close(ropeReference({ x, positions: [Math.PI / 2] }, { theta: 1 }).data, [-3, -4, 1, 2]);
  // the deprecated name `base` still sets the frequency base
  close(ropeReference({ x, positions: [Math.PI / 2] }, { base: 1 }).data, [-3, -4, 1, 2]);
  // interleaved pairs (0,1) and (2,3)
  close(ropeReference({ x, positions: [Math.PI / 2] }, { theta: 1, layout: "interleaved" }).data, [
    -2,
    1,
    -4,
    3,
  ]);
  close(ropeReference({ x, positions: [0] }).data, [1, 2, 3, 4]);
  // theta 10000, D = 4: second pair frequency 10000^(-1/2) = 0.01; position 100 → 1 rad
  const y = ropeReference({
    x: { data: new Float32Array([0, 1, 0, 0]), shape: [1, 1, 4] },
    positions: [100],
  });
  close(y.data, [0, Math.cos(1), 0, Math.sin(1)], 1e-6);
  // rotaryDim 2 of D 4: only the first pair (0,1) rotates, the rest is copied
  close(ropeReference({ x, positions: [Math.PI] }, { theta: 1, rotaryDim: 2 }).data, [
    -1,
    -2,
    3,
    4,
  ]);
});

Deno.test("ropeQkReference is ropeReference on q and on k; mismatched shapes are refused", () => {
  const rng = new Rng(3);
  const S = 5, H = 2, D = 8;
  const x = {
    data: Float32Array.from({ length: S * H * D }, () => rng.normal()),
    shape: [S, H, D],
  };
  const positions = [0, 3, 7, 1, 20];
  const k = { data: x.data.slice(0, S * D), shape: [S, 1, D] };
  const r = ropeQkReference({ q: x, k, positions });
  close(r.k.data, Array.from(ropeReference({ x: k, positions }).data));
  close(r.q.data, Array.from(ropeReference({ x, positions }).data));
  throwsWith(
    () =>
      ropeQkReference({
        q: { data: new Float32Array(8), shape: [2, 1, 4] },
        k: { data: new Float32Array(6), shape: [1, 1, 6] },
        positions: [0, 1],
      }),
    "same tokens and D",
  );
});

Deno.test("ropeBackwardReference is the adjoint of ropeReference (⟨Rx, y⟩ = ⟨x, Rᵀy⟩)", () => {
  const rng = new Rng(2);
  for (const layout of ["half", "interleaved"] as const) {
    const x = rand(rng, [4, 3, 8]), y = rand(rng, [4, 3, 8]);
    const positions = [0, 5, 17, 300];
    const lhs = dotf(y, ropeReference({ x, positions }, { layout }));
    const rhs = dotf(x, ropeBackwardReference({ dy: y, positions }, { layout }));
    ok(Math.abs(lhs - rhs) < 1e-4, `${layout}: ${lhs} vs ${rhs}`);
  }
});

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference, and rope angles are
// f32 (pos·freq with pos < 64, exp2 vs pow): rel 1e-5, abs 2e-5; f16 outputs add one
// half-precision rounding: rel 1e-3 (2^-11 ≈ 4.9e-4 plus the f32 error), abs 1e-3.
const F16 = { atol: 1e-3, rtol: 1.5e-3 };
const S = "tests/kernels/_gpu_cases.ts";
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
    name: "f16 half d32, theta 500000",
    kind: "rope",
    tokens: 9,
    heads: 2,
    d: 32,
    theta: 500000,
    dtype: "f16",
    ...F16,
  },
]);

gpuTest("fused QK-RoPE GPU vs rope reference on q and k", S, [
  {
    name: "GQA 4 q heads 2 kv heads d64",
    kind: "ropeQk",
    tokens: 9,
    hq: 4,
    hk: 2,
    d: 64,
    atol: 2e-5,
    rtol: 1e-5,
  },
  {
    name: "interleaved d 128, 1 token",
    kind: "ropeQk",
    tokens: 1,
    hq: 2,
    hk: 2,
    d: 128,
    layout: "interleaved",
    atol: 2e-5,
    rtol: 1e-5,
  },
  {
    name: "partial rotary 8 of 12",
    kind: "ropeQk",
    tokens: 3,
    hq: 3,
    hk: 1,
    d: 12,
    rotaryDim: 8,
    atol: 2e-5,
    rtol: 1e-5,
  },
  {
    name: "f16, theta 500000",
    kind: "ropeQk",
    tokens: 6,
    hq: 2,
    hk: 1,
    d: 32,
    theta: 500000,
    dtype: "f16",
    ...F16,
  },
]);

// Backward kernels: f32 on both sides, sums over at most a few hundred terms: atol 1e-4, rtol
// 1e-4.
const GRAD = { atol: 1e-4, rtol: 1e-4 };
gpuTest("rope backward GPU vs CPU reference", S, [
  { name: "rope backward half", kind: "ropeBackward", tokens: 9, heads: 3, d: 10, ...GRAD },
  {
    name: "rope backward interleaved, theta 500",
    kind: "ropeBackward",
    tokens: 4,
    heads: 2,
    d: 6,
    layout: "interleaved",
    theta: 500,
    ...GRAD,
  },
]);

Deno.test("ropeReference: linear scaling divides the angle, also for rope on CPU tensors", async () => {
  // linear factor 2 at position 2 rotates like position 1 unscaled; head dim 2: frequency 1
  const x = { data: new Float64Array([1, 0]), shape: [1, 1, 2] };
  const scaled = ropeReference({ x, positions: [2] }, { scaling: { type: "linear", factor: 2 } });
  ok(scaled.data instanceof Float64Array, "f64 in, f64 out");
  close(scaled.data, [Math.cos(1), Math.sin(1)], 1e-15);
  // a CPU tensor goes to the reference, which applies the scaling
  const t = Tensor.fromArray([1, 0], { shape: [1, 1, 2], gpu: null });
  const y = await rope({ x: t, positions: [2] }, { scaling: { type: "linear", factor: 2 } });
  close(await y.toArray(), [Math.cos(1), Math.sin(1)], 1e-6);
});
