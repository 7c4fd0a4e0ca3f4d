import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  drawFrom,
  greedyWalk,
  rejectionWalk,
  residualDistribution,
} from "../../lib/decoding/verify.ts";
import { treePath } from "../../lib/decoding/token_tree.ts";
import { samplingUniform } from "../../kernels/mod.ts";
import { bundledModelPath, loadModel } from "../../lib/models/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { chiSquare } from "./_chi_square.ts";

Deno.test("greedyWalk: follows the argmax child, lowest index on ties; bonus from the last node", () => {
  // vocab 4. tree: 0 (committed) → children 1 (token 2), 2 (token 3); 1 → 3 (token 0)
  const tree = { ids: [1, 2, 3, 0], parents: [-1, 0, 0, 1] };
  const rows = [
    [0, 1, 5, 5], // node 0: tie between 2 and 3 → 2 (node 1)
    [4, 0, 0, 0], // node 1: argmax 0 → node 3
    [0, 0, 0, 0],
    [0, 0, 0, 7], // node 3 (leaf): next 3
  ];
  const logits = new Float32Array(rows.flat());
  deepEqual(greedyWalk(tree, { logits, vocabSize: 4, start: 0 }), {
    path: [0, 1, 3],
    next: 3,
    accepted: 2,
  });
  // from the virtual root: the roots are candidates checked against contextLogits
  const forest = { ids: [3, 2], parents: [-1, -1] };
  const r = greedyWalk(forest, {
    logits: new Float32Array([0, 0, 0, 0, 9, 0, 0, 0]),
    vocabSize: 4,
    contextLogits: new Float32Array([0, 0, 1, 0]),
  });
  deepEqual(r, { path: [1], next: 0, accepted: 1 });
  throws(() => greedyWalk(forest, { logits: new Float32Array(8), vocabSize: 4 }), /contextLogits/);
  throws(() => greedyWalk(tree, { logits: new Float32Array(3), vocabSize: 4 }), TokenlabError);
});

Deno.test("residualDistribution and drawFrom", () => {
  const p = Float64Array.of(0.5, 0.3, 0.2);
  deepEqual(Array.from(residualDistribution(p, Float64Array.of(0.2, 0.6, 0.2))), [1, 0, 0]);
  const r = residualDistribution(p, 1); // a rejected deterministic draft of token 1
  deepEqual(Array.from(r).map((x) => +x.toFixed(12)), [0.714285714286, 0, 0.285714285714]);
  equal(residualDistribution(p, p), p); // p = q: no residual mass, p unchanged
  equal(drawFrom([0.2, 0.5, 0.3], 0), 0);
  equal(drawFrom([0.2, 0.5, 0.3], 0.2), 1); // running sum must exceed u × total
  equal(drawFrom([0, 2, 0, 2], 0.99), 3);
  throws(() => drawFrom([0, 0], 0.5), TokenlabError);
});

Deno.test("rejectionWalk at temperature 0 is the greedy walk", () => {
  const rng = new Rng(5);
  const V = 7, tree = { ids: [0, 1, 2, 3, 4, 5, 6], parents: [-1, 0, 0, 1, 1, 3, 2] };
  for (let trial = 0; trial < 50; trial++) {
    const logits = new Float32Array(tree.ids.length * V).map(() => Math.floor(rng.next() * 4));
    const opts = { logits, vocabSize: V, start: 0 };
    deepEqual(
      rejectionWalk(tree, { ...opts, sampling: { temperature: 0 }, uniform: () => rng.next() }),
      greedyWalk(tree, opts),
    );
  }
});

// Two siblings drawn without replacement from q below a committed node; the first new token
// must follow the target's p whatever q is — and must not when the walk is told the wrong q
// (a deterministic draft, q absent, would be lossless too: a point mass at the drawn token).
function firstTokenCounts(wrongQ: boolean, n: number): { counts: number[]; p: number[] } {
  const V = 5;
  const logitsRoot = [1.2, 0.1, -0.5, 0.8, -1];
  const z = logitsRoot.reduce((s, x) => s + Math.exp(x), 0);
  const p = logitsRoot.map((x) => Math.exp(x) / z);
  const q = Float64Array.of(0.05, 0.5, 0.3, 0.05, 0.1); // far from p
  const uniform5 = new Float64Array(V).fill(1 / V);
  let c = 0;
  const u = () => samplingUniform({ seed: 3, row: 0, counter: c++ });
  const counts = new Array(V).fill(0);
  for (let i = 0; i < n; i++) {
    const x1 = drawFrom(q, u());
    const q2 = Float64Array.from(q, (v, j) => (j === x1 ? 0 : v));
    const s2 = q2.reduce((s, v) => s + v, 0);
    q2.forEach((v, j) => q2[j] = v / s2);
    const x2 = drawFrom(q2, u());
    // the wrong q: the walk is told the drafts came from a uniform distribution
    const told = wrongQ ? [null, uniform5, uniform5] : [null, q, q2];
    const tree = { ids: [0, x1, x2], parents: [-1, 0, 0], q: told };
    const logits = new Float32Array(3 * V);
    logits.set(logitsRoot);
    const r = rejectionWalk(tree, {
      logits,
      vocabSize: V,
      start: 0,
      sampling: { temperature: 1 },
      uniform: u,
    });
    counts[r.path.length > 1 ? tree.ids[r.path[1]] : r.next]++;
  }
  return { counts, p };
}

Deno.test("rejectionWalk keeps the target distribution (chi-square), and a wrong q is caught", () => {
  const good = firstTokenCounts(false, 20000);
  const g = chiSquare(good.counts, good.p);
  ok(g.chi < g.critical, `lossless walk: chi ${g.chi.toFixed(1)} ≥ ${g.critical.toFixed(1)}`);
  const bad = firstTokenCounts(true, 20000);
  const b = chiSquare(bad.counts, bad.p);
  ok(b.chi > b.critical, `the test must reject a lossy walk: chi ${b.chi.toFixed(1)}`);
  // a draft token its q gives probability 0 is refused
  throws(
    () =>
      rejectionWalk({ ids: [0, 1], parents: [-1, 0], q: [null, Float64Array.of(1, 0)] }, {
        logits: new Float32Array(4),
        vocabSize: 2,
        start: 0,
        sampling: { temperature: 1 },
        uniform: () => 0.5,
      }),
    /probability 0 under its q/,
  );
});

Deno.test("CPU: tree verification rows equal plain decoding's rows bit for bit (tiny-target)", async () => {
  const m = await loadModel(bundledModelPath("tiny-target"));
  const V = m.config.vocabSize;
  const prefix = Array.from(m.tokenizer!.encode("The jury said it did find that"));
  const rng = new Rng(9);
  const tok = () => Math.floor(rng.next() * V);
  // a random tree: 14 nodes, each under a random earlier node or a root
  const parents = [-1];
  for (let i = 1; i < 14; i++) parents.push(Math.floor(rng.next() * (i + 1)) - 1);
  const tree = { ids: parents.map(tok), parents };
  const cache = m.newCache();
  await m.forward(prefix, cache);
  const rows = await m.forwardTree(tree, cache);
  for (let node = 0; node < parents.length; node++) {
    if (parents.some((p) => p === node)) continue; // leaves only: their paths cover every node
    // the path fed one token at a time, as generate does
    const path = treePath(tree, node);
    const c = m.newCache();
    await m.forward(prefix, c);
    for (const i of path) {
      const one = await m.forward([tree.ids[i]], c);
      deepEqual(one, rows.slice(i * V, (i + 1) * V), `node ${i} on the path to leaf ${node}`);
    }
  }
});
