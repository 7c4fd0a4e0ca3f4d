import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { dynamicTokenize, loadPretrained } from "../../lib/tokenizers/mod.ts";
import { loadUdhr } from "../../lib/data/mod.ts";

Deno.test("dynamicTokenize shortens a batch, stays within words, and expands back exactly", async () => {
  const tok = await loadPretrained("o200k_base");
  const text = loadUdhr({ codes: ["deu"] })[0].text;
  const batch = text.split("\n").map((p) => tok.encode(p));
  const { sequences, merges, expand, dynamicBytes } = dynamicTokenize(batch, { tokenizer: tok });
  const before = batch.reduce((s, b) => s + b.length, 0),
    after = sequences.reduce((s, b) => s + b.length, 0);
  ok(after < before * 0.95, `only ${before} → ${after}`);
  ok(merges.length > 10);
  batch.forEach((b, i) => deepEqual(expand(sequences[i]), [...b]));
  // a dynamic token never contains whitespace after its first byte (no cross-word merges)
  for (const bytes of dynamicBytes) {
    ok(!bytes.slice(1).some((x) => x === 0x20 || x === 0x0a), "merged across a word boundary");
  }
});

Deno.test("dynamicTokenize: minCount and maxMerges limit the merging; bad ids are refused", async () => {
  const tok = await loadPretrained("cl100k_base");
  const batch = [
    "antidisestablishmentarianism antidisestablishmentarianism",
    "antidisestablishmentarianism",
  ].map((t) => tok.encode(t));
  const one = dynamicTokenize(batch, { tokenizer: tok, maxMerges: 1 });
  equal(one.merges.length, 1);
  const none = dynamicTokenize(batch, { tokenizer: tok, minCount: 100 });
  equal(none.merges.length, 0);
  deepEqual(none.sequences, batch.map((b) => [...b]));
  // unlimited: a word repeated in the same form collapses to one dynamic token
  const same = ["antidisestablishmentarianism", "antidisestablishmentarianism"].map((t) =>
    tok.encode(t)
  );
  ok(same[0].length > 2);
  deepEqual(dynamicTokenize(same, { tokenizer: tok }).sequences.map((s) => s.length), [1, 1]);
  throws(() => dynamicTokenize([[tok.vocabSize + 5]], { tokenizer: tok }), /not a static token id/);
});
