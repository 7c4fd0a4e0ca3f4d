import { ok, throws } from "node:assert/strict";
import { entropyEstimates, fitNgramModel } from "../../lib/tokenizers/mod.ts";
import { Rng, TokenlabError } from "../../mod.ts";

const close = (a: number, b: number, eps = 1e-9) => ok(Math.abs(a - b) < eps, `${a} vs ${b}`);

function uniformStream(n: number, v: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  return Uint32Array.from({ length: n }, () => rng.int(v));
}

Deno.test("entropyEstimates: plug-in and Miller–Madow on a stream worked by hand", () => {
  // four equally frequent types over 8 positions: H = 2 bits, correction (4 − 1) / (2·8·ln 2)
  const e = entropyEstimates([0, 1, 2, 3, 0, 1, 2, 3]);
  close(e.plugIn, 2);
  close(e.millerMadow, 2 + 3 / (16 * Math.LN2));
  ok(e.positions === 8 && e.types === 4 && e.contexts === 1);
  // alternation: the next token is determined, and joint types = contexts, so no correction
  const c = entropyEstimates([1, 2, 1, 2, 1, 2], { order: 1 });
  close(c.plugIn, 0);
  close(c.millerMadow, 0);
  ok(c.positions === 5 && c.types === 2 && c.contexts === 2);
});

Deno.test("entropyEstimates: Miller–Madow removes most of the plug-in bias on a short uniform stream", () => {
  // iid uniform over 32 ids: the true conditional entropy is exactly 5 bits
  for (const seed of [1, 2, 3]) {
    const e = entropyEstimates(uniformStream(3000, 32, seed), { order: 1 });
    ok(e.plugIn < 5 - 0.15, `plug-in ${e.plugIn} should be biased well below 5`);
    ok(
      Math.abs(e.millerMadow - 5) < Math.abs(e.plugIn - 5) / 3,
      `MM ${e.millerMadow} vs plug-in ${e.plugIn}`,
    );
  }
});

Deno.test("entropyEstimates: numeric and string n-gram keys give the same estimate", () => {
  // ids up to 3e5 make base^(k+1) exceed 2^53 at order 2, which switches to string keys
  const rng = new Rng(9);
  const small = Uint32Array.from({ length: 4000 }, () => rng.int(50));
  const wide = small.map((x) => x === 49 ? 300_000 : x);
  const a = entropyEstimates(small, { order: 2 }), b = entropyEstimates(wide, { order: 2 });
  close(a.plugIn, b.plugIn, 1e-9);
  close(a.millerMadow, b.millerMadow, 1e-9);
});

Deno.test("fitNgramModel: Witten–Bell probabilities worked by hand", () => {
  // reference 0 1 0 1, |V| = 2. Unigrams: C(0) = C(1) = 2, N = 4, T = 2 → p(1) = (2 + 2·½)/6 = ½.
  // After 0: C(0 1) = 2, C(0·) = 2, T(0) = 1 → p(1 | 0) = (2 + 1·½)/3 = 5/6.
  const m = fitNgramModel([0, 1, 0, 1], { order: 1, vocabSize: 2 });
  const s = m.score([0, 1]);
  ok(s.positions === 1);
  close(s.bits, -Math.log2(5 / 6));
  // after 1: C(1 0) = 1, C(1·) = 1, T(1) = 1 → p(0 | 1) = (1 + ½)/2 = ¾; p(1 | 1) = (0 + ½)/2 = ¼
  close(m.crossEntropy([1, 0]), -Math.log2(3 / 4));
  close(m.crossEntropy([1, 1]), 2);
  // unigram model: reference 0 0 1, |V| = 4: p(2) = (0 + 2·¼)/(3 + 2) = 0.1
  const u = fitNgramModel([0, 0, 1], { order: 0, vocabSize: 4 });
  close(u.crossEntropy([2]), -Math.log2(0.1));
});

Deno.test("fitNgramModel: each context's probabilities sum to 1 over the vocabulary", () => {
  const v = 12;
  const model = fitNgramModel(uniformStream(500, v, 4), { order: 2, vocabSize: v });
  for (const ctx of [[0, 1], [5, 5], [11, 3]]) {
    let total = 0;
    for (let w = 0; w < v; w++) total += model.probability([...ctx, w], 2);
    close(total, 1, 1e-12);
  }
});

Deno.test("held-out cross-entropy (above) and the plug-in estimate (below) bracket the true entropy of a uniform source", () => {
  const v = 32;
  const model = fitNgramModel(uniformStream(3000, v, 5), { order: 1, vocabSize: v });
  const ce = model.crossEntropy(uniformStream(3000, v, 6));
  const plug = entropyEstimates(uniformStream(3000, v, 6), { order: 1 }).plugIn;
  ok(ce > 5 && plug < 5, `cross-entropy ${ce} above and plug-in ${plug} below 5 bits`);
});

Deno.test("entropy estimates refuse bad input", () => {
  throws(() => entropyEstimates([]), TokenlabError);
  throws(() => entropyEstimates([1, 2], { order: 2 }), TokenlabError);
  throws(() => entropyEstimates([1, 2, 3], { order: -1 }), TokenlabError);
  throws(() => fitNgramModel([0, 1, 5], { order: 1, vocabSize: 4 }), /outside the vocabulary of 4/);
  throws(() => fitNgramModel([0, 1], { order: 1, vocabSize: 0 }), TokenlabError);
  const m = fitNgramModel([0, 1, 2], { order: 1, vocabSize: 3 });
  throws(() => m.score([0, 3]), /outside the vocabulary/);
  throws(() => m.crossEntropy([1]), /no position/);
});
