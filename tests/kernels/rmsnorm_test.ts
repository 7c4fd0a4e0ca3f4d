import { ok, throws } from "node:assert/strict";
import { rmsnormBackward, rmsnormBackwardReference, rmsnormReference } from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { Tensor } from "../../lib/gpu/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { assertClose } from "../_compare.ts";
import { close, dotf, fdCheck, rand } from "./_checks.ts";

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

Deno.test("rmsnormBackwardReference matches finite differences of rmsnormReference", () => {
  const rng = new Rng(1);
  const x = rand(rng, [3, 5]), w = rand(rng, [5]), dy = rand(rng, [3, 5]);
  const acc = rand(rng, [3, 5]);
  const f = () => dotf(dy, rmsnormReference({ x, weight: w }, { eps: 1e-5 }).out);
  const g = rmsnormBackwardReference({ dy, x, weight: w }, { eps: 1e-5 });
  fdCheck(x, g.dx.data, f, "dx");
  fdCheck(w, g.dweight.data, f, "dweight");
  // accumulate adds the input gradient to what dx held
  const g2 = rmsnormBackwardReference({ dy, x, weight: w, dx: acc }, { eps: 1e-5 });
  g2.dx.data.forEach((v, i) => ok(Math.abs(v - (acc.data[i] + g.dx.data[i])) < 1e-6));
  throws(() => rmsnormBackwardReference({ dy, x, weight: rand(rng, [4]) }), /weight must have/);
});

// The wrappers on CPU tensors call the CPU references, so comparing them with those references
// proves nothing: they are checked against hand-worked values.
Deno.test("rmsnormBackward on CPU tensors: hand-derived values, dx accumulated in place", async () => {
  const cpu = (data: number[], shape: number[]) => Tensor.fromArray(data, { shape, gpu: null });
  // rmsnorm, x = (3, 4), w = (1, 1), eps 0: r = √((9 + 16)/2) = √12.5, y = x/r. With dy = (1, 0):
  // dx_i = w_i·dy_i/r − x_i·Σ_j dy_j·w_j·x_j/(D·r³) = (1/r − 9/(25r), −12/(25r)) = (16, −12)/(25r);
  // dweight_i = dy_i·x_i/r = (3/r, 0). dx given: the result is added into it, in place.
  const r = Math.sqrt(12.5);
  const into = cpu([1, 1], [1, 2]);
  const g = await rmsnormBackward({
    dy: cpu([1, 0], [1, 2]),
    x: cpu([3, 4], [1, 2]),
    weight: cpu([1, 1], [2]),
    dx: into,
  }, { eps: 0 });
  ok(g.dx === into);
  assertClose(await g.dx.toArray(), [1 + 16 / (25 * r), 1 - 12 / (25 * r)], { what: "dx" });
  assertClose(await g.dweight.toArray(), [3 / r, 0], { what: "dweight" });
});

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference: rel 1e-5, abs 1e-5; f16
// outputs add one half-precision rounding: rel 1e-3 (2^-11 ≈ 4.9e-4 plus the f32 error), abs 1e-3.
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

// Backward kernels: f32 on both sides, sums over at most a few hundred terms: atol 1e-4, rtol
// 1e-4.
const GRAD = { atol: 1e-4, rtol: 1e-4 };
gpuTest("rmsnorm backward GPU vs CPU reference", S, [
  { name: "rmsnorm backward 5x7", kind: "rmsnormBackward", rows: 5, d: 7, eps: 1e-5, ...GRAD },
  {
    name: "rmsnorm backward 33x300 accumulate",
    kind: "rmsnormBackward",
    rows: 33,
    d: 300,
    accumulate: true,
    ...GRAD,
  },
  {
    name: "rmsnorm backward 66000 rows (2-D grid)",
    kind: "rmsnormBackward",
    rows: 66000,
    d: 2,
    eps: 1e-5,
    atol: 1e-3,
    rtol: 1e-3,
  },
]);
