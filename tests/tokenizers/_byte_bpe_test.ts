import { deepEqual, equal } from "node:assert/strict";
import { ByteBpe } from "../../lib/tokenizers/_byte_bpe.ts";
import { Rng } from "../../mod.ts";

// BPE from its definition, on strings, written here independently of the engine: repeatedly
// merge the adjacent pair with the lowest priority, leftmost on ties, until none merges.
function naiveBpe(bytes: string, priority: (a: string, b: string) => number | undefined): string[] {
  const parts = [...bytes];
  for (;;) {
    let best = Infinity, at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const p = priority(parts[i], parts[i + 1]);
      if (p !== undefined && p < best) [best, at] = [p, i];
    }
    if (at < 0) return parts;
    parts.splice(at, 2, parts[at] + parts[at + 1]);
  }
}

/** A random vocabulary over bytes "a".."e": 256 single bytes, then `count` merged tokens. */
function randomVocab(rng: Rng, count: number): { symbols: string[]; merges: [string, string][] } {
  const symbols = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));
  const merges: [string, string][] = [];
  const seen = new Set(symbols);
  const pool = ["a", "b", "c", "d", "e"];
  while (merges.length < count) {
    const a = pool[rng.int(pool.length)], b = pool[rng.int(pool.length)];
    if (seen.has(a + b) || a.length + b.length > 8) continue;
    seen.add(a + b);
    merges.push([a, b]);
    symbols.push(a + b);
    pool.push(a + b);
  }
  return { symbols, merges };
}

function randomText(rng: Rng, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += "abcde"[rng.int(5)];
  return s;
}

const ids = (symbols: string[]) => new Map(symbols.map((s, i) => [s, i]));

Deno.test("ByteBpe merges mode equals BPE by merge priority (scan and heap paths)", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 20; trial++) {
    const { symbols, merges } = randomVocab(rng, 60);
    const rank = new Map(merges.map(([a, b], i) => [a + "\u0000" + b, i]));
    const bpe = new ByteBpe({ symbols, mode: "merges", merges, wholePieceFirst: false });
    const idOf = ids(symbols);
    for (const length of [0, 1, 2, 7, 63, 64, 65, 200]) {
      const text = randomText(rng, length);
      const want = naiveBpe(text, (a, b) => rank.get(a + "\u0000" + b)).map((s) => idOf.get(s));
      deepEqual(bpe.encodeSpan(text, 0, text.length), want, `trial ${trial}, ${text}`);
    }
  }
});

Deno.test("ByteBpe ranks mode equals BPE by the rank of the concatenation, whole piece first", () => {
  const rng = new Rng(12);
  for (let trial = 0; trial < 20; trial++) {
    const { symbols } = randomVocab(rng, 60);
    const idOf = ids(symbols);
    const bpe = new ByteBpe({ symbols, mode: "ranks", merges: [], wholePieceFirst: true });
    for (const length of [1, 3, 8, 64, 65, 300]) {
      const text = randomText(rng, length);
      const whole = idOf.get(text);
      const want = whole !== undefined
        ? [whole]
        : naiveBpe(text, (a, b) => idOf.get(a + b)).map((s) => idOf.get(s));
      deepEqual(bpe.encodeSpan(text, 0, text.length), want, `trial ${trial}, ${text}`);
    }
  }
});

Deno.test("ByteBpe: UTF-8 of spans, a piece of 50 000 bytes, and a missing byte", () => {
  // "é" is C3 A9, "€" E2 82 AC, "😀" F0 9F 98 80: each must reach the engine as its UTF-8 bytes
  const symbols = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));
  symbols.push("\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "aa");
  const merges: [string, string][] = [["\xc3", "\xa9"], ["\x82", "\xac"], ["\xe2", "\x82\xac"]];
  symbols.push("\x82\xac");
  merges.push(["\xf0\x9f", "\x98\x80"], ["a", "a"]);
  symbols.push("\xf0\x9f", "\x98\x80");
  merges.unshift(["\xf0", "\x9f"], ["\x98", "\x80"]);
  const bpe = new ByteBpe({ symbols, mode: "merges", merges, wholePieceFirst: false });
  deepEqual(bpe.encodeSpan("xé€😀y", 1, 5), [256, 257, 258]);
  // 50 000 × "a" with one merge a+a: 25 000 tokens "aa", on the heap path
  const long = "a".repeat(50_001);
  const out = bpe.encodeSpan(long, 0, long.length)!;
  equal(out.length, 25_001);
  equal(out.filter((id) => id === 259).length, 25_000);
  equal(out[25_000], 97);
  const partial = new ByteBpe({
    symbols: ["a", "b"],
    mode: "ranks",
    merges: [],
    wholePieceFirst: true,
  });
  equal(partial.encodeSpan("abc", 0, 3), null); // "c" has no token
});
