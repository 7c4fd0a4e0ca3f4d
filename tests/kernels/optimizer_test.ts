import { deepEqual, ok, throws } from "node:assert/strict";
import { adamw, adamwReference, gradNorm, gradNormReference } from "../../kernels/mod.ts";
import { Tensor } from "../../lib/gpu/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { assertClose } from "../_compare.ts";

Deno.test("gradNormReference and adamwReference: hand-derived values", () => {
  const t = (...v: number[]) => ({ data: Float32Array.from(v), shape: [v.length] });
  deepEqual([...gradNormReference([t(3), t(0, 4)], { maxNorm: 1 }).data], [5, Math.fround(0.2)]);
  deepEqual([...gradNormReference([t(3), t(0, 4)], { maxNorm: 10 }).data], [5, 1]);
  deepEqual([...gradNormReference([t(3), t(0, 4)]).data], [5, 1]);
  // first step: m̂ = g, v̂ = g², update = lr·g/(|g|+ε) ≈ lr·sign(g); decay shrinks p first
  const r = adamwReference({ param: t(1, -1), grad: t(0.5, -2), m: t(0, 0), v: t(0, 0) }, {
    lr: 0.1,
    step: 1,
    weightDecay: 0.5,
  });
  ok(Math.abs(r.param.data[0] - (0.95 - 0.1)) < 1e-6, `${r.param.data[0]}`);
  ok(Math.abs(r.param.data[1] - (-0.95 + 0.1)) < 1e-6, `${r.param.data[1]}`);
  // the clip scale multiplies the gradient: the moments see g·scale
  const c = adamwReference({ param: t(0), grad: t(2), m: t(0), v: t(0), clip: t(4, 0.25) }, {
    lr: 0.1,
    step: 1,
  });
  ok(Math.abs(c.m.data[0] - 0.1 * 0.5) < 1e-7 && Math.abs(c.v.data[0] - 0.05 * 0.25) < 1e-7);
  throws(() => adamwReference({ param: t(0), grad: t(0), m: t(0), v: t(0) }, { lr: 1, step: 0 }));
});

// The wrappers on CPU tensors call the CPU references, so comparing them with those references
// proves nothing: they are checked against hand-worked values.
Deno.test("gradNorm and adamw on CPU tensors: hand-derived values", async () => {
  const cpu = (data: number[], shape: number[]) => Tensor.fromArray(data, { shape, gpu: null });
  // grad (3, −4): norm 5, maxNorm 0.5 → clip scale 0.1. AdamW step 1 from m = v = 0 with the
  // clipped g = (0.3, −0.4): m = (1 − 0.9)·g, v = (1 − 0.95)·g², and the bias-corrected step
  // is lr·g/(|g| + ε) = lr·sign(g), so p = (1, 1) − 0.1·(1, −1) = (0.9, 1.1).
  const grad = cpu([3, -4], [2]);
  const stats = await gradNorm([grad], { maxNorm: 0.5 });
  assertClose(await stats.toArray(), [5, 0.1], { what: "grad norm" });
  const p = cpu([1, 1], [2]), m = Tensor.zeros([2], { gpu: null });
  const vv = Tensor.zeros([2], { gpu: null });
  await adamw({ param: p, grad, m, v: vv, clip: stats }, { lr: 0.1, step: 1 });
  assertClose(p.host, [0.9, 1.1], { what: "adamw param" });
  assertClose(m.host, [0.03, -0.04], { what: "adamw m" });
  assertClose(vv.host, [0.05 * 0.09, 0.05 * 0.16], { what: "adamw v" });
});

// Backward kernels: f32 on both sides, sums over at most a few hundred terms: atol 1e-4, rtol
// 1e-4.
const GRAD = { atol: 1e-4, rtol: 1e-4 };
gpuTest("grad norm and AdamW GPU vs CPU reference", "tests/kernels/_gpu_cases.ts", [
  {
    name: "grad norm clipped + 2 AdamW steps",
    kind: "gradNormAdamw",
    sizes: [5000, 1, 300, 9000],
    maxNorm: 1,
    ...GRAD,
  },
  {
    name: "grad norm not clipped",
    kind: "gradNormAdamw",
    sizes: [7, 4097],
    maxNorm: 1000,
    scale: 0.01,
    ...GRAD,
  },
  { name: "grad norm, no maxNorm", kind: "gradNormAdamw", sizes: [3], ...GRAD },
]);
