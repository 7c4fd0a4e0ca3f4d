import {
  binaryReference,
  ropeReference,
  ropeTables,
  rotateHalfReference,
} from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { gpuTest } from "../gpu/_child.ts";
import { close, throwsWith } from "./_checks.ts";

Deno.test("ropeTables + rotate-half composition equals ropeReference; odd headDim refused", () => {
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
  throwsWith(() => ropeTables([0], { headDim: 3 }), "headDim must be a positive even integer");
});

// Tolerances: f32 kernels are single-pass with f32 math vs f64 reference: rel 1e-5, abs 1e-5; rope
// angles are f32 (pos·freq with pos < 64, exp2 vs pow): abs 2e-5.
const F32 = { atol: 1e-5, rtol: 1e-5 };
const S = "tests/kernels/_gpu_cases.ts";
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
