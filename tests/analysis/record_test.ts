import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { readRecord, writeRecord } from "../../lib/analysis/mod.ts";
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
