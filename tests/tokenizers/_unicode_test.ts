import assert from "node:assert/strict";
import {
  hfNormalize,
  onigRegExp,
  peerRegExp,
  whiteSpaceSource,
} from "../../lib/tokenizers/_unicode.ts";
import { Tokenizer, trainBpe } from "../../lib/tokenizers/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

// Unicode White_Space (UCD PropList.txt), written out by hand.
const WHITE_SPACE = [
  0x9,
  0xa,
  0xb,
  0xc,
  0xd,
  0x20,
  0x85,
  0xa0,
  0x1680,
  ...Array.from({ length: 11 }, (_, i) => 0x2000 + i),
  0x2028,
  0x2029,
  0x202f,
  0x205f,
  0x3000,
];
const OTHERS = [0x41, 0x30, 0x5f, 0x2d, 0xfeff, 0x200b, 0x180e, 0x1f600];

function matches(source: string, cp: number): boolean {
  return peerRegExp(`^(?:${source})$`, "u").test(String.fromCodePoint(cp));
}

Deno.test("whiteSpaceSource › \\s and \\S mean White_Space, outside and inside classes", () => {
  for (const cp of WHITE_SPACE) {
    assert.ok(matches("\\s", cp), `\\s ${cp.toString(16)}`);
    assert.ok(!matches("\\S", cp), `\\S ${cp.toString(16)}`);
    assert.ok(matches("[x\\s]", cp));
    assert.ok(!matches("[^\\s]", cp));
    assert.ok(!matches("[x\\S]", cp));
  }
  for (const cp of OTHERS) {
    assert.ok(!matches("\\s", cp), `\\s ${cp.toString(16)}`);
    assert.ok(matches("\\S", cp), `\\S ${cp.toString(16)}`);
    assert.ok(!matches("[x\\s]", cp));
    assert.ok(matches("[^\\s]", cp));
    assert.ok(matches("[x\\S]", cp));
    assert.ok(matches("[\\S]", cp));
  }
});

Deno.test("whiteSpaceSource › negated classes with \\S: whitespace minus the rest", () => {
  // [^\S\r\n]: whitespace other than CR and LF
  assert.ok(matches("[^\\S\\r\\n]", 0x20));
  assert.ok(matches("[^\\S\\r\\n]", 0x85));
  assert.ok(!matches("[^\\S\\r\\n]", 0x0a));
  assert.ok(!matches("[^\\S\\r\\n]", 0x0d));
  assert.ok(!matches("[^\\S\\r\\n]", 0xfeff));
  assert.ok(!matches("[^\\S\\r\\n]", 0x61));
  assert.ok(matches("[^\\S]", 0x3000));
  assert.ok(!matches("[^\\S]", 0x61));
  // quantifiers apply to the whole rewritten class
  assert.deepEqual("a \u0085\u0085b".match(peerRegExp("[^\\S\\r\\n]+", "gu")), [" \u0085\u0085"]);
  assert.deepEqual("ab\uFEFF c".match(peerRegExp("[x\\S]+", "gu")), ["ab\uFEFF", "c"]);
});

Deno.test("whiteSpaceSource › idempotent, escapes kept, v mode, untranslatable ranges refused", () => {
  const once = whiteSpaceSource("\\s+(?!\\S)|[^\\s\\p{L}\\\\]");
  assert.equal(whiteSpaceSource(once), once);
  assert.ok(!/\\[sS]/.test(once.replaceAll("\\\\", "")));
  assert.equal(whiteSpaceSource("\\\\s"), "\\\\s"); // an escaped backslash then "s"
  assert.ok(peerRegExp("[\\S--x]", "v").test("y"));
  assert.ok(!peerRegExp("[\\S--x]", "v").test("\u0085"));
  assert.throws(() => whiteSpaceSource("[\\s-z]"), TokenlabError);
  assert.throws(() => whiteSpaceSource("[a\\s"), TokenlabError);
});

Deno.test("hfNormalize › code points HF's tables do not know stay where they are", () => {
  // U+07FD (Unicode 11, ccc 220) after U+07F3 (ccc 230): HF keeps the order, JS reorders
  assert.equal("-\u07F3\u07FD".normalize("NFC"), "-\u07FD\u07F3");
  assert.equal(hfNormalize("-\u07F3\u07FD", "NFC"), "-\u07F3\u07FD");
  // spans around it are still normalized: e + U+0301 composes, U+212B (Angstrom) maps to Å
  assert.equal(hfNormalize("e\u0301\u07FD\u212B", "NFC"), "\u00E9\u07FD\u00C5");
  assert.equal(hfNormalize("\u00E9", "NFD"), "e\u0301");
  // U+1FBF0 (segmented digit zero, Unicode 13): NFKC maps it to "0" in JS, not in HF
  assert.equal("\u{1FBF0}".normalize("NFKC"), "0");
  assert.equal(hfNormalize("\u{1FBF0}", "NFKC"), "\u{1FBF0}");
  assert.equal(hfNormalize("\uFB01", "NFKC"), "fi");
});

Deno.test("onigRegExp: Oniguruma's anchors ($ and ^ at lines, \\z and \\A at the text's ends)", () => {
  const pieces = (re: RegExp, t: string) => [...t.matchAll(re)].map((m) => `${m.index}:${m[0]}`);
  // Ruby syntax: $ ends a line, so " +$" matches before "\n" and at the end
  assert.deepEqual(pieces(onigRegExp(" +$"), "a  \nb  "), ["1:  ", "5:  "]);
  assert.deepEqual(pieces(onigRegExp("\\s+\\z"), "a  \nb  "), ["5:  "]);
  assert.deepEqual(pieces(onigRegExp("^a"), "ab\nab"), ["0:a", "3:a"]);
  assert.deepEqual(pieces(onigRegExp("\\Aa"), "ab\nab"), ["0:a"]);
  // inside a class $ and ^ are characters; an escaped $ stays a character
  assert.deepEqual(pieces(onigRegExp("[$^]|\\$"), "a$^"), ["1:$", "2:^"]);
});

Deno.test("a cl100k-pattern tokenizer saved as tokenizer.json loads back with the same ids", async () => {
  // cl100k's `\s+$` (a final whitespace run stays whole) is written as `\s+\z` for Oniguruma
  const tok = trainBpe(["hello world\n  ", "hello there  \n "], {
    vocabSize: 270,
    pretokenizer: "cl100k",
  });
  const dir = await Deno.makeTempDir();
  await tok.save(`${dir}/tokenizer.json`);
  const back = await Tokenizer.fromTokenizerJson(`${dir}/tokenizer.json`);
  for (const t of ["x\n  ", "hello\n  there \n", " a  \n  ", "a\n  b"]) {
    assert.deepEqual([...back.encode(t)], [...tok.encode(t)], JSON.stringify(t));
  }
  await Deno.remove(dir, { recursive: true });
});
