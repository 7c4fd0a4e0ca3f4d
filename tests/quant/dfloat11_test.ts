// DFloat11: bit-exact round trips (all 65 536 bf16 patterns, realistic weights, empty, single
// values, codes longer than the 16-bit lookup), the code-length cap, optimality against a plain
// Huffman construction written here, the block offset index, the size accounting, and refusal
// of corrupt tensors.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  bf16ExponentEntropy,
  compressBf16,
  decompressBf16,
  type Df11Tensor,
  toBf16Bits,
} from "../../lib/quant/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";

function sameBits(a: Uint16Array, b: Uint16Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function kraft(lengths: Uint8Array): number {
  let k = 0;
  for (const l of lengths) if (l > 0) k += 2 ** -l;
  return k;
}

/** Total bits of an optimal (unlimited) Huffman code: the sum of all merged weights. */
function huffmanCost(counts: number[]): number {
  const w = counts.filter((c) => c > 0).sort((a, b) => a - b);
  if (w.length === 1) return w[0];
  let cost = 0;
  while (w.length > 1) {
    const s = w.shift()! + w.shift()!;
    cost += s;
    let i = 0;
    while (i < w.length && w[i] < s) i++;
    w.splice(i, 0, s);
  }
  return cost;
}

function exponentCounts(bits: Uint16Array): number[] {
  const c = new Array(256).fill(0);
  for (const b of bits) c[(b >> 7) & 0xff]++;
  return c;
}

function codedBits(t: Df11Tensor, counts: number[]): number {
  return counts.reduce((s, c, e) => s + c * t.codeLengths[e], 0);
}

Deno.test("every one of the 65 536 bf16 patterns round-trips bit for bit", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  for (const symbolsPerBlock of [32, 512, 65536]) {
    const t = compressBf16(all, { symbolsPerBlock });
    ok(sameBits(decompressBf16(t), all), `S=${symbolsPerBlock}`);
    // uniform exponents: all 256 values, every code 8 bits (240…255 included)
    ok(t.codeLengths.every((l) => l === 8));
  }
  // shuffled, so neighbouring values do not share exponents; a block count that does not divide
  const rng = new Rng(4);
  const shuffled = Uint16Array.from(rng.shuffle(Array.from(all)).slice(0, 65000));
  ok(sameBits(decompressBf16(compressBf16(shuffled, { symbolsPerBlock: 64 })), shuffled));
});

Deno.test("N(0, 0.02) bf16 weights: bit-exact, about 2/3 of the bf16 size (paper: ~70%)", () => {
  const rng = new Rng(2026);
  const n = 1 << 20;
  const bits = toBf16Bits(Float32Array.from({ length: n }, () => 0.02 * rng.normal()));
  const t = compressBf16(bits);
  ok(sameBits(decompressBf16(t), bits));
  const ratio = t.byteLength / bits.byteLength;
  const entropy = bf16ExponentEntropy(bits);
  console.log(
    `DFloat11 on N(0, 0.02) bf16, n = ${n}: ${(100 * ratio).toFixed(2)}% of bf16, ` +
      `exponent entropy ${entropy.toFixed(3)} bits, longest code ${Math.max(...t.codeLengths)}`,
  );
  ok(ratio > 0.6 && ratio < 0.72, `ratio ${ratio}`);
  // the Huffman part is within 1 bit per value of the entropy, and optimal
  const counts = exponentCounts(bits);
  const coded = codedBits(t, counts);
  ok(coded / n >= entropy && coded / n < entropy + 1);
  equal(coded, huffmanCost(counts));
  ok(Math.max(...t.codeLengths) > 16, "some codes take the long-code path of the decoder");
});

