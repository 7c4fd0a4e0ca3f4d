import { ok } from "node:assert/strict";
import { rowReduceReference } from "../../kernels/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { close } from "./_checks.ts";

Deno.test("rowReduceReference: sum, mean, max of each row, shape [..., 1]", () => {
  const x = { data: new Float32Array([1, -2, 4, 0.25]), shape: [2, 2] };
  const m = rowReduceReference(x, { op: "mean" });
  close(m.data, [-0.5, 2.125]);
  ok(m.shape.join() === "2,1");
  close(rowReduceReference(x, { op: "sum" }).data, [-1, 4.25]);
  close(rowReduceReference(x, { op: "max" }).data, [1, 4]);
});

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference: rel 1e-5, abs 1e-5.
const F32 = { atol: 1e-5, rtol: 1e-5 };
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("row reduce GPU vs CPU reference", S, [
  { name: "mean 3x1000", kind: "rowReduce", op: "mean", shape: [3, 1000], ...F32 },
  { name: "sum 4x1", kind: "rowReduce", op: "sum", shape: [4, 1], ...F32 },
  { name: "max 2x3x77", kind: "rowReduce", op: "max", shape: [2, 3, 77], ...F32 },
  { name: "mean, 70000 rows (2-D grid)", kind: "rowReduce", op: "mean", shape: [70000, 3], ...F32 },
]);
