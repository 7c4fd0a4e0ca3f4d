import { ok } from "node:assert/strict";
import { crossEntropyReference } from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";

Deno.test("crossEntropyReference: uniform logits, a sure prediction, an ignored row", () => {
  // row 0: 4 equal logits → loss ln 4, gradient 1/4 − onehot; row 1: logit 0 vs −∞-ish → loss ≈ 0;
  // row 2 ignored (target −100) → loss 0 and zero gradient; mean over the 2 kept rows → scale 1/2
  const r = crossEntropyReference({
    logits: { data: new Float32Array([0, 0, 0, 0, 0, -80, -80, -80, 5, 6, 7, 8]), shape: [3, 4] },
    targets: [1, 0, -100],
  }, { grad: true });
  ok(Math.abs(r.loss.data[0] - Math.log(4)) < 1e-6);
  ok(Math.abs(r.loss.data[1]) < 1e-6);
  ok(r.loss.data[2] === 0);
  const g = r.grad!.data;
  const want0 = [0.125, -0.375, 0.125, 0.125];
  for (let i = 0; i < 4; i++) ok(Math.abs(g[i] - want0[i]) < 1e-7, `grad[${i}] ${g[i]}`);
  for (let i = 8; i < 12; i++) ok(g[i] === 0);
});

// Tolerances: loss = lse − logit in f32 with |logits| ≲ 16: abs 1e-4 (f32 ulp of lse times
// a few); the gradient entries are probabilities/N: abs 1e-6 + rel 1e-4.
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("cross entropy GPU vs CPU reference", S, [
  {
    name: "10 rows, vocab 3000, with gradient",
    kind: "crossEntropy",
    rows: 10,
    vocab: 3000,
    grad: true,
    atol: 1e-4,
    rtol: 1e-4,
  },
  { name: "1 row, vocab 1", kind: "crossEntropy", rows: 1, vocab: 1, atol: 1e-6, rtol: 1e-5 },
  {
    name: "vocab 257, wide logits",
    kind: "crossEntropy",
    rows: 6,
    vocab: 257,
    spread: 30,
    grad: true,
    atol: 2e-4,
    rtol: 1e-4,
  },
  {
    name: "f16 logits, vocab 5000",
    kind: "crossEntropy",
    rows: 4,
    vocab: 5000,
    dtype: "f16",
    grad: true,
    atol: 1e-4,
    rtol: 1e-4,
  },
]);
