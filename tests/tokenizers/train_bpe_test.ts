import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { Tokenizer as HfTokenizer } from "tokenizers";
import {
  SUPERWORD_PATTERN,
  Tokenizer,
  trainBinaryBpe,
  trainBpe,
  trainCharBpe,
  trainSuperBpe,
  unigramEntropy,
} from "../../lib/tokenizers/mod.ts";
import { Rng, TokenlabError } from "../../mod.ts";
import { brownText, loadElfBinaries } from "../../lib/data/mod.ts";

const enc = new TextEncoder();
const quiet = { onProgress: () => {} };

/** An independent, naive trainer: recount every pair each step (O(n²)), same tie rule. */
function naiveMerges(pieces: string[], vocabSize: number): string[] {
  const words = new Map<string, number>();
  for (const p of pieces) words.set(p, (words.get(p) ?? 0) + 1);
  const seqs = [...words].map(([w, c]) => ({
    s: [...enc.encode(w)].map((b) => String.fromCharCode(b)),
    c,
  }));
  const ids = new Map<string, number>();
  for (let b = 0; b < 256; b++) ids.set(String.fromCharCode(b), b);
  const out: string[] = [];
  while (ids.size < vocabSize) {
    const counts = new Map<string, number>();
    for (const { s, c } of seqs) {
      for (let i = 0; i + 1 < s.length; i++) {
        const k = JSON.stringify([ids.get(s[i]), ids.get(s[i + 1])]);
        counts.set(k, (counts.get(k) ?? 0) + c);
      }
    }
    let best: [number, number] | null = null, bestC = 1; // min frequency 2
    for (const [k, c] of counts) {
      const p = JSON.parse(k) as [number, number];
      if (
        c > bestC ||
        (c === bestC && best && (p[0] < best[0] || (p[0] === best[0] && p[1] < best[1])))
      ) {
        if (c >= 2) [best, bestC] = [p, c];
      }
    }
    if (!best) break;
    const symOf = (id: number) => [...ids].find(([, v]) => v === id)![0];
    const a = symOf(best[0]), b = symOf(best[1]);
    ids.set(a + b, ids.size);
    out.push(a + "|" + b);
    for (const q of seqs) {
      const n: string[] = [];
      for (let i = 0; i < q.s.length; i++) {
        if (i + 1 < q.s.length && q.s[i] === a && q.s[i + 1] === b) {
          n.push(a + b);
          i++;
        } else n.push(q.s[i]);
      }
      q.s = n;
    }
  }
  return out;
}

Deno.test("trainBpe learns exactly the merges of a naive reference trainer", () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 5; trial++) {
    const alphabet = "abcde ";
    const text = Array.from({ length: 400 }, () => alphabet[rng.int(alphabet.length)]).join("");
    const tok = trainBpe([text], { vocabSize: 256 + 30, pretokenizer: "whitespace", ...quiet });
    const pieces = text.match(/ ?\S+|\s+(?!\S)|\s+/gu)!;
    const ours = tok.merges.map(([a, b]) =>
      String.fromCharCode(...a) + "|" + String.fromCharCode(...b)
    );
    deepEqual(ours, naiveMerges(pieces, 256 + 30), `trial ${trial}`);
  }
});

