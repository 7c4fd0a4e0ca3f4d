import { Rng } from "../../lib/util/rng.ts";
import { swigluBackwardReference, swigluReference } from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { close, dotf, fdCheck, rand } from "./_checks.ts";

Deno.test("swigluReference: hand-derived values", () => {
  close(
    swigluReference({
      gate: { data: new Float32Array([0, 1, -1]), shape: [3] },
      up: { data: new Float32Array([5, 2, 1]), shape: [3] },
    }).data,
    [0, 2 / (1 + Math.exp(-1)), -1 / (1 + Math.E)],
  );
});

Deno.test("swigluBackwardReference matches finite differences", () => {
  const rng = new Rng(3);
  const gate = rand(rng, [2, 6], 2), up = rand(rng, [2, 6]), dout = rand(rng, [2, 6]);
  const f = () => dotf(dout, swigluReference({ gate, up }));
  const g = swigluBackwardReference({ gate, up, dout });
  fdCheck(gate, g.dgate.data, f, "dgate");
  fdCheck(up, g.dup.data, f, "dup");
});

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference: rel 1e-5, abs 1e-5; f16
// outputs add one half-precision rounding: rel 1e-3 (2^-11 ≈ 4.9e-4 plus the f32 error), abs 1e-3.
const F32 = { atol: 1e-5, rtol: 1e-5 };
const F16 = { atol: 1e-3, rtol: 1.5e-3 };
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("swiglu GPU vs CPU reference", S, [
  { name: "1000 elements", kind: "swiglu", shape: [10, 100], ...F32 },
  { name: "1 element", kind: "swiglu", shape: [1], ...F32 },
  { name: "f16 257 elements", kind: "swiglu", shape: [257], dtype: "f16", ...F16 },
]);

// Backward kernels: f32 on both sides, sums over at most a few hundred terms: atol 1e-4, rtol
// 1e-4.
const GRAD = { atol: 1e-4, rtol: 1e-4 };
gpuTest("swiglu backward GPU vs CPU reference", S, [
  { name: "swiglu backward 3x77", kind: "swigluBackward", shape: [3, 77], ...GRAD },
  { name: "swiglu backward 1", kind: "swigluBackward", shape: [1], ...GRAD },
]);
