import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { claimVerdicts, compareClaims, readRecord, writeRecord } from "../../lib/analysis/mod.ts";
import { TokenlabError } from "../../mod.ts";

Deno.test("writeRecord round-trips values with the environment", async () => {
  const dir = await Deno.makeTempDir();
  const path = await writeRecord("p00-test", {
    values: { tokens: 42, curve: new Float32Array([0.5, 1.5]) },
    profile: "quick",
    seed: 3,
    dir,
  });
  equal(path, `${dir}/p00-test.json`);
  const r = await readRecord(path);
  deepEqual(r.values, { tokens: 42, curve: [0.5, 1.5] });
  equal(r.seed, 3);
  equal(r.environment.deno, Deno.version.deno);
  ok(r.environment.date.length > 0);
  ok(Math.abs(Date.parse(r.date) - Date.now()) < 60_000);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeRecord refuses path-like names and non-finite values", async () => {
  const dir = await Deno.makeTempDir();
  await rejects(
    () => writeRecord("../evil", { values: {}, profile: "quick", seed: 0, dir }),
    TokenlabError,
  );
  await rejects(
    () => writeRecord("ok", { values: { a: { b: Infinity } }, profile: "quick", seed: 0, dir }),
    /values\.a\.b is Infinity/,
  );
  await Deno.writeTextFile(`${dir}/bad.json`, "{");
  await rejects(() => readRecord(`${dir}/bad.json`), TokenlabError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeRecord stores a claim table's verdicts and prints the repo-relative path", async () => {
  const claims = compareClaims([
    { quantity: "near", paper: 1, measured: 0.97, rule: { kind: "absolute", tolerance: 0.1 } },
    { quantity: "far", paper: 1, measured: 2, rule: { kind: "absolute", tolerance: 0.1 } },
  ]);
  const verdicts = [
    { quantity: "near", measured: 0.97, verdict: "agrees" },
    { quantity: "far", measured: 2, verdict: "differs" },
  ];
  deepEqual(claimVerdicts(claims), verdicts);
  const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  const dir = await Deno.makeTempDir({ dir: root, prefix: ".tmp_record_test_" });
  const logged: unknown[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void logged.push(args.join(" "));
  let path = "";
  try {
    path = await writeRecord("p00-claims", {
      values: { x: 1 },
      claims,
      profile: "quick",
      seed: 0,
      dir,
      print: true,
    });
    await writeRecord("p00-quiet", { values: { x: 1 }, profile: "quick", seed: 0, dir });
  } finally {
    console.log = log;
  }
  deepEqual(logged, [`record: ${dir.slice(root.length + 1)}/p00-claims.json`]);
  deepEqual((await readRecord(path)).values, { x: 1, verdicts });
  await rejects(
    () =>
      writeRecord("p00-both", { values: { verdicts: [] }, claims, profile: "quick", seed: 0, dir }),
    /both values\.verdicts and claims/,
  );
  ok(!("verdicts" in (await readRecord(`${dir}/p00-quiet.json`)).values));
  await Deno.remove(dir, { recursive: true });
});
