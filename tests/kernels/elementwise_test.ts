import { binaryReference, unaryReference } from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { close, throwsWith } from "./_checks.ts";

Deno.test("element-wise references: unary, broadcasting binary", () => {
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
});

Deno.test("unary and binary reject bad input with a message that names it", () => {
  const x = { data: new Float32Array(6), shape: [2, 3] };
  // deno-lint-ignore no-explicit-any
  throwsWith(() => unaryReference(x, { op: "cube" as any }), 'unknown unary op "cube"');
  throwsWith(
    () => binaryReference({ a: x, b: { data: new Float32Array(2), shape: [2] } }, { op: "add" }),
    "cannot broadcast b of shape [2] onto a of shape [2, 3]",
  );
});

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference: rel 1e-5, abs 1e-5; f16
// outputs add one half-precision rounding: rel 1e-3 (2^-11 ≈ 4.9e-4 plus the f32 error), abs 1e-3.
const F32 = { atol: 1e-5, rtol: 1e-5 };
const F16 = { atol: 1e-3, rtol: 1.5e-3 };
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("element-wise kernels GPU vs CPU reference", S, [
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
]);
