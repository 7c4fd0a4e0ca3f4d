import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  inferMixture,
  loadPretrained,
  mergeList,
  Tokenizer,
  trainBpe,
} from "../../lib/tokenizers/mod.ts";
import { brownText, loadCodeFiles, splitTrainTest } from "../../lib/data/mod.ts";
import { TokenlabError } from "../../mod.ts";

const enc = new TextEncoder();
const quiet = { onProgress: () => {} };

/** Strings from `pool` until `bytes` UTF-8 bytes are taken. */
function takeBytes(pool: string[], bytes: number): string[] {
  const out: string[] = [];
  let n = 0;
  for (const s of pool) {
    if (n >= bytes) break;
    out.push(s);
    n += enc.encode(s).length;
  }
  return out;
}

Deno.test("mergeList rebuilds cl100k's merges: a merge-based BPE from them gives tiktoken's ids", async () => {
  const cl = await loadPretrained("cl100k_base");
  const merges = mergeList(cl);
  ok(merges.length > 99_000, `only ${merges.length} merges rebuilt`);
  const vocab: Uint8Array[] = Array.from({ length: 256 }, (_, b) => new Uint8Array([b]));
  const idOf = new Map<string, number>(vocab.map((v, i) => [String.fromCharCode(v[0]), i]));
  const key = (b: Uint8Array) => String.fromCharCode(...b);
  const pairs: Array<[number, number]> = merges.map(([a, b]) => {
    const joined = new Uint8Array([...a, ...b]);
    if (!idOf.has(key(joined))) {
      idOf.set(key(joined), vocab.length);
      vocab.push(joined);
    }
    return [idOf.get(key(a))!, idOf.get(key(b))!];
  });
  const rebuilt = Tokenizer.fromBpe({ vocab, merges: pairs, pretokenizer: "cl100k" });
  const text = brownText().slice(0, 60_000) +
    " Grüße aus Köln — 東京は晴れ 12345678 \t\n  def f(x):\n    return x**2 🙂👍🏽";
  const want = cl.encode(text);
  const got = rebuilt.encode(text);
  equal(got.length, want.length);
  // ids differ (ours are assigned in merge order); the token strings must agree one by one
  for (let i = 0; i < want.length; i++) {
    deepEqual(rebuilt.tokenBytes(got[i]), cl.tokenBytes(want[i]), `token ${i}`);
  }
});

Deno.test("inferMixture recovers a known English/code training mixture from held-out samples", async () => {
  const english = splitTrainTest(brownText().split("\n").filter((s) => s), {
    testFraction: 0.5,
    seed: 3,
  });
  const code = splitTrainTest(loadCodeFiles({}).map((f) => f.text), { testFraction: 0.5, seed: 3 });
  const truth = { english: 0.7, code: 0.3 };
  const total = 400_000;
  const train = [
    ...takeBytes(english.train, truth.english * total),
    ...takeBytes(code.train, truth.code * total),
  ];
  const tok = trainBpe(train, { vocabSize: 256 + 300, ...quiet });
  const r = await inferMixture(tok, {
    samples: { english: takeBytes(english.test, 150_000), code: takeBytes(code.test, 150_000) },
    pretokenizer: "gpt2",
    merges: 300,
  });
  equal(r.steps, 300);
  ok(Math.abs(r.proportions.english + r.proportions.code - 1) < 1e-9);
  ok(
    Math.abs(r.proportions.english - truth.english) < 0.06,
    `english estimated ${r.proportions.english.toFixed(3)}, truth 0.7`,
  );
  ok(r.constraints > 0 && r.rounds >= 1);
});

Deno.test("inferMixture: a tokenizer trained on one category puts nearly all weight there", async () => {
  const english = brownText().slice(0, 300_000);
  const code = loadCodeFiles({}).map((f) => f.text).join("\n").slice(0, 150_000);
  const tok = trainBpe(code, { vocabSize: 256 + 200, ...quiet });
  const r = await inferMixture(tok, {
    samples: { english: english.slice(150_000), code: code.slice(0, 75_000) },
    pretokenizer: "gpt2",
    merges: 200,
  });
  ok(r.proportions.code > 0.9, `code got ${r.proportions.code.toFixed(3)}`);
});

Deno.test("inferMixture validates its input with clear errors", async () => {
  const tok = trainBpe("aaa bbb aaa bbb ab ab", { vocabSize: 260, ...quiet });
  await rejects(
    () => inferMixture(tok, { samples: { a: "aaa" }, pretokenizer: "gpt2" }),
    (e) => e instanceof TokenlabError && /at least two categories/.test(e.message),
  );
  await rejects(
    () =>
      inferMixture(tok, {
        samples: { a: "aaa", b: "bbb" },
        pretokenizer: undefined as unknown as "gpt2",
      }),
    (e) => e instanceof TokenlabError && /pretokenizer/.test(e.message),
  );
  await rejects(
    () =>
      inferMixture(tok, {
        samples: { a: "aaa", b: "bbb" },
        pretokenizer: "gpt2",
        skipMerges: 99,
      }),
    (e) => e instanceof TokenlabError && /skipMerges/.test(e.message),
  );
  await rejects(
    () => inferMixture(tok, { samples: { a: "aaa", b: "" }, pretokenizer: "gpt2" }),
    (e) => e instanceof TokenlabError && /"b" is empty/.test(e.message),
  );
  await rejects(
    () =>
      inferMixture(tok, { samples: { a: "aaa", b: 5 as unknown as string }, pretokenizer: "gpt2" }),
    (e) => e instanceof TokenlabError && /samples\.b/.test(e.message),
  );
});

Deno.test("inferMixture replays a merge that remakes an existing token without a constraint", async () => {
  const b = (s: string) => enc.encode(s);
  const merges: Array<[Uint8Array, Uint8Array]> = [
    [b("a"), b("b")],
    [b("ab"), b("c")],
    [b("a"), b("bc")], // unusable: "bc" was never made
    [b("b"), b("c")],
    [b("a"), b("bc")], // remakes "abc"
  ];
  const r = await inferMixture(merges, {
    samples: { x: "abc abc abc ab", y: "bc bc ab" },
    pretokenizer: "gpt2",
  });
  equal(r.steps, 5);
  equal(r.unusableMerges, 1);
  equal(r.redundantMerges, 1);
});
