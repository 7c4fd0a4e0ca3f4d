// bf16 conversion: round to nearest even on hand-picked float32 patterns, NaN kept NaN, and the
// widening is exact for every pattern.
import { deepEqual, equal, ok } from "node:assert/strict";
import { fromBf16Bits, toBf16Bits } from "../../lib/quant/mod.ts";

function fromU32(u: number): number {
  return new Float32Array(Uint32Array.of(u).buffer)[0];
}

Deno.test("toBf16Bits: ties to even, overflow to infinity, signs and NaN kept", () => {
  const cases: [number, number][] = [
    [0x3f800000, 0x3f80], // 1
    [0x3f808000, 0x3f80], // halfway, even below
    [0x3f818000, 0x3f82], // halfway, odd below → up
    [0x3f808001, 0x3f81], // just above halfway
    [0x7f7fffff, 0x7f80], // FLT_MAX rounds to +inf
    [0x80000000, 0x8000], // −0
    [0xff800000, 0xff80], // −inf
    [0x00000001, 0x0000], // the smallest subnormal rounds to 0
  ];
  for (const [u, want] of cases) equal(toBf16Bits([fromU32(u)])[0], want, u.toString(16));
  const nan = toBf16Bits([fromU32(0x7f800001)])[0]; // a NaN whose payload is all in the low bits
  ok((nan & 0x7f80) === 0x7f80 && (nan & 0x7f) !== 0, "stays NaN");
});

Deno.test("fromBf16Bits widens every pattern exactly (upper 16 bits of the float32)", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const u = new Uint32Array(fromBf16Bits(all).buffer);
  ok(u.every((v, i) => v === i * 65536));
  deepEqual(
    toBf16Bits(fromBf16Bits(Uint16Array.of(0x3f80, 0xc000, 0x0001))),
    Uint16Array.of(0x3f80, 0xc000, 0x0001),
  );
});
