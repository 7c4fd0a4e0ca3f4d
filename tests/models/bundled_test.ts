import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { bundledModelNames, bundledModelPath } from "../../lib/models/mod.ts";
import { TokenlabError } from "../../mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("bundledModelPath finds data/models/<name> from the root and from notebooks/", () => {
  const fromRoot = bundledModelPath("tiny-target", { from: ROOT });
  equal(fromRoot, `${ROOT}/data/models/tiny-target`);
  equal(bundledModelPath("tiny-target", { from: `${ROOT}/notebooks` }), fromRoot);
  equal(
    bundledModelPath("tiny-draft", { from: `${ROOT}/notebooks/../lib/models` }),
    `${ROOT}/data/models/tiny-draft`,
  );
  ok(Deno.statSync(`${fromRoot}/config.json`).isFile);
  // the default (current directory, then this module's repository) finds the same folder
  equal(bundledModelPath("tiny-target"), fromRoot);
});

Deno.test("bundledModelNames lists the folders under data/models", () => {
  const names = bundledModelNames({ from: ROOT });
  for (const n of ["brown-bpe-8k", "tiny-draft", "tiny-target"]) {
    ok(names.includes(n), `${n} in ${names}`);
  }
  deepEqual(names, [...names].sort());
  ok(!names.includes("README.md"));
});

Deno.test("bundledModelPath fails with the names it has, or without a data/models folder", () => {
  throws(() => bundledModelPath("tiny-targt", { from: ROOT }), (e: Error) => {
    ok(e instanceof TokenlabError);
    ok(/no bundled model "tiny-targt"/.test(e.message), e.message);
    ok(/"tiny-target"/.test(e.message) && /"tiny-draft"/.test(e.message), e.message);
    return true;
  });
  throws(() => bundledModelPath("../secrets", { from: ROOT }), /not a folder name/);
  const empty = Deno.makeTempDirSync();
  try {
    throws(() => bundledModelPath("tiny-target", { from: empty }), /no data\/models folder/);
  } finally {
    Deno.removeSync(empty);
  }
});
