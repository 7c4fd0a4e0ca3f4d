import { deepEqual } from "node:assert/strict";
import { Tensor } from "../../lib/gpu/mod.ts";
import {
  dequantize,
  quantize,
  quantMatmul,
  quantMatmulReference,
  quantMatmulWgsl,
} from "../../lib/quant/mod.ts";
import { type GpuCase, gpuTest } from "../gpu/_child.ts";

const CHILD = "tests/quant/_gpu_cases.ts";

// Shapes: in (k) not a multiple of the block (64) or of a word (8 nibbles, 4 bytes), rows that
// start mid-byte (odd k with 4-bit codes), out (n) not a multiple of a workgroup's 4 rows or
// the tiled shader's 64, k a multiple of 32 (the vec4 matvec), M from 1 to 8 (the matvec's
// rows) and 70 (tiled).
// Tolerances: the kernels sum in f32 (per-word partial sums scaled by the block absmax), the
// reference in f64 over the same dequantised values; |y| ≈ 0.05·√K ≤ 1 for K ≤ 300, so f32
// rounding stays near 1e-6 (measured on lavapipe: ≤ 8.4e-7); atol 1e-5 leaves room, while one
// wrong code (≥ 0.05·|x|·gap ≈ 1e-3) or one wrong block scale is far outside it.
const TOL = { atol: 1e-5, rtol: 1e-5 };
const FORMATS = ["nf4", "fp4", "nf4-dq", "fp4-dq", "int8-blockwise", "int8-rowwise"];
const SHAPES = [
  { shape: "1×1×1", m: 1, n: 1, k: 1 },
  { shape: "odd in 1×37×77", m: 1, n: 37, k: 77 },
  { shape: "3×65×130", m: 3, n: 65, k: 130 },
  { shape: "8×300×64 (vec4)", m: 8, n: 300, k: 64 },
  { shape: "1×65×256 (vec4)", m: 1, n: 65, k: 256 },
  { shape: "3×40×96 (vec4)", m: 3, n: 40, k: 96 },
  { shape: "tiled 70×33×129", m: 70, n: 33, k: 129 },
];
gpuTest(
  "quantMatmul GPU vs dequantize + matmulReference",
  CHILD,
  FORMATS.flatMap((format): GpuCase[] =>
    SHAPES.map((s) => ({
      name: `${format} ${s.shape}`,
      kind: "quantMatmul",
      format,
      ...s,
      blockSize: format.startsWith("int8-b") ? 64 : format.includes("dq") ? 32 : undefined,
      ...TOL,
    }))
  ).concat(
    <GpuCase[]> [
      // the tiled shader on a decode-sized input and the matvec at its row limit, odd everything
      {
        name: "nf4-dq tiled 1×19×45",
        kind: "quantMatmul",
        format: "nf4-dq",
        m: 1,
        n: 19,
        k: 45,
        blockSize: 32,
        kernel: "tiled",
        ...TOL,
      },
      // the general matvec on a row length the vec4 one would take
      {
        name: "nf4 general matvec on 2×33×96",
        kind: "quantMatmul",
        format: "nf4",
        m: 2,
        n: 33,
        k: 96,
        aligned: false,
        ...TOL,
      },
      // 300 blocks of 32: the nested absmax spans two nested blocks of 256
      {
        name: "fp4-dq matvec 2×150×64 (two nested blocks)",
        kind: "quantMatmul",
        format: "fp4-dq",
        m: 2,
        n: 150,
        k: 64,
        blockSize: 32,
        seed: 3,
        ...TOL,
      },
      {
        name: "int8-blockwise default 4096 blocks 2×50×130",
        kind: "quantMatmul",
        format: "int8-blockwise",
        m: 2,
        n: 50,
        k: 130,
        ...TOL,
      },
    ],
  ),
);

// bits are integers: any mismatch is ≥ 1, far above atol 0.5
const EXACT = { atol: 0.5, rtol: 0 };
gpuTest("decompressBf16Gpu vs decompressBf16 (bit for bit)", CHILD, [
  { name: "all 65 536 patterns, bf16", kind: "df11", data: "all", dtype: "bf16", ...EXACT },
  { name: "all 65 536 patterns, f32", kind: "df11", data: "all", dtype: "f32", ...EXACT },
  {
    name: "N(0,0.02) with outliers (codes > 11 bits), odd length, 32 per block",
    kind: "df11",
    n: 10001,
    outliers: 5,
    symbolsPerBlock: 32,
    dtype: "bf16",
    ...EXACT,
  },
  { name: "length 1", kind: "df11", n: 1, outliers: 0, dtype: "bf16", ...EXACT },
  { name: "length 3, f32", kind: "df11", n: 3, outliers: 1, dtype: "f32", ...EXACT },
  {
    name: "70 000 values, 512 per block (several workgroups)",
    kind: "df11",
    n: 70000,
    outliers: 2,
    dtype: "bf16",
    ...EXACT,
  },
]);

Deno.test("quantMatmul on CPU tensors is its reference; the reference is dequantize · Wᵀ", async () => {
  const w = Float32Array.of(1, -1, 0.5, 0.25, 0, 2);
  const q = quantize(w, { format: "int8-rowwise", shape: [3, 2] });
  const deq = dequantize(q);
  const x = Float32Array.of(2, 3);
  const ref = quantMatmulReference({ x: { data: x, shape: [1, 2] }, w: q });
  // hand-computed from the dequantised rows
  const want = [0, 1, 2].map((o) => Math.fround(2 * deq[2 * o] + 3 * deq[2 * o + 1]));
  deepEqual(Array.from(ref.data), want);
  const xt = Tensor.fromArray(x, { shape: [1, 2], gpu: null });
  const y = await quantMatmul({
    x: xt,
    w: {
      format: q.format,
      shape: [3, 2],
      blockSize: q.blockSize,
      source: q,
      weightBytes: 0,
    } as unknown as Parameters<typeof quantMatmul>[0]["w"],
  });
  deepEqual(Array.from(await y.toArray()), want);
});

Deno.test("quantMatmulWgsl refuses a matvec of too many rows", () => {
  let threw = false;
  try {
    quantMatmulWgsl({ format: "nf4", kind: "matvec", rows: 9 });
  } catch {
    threw = true;
  }
  deepEqual(threw, true);
});
