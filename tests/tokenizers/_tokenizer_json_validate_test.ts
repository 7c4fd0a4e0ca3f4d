import { deepEqual, equal, ok } from "node:assert/strict";
import {
  loadPretrained,
  PRETRAINED_NAMES,
  Tokenizer,
  trainBpe,
  trainCharBpe,
} from "../../lib/tokenizers/mod.ts";
import { TokenlabError } from "../../mod.ts";
import { BASES, type Mutation, mutations } from "./_tokenizer_json_mutations.ts";

// Made by tests/fixtures/make_tokenizer_json_refusals.py: which mutations HF `tokenizers` accepts
// (it refuses all the others).
const FIXTURE = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/tokenizer_json_hf_refusals.json", import.meta.url)),
) as { tokenizers: string; mutations: number; names_sha256: string; hf_accepts: string[] };

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** What loading `m` from `path` did: null when it loaded, else the error. */
async function load(path: string): Promise<Error | null> {
  try {
    await Tokenizer.fromTokenizerJson(path);
    return null;
  } catch (e) {
    return e as Error;
  }
}

Deno.test("tokenizer.json validation: the HF fixture matches the mutation generator", async () => {
  const all = mutations();
  const names = all.map((m) => m.name);
  equal(new Set(names).size, names.length, "mutation names are unique");
  equal(FIXTURE.mutations, names.length, "rerun tests/fixtures/make_tokenizer_json_refusals.py");
  equal(FIXTURE.names_sha256, await sha256(names.join("\n")), "the fixture is stale: rerun it");
  for (const b of Object.keys(BASES)) {
    ok(FIXTURE.hf_accepts.includes(`${b}: unchanged`), `HF loads the ${b} base`);
  }
});

Deno.test(
  "tokenizer.json validation: every mutation HF refuses (and each one tokenlab refuses on purpose) is refused naming the file and field; the rest load; the file is untouched",
  async () => {
    const accepted = new Set(FIXTURE.hf_accepts);
    const dir = await Deno.makeTempDir({ prefix: "tokjson-" });
    const problems: string[] = [];
    let refused = 0, loaded = 0;
    const all: Mutation[] = mutations();
    for (let i = 0; i < all.length; i++) {
      const m = all[i];
      const path = `${dir}/m${i}.tokenizer.json`;
      await Deno.writeTextFile(path, m.text);
      const before = await Deno.stat(path);
      const err = await load(path);
      const after = await Deno.stat(path);
      if ((await Deno.readTextFile(path)) !== m.text || +after.mtime! !== +before.mtime!) {
        problems.push(`${m.name}: the source file changed`);
      }
      const mustRefuse = !accepted.has(m.name) || m.stricter !== undefined;
      if (!mustRefuse) {
        if (err) problems.push(`${m.name}: HF loads it but tokenlab refused: ${err.message}`);
        else loaded++;
        continue;
      }
      if (!err) {
        problems.push(`${m.name}: loaded, should be refused (${m.stricter ?? "HF refuses it"})`);
        continue;
      }
      const named = m.field === ""
        ? err.message.startsWith(`${path} is not valid JSON`)
        : err.message.startsWith(`${path}: ${m.field}:`) ||
          err.message.startsWith(`${path}: ${m.field}[`) ||
          err.message.startsWith(`${path}: ${m.field}.`);
      if (!(err instanceof TokenlabError) || !named) {
        problems.push(
          `${m.name}: refused, but not naming ${m.field || "bad JSON"}: ${err.message}`,
        );
      } else refused++;
    }
    await Deno.remove(dir, { recursive: true });
    if (problems.length) console.error(problems.join("\n"));
    deepEqual(problems, []);
    ok(refused > 1000 && loaded > 100, `${refused} refused, ${loaded} loaded`);
  },
);

Deno.test("tokenizer.json validation: the message names the file, the field and the fix", async () => {
  const dir = await Deno.makeTempDir();
  const json = structuredClone(BASES.byte);
  json.model.merges[1] = "ab d";
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(json));
  const err = await load(`${dir}/tokenizer.json`);
  equal(
    err?.message,
    `${dir}/tokenizer.json: model.merges[1]: "ab d" names token "d" that is not in model.vocab ` +
      "(the file is corrupt or was written by hand; re-download or re-save it)",
  );
  // a parsed object is named as such
  const err2 = await Tokenizer.fromTokenizerJson(json).then(() => null, (e) => e);
  ok(err2?.message.startsWith("tokenizer.json object: model.merges[1]:"), err2?.message);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tokenizer.json validation: every pretrained tokenizer still loads", async () => {
  for (const name of PRETRAINED_NAMES) {
    const tok = await loadPretrained(name);
    ok(tok.encode("Hello, world!").length > 0, name);
  }
});

Deno.test("tokenizer.json validation: files tokenlab writes (save, trainers, bundled models) load", async () => {
  const dir = await Deno.makeTempDir();
  const docs = ["a tiny corpus, a tiny test, and tokens", "naïve café 🙂 tokens again"];
  const quiet = { onProgress: () => {} };
  const tok = trainBpe(docs, { vocabSize: 300, specialTokens: ["<|eot|>"], ...quiet });
  await tok.save(`${dir}/tokenizer.json`);
  const back = await Tokenizer.fromTokenizerJson(`${dir}/tokenizer.json`);
  const text = "a tiny café 🙂<|eot|>";
  deepEqual([...back.encode(text)], [...tok.encode(text)]);
  await trainCharBpe(docs, { vocabSize: 300, ...quiet }); // builds and loads its own tokenizer.json
  for (const model of ["brown-bpe-8k", "tiny-draft", "tiny-target"]) {
    const path = new URL(`../../data/models/${model}/tokenizer.json`, import.meta.url).pathname;
    ok((await Tokenizer.fromTokenizerJson(path)).vocabSize > 256, model);
  }
  await Deno.remove(dir, { recursive: true });
});
