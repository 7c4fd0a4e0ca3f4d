// quantize / dequantize: hand-computed codes from the published codebooks, the tie rules of
// bitsandbytes' kernels at exact thresholds and midpoints, per-block error bounds, round trips,
// odd lengths, validation, non-finite and empty input, and byte equality with the codes
// bitsandbytes itself produced (tests/fixtures/quant/bnb_reference.safetensors).
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  dequantize,
  dynamicMap,
  FP4_CODEBOOK,
  NF4_CODEBOOK,
  type QuantFormat,
  quantize,
  quantizedByteLength,
} from "../../lib/quant/mod.ts";
import { readSafetensors } from "../../lib/models/safetensors.ts";
import { parseBnb4bit } from "../../lib/quant/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";

const FIX = new URL("../fixtures/quant/", import.meta.url).pathname;
const f32 = Math.fround;

/** The next float32 above x. */
function nextUp(x: number): number {
  const b = new Float32Array([x]);
  const u = new Uint32Array(b.buffer);
  if (x === 0) u[0] = 1;
  else if (x > 0) u[0]++;
  else u[0]--;
  return b[0];
}

function nibbles(codes: Uint8Array, n: number): number[] {
  return Array.from(
    { length: n },
    (_, i) => (i % 2 === 0 ? codes[i >> 1] >> 4 : codes[i >> 1] & 15),
  );
}

