import { equal, ok } from "node:assert/strict";
import { matmulNN, matmulNT, matmulTN } from "../../kernels/_matmul_cpu.ts";
import { Rng } from "../../lib/util/rng.ts";

Deno.test("blocked matmuls equal naive loops", () => {
  const rng = new Rng(2);
  for (const [R, K, O] of [[1, 3, 1], [5, 7, 3], [8, 16, 9], [4, 4, 4]]) {
    const x = Float32Array.from({ length: R * K }, () => rng.normal());
    const w = Float32Array.from({ length: O * K }, () => rng.normal());
    const dy = Float32Array.from({ length: R * O }, () => rng.normal());
    const y = matmulNT(new Float32Array(R * O), { x, w, rows: R, inDim: K, outDim: O });
    const dx = matmulNN(new Float32Array(R * K), { dy, w, rows: R, inDim: K, outDim: O });
    const dw = matmulTN(new Float32Array(O * K), { dy, x, rows: R, inDim: K, outDim: O });
    for (let r = 0; r < R; r++) {
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let i = 0; i < K; i++) s += x[r * K + i] * w[o * K + i];
        equal(y[r * O + o], Math.fround(s));
      }
    }
    for (let r = 0; r < R; r++) {
      for (let i = 0; i < K; i++) {
        let s = 0;
        for (let o = 0; o < O; o++) s += dy[r * O + o] * w[o * K + i];
        ok(Math.abs(dx[r * K + i] - s) < 1e-5 * (1 + Math.abs(s)));
      }
    }
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < K; i++) {
        let s = 0;
        for (let r = 0; r < R; r++) s += dy[r * O + o] * x[r * K + i];
        ok(Math.abs(dw[o * K + i] - s) < 1e-5 * (1 + Math.abs(s)));
      }
    }
  }
});
