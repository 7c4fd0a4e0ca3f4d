import { ok, throws } from "node:assert/strict";
import { Tensor } from "../../lib/gpu/mod.ts";
import { linearCrossEntropy, linearCrossEntropyReference } from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { gpuTest } from "../gpu/_child.ts";

function host(rng: Rng, shape: number[], scale = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => rng.normal() * scale), shape };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  ok(a.length === b.length, `length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("linearCrossEntropy on CPU tensors: chunked = materialised, scratch O(N·chunk)", async () => {
  const rng = new Rng(5);
  const N = 6, H = 8, V = 37;
  const hidden = host(rng, [N, H]), weight = host(rng, [V, H], 0.7);
  const targets = [0, 36, -100, 5, 17, 17];
  const want = linearCrossEntropyReference({ hidden, weight, targets }, { grad: true });
  for (const chunk of [1, 5, 16, 37, 100]) {
    const r = await linearCrossEntropy({
      hidden: Tensor.fromArray(hidden.data, { shape: hidden.shape, gpu: null }),
      weight: Tensor.fromArray(weight.data, { shape: weight.shape, gpu: null }),
      targets,
    }, { chunk, grad: true });
    ok(maxDiff(await r.loss.toArray(), want.loss.data) < 1e-5, `loss, chunk ${chunk}`);
    ok(maxDiff(await r.gradHidden!.toArray(), want.gradHidden!.data) < 1e-6, `dH, chunk ${chunk}`);
    ok(maxDiff(await r.gradWeight!.toArray(), want.gradWeight!.data) < 1e-6, `dW, chunk ${chunk}`);
    // chunk logits [N, C] and its gradient, weight chunk [C, H], dW chunk, dH partials, state
    const C = Math.min(chunk, V);
    const bound = 4 * (N * C + 2 * C * H + 3 * N * H + 4 * N + N);
    ok(r.scratchBytes <= bound, `scratch ${r.scratchBytes} > ${bound} at chunk ${chunk}`);
  }
  ok(want.loss.data[2] === 0, "ignored row has loss 0");
  ok(want.scratchBytes === 2 * N * V * 4);
});

Deno.test("linearCrossEntropy validates its inputs", async () => {
  const t = (shape: number[]) =>
    Tensor.fromArray(new Float32Array(shape[0] * shape[1]), { shape, gpu: null });
  await (async () => {
    let msg = "";
    try {
      await linearCrossEntropy({ hidden: t([2, 4]), weight: t([5, 3]), targets: [0, 1] });
    } catch (e) {
      msg = String(e);
    }
    ok(msg.includes("hidden has 4 features but weight rows have 3"), msg);
    msg = "";
    try {
      await linearCrossEntropy({ hidden: t([2, 4]), weight: t([5, 4]), targets: [0, 5] });
    } catch (e) {
      msg = String(e);
    }
    ok(msg.includes("target 1 is 5, not an id below the vocab 5"), msg);
  })();
  throws(() =>
    linearCrossEntropyReference({
      hidden: { data: new Float32Array(8), shape: [2, 4] },
      weight: { data: new Float32Array(6), shape: [2, 3] },
      targets: [0, 1],
    }), /needs hidden \[N, H\] and weight \[V, H\]/);
});

// Tolerances: the chunked path sums exp over chunks in a different order than the f64
// reference and goes through f32 matmuls with K = hidden: loss abs 2e-4; gradients are
// probabilities / N times weights: abs 2e-5 + rel 1e-3.
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("linear cross-entropy GPU (chunked) vs materialised CPU reference", S, [
  {
    name: "N 10, H 16, V 300, chunk 64, with gradients",
    kind: "linearCE",
    rows: 10,
    hidden: 16,
    vocab: 300,
    chunk: 64,
    grad: true,
    atol: 2e-4,
    rtol: 1e-3,
  },
  {
    name: "one chunk larger than the vocab",
    kind: "linearCE",
    rows: 3,
    hidden: 12,
    vocab: 50,
    chunk: 4096,
    grad: true,
    atol: 2e-4,
    rtol: 1e-3,
  },
  {
    name: "loss only, odd chunk 33, V 1000",
    kind: "linearCE",
    rows: 7,
    hidden: 20,
    vocab: 1000,
    chunk: 33,
    atol: 2e-4,
    rtol: 1e-4,
  },
]);