function randn(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

Deno.test("nf4: hand-computed codes (nearest published value), high nibble first", () => {
  // absmax 1: 1 → 15; −1 → 0; 0.5 is 0.059 from 0.4407 (12), 0.063 from 0.5626 (13);
  // −0.2 → −0.1848 (5); 0.1 → 0.0796 (8); 0.05 → 0.0796 (8), not 0; 0.3 → 0.3379 (11); 0 → 7
  const q = quantize([1, -1, 0.5, -0.2, 0.1, 0.05, 0.3, 0], { format: "nf4" });
  deepEqual(Array.from(q.codes), [0xf0, 0xc5, 0x88, 0xb7]);
  deepEqual(Array.from(q.absmax), [1]);
  deepEqual(Array.from(dequantize(q)), [15, 0, 12, 5, 8, 8, 11, 7].map((c) => NF4_CODEBOOK[c]));
});

Deno.test("fp4: hand-computed codes, sign bit from x < 0", () => {
  // magnitudes /12: 1 → 0b011; 0.5 → 0b101; 0.3 is nearer 4/12 (0b100) than 3/12; 0.2 nearer
  // 2/12 (0b110); 0.004 nearer 0.0625/12 (0b001) than 0; −0.001 → −0 (0b1000); 0 → 0b0000
  const q = quantize([2, -2, 1, -0.6, 0.4, 0.008, -0.002, 0], { format: "fp4" });
  deepEqual(Array.from(q.absmax), [2]);
  deepEqual(Array.from(q.codes), [0x3b, 0x5c, 0x61, 0x80]);
  const d = dequantize(q);
  deepEqual(Array.from(d).slice(0, 6), [
    2,
    -2,
    1,
    -2 * FP4_CODEBOOK[4],
    2 * FP4_CODEBOOK[6],
    2 * FP4_CODEBOOK[1],
  ]);
  ok(Object.is(d[6], -0) && Object.is(d[7], 0));
});

// csrc/kernels.cu dQuantizeNF4 / dQuantizeFP4 literals, as float32
const NF4_T = [
  -0.8480964004993439,
  -0.6106329262256622,
  -0.4599952697753906,
  -0.33967943489551544,
  -0.23460740596055984,
  -0.13791173323988914,
  -0.045525018125772476,
  0.03979014977812767,
  0.1202552504837513,
  0.2035212516784668,
  0.2920137718319893,
  0.3893125355243683,
  0.5016634166240692,
  0.6427869200706482,
  0.8614784181118011,
].map(f32);
const FP4_T = [0.00260417, 0.0859375, 0.20833333, 0.29166667, 0.4166667, 0.583333, 0.8333333].map(
  f32,
);

Deno.test("tree thresholds are the midpoints of adjacent published code values", () => {
  for (let i = 0; i < 15; i++) {
    ok(Math.abs(NF4_T[i] - (NF4_CODEBOOK[i] + NF4_CODEBOOK[i + 1]) / 2) < 1e-6, `nf4 ${i}`);
  }
  const mags = [0, 0.0625, 2, 3, 4, 6, 8, 12].map((m) => m / 12);
  for (let i = 0; i < 7; i++) {
    ok(Math.abs(FP4_T[i] - (mags[i] + mags[i + 1]) / 2) < 1e-6, `fp4 ${i}`);
  }
});

Deno.test("nf4 ties: a value exactly at a threshold takes the lower code, the next float the upper", () => {
  // with 1.0 in the block, absmax = 1 and the scale is exactly 1, so x reaches the tree unchanged
  const xs = [1, ...NF4_T.flatMap((t) => [t, nextUp(t)])];
  const q = quantize(xs, { format: "nf4" });
  const got = nibbles(q.codes, xs.length);
  equal(got[0], 15);
  for (let i = 0; i < 15; i++) {
    equal(got[1 + 2 * i], i, `at threshold ${i}`);
    equal(got[2 + 2 * i], i + 1, `above threshold ${i}`);
  }
});

Deno.test("fp4 ties: |x| at a threshold takes the smaller magnitude, for both signs", () => {
  const rank = [0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011]; // ascending magnitude
  const xs = [1, ...FP4_T.flatMap((t) => [t, nextUp(t), -t, -nextUp(t)])];
  const got = nibbles(quantize(xs, { format: "fp4" }).codes, xs.length);
  for (let i = 0; i < 7; i++) {
    equal(got[1 + 4 * i], rank[i], `+threshold ${i}`);
    equal(got[2 + 4 * i], rank[i + 1], `above +threshold ${i}`);
    equal(got[3 + 4 * i], 8 | rank[i], `−threshold ${i}`);
    equal(got[4 + 4 * i], 8 | rank[i + 1], `below −threshold ${i}`);
  }
});

Deno.test("int8-blockwise: nearest dynamic-map value, an exact float32 midpoint goes to the even index", async () => {
  // the map from torch (fixture), not from the code under test
  const bits = JSON.parse(await Deno.readTextFile(FIX + "dynamic_map.json")).bits as string[];
  const map = new Float32Array(Uint32Array.from(bits, (h) => parseInt(h, 16)).buffer);
  const xs: number[] = [1];
  const want: number[] = [255];
  for (let i = 0; i < 255; i++) {
    const mid = f32(f32(map[i] + map[i + 1]) * 0.5);
    if (mid === map[i] || mid === map[i + 1]) continue;
    const even = i % 2 === 0 ? i : i + 1;
    xs.push(mid, nextUp(mid), map[i]);
    want.push(even, i + 1, i);
  }
  const q = quantize(xs, { format: "int8-blockwise" });
  equal(q.absmax[0], 1);
  deepEqual(Array.from(q.codes), want);
});

/**
 * csrc/kernels.cu dQuantize<0> step by step: a pivot walk from 127 with steps 64…1 that keeps
 * the last pivots below and above x, then the float32 midpoint against the neighbour.
 */
function kernelWalk(code: Float32Array, x: number): number {
  let pivot = 127, upperPivot = 255, lowerPivot = 0;
  let lower = -1, upper = 1;
  let val = code[pivot];
  for (let i = 64; i > 0; i >>= 1) {
    if (x > val) {
      lowerPivot = pivot;
      lower = val;
      pivot += i;
    } else {
      upperPivot = pivot;
      upper = val;
      pivot -= i;
    }
    val = code[pivot];
  }
  if (upperPivot === 255) upper = code[upperPivot];
  if (lowerPivot === 0) lower = code[lowerPivot];
  if (x > val) return x > f32(f32(upper + val) * 0.5) ? upperPivot : pivot;
  return x < f32(f32(lower + val) * 0.5) ? lowerPivot : pivot;
}

Deno.test("int8-blockwise codes equal a literal port of the kernel's pivot walk", () => {
  const map = dynamicMap();
  const rng = new Rng(12);
  const xs: number[] = [1];
  for (let i = 0; i < 20000; i++) {
    const r = rng.next();
    // uniform, and log-uniform small magnitudes of both signs
    xs.push(r < 0.5 ? 2 * rng.next() - 1 : (rng.next() < 0.5 ? -1 : 1) * 10 ** (-7 * rng.next()));
  }
  for (let i = 0; i < 255; i++) xs.push(f32(f32(map[i] + map[i + 1]) * 0.5), map[i]);
  xs.push(-1, 0, -0);
  const q = quantize(xs, { format: "int8-blockwise", blockSize: 4096 });
  for (let b = 0; b * 4096 < xs.length; b++) {
    const inv = f32(1 / q.absmax[b]);
    for (let i = b * 4096; i < Math.min(xs.length, (b + 1) * 4096); i++) {
      equal(q.codes[i], kernelWalk(map, f32(f32(xs[i]) * inv)), `value ${i}: ${xs[i]}`);
    }
  }
});

Deno.test("int8-rowwise: round-half-even(x · f32(f32(1/absmax) · 127)) as two's complement", () => {
  // row 0 absmax 1: scale 127 exactly. 0.5·127 = 63.5 → 64 (even); −1 → −127 (0x81)
  // row 1 absmax 0.25: f32(1/0.25)·127 = 508; 0.125·508 = 63.5 → 64; −0.0625·508 = −31.75 → −32
  const q = quantize([0.5, -1, 1.5 / 127, 2.5 / 127, 0.25, 0.125, -0.0625, 0], {
    format: "int8-rowwise",
    shape: [2, 4],
  });
  deepEqual(Array.from(q.absmax), [1, 0.25]);
  const expect0 = [64, 0x81, Math.round(f32(f32(1.5 / 127) * 127)), 2];
  deepEqual(Array.from(q.codes), [...expect0, 127, 64, 0xe0, 0]);
  equal(q.blockSize, 4);
  const d = dequantize(q);
  equal(d[1], f32(f32(-127 * 1) * f32(1 / 127)));
});

function maxGap(book: ArrayLike<number>): number {
  const s = Array.from(book).sort((a, b) => a - b);
  let g = 0;
  for (let i = 1; i < s.length; i++) g = Math.max(g, s[i] - s[i - 1]);
  return g;
}

Deno.test("error bound: each block's max error ≤ half the largest codebook gap × absmax", () => {
  const x = randn(5000, 3, 0.02);
  x[17] = 0.4; // an outlier
  const cases: [QuantFormat, number, number][] = [
    ["nf4", 64, maxGap(NF4_CODEBOOK)],
    ["nf4", 32, maxGap(NF4_CODEBOOK)],
    ["fp4", 256, maxGap(FP4_CODEBOOK)],
    ["fp4", 4096, maxGap(FP4_CODEBOOK)],
    ["int8-blockwise", 4096, maxGap(dynamicMap())],
    ["int8-blockwise", 128, maxGap(dynamicMap())],
  ];
  for (const [format, blockSize, gap] of cases) {
    const q = quantize(x, { format, blockSize });
    const d = dequantize(q);
    for (let b = 0; b < q.absmax.length; b++) {
      let err = 0;
      for (let i = b * blockSize; i < Math.min(x.length, (b + 1) * blockSize); i++) {
        err = Math.max(err, Math.abs(d[i] - x[i]));
      }
      ok(err <= (gap / 2) * q.absmax[b] * (1 + 1e-5), `${format}/${blockSize} block ${b}: ${err}`);
    }
  }
  const r = quantize(x, { format: "int8-rowwise", shape: [50, 100] });
  const d = dequantize(r);
  for (let i = 0; i < x.length; i++) {
    ok(Math.abs(d[i] - x[i]) <= (0.5 / 127) * r.absmax[Math.floor(i / 100)] * (1 + 1e-5));
  }
});

/** x with each block's sign flipped where needed so that its largest |value| is positive. */
function positivePeaks(x: Float32Array, blockSize: number): Float32Array {
  const y = x.slice();
  for (let s = 0; s < y.length; s += blockSize) {
    const block = y.subarray(s, s + blockSize);
    let peak = 0;
    for (const v of block) if (Math.abs(v) > Math.abs(peak)) peak = v;
    if (peak < 0) { for (let i = 0; i < block.length; i++) block[i] = -block[i]; }
  }
  return y;
}

Deno.test("round trip: re-quantising the dequantised weights gives the same bytes", () => {
  const x0 = randn(3001, 5);
  for (const format of ["nf4", "fp4", "int8-blockwise"] as const) {
    for (const blockSize of [32, 64, 1024]) {
      // the dynamic map ends at −0.993 but +1: a negative peak would shrink the absmax
      const x = format === "int8-blockwise" ? positivePeaks(x0, blockSize) : x0;
      const q = quantize(x, { format, blockSize });
      const d = dequantize(q);
      const again = quantize(d, { format, blockSize });
      deepEqual(again.absmax, q.absmax);
      if (format !== "fp4") deepEqual(again.codes, q.codes, `${format}/${blockSize}`);
      // fp4's −0 (code 8) dequantises to −0, which is not < 0, so it comes back as +0 (code 0)
      const back = dequantize(again);
      ok(back.every((v, i) => v === d[i]), `${format}/${blockSize}`);
    }
  }
  const r = quantize(x0.subarray(0, 3000), { format: "int8-rowwise", shape: [30, 100] });
  deepEqual(quantize(dequantize(r), { format: "int8-rowwise", shape: [30, 100] }).codes, r.codes);
});

Deno.test("double quantisation: same 4-bit codes as without, absmax within the dynamic map's bound", () => {
  const x = randn(64 * 600 + 10, 11, 0.02); // 601 blocks → 3 nested blocks
  for (const format of ["nf4", "fp4"] as const) {
    const plain = quantize(x, { format });
    const dq = quantize(x, { format, doubleQuant: true });
    deepEqual(dq.codes, plain.codes, "codes come from the exact absmax");
    const nested = dq.nested!;
    equal(nested.blockSize, 256);
    equal(nested.codes.length, 601);
    equal(nested.absmax.length, 3);
    const mean = plain.absmax.reduce((a, b) => a + b, 0) / plain.absmax.length;
    ok(Math.abs(nested.offset - mean) < 1e-7);
    const gap = maxGap(dynamicMap());
    for (let i = 0; i < 601; i++) {
      const bound = (gap / 2) * nested.absmax[Math.floor(i / 256)] + 1e-7;
      ok(Math.abs(dq.absmax[i] - plain.absmax[i]) <= bound, `block ${i}`);
    }
    ok(quantizedByteLength(dq) < quantizedByteLength(plain));
    equal(quantizedByteLength(plain), Math.ceil(x.length / 2) + 4 * 601);
  }
});

Deno.test("odd lengths: ceil(n/2) bytes, the pad nibble is the code of 0.0", () => {
  for (const n of [1, 3, 63, 65, 129]) {
    const x = randn(n, n);
    for (const [format, zero] of [["nf4", 7], ["fp4", 0]] as const) {
      const q = quantize(x, { format });
      equal(q.codes.length, Math.ceil(n / 2));
      equal(q.codes[q.codes.length - 1] & 15, zero, `${format} n=${n}`);
      equal(dequantize(q).length, n);
    }
  }
});

Deno.test("an all-zero block: absmax 0, decodes to zeros (nf4 code 0, as 0·(1/0) = NaN on the GPU)", () => {
  const x = new Float32Array(130);
  x.fill(0.5, 64, 128);
  const q = quantize(x, { format: "nf4" });
  deepEqual(Array.from(q.absmax), [0, 0.5, 0]);
  deepEqual(Array.from(q.codes.subarray(0, 32)), new Array(32).fill(0));
  ok(dequantize(q).every((v, i) => v === x[i]));
  const r = quantize(new Float32Array(6), { format: "int8-rowwise", shape: [2, 3] });
  deepEqual(Array.from(r.codes), [0, 0, 0, 0, 0, 0]);
});

Deno.test("blockSize: powers of two from 32 to 4096, anything else refused", () => {
  const x = randn(100, 1);
  for (const blockSize of [32, 4096]) ok(quantize(x, { format: "nf4", blockSize }));
  for (const blockSize of [0, 16, 48, 100, 8192, -64, 64.5, NaN]) {
    for (const format of ["nf4", "int8-blockwise"] as const) {
      throws(() => quantize(x, { format, blockSize }), TokenlabError, `${format} ${blockSize}`);
    }
  }
  throws(() => quantize(x, { format: "int8-rowwise", blockSize: 64 }), TokenlabError);
});

Deno.test("other bad options: format, shape, doubleQuant on int8, dtype", () => {
  const x = randn(12, 1);
  throws(() => quantize(x, { format: "int4" as QuantFormat }), /unknown format/);
  throws(() => quantize(x, { format: "nf4", shape: [5, 2] }), /does not hold 12/);
  throws(() => quantize(x, { format: "int8-blockwise", doubleQuant: true }), /doubleQuant/);
  throws(() => quantize(x, { format: "nf4", dtype: "float64" as "float32" }), /dtype/);
});

Deno.test("NaN and Infinity: refused by default; bitsandbytes' kernel arithmetic on request", () => {
  const x = Float32Array.of(0.5, NaN, -1, 0.25);
  throws(() => quantize(x, { format: "nf4" }), /value 1 is NaN/);
  throws(() => quantize(Float32Array.of(1, -Infinity), { format: "fp4" }), /value 1 is -Infinity/);
  throws(
    () => quantize(x, { format: "int8-rowwise", nonFinite: "bitsandbytes" }),
    /needs finite weights/,
  );
  // fmaxf skips NaN: absmax 1; NaN fails every `x > t` → code 0 (nf4 −1, fp4 +0)
  const q = quantize(x, { format: "nf4", nonFinite: "bitsandbytes" });
  equal(q.absmax[0], 1);
  deepEqual(nibbles(q.codes, 4), [12, 0, 0, 10]);
  equal(nibbles(quantize(x, { format: "fp4", nonFinite: "bitsandbytes" }).codes, 4)[1], 0);
  // ±Infinity makes the block's absmax infinite: finite values scale to 0, ∞ to NaN
  const inf = quantize(Float32Array.of(0.5, Infinity), {
    format: "nf4",
    nonFinite: "bitsandbytes",
  });
  equal(inf.absmax[0], Infinity);
  deepEqual(nibbles(inf.codes, 2), [7, 0]);
});

Deno.test("empty input: no codes, no blocks, dequantises to an empty array", () => {
  for (const format of ["nf4", "fp4", "int8-blockwise", "int8-rowwise"] as const) {
    const q = quantize(new Float32Array(0), { format });
    equal(q.codes.length, 0);
    equal(q.absmax.length, 0);
    equal(dequantize(q).length, 0);
  }
  const dq = quantize([], { format: "nf4", doubleQuant: true });
  equal(dq.nested!.codes.length, 0);
  equal(dequantize(dq).length, 0);
});

Deno.test("dequantize refuses an inconsistent tensor, naming the field", () => {
  const q = quantize(randn(128, 2), { format: "nf4", doubleQuant: true });
  throws(() => dequantize({ ...q, codes: q.codes.subarray(1) }), /63 code bytes for 128 values/);
  throws(() => dequantize({ ...q, absmax: new Float32Array(3) }), /3 absmax values for 2 blocks/);
  throws(() => dequantize({ ...q, blockSize: 48 }), /power of two/);
  throws(() => dequantize({ ...q, format: "nf5" as QuantFormat }), /unknown format/);
  throws(() => dequantize({ ...q, nested: { ...q.nested!, offset: NaN } }), /offset/);
  throws(
    () => dequantize({ ...q, format: "int8-blockwise", codes: new Uint8Array(128) }),
    /only 4-bit/,
  );
});

Deno.test("bitsandbytes' own output: identical codes and absmax for every format", async () => {
  const path = FIX + "bnb_reference.safetensors";
  const all = (await readSafetensors(path)).tensors;
  const input = (k: string) => all.get(`input.${k}`)!.data as Float32Array;
  const ref = parseBnb4bit(await Deno.readFile(path), path);
  const cases = [
    ["nf4dq.weight", "big", "nf4", 64, true],
    ["fp4.weight", "small", "fp4", 128, false],
    ["nf4b32.weight", "b32", "nf4", 32, false],
    ["fp4dq.weight", "small", "fp4", 64, true],
  ] as const;
  for (const [key, inp, format, blockSize, doubleQuant] of cases) {
    const r = ref.get(key)!;
    const x = input(inp);
    const q = quantize(x, { format, blockSize, doubleQuant, shape: r.shape });
    deepEqual(q.absmax, r.absmax, key);
    if (doubleQuant) {
      equal(q.nested!.offset, r.nested!.offset, key);
      deepEqual(q.nested!.codes, r.nested!.codes, key);
      deepEqual(q.nested!.absmax, r.nested!.absmax, key);
    }
    // bitsandbytes' CPU kernels pick either zero code for |x| < 0.0026 in fp4 (they bucketize
    // a sorted codebook with +0 and −0 in it); the CUDA tree, and we, take the sign of x
    const ours = nibbles(q.codes, x.length), theirs = nibbles(r.codes, x.length);
    for (let i = 0; i < x.length; i++) {
      if (ours[i] === theirs[i]) continue;
      ok(format === "fp4" && (ours[i] & 7) === 0 && (theirs[i] & 7) === 0, `${key}[${i}]`);
      equal(ours[i], x[i] < 0 ? 8 : 0, `${key}[${i}] follows the sign`);
    }
  }
  const q8 = quantize(input("big"), { format: "int8-blockwise" });
  deepEqual(q8.codes, all.get("int8b.codes")!.data);
  deepEqual(q8.absmax, all.get("int8b.absmax")!.data);
  const rows = quantize(input("rows"), { format: "int8-rowwise", shape: [8, 70] });
  deepEqual(rows.codes, all.get("int8r.codes")!.data);
  deepEqual(rows.absmax, all.get("int8r.absmax")!.data);
});
