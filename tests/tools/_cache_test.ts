import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import {
  CACHE_SCHEMA,
  type CacheInputs,
  cacheInputs,
  cacheKey,
  canonical,
  lookup,
  store,
} from "../../tools/_cache.ts";

/** A fake repository with a two-file library, a notebook using it and one that does not. */
function fakeRepo(): string {
  const dir = Deno.makeTempDirSync();
  Deno.mkdirSync(`${dir}/lib`);
  Deno.writeTextFileSync(
    `${dir}/deno.json`,
    JSON.stringify({ imports: { "@f/lib": "./lib/mod.ts" } }),
  );
  Deno.writeTextFileSync(`${dir}/deno.lock`, '{"version": "5"}');
  Deno.writeTextFileSync(`${dir}/lib/mod.ts`, 'export * from "./split.ts";\n');
  Deno.writeTextFileSync(`${dir}/lib/split.ts`, "export const split = 1;\n");
  const nb = (code: string) =>
    JSON.stringify({
      cells: [{ cell_type: "code", source: code, outputs: [], metadata: {} }],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5,
    });
  Deno.writeTextFileSync(`${dir}/uses.ipynb`, nb('import { split } from "@f/lib";'));
  Deno.writeTextFileSync(`${dir}/plain.ipynb`, nb("console.log(1);"));
  return dir;
}

const executedCopy = JSON.stringify({
  cells: [],
  metadata: { tokenlab: { status: "passed", date: "2026-12-01T08:00:00Z" } },
  nbformat: 4,
});

async function inputsOf(dir: string, nb: string, profile = "quick"): Promise<CacheInputs> {
  return await cacheInputs(`${dir}/${nb}`, {
    root: dir,
    parameters: { profile },
    kernel: "deno",
    env: { TOKENLAB_PROFILE: profile, HOME: "/ignored" },
  });
}

async function storeRun(dir: string, cache: string, inputs: CacheInputs): Promise<string> {
  const key = await cacheKey(inputs);
  Deno.writeTextFileSync(`${dir}/executed.ipynb`, executedCopy);
  Deno.mkdirSync(`${dir}/results`, { recursive: true });
  Deno.writeTextFileSync(`${dir}/results/r.json`, '{"values": {}}');
  await store(cache, {
    key,
    inputs,
    executed: `${dir}/executed.ipynb`,
    records: { "results/r.json": `${dir}/results/r.json` },
    run: { executed: new Date().toISOString(), commit: "abc", seconds: 1, cells: 1 },
  });
  return key;
}

