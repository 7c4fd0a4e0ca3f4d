// The shared comparisons must fail on a length or shape mismatch (extra or missing values), and
// still pass close arrays of equal length: both directions are checked for every helper.
import { equal, throws } from "node:assert/strict";
import { assertClose, checkLength, checkShape, relErr, toleranceRatio } from "./_compare.ts";
import { compareOutputs } from "./kernels/_gpu_cases.ts";

const TOL = { atol: 1e-3, rtol: 0 };

Deno.test("checkLength and checkShape refuse any difference", () => {
  checkLength([1, 2], Float32Array.of(1, 2));
  throws(() => checkLength([1, 2, 3], [1, 2]), /got 3 values, want 2/);
  throws(() => checkLength([1], [1, 2], "logits"), /logits: got 1 values, want 2/);
  checkShape([2, 3], [2, 3]);
  throws(() => checkShape([3, 2], [2, 3]), /got \[3, 2\], want \[2, 3\]/);
  throws(() => checkShape([6], [2, 3]), /got \[6\], want \[2, 3\]/);
  throws(() => checkShape([2, 3, 1], [2, 3]));
});

Deno.test("assertClose: a longer or shorter array fails even when the prefix matches", () => {
  assertClose([1, 2.0005], [1, 2], TOL);
  throws(() => assertClose([1, 2, 99], [1, 2], TOL), /got 3 values, want 2/);
  throws(() => assertClose([1], [1, 2], TOL), /got 1 values, want 2/);
  throws(() => assertClose([], [0], TOL));
  throws(() => assertClose([1, 2.01], [1, 2], TOL), /\[1\]: got 2.01, want 2/);
  throws(() => assertClose([NaN], [0], TOL), /\[0\]: got NaN/);
  // rtol scales with |want|
  assertClose([101], [100], { atol: 0, rtol: 0.011 });
  throws(() => assertClose([101], [100], { atol: 0, rtol: 0.009 }));
});

Deno.test("toleranceRatio: length mismatch throws; NaN counts as Infinity", () => {
  const r = toleranceRatio({ got: [1, 2.0005], want: [1, 2] }, TOL);
  equal(r.elements, 2);
  equal(Math.round(r.worst * 1000), 500);
  throws(() => toleranceRatio({ got: [1, 2, 3], want: [1, 2] }, TOL), /got 3 values, want 2/);
  throws(() => toleranceRatio({ got: [1], want: [1, 2], what: "lse" }, TOL), /lse: got 1/);
  equal(toleranceRatio({ got: [NaN, 0], want: [0, 0] }, TOL).worst, Infinity);
});

Deno.test("relErr: every pair must match in length", () => {
  equal(relErr([[[1, 3], [1, 4]]]), 0.25);
  equal(relErr([[[0], [2]], [[4], [4]]]), 0.5); // max |a−b| 2 over max |b| 4
  throws(() => relErr([[[1, 3, 5], [1, 4]]]), /got 3 values, want 2/);
  throws(() => relErr([[[1], [1]], [[1], [1, 2]]]), /got 1 values, want 2/);
  equal(relErr([[[NaN], [1]]]), Infinity);
});

Deno.test("compareOutputs (GPU case server): length and shape mismatches fail the case", () => {
  const tol = { atol: 1e-3, rtol: 0 };
  const ok = compareOutputs([{ got: [1, 2], want: [1, 2.0005] }, { got: [3], want: [3] }], tol);
  equal(ok.elements, 3);
  equal(ok.worst < 1, true);
  // a kernel writing one value too many (or too few) fails, whatever the prefix holds
  throws(() => compareOutputs([{ got: [1, 2, 7], want: [1, 2] }], tol), /output 0: got 3/);
  throws(() => compareOutputs([{ got: [1], want: [1, 2] }], tol), /got 1 values, want 2/);
  throws(
    () => compareOutputs([{ got: [1], want: [1] }, { got: [], want: [5] }], tol),
    /output 1: got 0 values, want 1/,
  );
  // same values, wrong shape
  const shapes: [number[], number[]] = [[3, 2], [2, 3]];
  throws(
    () => compareOutputs([{ got: [1, 2, 3, 4, 5, 6], want: [1, 2, 3, 4, 5, 6], shapes }], tol),
    /output 0 shape: got \[3, 2\], want \[2, 3\]/,
  );
});
