import { softmaxReference } from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { close } from "./_checks.ts";

Deno.test("softmaxReference: hand-derived values", () => {
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

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference: rel 1e-5, abs 1e-5.
const F32 = { atol: 1e-5, rtol: 1e-5 };
const S = "tests/kernels/_gpu_cases.ts";
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
