import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  claimVerdicts,
  compareClaims,
  declareClaims,
  paperStatus,
  readRecord,
  writeRecord,
} from "../../lib/analysis/mod.ts";
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
  const verdicts = claimVerdicts(claims);
  deepEqual(
    verdicts.map((v) => [v.quantity, v.measured, v.verdict, v.headline, v.interval, v.fragile]),
    [["near", 0.97, "agrees", false, null, false], ["far", 2, "differs", false, null, false]],
  );
  deepEqual(verdicts[0].band, { low: 0.9, high: 1.1 });
  deepEqual(verdicts[0].rule, { kind: "absolute", tolerance: 0.1 });
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

Deno.test("a record keeps every declared row with headline, interval, fragility and backend", async () => {
  const plan = declareClaims([
    { id: "a", quantity: "A", headline: true, paper: 10, rule: { kind: "absolute", tolerance: 1 } },
    {
      id: "t",
      quantity: "speed-up",
      headline: true,
      paper: null,
      unit: "x",
      rule: { kind: "direction", expect: "higher", than: 1, minEffect: 0.2 },
    },
    { id: "m", quantity: "M", headline: false, paper: 5, rule: { kind: "range", low: 4, high: 6 } },
  ]);
  plan.measure("a", {
    value: 10.5,
    interval: { low: 9.8, high: 11.4, level: 0.95, over: "5 seeds" },
    leaveOneOut: {
      over: "seed",
      values: [{ group: "s1", value: 10.2 }, { group: "s2", value: 11.2 }],
    },
  });
  plan.measure("t", {
    value: 1.5,
    interval: { low: 1.3, high: 1.8 },
    backend: "llvmpipe (LLVM 15)",
  });
  plan.missing("m", "needs a GPU");
  const dir = await Deno.makeTempDir();
  const path = await writeRecord("p00-plan", {
    values: {},
    claims: plan.table(),
    profile: "quick",
    seed: 0,
    dir,
  });
  const rows = (await readRecord(path)).values.verdicts as ReturnType<typeof claimVerdicts>;
  deepEqual(rows.map((r) => [r.id, r.headline, r.verdict, r.fragile]), [
    ["a", true, "inconclusive", true],
    ["t", true, "agrees", false],
    ["m", false, "missing", false],
  ]);
  deepEqual(rows[0].interval, { low: 9.8, high: 11.4, level: 0.95, over: "5 seeds" });
  deepEqual(rows[0].flips, [{ group: "s2", value: 11.2 }]);
  equal(rows[0].leaveOneOutOver, "seed");
  // the open-ended direction band is stored with null for infinity (JSON has no Infinity)
  deepEqual(rows[1].band, { low: 1.2, high: null });
  equal(rows[1].software, true);
  equal(rows[2].missing, "needs a GPU");
  equal(rows[2].measured, null);
  // one headline row inconclusive and fragile, one agreeing: partly reproduced
  equal(paperStatus(rows).status, "partly reproduced");
  await Deno.remove(dir, { recursive: true });
});
