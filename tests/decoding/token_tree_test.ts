import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  chainTree,
  expandTreeByProbability,
  topKTree,
  treeFromTemplate,
  treePath,
} from "../../lib/decoding/token_tree.ts";
import { optimalSparseTree } from "../../lib/decoding/sparse_tree.ts";
import { tokenTreeDepths } from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

Deno.test("chainTree and treePath", () => {
  const c = chainTree([5, 6, 7], { source: "ngram" });
  deepEqual(c, { ids: [5, 6, 7], parents: [-1, 0, 1], source: ["root", "ngram", "ngram"] });
  deepEqual(treePath({ ids: [0, 0, 0, 0, 0], parents: [-1, 0, 0, 2, 3] }, 4), [0, 2, 3, 4]);
  throws(() => treePath(c, 3), TokenlabError);
});

Deno.test("treeFromTemplate fills breadth-first by rank, dropping empty slots and repeats", () => {
  // successors: 1 → [2, 3, 2], 2 → [4, -1], 3 → [], 4 → [9]
  const next = new Map([[1, [2, 3, 2]], [2, [4, -1]], [4, [9]]]);
  const template = {
    // root; ranks 1, 2, 3 below it; under node 1 ranks 1 and 2; under node 2 rank 1; 4's child
    parents: [-1, 0, 0, 0, 1, 1, 2, 4],
    ranks: [0, 1, 2, 3, 1, 2, 1, 1],
  };
  const t = treeFromTemplate(template, { root: 1, successors: (x) => next.get(x) ?? [] });
  // rank 3 of the root repeats token 2 (dropped); node 1's rank 2 is empty; token 3 has none
  deepEqual(t.ids, [1, 2, 3, 4, 9]);
  deepEqual(t.parents, [-1, 0, 0, 1, 3]);
  const shallow = treeFromTemplate(template, {
    root: 1,
    successors: (x) => next.get(x) ?? [],
    maxDepth: 1,
  });
  deepEqual(shallow.ids, [1, 2, 3]);
  throws(() => treeFromTemplate({ parents: [0], ranks: [0] }, { root: 1, successors: () => [] }));
  // an optimalSparseTree is a template: every node filled when successors never run out
  const s = optimalSparseTree(9, { alpha: 0.6 });
  const full = treeFromTemplate(s, { root: 0, successors: (x) => [x + 1, x + 2, x + 3, x + 4] });
  deepEqual(full.parents, s.parents);
  deepEqual(tokenTreeDepths(full), s.depths);
  full.ids.forEach((id, i) => {
    if (i > 0) equal(id, full.ids[full.parents[i]] + s.ranks[i]);
  });
});

Deno.test("topKTree: a complete tree of width^d nodes per level", () => {
  const t = topKTree(10, { depth: 3, width: 2, successors: (x) => [2 * x, 2 * x + 1] });
  equal(t.ids.length, 1 + 2 + 4 + 8);
  deepEqual(t.ids.slice(0, 7), [10, 20, 21, 40, 41, 42, 43]);
  deepEqual(tokenTreeDepths(t).filter((d) => d === 3).length, 8);
  throws(() => topKTree(0, { depth: 1, width: 0, successors: () => [] }), TokenlabError);
});

Deno.test("expandTreeByProbability keeps the most probable paths (brute force)", async () => {
  // a fixed 3-ary model: each token's children are 3 tokens with probabilities by parity
  const probsOf = (t: number) => t % 2 ? [0.5, 0.3, 0.2] : [0.7, 0.2, 0.1];
  const propose = (path: number[]) => {
    const t = path.at(-1)!;
    return { ids: [3 * t + 1, 3 * t + 2, 3 * t + 3], probs: probsOf(t) };
  };
  let calls = 0;
  const tree = await expandTreeByProbability(0, {
    budget: 7,
    propose: (p) => {
      calls++;
      return Promise.resolve(propose(p));
    },
  });
  equal(tree.ids.length, 8);
  // brute force: every node of the 3-ary tree to depth 7 with its path probability
  const all: { id: number; p: number }[] = [];
  const walk = (t: number, p: number, d: number) => {
    if (d === 7) return;
    propose([t]).ids.forEach((c, r) => {
      all.push({ id: c, p: p * probsOf(t)[r] });
      walk(c, p * probsOf(t)[r], d + 1);
    });
  };
  walk(0, 1, 0);
  all.sort((a, b) => b.p - a.p);
  const pathP = (i: number): number => {
    if (i === 0) return 1;
    const parent = tree.parents[i], t = tree.ids[parent];
    const r = propose([t]).ids.indexOf(tree.ids[i]);
    return pathP(parent) * probsOf(t)[r];
  };
  const got = tree.ids.slice(1).map((_, i) => pathP(i + 1)).sort((a, b) => b - a);
  const want = all.slice(0, 7).map((x) => x.p);
  got.forEach((p, i) => ok(Math.abs(p - want[i]) < 1e-12, `${got} vs ${want}`));
  ok(calls <= 8, `propose called ${calls} times`);
  // depth limit: a chain-free budget spreads over the root's children
  const flat = await expandTreeByProbability(0, { budget: 5, propose, maxDepth: 1 });
  deepEqual(flat.parents, [-1, 0, 0, 0]);
  await rejects(() => expandTreeByProbability(0, { budget: -1, propose }), TokenlabError);
});