Deno.test("trainBpe: round trip, specials, and a save() that HF loads with the same ids", async () => {
  const docs = brownText().split("\n\n").slice(0, 60);
  const tok = trainBpe(docs, { vocabSize: 1200, specialTokens: ["<|eot|>"], ...quiet });
  equal(tok.vocabSize, 1200);
  equal(tok.specialTokens["<|eot|>"], 1199);
  const held = brownText().split("\n\n").slice(60, 64).join("\n\n") + " naïve 🙂 \r\n  x";
  equal(tok.decode(tok.encode(held)), held);
  const dir = await Deno.makeTempDir();
  await tok.save(`${dir}/tokenizer.json`);
  const hf = HfTokenizer.fromFile(`${dir}/tokenizer.json`);
  for (const text of [held, "a  b\t\tc 1234567", "<|eot|> after"]) {
    deepEqual(
      [...tok.encode(text)],
      (await hf.encode(text, null, { addSpecialTokens: false })).getIds(),
    );
  }
  const reloaded = await Tokenizer.fromTokenizerJson(`${dir}/tokenizer.json`);
  deepEqual([...reloaded.encode(held)], [...tok.encode(held)]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("trainBpe: clear errors for bad corpora and vocab sizes", () => {
  throws(() => trainBpe([], { vocabSize: 300 }), /the corpus is empty/);
  throws(() => trainBpe([""], { vocabSize: 300 }), /the corpus is empty/);
  throws(() => trainBpe([1 as never], { vocabSize: 300 }), /texts\[0\] is a number/);
  throws(
    () => trainBpe(["abc"], { vocabSize: 100 }),
    (e: Error) => e instanceof TokenlabError && /below the base alphabet/.test(e.message),
  );
  throws(
    () => trainBpe(["abc"], { vocabSize: 256, specialTokens: ["<s>"] }),
    /below the base alphabet \(257\)/,
  );
});

Deno.test("trainSuperBpe: stage 1 equals plain BPE, stage 2 makes superwords and fewer tokens", () => {
  const docs = brownText().split("\n\n").slice(0, 80);
  const held = brownText().split("\n\n").slice(80, 84).join("\n\n");
  const plain = trainBpe(docs, { vocabSize: 1500, ...quiet });
  const sup = trainSuperBpe(docs, { vocabSize: 1500, transition: 1000, ...quiet });
  const stage1 = trainBpe(docs, { vocabSize: 1000, ...quiet });
  deepEqual(sup.merges.slice(0, 744), stage1.merges);
  const superwords = sup.merges.slice(744).filter(([a, b]) => {
    const s = new TextDecoder().decode(new Uint8Array([...a, ...b])).trim();
    return s.includes(" ");
  });
  ok(superwords.length > 20, `only ${superwords.length} superword merges`);
  ok(sup.encode(held).length < plain.encode(held).length);
  equal(sup.decode(sup.encode(held)), held);
  for (const [a, b] of sup.merges) {
    const words =
      new TextDecoder().decode(new Uint8Array([...a, ...b])).split(" ").filter(Boolean).length;
    ok(words <= 4, "a superword longer than 4 words");
  }
  ok(SUPERWORD_PATTERN.flags.includes("u"));
  throws(() => trainSuperBpe(docs, { vocabSize: 500, transition: 600 }), /transition 600/);
});

Deno.test("trainCharBpe: tokens within the length cap, byte fallback, HF-compatible", async () => {
  const text = "the party of the first part shall pay the party of the second part ".repeat(20);
  const tok = await trainCharBpe([text], { vocabSize: 320, maxTokenChars: 3, ...quiet });
  for (const [a, b] of tok.merges) {
    ok([...new TextDecoder().decode(new Uint8Array([...a, ...b]))].length <= 3);
  }
  const unseen = "Zürich 東京";
  equal(tok.decode(tok.encode(unseen)), unseen);
  const dir = await Deno.makeTempDir();
  await tok.save(`${dir}/t.json`);
  const hf = HfTokenizer.fromFile(`${dir}/t.json`);
  for (const t of [text.slice(0, 80), unseen]) {
    deepEqual([...tok.encode(t)], (await hf.encode(t, null, { addSpecialTokens: false })).getIds());
  }
  await Deno.remove(dir, { recursive: true });
  await rejects(() => trainCharBpe(["abc"], { vocabSize: 300, maxTokenChars: 0 }), /maxTokenChars/);
});

Deno.test("trainBinaryBpe: merges raw bytes of executables and round-trips them", () => {
  const bins = loadElfBinaries({ maxFiles: 3, maxFileBytes: 200_000 });
  ok(bins.length > 0);
  const tok = trainBinaryBpe(bins.map((b) => b.bytes), { vocabSize: 400, ...quiet });
  equal(tok.merges.length, 144);
  const ids = tok.encodeBytes(bins[0].bytes);
  ok(ids.length < bins[0].bytes.length * 0.8, "binary BPE should compress an ELF file");
  deepEqual(tok.decodeBytes(ids), bins[0].bytes);
  const noise = new Uint8Array(1000).map((_, i) => (i * 2654435761) >>> 24);
  deepEqual(tok.decodeBytes(tok.encodeBytes(noise)), noise);
  throws(() => trainBinaryBpe(["text" as never], { vocabSize: 300 }), /Uint8Array/);
});

Deno.test("trainSupertokens: multi-word tokens appear, round trip holds, p = 0 stays within words", async () => {
  const { trainSupertokens } = await import("../../lib/tokenizers/mod.ts");
  const docs = brownText().split("\n\n").slice(0, 60);
  const sup = trainSupertokens(docs, { vocabSize: 1500, joinProbability: 0.4, ...quiet });
  const multi = sup.merges.filter(([a, b]) =>
    new TextDecoder().decode(new Uint8Array([...a, ...b])).trim().includes(" ")
  );
  ok(multi.length > 10, `only ${multi.length} multi-word merges`);
  const held = brownText().split("\n\n").slice(60, 62).join("\n\n");
  equal(sup.decode(sup.encode(held)), held);
  const none = trainSupertokens(docs, { vocabSize: 800, joinProbability: 0, ...quiet });
  ok(
    none.merges.every(([a, b]) =>
      !new TextDecoder().decode(new Uint8Array([...a, ...b])).trim().includes(" ")
    ),
  );
  throws(() => trainSupertokens(docs, { vocabSize: 800, joinProbability: 2 }), /joinProbability/);
});

Deno.test("trainBpe objective codeLength: one candidate is classic BPE; more lower N·H₁", () => {
  const text = brownText().slice(0, 300_000);
  const docs = text.split("\n\n");
  const classic = trainBpe(docs, { vocabSize: 800, ...quiet });
  const one = trainBpe(docs, { vocabSize: 800, objective: "codeLength", candidates: 1, ...quiet });
  deepEqual(one.encode(text), classic.encode(text));
  const aware = trainBpe(docs, {
    vocabSize: 800,
    objective: "codeLength",
    candidates: 256,
    ...quiet,
  });
  const bits = (ids: Uint32Array) => unigramEntropy(ids) * ids.length;
  const [c, a] = [classic.encode(text), aware.encode(text)];
  ok(bits(a) < bits(c), `compression-aware ${bits(a)} bits should be below classic ${bits(c)}`);
  ok(
    a.length >= c.length,
    "classic BPE minimises tokens greedily; the variant trades tokens for bits",
  );
  throws(() => trainBpe(docs, { vocabSize: 300, objective: "bits" as "frequency" }), /objective/);
  throws(() => trainBpe(docs, { vocabSize: 300, candidates: 0 }), /candidates/);
});
