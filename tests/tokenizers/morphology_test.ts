import { equal, ok, throws } from "node:assert/strict";
import { loadHunspell } from "../../lib/data/mod.ts";
import {
  lexicalTokenScores,
  morphemeInventory,
  trainMorphHybrid,
} from "../../lib/tokenizers/mod.ts";
import { TokenlabError } from "../../mod.ts";

// A tiny hand-written dictionary in hunspell's format (numeric flags, as hunspell-tr uses).
function tinyDictionary() {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    `${dir}/xx_XX.aff`,
    [
      "SET UTF-8",
      "FLAG num",
      "SFX 1 N 1",
      "SFX 1 0 ler .",
      "SFX 2 N 1",
      "SFX 2 0 de .",
      "SFX 3 N 1",
      "SFX 3 0 lerde .",
      "SFX 4 N 1",
      "SFX 4 k ğı k",
    ].join("\n"),
  );
  Deno.writeTextFileSync(
    `${dir}/xx_XX.dic`,
    ["4", "ev/1,2,3", "kitap/1", "çocuk/4", "Ankara"].join("\n"),
  );
  return loadHunspell("xx_XX", { dir });
}

Deno.test("loadHunspell reads roots, numeric flags and suffix rules with strip and condition", () => {
  const d = tinyDictionary();
  equal(d.roots.size, 4);
  ok(d.isWord("ev") && d.isWord("evler") && d.isWord("evde") && d.isWord("evlerde"));
  ok(d.isWord("kitapler"), "flag 1 allows -ler on kitap");
  ok(!d.isWord("kitapde"), "kitap lacks flag 2");
  ok(d.isWord("çocuğı"), "strip k, add ğı, condition k");
  ok(!d.isWord("evğı"));
  ok(d.isWord("Ankara") && !d.isWord("ankara"), "case as given");
  throws(
    () => loadHunspell("xx_XX", { dir: "/nonexistent" }),
    (e) =>
      e instanceof TokenlabError &&
      /apt-get install hunspell-xx/.test(e.message + (e as TokenlabError).hint),
  );
  throws(() => loadHunspell("../etc/passwd"), TokenlabError);
});

Deno.test("morphemeInventory keeps atomic affixes; lexicalTokenScores counts distinct tokens", () => {
  const d = tinyDictionary();
  const inv = morphemeInventory(d);
  ok(inv.affixes.has("ler") && inv.affixes.has("de"));
  ok(!inv.affixes.has("lerde"), "lerde = ler + de is not atomic");
  // distinct raw tokens (vocabulary items): " ev", "ler", "ev", "▁evlerde", "xyz", "ankara"; "." unscored
  const s = lexicalTokenScores([" ev", "ler", "ev", "▁evlerde", "xyz", ".", "ankara", " ev"], {
    dictionary: d,
    inventory: inv,
  });
  equal(s.types, 6);
  equal(s.unscored, 1);
  equal(s.validWordPercent, (100 * 4) / 6); // " ev", ev, evlerde, ankara (capitalised form)
  equal(s.purePercent, (100 * 4) / 6); // " ev", ev, ler, Ankara
});

Deno.test("trainMorphHybrid splits words into root + affixes behind case tokens, BPE otherwise", () => {
  const d = tinyDictionary();
  const texts = ["Evlerde kitapler var", "EVLER ve evde", "qwerty evler"];
  const tok = trainMorphHybrid(texts, { dictionary: d, fallbackVocabSize: 300 });
  const seg = tok.segment("Evlerde kitapler");
  equal(seg.slice(0, 4).join("|"), "<cap>|ev|ler|de");
  equal(seg.slice(4).join("|"), "kitap|ler");
  equal(tok.segment("EVLER")[0], "<up>");
  ok(tok.segment("qwerty").join("").includes("qwerty"), "fallback keeps the text");
  equal(tok.coverage("ev qwerty"), 0.5);
  throws(() => trainMorphHybrid(["x"], {} as never), TokenlabError);
});