Deno.test("cache key: canonical JSON, only TOKENLAB_ variables, parameters count", async () => {
  equal(
    canonical({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 3 } }),
    '{"a":{"c":3,"d":[2,{"y":2,"z":1}]},"b":1}',
  );
  const dir = fakeRepo();
  const a = await inputsOf(dir, "uses.ipynb");
  deepEqual(a.env, { TOKENLAB_PROFILE: "quick" });
  deepEqual(a.modules.map((m) => m.path), ["lib/mod.ts", "lib/split.ts"]);
  equal(await cacheKey(a), await cacheKey(await inputsOf(dir, "uses.ipynb")));
  notEqual(await cacheKey(a), await cacheKey(await inputsOf(dir, "uses.ipynb", "full")));
  notEqual(await cacheKey(a), await cacheKey({ ...a, deno: "0.0.0" }));
  Deno.writeTextFileSync(`${dir}/deno.lock`, '{"version": "5", "npm": {}}');
  notEqual(await cacheKey(a), await cacheKey(await inputsOf(dir, "uses.ipynb")));
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("cache: a stored run hits; touching an imported file misses only its importers", async () => {
  const dir = fakeRepo();
  const cache = `${dir}/.cache/notebooks`;
  const uses = await inputsOf(dir, "uses.ipynb");
  const plain = await inputsOf(dir, "plain.ipynb");
  const usesKey = await storeRun(dir, cache, uses);
  const plainKey = await storeRun(dir, cache, plain);
  const hit = await lookup(cache, { key: usesKey, inputs: uses });
  ok("entry" in hit, JSON.stringify(hit));
  equal(Object.keys(hit.entry.records).join(), "results/r.json");
  // touch the library file: the importer's key moves, the other's does not
  Deno.writeTextFileSync(`${dir}/lib/split.ts`, "// a comment\n", { append: true });
  const uses2 = await inputsOf(dir, "uses.ipynb");
  const plain2 = await inputsOf(dir, "plain.ipynb");
  equal(await cacheKey(plain2), plainKey);
  const miss = await lookup(cache, { key: await cacheKey(uses2), inputs: uses2 });
  ok(!("entry" in miss));
  deepEqual(miss, { notices: [], changed: ["lib/split.ts"], seconds: 1 });
  ok("entry" in await lookup(cache, { key: plainKey, inputs: plain2 }));
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("cache: corrupt or foreign entries are ignored with a notice, never trusted", async () => {
  const dir = fakeRepo();
  const cache = `${dir}/.cache/notebooks`;
  const inputs = await inputsOf(dir, "uses.ipynb");
  const key = await storeRun(dir, cache, inputs);
  const entryDir = `${cache}/uses/${key}`;
  const entryJson = Deno.readTextFileSync(`${entryDir}/entry.json`);
  const expectNotice = async (what: string, pattern: RegExp) => {
    const r = await lookup(cache, { key, inputs });
    ok(!("entry" in r), `${what}: the entry was trusted`);
    equal(r.notices.length, 1, what);
    ok(r.notices[0].startsWith("cache: ignoring entry uses/"), r.notices[0]);
    ok(pattern.test(r.notices[0]), `${what}: ${r.notices[0]}`);
  };
  Deno.writeTextFileSync(`${entryDir}/entry.json`, entryJson.slice(0, 40));
  await expectNotice("truncated JSON", /not JSON/);
  const entry = JSON.parse(entryJson);
  Deno.writeTextFileSync(
    `${entryDir}/entry.json`,
    JSON.stringify({ ...entry, schema: "jupyter-cache" }),
  );
  await expectNotice("foreign schema", /schema is "jupyter-cache"/);
  Deno.writeTextFileSync(`${entryDir}/entry.json`, JSON.stringify({ ...entry, version: 99 }));
  await expectNotice("other version", /version 99/);
  Deno.writeTextFileSync(
    `${entryDir}/entry.json`,
    JSON.stringify({ ...entry, key: "0".repeat(64) }),
  );
  await expectNotice("key mismatch", /key does not match/);
  // inputs edited to look current while the key stays: the inputs no longer hash to the key
  const tampered = { ...entry, inputs: { ...entry.inputs, deno: "9.9.9" } };
  Deno.writeTextFileSync(`${entryDir}/entry.json`, JSON.stringify(tampered));
  await expectNotice("tampered inputs", /do not hash to its key/);
  Deno.writeTextFileSync(`${entryDir}/entry.json`, entryJson);
  Deno.writeTextFileSync(`${entryDir}/records/r.json`, '{"values": {"forged": 1}}');
  await expectNotice("changed record", /record results\/r.json/);
  Deno.writeTextFileSync(`${entryDir}/records/r.json`, '{"values": {}}');
  Deno.writeTextFileSync(`${entryDir}/executed.ipynb`, "{");
  await expectNotice("corrupt executed copy", /executed.ipynb/);
  Deno.writeTextFileSync(`${entryDir}/executed.ipynb`, executedCopy);
  ok("entry" in await lookup(cache, { key, inputs }), "restored entry is valid again");
  equal(JSON.parse(Deno.readTextFileSync(`${entryDir}/entry.json`)).schema, CACHE_SCHEMA);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("cache: keeps a few entries per notebook (profiles side by side), prunes older ones", async () => {
  const dir = fakeRepo();
  const cache = `${dir}/.cache/notebooks`;
  const keys: string[] = [];
  for (let i = 0; i < 5; i++) {
    const inputs = { ...(await inputsOf(dir, "uses.ipynb")), parameters: { profile: "quick", i } };
    keys.push(await storeRun(dir, cache, inputs));
    await new Promise((r) => setTimeout(r, 5)); // distinct execution times
  }
  const left = [...Deno.readDirSync(`${cache}/uses`)].map((e) => e.name).sort();
  deepEqual(left, keys.slice(2).sort());
  Deno.removeSync(dir, { recursive: true });
});
