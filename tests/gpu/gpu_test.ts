import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  float16BitsToFloat32,
  float32ToFloat16Bits,
  fromFloat16Bits,
  isSoftwareAdapter,
  packUniforms,
  roundToFloat16,
  Tensor,
  toFloat16Bits,
} from "../../lib/gpu/mod.ts";
import { bucketSize } from "../../lib/gpu/pool.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { gpuTest } from "./_child.ts";

Deno.test("float32ToFloat16Bits: hand-derived bit patterns and rounding", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [65519, 0x7bff], // just below the halfway point to 65536 rounds down
    [65520, 0x7c00], // halfway, ties to even → infinity
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // half of it: tie to even → 0
    [1.5 * 2 ** -25, 0x0001], // above the tie → rounds up
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: even mantissa (0) wins
    [1 + 3 * 2 ** -11, 0x3c02], // tie between …01 and …10: even (…10) wins
    [2 ** -14 - 2 ** -25, 0x0400], // subnormal that rounds up into the normal range
  ];
  for (const [x, bits] of cases) equal(float32ToFloat16Bits(x), bits, `${x}`);
  ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
});

Deno.test("half bits → number → bits is the identity on all 63 488 non-NaN patterns", () => {
  for (let b = 0; b < 0x10000; b++) {
    const e = (b >> 10) & 0x1f, m = b & 0x3ff;
    if (e === 0x1f && m) continue;
    equal(float32ToFloat16Bits(float16BitsToFloat32(b)), b);
  }
  deepEqual([...fromFloat16Bits(toFloat16Bits([1, -2, 0.5]))], [1, -2, 0.5]);
  equal(roundToFloat16([0.1])[0], 1638 / 16384); // 0.1 ≈ 1.6384·2^-4 → mantissa 614: 1638/2^14
});

Deno.test("bucketSize, isSoftwareAdapter, packUniforms layout", () => {
  deepEqual([bucketSize(0), bucketSize(256), bucketSize(257), bucketSize(65536)], [
    256,
    256,
    512,
    65536,
  ]);
  // above 64 KiB: multiples of 1/8 of the power of two below (65536 → steps of 8192)
  equal(bucketSize(65537), 73728);
  throws(() => bucketSize(-1), TokenlabError);
  ok(isSoftwareAdapter("llvmpipe (LLVM 15.0.6, 256 bits)"));
  ok(!isSoftwareAdapter("NVIDIA H100 80GB HBM3"));
  // WGSL layout: u32 at 0, vec3<f32> aligned to 16, f32 packed after it at 28 → size 32
  const wgsl = "struct P { n: u32, v: vec3<f32>, s: f32 }\n" +
    "@group(0) @binding(0) var<uniform> params: P;";
  const buf = packUniforms(wgsl, { values: { n: 7, v: [1, 2, 3], s: 0.5 } });
  equal(buf.byteLength, 32);
  equal(new Uint32Array(buf)[0], 7);
  deepEqual([...new Float32Array(buf, 16, 4)], [1, 2, 3, 0.5]);
  throws(() => packUniforms(wgsl, { values: {}, name: "missing" }), TokenlabError);
});

Deno.test("Tensor.fromArray without gpu before getDevice() says to await it", () => {
  throws(() => Tensor.fromArray([1], { shape: [1] }), /await getDevice\(\)/);
});

gpuTest("GPU layer on the device", "tests/gpu/_gpu_cases.ts", [
  {
    name: "f32 round trip, odd length",
    kind: "roundtrip",
    n: 1001,
    dtype: "f32",
    atol: 0,
    rtol: 0,
  },
  { name: "u32 round trip", kind: "roundtrip", n: 3, dtype: "u32", atol: 0, rtol: 0 },
  { name: "i32 round trip", kind: "roundtrip", n: 5, dtype: "i32", atol: 0, rtol: 0 },
  // f16 of 1..3·n+1 is exact up to 2048; odd element count exercises the 4-byte padding
  { name: "f16 round trip, odd length", kind: "roundtrip", n: 333, dtype: "f16", atol: 0, rtol: 0 },
  {
    name: "device f32→f16 rounding matches float32ToFloat16Bits",
    kind: "f16device",
    requires: ["shader-f16"],
    values: [
      1,
      0.1,
      -3.14159,
      65519,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      2 ** -24,
      1.5 * 2 ** -25,
      7e-6,
      -1234.5678,
    ],
    atol: 0,
    rtol: 0,
  },
  { name: "default device and inferred dtypes", kind: "defaults", atol: 0, rtol: 0 },
  { name: "buffer pool reuses a released buffer", kind: "pool", atol: 0, rtol: 0 },
  { name: "buffer pool tracks bytes in use and their peak", kind: "poolPeak", atol: 0, rtol: 0 },
  { name: "pipeline cache keys on source and constants", kind: "pipelines", atol: 0, rtol: 0 },
  { name: "profiler with timestamps", kind: "profiler", atol: 0, rtol: 0 },
  { name: "profiler wall clock", kind: "profiler", wallClock: true, atol: 0, rtol: 0 },
]);
