import { ok } from "node:assert/strict";
import {
  binaryReference,
  rmsnormReference,
  ropeQkReference,
  ropeReference,
  ropeTables,
  rotateHalfReference,
  rowReduceReference,
  softmaxReference,
  swigluReference,
  unaryReference,
} from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
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

Deno.test("generic element-wise references: unary, broadcasting binary, row reduce, rotate-half", () => {
  const x = { data: new Float32Array([1, -2, 4, 0.25]), shape: [2, 2] };
  close(unaryReference(x, { op: "square" }).data, [1, 4, 16, 0.0625]);
  close(unaryReference(x, { op: "neg" }).data, [-1, 2, -4, -0.25]);
  close(unaryReference(x, { op: "addScalar", scalar: 3 }).data, [4, 1, 7, 3.25]);
  close(unaryReference(x, { op: "mulScalar", scalar: -2 }).data, [-2, 4, -8, -0.5]);
  close(unaryReference({ data: new Float32Array([4, 0.25]), shape: [2] }, { op: "rsqrt" }).data, [
    0.5,
    2,
  ]);
  close(unaryReference({ data: new Float32Array([0]), shape: [1] }, { op: "silu" }).data, [0]);
  // b [2, 1] broadcast along columns, b [2] along rows, b [1] everywhere
  close(
    binaryReference({ a: x, b: { data: new Float32Array([10, 100]), shape: [2, 1] } }, {
      op: "mul",
    }).data,
    [10, -20, 400, 25],
  );
  close(
    binaryReference({ a: x, b: { data: new Float32Array([1, 2]), shape: [2] } }, { op: "sub" })
      .data,
    [0, -4, 3, -1.75],
  );
  close(
    binaryReference({ a: x, b: { data: new Float32Array([2]), shape: [1] } }, { op: "div" }).data,
    [0.5, -1, 2, 0.125],
  );
  // [2, 1, 2] onto [2, 2, 2]: the middle axis broadcast
  close(
    binaryReference({
      a: { data: new Float32Array(8).fill(1), shape: [2, 2, 2] },
      b: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 1, 2] },
    }, { op: "add" }).data,
    [2, 3, 2, 3, 4, 5, 4, 5],
  );
  const m = rowReduceReference(x, { op: "mean" });
  close(m.data, [-0.5, 2.125]);
  ok(m.shape.join() === "2,1");
  close(rowReduceReference(x, { op: "sum" }).data, [-1, 4.25]);
  close(rowReduceReference(x, { op: "max" }).data, [1, 4]);
  close(rotateHalfReference({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [1, 6] }).data, [
    -4,
    -5,
    -6,
    1,
    2,
    3,
  ]);
});

Deno.test("element-wise kernels reject bad input with a message that names it", () => {
  const x = { data: new Float32Array(6), shape: [2, 3] };
  const t = (f: () => unknown, part: string) => {
    try {
      f();
    } catch (e) {
      ok(String(e).includes(part), `${e} lacks "${part}"`);
      return;
    }
    throw new Error(`no error (wanted "${part}")`);
  };
  // deno-lint-ignore no-explicit-any
  t(() => unaryReference(x, { op: "cube" as any }), 'unknown unary op "cube"');
  t(
    () => binaryReference({ a: x, b: { data: new Float32Array(2), shape: [2] } }, { op: "add" }),
    "cannot broadcast b of shape [2] onto a of shape [2, 3]",
  );
  t(() => rotateHalfReference(x), "even last dimension");
  t(() => ropeTables([0], { headDim: 3 }), "headDim must be a positive even integer");
  t(
    () =>
      ropeQkReference({
        q: { data: new Float32Array(8), shape: [2, 1, 4] },
        k: { data: new Float32Array(6), shape: [1, 1, 6] },
        positions: [0, 1],
      }),
    "same tokens and D",
  );
});

