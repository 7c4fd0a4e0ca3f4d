// Tree verification cases shared by the CPU test (tests/models/tree_test.ts) and the GPU child
// (tests/models/_tree_child.ts): verifying a token tree in one pass equals feeding each
// root-to-leaf path on its own, and accepting a path leaves the cache as if it had been fed.
import type { Model } from "../../lib/models/mod.ts";
import { relErr } from "../_compare.ts";

/** Prefix, then a tree with two roots: 0 → {1 → {3, 4 → 6}, 2 → 5}, root 7 → 8. */
export const PREFIX = [3, 17, 5, 9, 40];
export const TREE = {
  ids: [11, 12, 13, 14, 15, 16, 17, 18, 19],
  parents: [-1, 0, 0, 1, 1, 2, 4, -1, 7],
};

/** Root-to-node paths ending at each leaf. */
export function leafPaths(parents: number[]): number[][] {
  const isParent = new Set(parents);
  const out: number[][] = [];
  parents.forEach((_, i) => {
    if (isParent.has(i)) return;
    const path = [i];
    while (parents[path[0]] >= 0) path.unshift(parents[path[0]]);
    out.push(path);
  });
  return out;
}

/** Tree logits vs each leaf path fed alone after the same prefix (relative error). */
export async function treeVsPaths(model: Model): Promise<number> {
  const V = model.config.vocabSize;
  const cache = model.newCache();
  await model.forward(PREFIX, cache);
  const before = cache.nextPosition;
  const tree = await model.forwardTree(TREE, cache);
  if (cache.nextPosition !== before) throw new Error("forwardTree moved nextPosition");
  if (cache.length(0) !== PREFIX.length + TREE.ids.length) throw new Error("tree not cached");
  const pairs: [Float32Array, Float32Array][] = [];
  for (const path of leafPaths(TREE.parents)) {
    const c = model.newCache();
    await model.forward(PREFIX, c);
    const z = await model.forward(path.map((i) => TREE.ids[i]), c);
    path.forEach((node, k) => {
      pairs.push([tree.subarray(node * V, (node + 1) * V), z.subarray(k * V, (k + 1) * V)]);
    });
  }
  return relErr(pairs);
}

/** After forwardTree + acceptTreePath, the next token's logits equal a plain forward's. */
export async function acceptedPathContinues(model: Model): Promise<number> {
  const path = [0, 1, 4, 6];
  const cache = model.newCache();
  await model.forward(PREFIX, cache);
  await model.forwardTree(TREE, cache);
  cache.acceptTreePath(TREE.parents, path);
  const next = await model.forward([42], cache);
  const plain = model.newCache();
  const want = await model.forward([...PREFIX, ...path.map((i) => TREE.ids[i]), 42], plain);
  const V = model.config.vocabSize;
  if (cache.nextPosition !== plain.nextPosition) throw new Error("nextPosition differs");
  return relErr([[next, want.subarray(want.length - V)]]);
}

/** A chain given as a tree equals Model.forward on the same ids. */
export async function chainEqualsForward(model: Model): Promise<number> {
  const ids = [7, 8, 9, 10];
  const a = model.newCache(), b = model.newCache();
  await model.forward(PREFIX, a);
  await model.forward(PREFIX, b);
  const za = await model.forwardTree({ ids, parents: [-1, 0, 1, 2] }, a);
  const zb = await model.forward(ids, b);
  return relErr([[za, zb]]);
}
