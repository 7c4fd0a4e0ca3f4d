import { equal, ok, throws } from "node:assert/strict";
import {
  bytesPerToken,
  charsPerToken,
  conditionalEntropy,
  continuedWordRate,
  fertility,
  renyiEfficiency,
  tokenPremiums,
  unigramEntropy,
  vocabularyUtilisation,
} from "../../lib/tokenizers/mod.ts";
import { TokenlabError } from "../../mod.ts";

/** A toy encoder: one token per character, except "ab" which is one token. */
const toy = {
  encode(text: string): number[] {
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      if (text.startsWith("ab", i)) {
        out.push(1000);
        i++;
      } else out.push(text.charCodeAt(i));
    }
    return out;
  },
};

const close = (a: number, b: number, eps = 1e-9) => ok(Math.abs(a - b) < eps, `${a} vs ${b}`);

Deno.test("compression metrics on a toy encoder", () => {
  equal(bytesPerToken(toy, ["abab"]), 2); // 4 bytes, 2 tokens
  equal(bytesPerToken(toy, ["é"]), 2); // 2 bytes, 1 token
  equal(charsPerToken(toy, ["abc"]), 1.5);
  // words: "ab" (1 token), " abc" (3 tokens: " ", ab, c)
  equal(fertility(toy, ["ab abc"]), 2);
  equal(continuedWordRate(toy, ["ab abc"]), 0.5);
  throws(() => bytesPerToken(toy, []), TokenlabError);
  throws(() => fertility(toy, ["   "]), /no words/);
});

Deno.test("fertility counts the running text's tokens per whitespace word, not words encoded one by one", () => {
  // a SentencePiece-like encoder: a dummy-prefix token (0) before every input it encodes
  const sp = { encode: (text: string) => [0, ...toy.encode(text)] };
  // "ab abc" → 0, ab, " ", ab, c: 5 tokens for 2 words (one prefix per text, not per word)
  equal(fertility(sp, ["ab abc"]), 2.5);
  // two texts: 5 + (0, a, " ", "\n", b = 5) tokens for 2 + 2 words (a space and a newline split words)
  equal(fertility(sp, ["ab abc", "a \nb"]), 2.5);
  // an encoder that merges across the space: 1 token for 2 words
  equal(
    fertility({ encode: (t: string) => (t === "ab ab" ? [7] : toy.encode(t)) }, ["ab ab"]),
    0.5,
  );
});

Deno.test("token premiums are ratios to the reference language", () => {
  const p = tokenPremiums(toy, { texts: { en: "abab", xx: "aabb" }, reference: "en" });
  equal(p.en, 1);
  equal(p.xx, 1.5); // a, ab, b = 3 tokens vs 2
  throws(() => tokenPremiums(toy, { texts: { en: "x" }, reference: "de" }), /not among the texts/);
});

Deno.test("entropies: hand values, uniform efficiency 1, deterministic context 0", () => {
  equal(unigramEntropy([1, 2, 3, 4]), 2);
  close(unigramEntropy([1, 1, 2, 2]), 1);
  for (const alpha of [0.5, 1, 2.5, 10]) {
    close(renyiEfficiency([0, 1, 2, 3, 4, 5, 6, 7], { alpha }), 1);
  }
  // p = (1/2, 1/4, 1/4): H_2 = -log(3/8); over |V| = 4
  close(renyiEfficiency([0, 0, 1, 2], { alpha: 2, vocabSize: 4 }), -Math.log(0.375) / Math.log(4));
  // α → 1 approaches Shannon
  const shannon = renyiEfficiency([0, 0, 0, 1, 2], { alpha: 1 });
  close(renyiEfficiency([0, 0, 0, 1, 2], { alpha: 1.000001 }), shannon, 1e-5);
  equal(conditionalEntropy([1, 2, 1, 2, 1, 2], { order: 1 }), 0);
  // a fair coin sequence given no useful context: after "1", both follow equally
  close(
    conditionalEntropy([1, 1, 1, 2, 1, 1, 1, 2, 1], { order: 1 }),
    (6 / 8) * 0.9182958340544896,
    1e-9,
  );
  equal(vocabularyUtilisation([0, 1, 1, 3], { vocabSize: 8 }), 0.375);
  throws(() => renyiEfficiency([1, 2], { alpha: 0 }), /alpha must be > 0/);
  throws(() => conditionalEntropy([1], { order: 1 }), /need more than 1/);
  throws(() => vocabularyUtilisation([9], { vocabSize: 8 }), /outside the vocabulary/);
});

Deno.test("unigram surprisals: add-one smoothing by hand", async () => {
  const { unigramSurprisals } = await import("../../lib/tokenizers/mod.ts");
  // reference counts: 1 → 3, 2 → 1; types {1, 2, 9} → V = 3; denominator 4 + 3 = 7
  const s = unigramSurprisals([1, 2, 9], { reference: [1, 1, 1, 2] });
  close(s[0], -Math.log2(4 / 7));
  close(s[1], -Math.log2(2 / 7));
  close(s[2], -Math.log2(1 / 7));
  throws(() => unigramSurprisals([1], { reference: [] }), /non-empty reference/);
});