Deno.test("empty, one value, one repeated value", () => {
  const empty = compressBf16(new Uint16Array(0));
  equal(decompressBf16(empty).length, 0);
  equal(empty.blockOffsets.length, 0);
  for (const v of [0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc1, 0x0001, 0x3f80]) {
    const one = Uint16Array.of(v);
    ok(sameBits(decompressBf16(compressBf16(one)), one), v.toString(16));
    const many = new Uint16Array(1000).fill(v);
    const t = compressBf16(many);
    ok(sameBits(decompressBf16(t), many));
    equal(t.codeLengths.reduce((a, b) => a + b, 0), 1, "a lone exponent gets a 1-bit code");
  }
});

Deno.test("the code-length cap holds, and is optimal where it does not bind", () => {
  // geometric exponent counts: an unlimited Huffman code would be ~20 bits deep
  const parts: number[] = [];
  for (let e = 0; e < 40; e++) {
    const m = Math.max(1, Math.floor(2 ** 20 / 2 ** e));
    for (let j = 0; j < m; j++) parts.push((e + 100) << 7 | (j & 0x7f) | ((j & 1) << 15));
  }
  const bits = Uint16Array.from(new Rng(9).shuffle(parts));
  const counts = exponentCounts(bits);
  for (const cap of [8, 12, 16, 24]) {
    const t = compressBf16(bits, { maxCodeLength: cap });
    ok(Math.max(...t.codeLengths) <= cap, `cap ${cap}`);
    ok(kraft(t.codeLengths) <= 1 + 1e-12);
    ok(sameBits(decompressBf16(t), bits), `cap ${cap}`);
    if (cap === 24) equal(codedBits(t, counts), huffmanCost(counts));
    else ok(codedBits(t, counts) >= huffmanCost(counts));
  }
  throws(() => compressBf16(bits, { maxCodeLength: 7 }), TokenlabError);
  throws(() => compressBf16(bits, { maxCodeLength: 25 }), TokenlabError);
});

Deno.test("block offsets: block b starts after the codes of the b·S values before it", () => {
  const rng = new Rng(5);
  const bits = toBf16Bits(Float32Array.from({ length: 5000 }, () => rng.normal()));
  const t = compressBf16(bits, { symbolsPerBlock: 128 });
  equal(t.blockOffsets.length, Math.ceil(5000 / 128));
  let pos = 0;
  for (let i = 0; i < bits.length; i++) {
    if (i % 128 === 0) equal(t.blockOffsets[i / 128], pos, `block ${i / 128}`);
    pos += t.codeLengths[(bits[i] >> 7) & 0xff];
  }
  equal(t.exponents.length, Math.ceil(pos / 32) + 1, "whole words plus one zero word");
  equal(t.exponents[t.exponents.length - 1], 0);
  equal(t.byteLength, 8 + 256 + 4 * t.exponents.length + 4 * t.blockOffsets.length + 5000);
  // sign+mantissa bytes: bit 7 the sign, the low 7 bits the mantissa
  deepEqual(
    Array.from(t.signMantissa.subarray(0, 50)),
    Array.from(bits.subarray(0, 50), (b) => ((b >> 8) & 0x80) | (b & 0x7f)),
  );
  for (const symbolsPerBlock of [16, 100, 131072]) {
    throws(() => compressBf16(bits, { symbolsPerBlock }), TokenlabError);
  }
});

Deno.test("corrupt tensors are refused with the cause", () => {
  const bits = toBf16Bits(Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i)));
  const t = compressBf16(bits, { symbolsPerBlock: 256 });
  throws(
    () => decompressBf16({ ...t, signMantissa: t.signMantissa.subarray(1) }),
    /sign\/mantissa/,
  );
  throws(() => decompressBf16({ ...t, blockOffsets: t.blockOffsets.subarray(1) }), /block offsets/);
  throws(() => decompressBf16({ ...t, codeLengths: new Uint8Array(256).fill(1) }), /prefix code/);
  throws(() => decompressBf16({ ...t, exponents: t.exponents.subarray(0, 4) }), /past the end/);
  throws(() => compressBf16([1, 2] as unknown as Uint16Array), /Uint16Array/);
});
