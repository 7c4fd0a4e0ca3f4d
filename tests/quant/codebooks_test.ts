// The code tables against what bitsandbytes publishes: NF4 and FP4 as listed in QLoRA and
// bitsandbytes' get_4bit_type, and the dynamic map against torch's own float32 output of
// create_dynamic_map() (tests/fixtures/quant/dynamic_map.json, from make_bnb_fixtures.py).
import { deepEqual, equal, ok } from "node:assert/strict";
import { dynamicMap, FP4_CODEBOOK, FP4_QUANT_MAP, NF4_CODEBOOK } from "../../lib/quant/mod.ts";

const FIX = new URL("../fixtures/quant/", import.meta.url).pathname;

Deno.test("NF4 codebook: the published quantiles of N(0, 1), ascending, exact ±1 and 0", () => {
  // QLoRA appendix / bitsandbytes get_4bit_type("nf4"), three decimals
  const published = [
    -1,
    -0.696,
    -0.525,
    -0.395,
    -0.284,
    -0.185,
    -0.091,
    0,
    0.080,
    0.161,
    0.246,
    0.338,
    0.441,
    0.563,
    0.723,
    1,
  ];
  equal(NF4_CODEBOOK.length, 16);
  for (let i = 0; i < 16; i++) ok(Math.abs(NF4_CODEBOOK[i] - published[i]) < 6e-4, `code ${i}`);
  equal(NF4_CODEBOOK[0], -1);
  equal(NF4_CODEBOOK[7], 0);
  equal(NF4_CODEBOOK[15], 1);
  for (let i = 1; i < 16; i++) ok(NF4_CODEBOOK[i] > NF4_CODEBOOK[i - 1]);
});

Deno.test("FP4 codebook: E2M1 magnitudes 0, 0.0625, 8, 12, 4, 6, 2, 3 over 12, sign in bit 3", () => {
  const mags = [0, 0.0625, 8, 12, 4, 6, 2, 3];
  for (let c = 0; c < 8; c++) {
    equal(FP4_CODEBOOK[c], Math.fround(mags[c] / 12));
    equal(FP4_CODEBOOK[c + 8], -Math.fround(mags[c] / 12));
  }
  ok(Object.is(FP4_CODEBOOK[8], -0), "code 8 decodes to −0 (sign × 0)");
  ok(Object.is(FP4_QUANT_MAP[8], 0), "the stored quant map has +0 there");
  deepEqual(Array.from(FP4_QUANT_MAP).slice(9), Array.from(FP4_CODEBOOK).slice(9));
});

Deno.test("dynamic map: bit-identical to torch's create_dynamic_map()", async () => {
  const ref = JSON.parse(await Deno.readTextFile(FIX + "dynamic_map.json")).bits as string[];
  const map = dynamicMap();
  const bits = new Uint32Array(map.buffer);
  equal(ref.length, 256);
  for (let i = 0; i < 256; i++) equal(bits[i].toString(16).padStart(8, "0"), ref[i], `entry ${i}`);
});

Deno.test("dynamic map: sorted, 0 at 127, 1 at 255, negatives mirror the positives", () => {
  const m = dynamicMap();
  for (let i = 1; i < 256; i++) ok(m[i] > m[i - 1], `ascending at ${i}`);
  equal(m[127], 0);
  equal(m[255], 1);
  for (let i = 0; i < 127; i++) equal(m[i], -m[254 - i]);
  // the smallest magnitude: 1e-6 × the midpoint of linspace(0.1, 1, 2) = 0.55e-6
  ok(Math.abs(m[128] - 0.55e-6) < 1e-12);
});
