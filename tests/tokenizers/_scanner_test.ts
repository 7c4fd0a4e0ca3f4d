import { deepEqual } from "node:assert/strict";
import { scanCl100k, scanGpt2, type Scanner, scanO200k } from "../../lib/tokenizers/_scanner.ts";
import { Rng } from "../../mod.ts";

// The references: tiktoken's own pattern strings, written out here as JavaScript regexes with
// `\s` spelled as Unicode White_Space (what tiktoken's regex engine means by it; JavaScript's
// `\s` adds U+FEFF and drops U+0085) and possessive quantifiers dropped (in these patterns they
// never change a match: nothing after them can force a backtrack). V8's regex engine then
// serves as an independent implementation of the same leftmost-first semantics.
const S = "\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
const NOT_S = `[^${S}]`;
const WS = `[${S}]`;
const C = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
const UP = "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]", LO = "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]";
const OTHER = `[^${S}\\p{L}\\p{N}]`;
const REFERENCES: [string, Scanner, RegExp][] = [
  [
    "o200k",
    scanO200k,
    new RegExp(
      `[^\\r\\n\\p{L}\\p{N}]?${UP}*${LO}+${C}?|[^\\r\\n\\p{L}\\p{N}]?${UP}+${LO}*${C}?|` +
        `\\p{N}{1,3}| ?${OTHER}+[\\r\\n/]*|${WS}*[\\r\\n]+|${WS}+(?!${NOT_S})|${WS}+`,
      "gu",
    ),
  ],
  [
    "cl100k",
    scanCl100k,
    new RegExp(
      `'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?${OTHER}+[\\r\\n]*|` +
        `${WS}+$|${WS}*[\\r\\n]|${WS}+(?!${NOT_S})|${WS}`,
      "gu",
    ),
  ],
  [
    "gpt2",
    scanGpt2,
    new RegExp(
      `'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?${OTHER}+|${WS}+$|${WS}+(?!${NOT_S})|${WS}`,
      "gu",
    ),
  ],
];

/** Characters from every class the patterns distinguish, and the ones JS and tiktoken disagree on. */
const PALETTE = [
  ..."aZsSdtmlLvVeErR'/ 09.,!-_", // ASCII letters of the contractions, digits, punctuation
  "\t",
  "\n",
  "\r",
  "\u000b",
  "\u0085",
  "\ufeff",
  "\u00a0",
  "\u3000",
  "\u2028",
  "\u200b",
  "\u017f", // ſ: folds to s
  "\u0301",
  "\u0300",
  "\u094d", // marks
  "\u02b0",
  "\u01c5",
  "中",
  "あ",
  "\u0915",
  "\u0627",
  "Ж",
  "ж", // Lm, Lt, Lo, Cyrillic
  "\u2163",
  "\u00b2",
  "\u0663", // Nl, No, Arabic-Indic digit
  "\u{1d400}",
  "\u{1d44e}",
  "\u{1f600}",
  "\u{20000}",
  "\u{e0001}",
  "\u{10ffff}", // astral
];

function regexPieces(text: string, re: RegExp): string[] {
  return [...text.matchAll(re)].map((m) => m[0]);
}

function scannerPieces(text: string, scan: Scanner): string[] {
  const out: string[] = [];
  for (let s = 0; s < text.length;) {
    const e = scan(text, s);
    out.push(text.slice(s, e));
    s = e;
  }
  return out;
}

for (const [name, scan, re] of REFERENCES) {
  Deno.test(`scanner ${name} splits exactly as tiktoken's pattern on random strings`, () => {
    const rng = new Rng(name.length * 7919);
    for (let trial = 0; trial < 4000; trial++) {
      let text = "";
      const length = rng.int(24);
      for (let i = 0; i < length; i++) text += PALETTE[rng.int(PALETTE.length)];
      const want = regexPieces(text, re);
      deepEqual(want.join(""), text, `the reference pattern covers ${JSON.stringify(text)}`);
      deepEqual(scannerPieces(text, scan), want, JSON.stringify(text));
    }
  });
}

Deno.test("scanner o200k: hand-checked splits", () => {
  // tiktoken o200k: "x \uFEFFy" is [87, 71280, 88], x | space+U+FEFF | y (U+FEFF is no
  // whitespace there, so " ?[^\s\p{L}\p{N}]+" takes it with the space)
  deepEqual(scannerPieces("x \ufeffy", scanO200k), ["x", " \ufeff", "y"]);
  deepEqual(scannerPieces("\t\t\ufeff", scanO200k), ["\t", "\t", "\ufeff"]); // [197, 197, 5574]
  deepEqual(scannerPieces("HelloWorld's 1234\n\n  x", scanO200k), [
    "Hello",
    "World's",
    " ",
    "123",
    "4",
    "\n\n",
    " ",
    " x",
  ]);
  // cl100k keeps a final whitespace run whole (\s++$); GPT-2 too
  deepEqual(scannerPieces("a\n  ", scanCl100k), ["a", "\n  "]);
  deepEqual(scannerPieces("a\n  b", scanCl100k), ["a", "\n", " ", " b"]);
  deepEqual(scannerPieces("I'VE  it's", scanGpt2), ["I", "'", "VE", " ", " it", "'s"]);
});
