import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { LexiconTokenizer, trainLib } from "../../lib/tokenizers/mod.ts";
import { Rng, TokenlabError } from "../../mod.ts";
import { brownText } from "../../lib/data/mod.ts";

/** Fewest units by exhaustive search (exponential; tiny inputs only). */
function bruteFewest(text: string, lexicon: Set<string>): number {
  if (text.length === 0) return 0;
  let best = 1 + bruteFewest(text.slice(1), lexicon);
  for (let j = 2; j <= text.length; j++) {
    if (lexicon.has(text.slice(0, j))) {
      best = Math.min(best, 1 + bruteFewest(text.slice(j), lexicon));
    }
  }
  return best;
}

Deno.test("LexiconTokenizer.segment uses the fewest units (checked by exhaustive search)", () => {
  const rng = new Rng(7);
  const alphabet = "ab c";
  for (let trial = 0; trial < 200; trial++) {
    const units = new Set<string>(alphabet.split(""));
    for (let k = 0; k < 6; k++) {
      let u = "";
      for (let n = 2 + rng.int(4); n > 0; n--) u += alphabet[rng.int(alphabet.length)];
      units.add(u);
    }
    let text = "";
    for (let n = rng.int(12); n > 0; n--) text += alphabet[rng.int(alphabet.length)];
    const tok = new LexiconTokenizer([...units]);
    const seg = tok.segment(text);
    equal(seg.join(""), text);
    equal(seg.length, bruteFewest(text, units), `text ${JSON.stringify(text)}`);
    ok(seg.every((u) => units.has(u)));
  }
});

Deno.test("LexiconTokenizer keeps surrogate pairs whole and round-trips ids", () => {
  const tok = new LexiconTokenizer(["a", "🙂", "a🙂"]);
  deepEqual(tok.segment("🙂a🙂x"), ["🙂", "a🙂", "x"]);
  const ids = tok.encode("a🙂a");
  deepEqual([...ids], [2, 0]);
  equal(tok.decode(ids), "a🙂a");
  equal(tok.encode("x")[0], tok.vocabSize); // unknown character
  throws(() => tok.decode([99]), TokenlabError);
  deepEqual(tok.segment(""), []);
});

Deno.test("trainLib learns words and multi-word units that shorten held-out text", () => {
  const text = brownText().slice(0, 400_000).split("\n");
  const train = text.slice(0, Math.floor(text.length * 0.7)), test = text.slice(train.length);
  const tok = trainLib(train, { vocabSize: 3000, onProgress: () => {} });
  ok(tok.vocabSize <= 3000 && tok.vocabSize > 500, `lexicon size ${tok.vocabSize}`);
  const chars = test.reduce((s, l) => s + Array.from(l).length, 0);
  const units = test.reduce((s, l) => s + tok.segment(l).length, 0);
  ok(units < chars / 2.5, `${units} units for ${chars} characters`);
  ok(tok.vocab.some((u) => /\S \S/.test(u)), "no multi-word unit learned");
  const words = trainLib(train, { vocabSize: 3000, multiword: false, onProgress: () => {} });
  ok(words.vocab.every((u) => !/\S\s/.test(u)), "multiword: false let a space follow a letter");
  for (const l of test.slice(0, 50)) equal(tok.segment(l).join(""), l);
});

Deno.test("trainLib validates its input", () => {
  throws(() => trainLib(["abc"], { vocabSize: 0 }), /vocabSize/);
  throws(() => trainLib([""], { vocabSize: 10 }), /empty/);
  throws(() => trainLib([1 as unknown as string], { vocabSize: 10 }), TokenlabError);
  throws(() => new LexiconTokenizer(["a", ""]), TokenlabError);
});
