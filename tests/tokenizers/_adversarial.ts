// Inputs chosen to break tokenizers: scripts, joiners, line endings, long runs, bad UTF-16.
import { Rng } from "../../lib/util/rng.ts";

/** Named adversarial strings; `valid` is false for strings that are not valid UTF-16. */
export function adversarialTexts(
  options: { bigLine?: number } = {},
): { name: string; text: string; valid: boolean }[] {
  const rng = new Rng(7);
  const words = [
    "the",
    "naïve",
    "Straße",
    "东京",
    "مرحبا",
    "שלום",
    "привет",
    "🙂",
    "x86_64",
    "can't",
    "I'M",
  ];
  const line: string[] = [];
  let size = 0;
  while (size < (options.bigLine ?? 1_000_000)) {
    const w = words[rng.int(words.length)];
    line.push(w);
    size += w.length + 1;
  }
  return [
    { name: "empty", text: "", valid: true },
    { name: "emoji + ZWJ", text: "family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 skin 👍🏽 keycap 1️⃣ ❤️‍🔥", valid: true },
    {
      name: "combining marks",
      text: "e\u0301 a\u0308\u0304 Z\u0351\u0334\u0360a\u0308\u0301lgo q\u0323\u0307",
      valid: true,
    },
    {
      name: "CJK",
      text: "東京都は日本の首都です。漢字、ひらがな、カタカナ。한국어 텍스트입니다。",
      valid: true,
    },
    {
      name: "RTL",
      text: "العربية نص من اليمين إلى اليسار 123 עברית \u200fmixed\u200e LTR",
      valid: true,
    },
    {
      name: "CRLF and lone CR",
      text: "line one\r\nline two\rline three\n\r\n\r\r\n end\r",
      valid: true,
    },
    { name: "digits", text: "1234567890".repeat(40) + " 3.14159 1,000,000 ١٢٣ ४५६", valid: true },
    {
      name: "whitespace runs",
      text: "a" + " ".repeat(300) + "b\t\t\t\n\n\n    \u00a0\u2003\u3000 c" + " ".repeat(2000),
      valid: true,
    },
    { name: "long letter run", text: "a".repeat(5000) + "b".repeat(777), valid: true },
    {
      name: "contractions",
      text: "I'm we've they'LL it's don't WE'RE 'twas ''quoted''",
      valid: true,
    },
    { name: "specials as text", text: "<|endoftext|> <s></s> <|im_start|>user", valid: true },
    {
      name: "code",
      text: "function f(x) {\n\treturn x?.y ?? [1, 2, 3].map((v) => v ** 2);\n}\n// ü\n",
      valid: true,
    },
    {
      name: "control chars",
      text: "\u0000\u0001\u001f\u007f\u0085\u2028\u2029\ufeff",
      valid: true,
    },
    { name: "astral + private use", text: "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈 \u{e000}\u{f8ff} \u{10ffff}", valid: true },
    { name: "lone surrogates", text: "a\ud800b\udc00c \ud83d", valid: false },
    { name: "1 MB single line", text: line.join(" "), valid: true },
  ];
}
