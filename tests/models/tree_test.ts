import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { loadModel, tokenTreeDepths } from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { gpuTest } from "../gpu/_child.ts";
import {
  acceptedPathContinues,
  chainEqualsForward,
  leafPaths,
  PREFIX,
  TREE,
  treeVsPaths,
} from "./_tree_cases.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;

Deno.test("tokenTreeDepths and leafPaths on a hand-drawn tree", () => {
  deepEqual(tokenTreeDepths(TREE), [0, 1, 1, 2, 2, 2, 3, 0, 1]);
  deepEqual(leafPaths(TREE.parents), [[0, 1, 3], [0, 2, 5], [0, 1, 4, 6], [7, 8]]);
  throws(() => tokenTreeDepths({ ids: [1, 2], parents: [-1] }), /2 ids but 1 parents/);
  throws(() => tokenTreeDepths({ ids: [1, 2], parents: [-1, 1] }), /parents\[1\] = 1/);
  throws(() => tokenTreeDepths({ ids: [1], parents: [-2] }), TokenlabError);
});

for (const fixture of ["llama_gqa", "qwen2_bias"]) {
  Deno.test(`${fixture} CPU: tree verification equals each root-to-leaf path fed alone`, async () => {
    const m = await loadModel(FIX + fixture);
    const e = await treeVsPaths(m);
    ok(e < 1e-6, `relative error ${e}`);
  });
}

Deno.test("CPU: a chain tree equals forward; accepting a path continues like plain decoding", async () => {
  const m = await loadModel(FIX + "llama_gqa");
  ok((await chainEqualsForward(m)) < 1e-6);
  ok((await acceptedPathContinues(m)) < 1e-5);
});

Deno.test("forwardTree and acceptTreePath refuse bad input with a hint", async () => {
  const m = await loadModel(FIX + "llama_gqa");
  const cache = m.newCache();
  await m.forward(PREFIX, cache);
  await rejects(() => m.forwardTree({ ids: [1, 2], parents: [0, -1] }, cache), /parents\[0\] = 0/);
  await rejects(
    () => m.forwardTree({ ids: [1, 1e9], parents: [-1, 0] }, cache),
    /outside the vocabulary/,
  );
  equal(cache.length(0), PREFIX.length);
  await m.forwardTree(TREE, cache);
  throws(() => cache.acceptTreePath(TREE.parents, [1]), /path\[0\] = 1 is not a root/);
  throws(() => cache.acceptTreePath(TREE.parents, [0, 3]), /not a child of node 0/);
  cache.acceptTreePath(TREE.parents, []); // reject the whole tree: back to the prefix
  equal(cache.length(0), PREFIX.length);
  equal(cache.nextPosition, PREFIX.length);
  throws(() => cache.acceptTreePath(new Array(9).fill(-1), [0]), /fewer than the tree's 9/);
});

// GPU tolerances: same kernels for tree and paths, but matmul tiles differ with the row count
gpuTest("models gpu backend: tree verification", "tests/models/_tree_child.ts", [
  { name: "llama_gqa tree = each path fed alone", kind: "paths", fixture: "llama_gqa", tol: 1e-4 },
  {
    name: "qwen2_bias tree = each path fed alone",
    kind: "paths",
    fixture: "qwen2_bias",
    tol: 1e-4,
  },
  { name: "llama_gqa chain tree = forward", kind: "chain", fixture: "llama_gqa", tol: 1e-4 },
  { name: "llama_gqa accepted path continues", kind: "accept", fixture: "llama_gqa", tol: 1e-4 },
  { name: "llama_gqa GPU tree = CPU tree", kind: "cpu", fixture: "llama_gqa", tol: 1e-3 },
]);
