import { deepEqual, equal } from "node:assert/strict";
import { PieceCache, spanHash } from "../../lib/tokenizers/_piece_cache.ts";
import { trainBpe } from "../../lib/tokenizers/mod.ts";
import { Rng } from "../../mod.ts";

Deno.test("spanHash depends only on the span's code units", () => {
  equal(spanHash("xxabcyy", 2, 5), spanHash("abc", 0, 3));
  equal(spanHash("", 0, 0), spanHash("zz", 1, 1));
});

Deno.test("PieceCache: hits by span, misses on different text, grows and clears at the limit", () => {
  const cache = new PieceCache(5000);
  const rng = new Rng(3);
  const words = Array.from(
    { length: 4000 },
    (_, i) => `w${i}${"é".repeat(Math.floor(rng.next() * 3))}`,
  );
  words.forEach((w, i) => cache.set(w, spanHash(w, 0, w.length), [i]));
  words.forEach((w, i) => {
    const text = `  ${w}!`;
    deepEqual(cache.get(text, 2, 2 + w.length, spanHash(text, 2, 2 + w.length)), [i]);
  });
  equal(cache.get("nope", 0, 4, spanHash("nope", 0, 4)), undefined);
  // same hash, different text: forced collision must not return the other key's ids
  cache.set("a", 42, [7]);
  equal(cache.get("b", 0, 1, 42), undefined);
  deepEqual(cache.get("a", 0, 1, 42), [7]);
  for (let i = 0; i < 2000; i++) cache.set(`x${i}`, spanHash(`x${i}`, 0, `x${i}`.length), [i]);
  // cleared once it reached 5000 entries: early keys are gone, late ones present
  equal(cache.get("w0", 0, 2, spanHash("w0", 0, 2)), undefined);
  deepEqual(cache.get("x1999", 0, 5, spanHash("x1999", 0, 5)), [1999]);
});

Deno.test("encode fast path: text the pattern skips becomes its own piece", () => {
  const corpus = ["the cat sat on the mat, the end.  ", "cats and mats"];
  const tok = trainBpe(corpus, { vocabSize: 300, pretokenizer: /\p{L}+/gu, onProgress: () => {} });
  const text = "the mat,  cats! end";
  const pieces = ["the", " ", "mat", ",  ", "cats", "! ", "end"];
  const want = pieces.flatMap((p) => [...tok.encode(p)]);
  deepEqual([...tok.encode(text)], want);
  equal(tok.decode(tok.encode(text)), text);
});
