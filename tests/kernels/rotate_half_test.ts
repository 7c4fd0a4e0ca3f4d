import { rotateHalfReference } from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { close, throwsWith } from "./_checks.ts";

Deno.test("rotateHalfReference: hand-derived values; an odd last dimension is refused", () => {
  close(rotateHalfReference({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [1, 6] }).data, [
    -4,
    -5,
    -6,
    1,
    2,
    3,
  ]);
  const x = { data: new Float32Array(6), shape: [2, 3] };
  throwsWith(() => rotateHalfReference(x), "even last dimension");
});

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference: rel 1e-5, abs 1e-5; f16
// outputs add one half-precision rounding: rel 1e-3 (2^-11 ≈ 4.9e-4 plus the f32 error), abs 1e-3.
const F32 = { atol: 1e-5, rtol: 1e-5 };
const F16 = { atol: 1e-3, rtol: 1.5e-3 };
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("rotate-half GPU vs CPU reference", S, [
  { name: "rotate-half D 6", kind: "rotateHalf", shape: [7, 6], ...F32 },
  { name: "rotate-half f16 D 130", kind: "rotateHalf", shape: [3, 130], dtype: "f16", ...F16 },
]);