Deno.test("ropeTables + rotate-half composition equals ropeReference; ropeQkReference is rope on each", () => {
  const rng = new Rng(3);
  const S = 5, H = 2, D = 8;
  const x = {
    data: Float32Array.from({ length: S * H * D }, () => rng.normal()),
    shape: [S, H, D],
  };
  const positions = [0, 3, 7, 1, 20];
  const { cos, sin } = ropeTables(positions, { headDim: D });
  const xc = binaryReference({ a: x, b: cos }, { op: "mul" });
  const rs = binaryReference({ a: rotateHalfReference(x), b: sin }, { op: "mul" });
  const y = binaryReference({ a: xc, b: rs }, { op: "add" });
  close(y.data, Array.from(ropeReference({ x, positions }).data), 1e-5);
  const k = { data: x.data.slice(0, S * D), shape: [S, 1, D] };
  const r = ropeQkReference({ q: x, k, positions });
  close(r.k.data, Array.from(ropeReference({ x: k, positions }).data));
});

gpuTest("generic element-wise kernels GPU vs CPU reference", S, [
  { name: "square 3x333", kind: "unary", op: "square", shape: [3, 333], ...F32 },
  { name: "silu 1 element", kind: "unary", op: "silu", shape: [1], ...F32 },
  {
    name: "rsqrt of positives 257",
    kind: "unary",
    op: "rsqrt",
    shape: [257],
    positive: true,
    ...F32,
  },
  {
    name: "addScalar f16 5x13",
    kind: "unary",
    op: "addScalar",
    scalar: 0.75,
    shape: [5, 13],
    dtype: "f16",
    ...F16,
  },
  { name: "neg, exp", kind: "unary", op: "exp", shape: [2, 3, 5], ...F32 },
  { name: "mul [5,7] by [7]", kind: "binary", op: "mul", shapeA: [5, 7], shapeB: [7], ...F32 },
  { name: "sub [5,7] by [5,1]", kind: "binary", op: "sub", shapeA: [5, 7], shapeB: [5, 1], ...F32 },
  {
    name: "add [9,3,6] by [9,1,6]",
    kind: "binary",
    op: "add",
    shapeA: [9, 3, 6],
    shapeB: [9, 1, 6],
    ...F32,
  },
  {
    name: "mul rank 4 [2,3,4,5] by [3,1,5]",
    kind: "binary",
    op: "mul",
    shapeA: [2, 3, 4, 5],
    shapeB: [3, 1, 5],
    ...F32,
  },
  {
    name: "add same shape f16 [31]",
    kind: "binary",
    op: "add",
    shapeA: [31],
    shapeB: [31],
    dtype: "f16",
    ...F16,
  },
  { name: "mean 3x1000", kind: "rowReduce", op: "mean", shape: [3, 1000], ...F32 },
  { name: "sum 4x1", kind: "rowReduce", op: "sum", shape: [4, 1], ...F32 },
  { name: "max 2x3x77", kind: "rowReduce", op: "max", shape: [2, 3, 77], ...F32 },
  { name: "mean, 70000 rows (2-D grid)", kind: "rowReduce", op: "mean", shape: [70000, 3], ...F32 },
  { name: "rotate-half D 6", kind: "rotateHalf", shape: [7, 6], ...F32 },
  { name: "rotate-half f16 D 130", kind: "rotateHalf", shape: [3, 130], dtype: "f16", ...F16 },
]);

gpuTest("unfused RMSNorm, SwiGLU, RoPE equal the fused kernels' references", S, [
  { name: "rmsnorm 7 x 300", kind: "unfused", which: "rmsnorm", rows: 7, d: 300, ...F32 },
  { name: "rmsnorm 1 x 1", kind: "unfused", which: "rmsnorm", rows: 1, d: 1, eps: 1e-5, ...F32 },
  { name: "swiglu 3 x 101", kind: "unfused", which: "swiglu", shape: [3, 101], ...F32 },
  {
    name: "rope 5 tokens 3 heads d 64",
    kind: "unfused",
    which: "rope",
    tokens: 5,
    heads: 3,
    d: 64,
    atol: 2e-5,
    rtol: 1e-5,
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
    name: "f16, base 500000",
    kind: "ropeQk",
    tokens: 6,
    hq: 2,
    hk: 1,
    d: 32,
    base: 500000,
    dtype: "f16",
    ...F16,
  },
]);
