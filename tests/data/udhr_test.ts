import { equal, ok, throws } from "node:assert/strict";
import { dominantScript, loadUdhr } from "../../lib/data/mod.ts";
import { udhrHtmlToText } from "../../lib/data/udhr.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

Deno.test("loadUdhr: hundreds of translations over many scripts", () => {
  const all = loadUdhr();
  ok(all.length > 400, `only ${all.length} translations`);
  const scripts = new Set(all.map((t) => t.script));
  for (const s of ["Latin", "Cyrillic", "Arabic", "Han", "Devanagari", "Greek", "Hebrew"]) {
    ok(scripts.has(s), `no ${s} translation`);
  }
  equal(new Set(all.map((t) => t.code)).size, all.length);
});

Deno.test("loadUdhr: English opens with the real preamble; filters work", () => {
  const [eng] = loadUdhr({ codes: ["eng"] });
  ok(eng.text.startsWith("Universal Declaration of Human Rights\nPreamble\nWhereas recognition"));
  ok(eng.text.includes("All human beings are born free and equal in dignity and rights."));
  equal(eng.script, "Latin");
  const cyr = loadUdhr({ scripts: ["Cyrillic"] });
  ok(cyr.length > 5 && cyr.every((t) => t.script === "Cyrillic"));
  ok(loadUdhr({ codes: ["rus"] })[0].text.includes("Всеобщая"));
  throws(() => loadUdhr({ codes: ["xx-nope"] }), TokenlabError);
});

Deno.test("udhrHtmlToText and dominantScript on hand-made input", () => {
  equal(
    udhrHtmlToText("<h1>T</h1>\n<p class=x>a <b>b</b> &amp; &#233;</p><li>c</li>"),
    "T\na b & é\nc",
  );
  equal(dominantScript("Ελληνικά και λίγα latin"), "Greek");
  equal(dominantScript("すべての人間は、生まれながらにして自由"), "Japanese");
  equal(dominantScript("1234 !!"), "Other");
});
