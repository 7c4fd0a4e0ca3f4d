import { deepEqual, equal, ok } from "node:assert/strict";
import { dynamicDraftTree, templateDraftTree } from "../../lib/decoding/dyspec_tree.ts";
import { type DraftTree, expandTreeByProbability } from "../../lib/decoding/token_tree.ts";
import { rejectionWalk } from "../../lib/decoding/verify.ts";
import { optimalSparseTree } from "../../lib/decoding/sparse_tree.ts";
import { samplingProbabilities, samplingUniform } from "../../kernels/mod.ts";
import { chiSquare } from "./_chi_square.ts";
import {
  checkCacheAfterSteps,
  checkFirstTokenDistribution,
  checkGreedyIds,
  checkThreeTokensExact,
  draft,
  PROMPTS,
  target,
  tinyVocabModel,
} from "./_speculative_checks.ts";
import type { SpeculativeOptions } from "../../lib/decoding/speculative.ts";

/** Greedy ids equal generate's on the first four shared prompts; the total draft calls. */
async function greedyDraftCalls(o: SpeculativeOptions, max = 32): Promise<number> {
  const runs = await checkGreedyIds(target, {
    prompts: PROMPTS.slice(0, 4),
    cases: [[o.method, o]],
    maxNewTokens: max,
  });
  return runs.reduce((a, r) => a + r.result.stats.draftCalls, 0);
}

/** Three-token outputs of the vocabulary-6 target (seed 1) with its draft (seed 2). */
async function threeTokensRate(o: SpeculativeOptions, n: number): Promise<number> {
  const options = { ...o, draft: tinyVocabModel(2) };
  return (await checkThreeTokensExact(tinyVocabModel(1), { options, n })).rate;
}

function uniforms(seed: number): () => number {
  let n = 0;
  return () => samplingUniform({ seed, row: 0, counter: n++ });
}

/** Synthetic draft rows over V = 7: a hash of the node's path. */
function pathRow(path: number[]): Float32Array {
  const r = new Float32Array(7);
  let h = 17;
  for (const t of path) h = (h * 31 + t + 3) % 1009;
  for (let i = 0; i < 7; i++) r[i] = ((h * (i + 5)) % 13) / 3;
  return r;
}
const pathOf = (tree: DraftTree, n: number) => {
  const p = [tree.ids[n]];
  for (let a = tree.parents[n]; a >= 0; a = tree.parents[a]) p.unshift(tree.ids[a]);
  return p;
};

Deno.test("temperature 0: the dynamic tree is expandTreeByProbability's best-first tree", async () => {
  for (const budget of [1, 5, 12]) {
    let requests = 0;
    const got = await dynamicDraftTree(2, {
      budget,
      sampling: { temperature: 0 },
      uniform: () => 0,
      rows: (tree, nodes) => {
        requests++;
        return Promise.resolve(nodes.map((n) => pathRow(pathOf(tree, n))));
      },
    });
    const want = await expandTreeByProbability(2, {
      budget,
      propose: (path) => {
        const p = samplingProbabilities({ data: pathRow(path), shape: [1, 7] }, { temperature: 1 });
        const ids = [...p.keys()].sort((a, b) => p[b] - p[a] || a - b);
        return { ids, probs: ids.map((i) => p[i]) };
      },
    });
    deepEqual(got.ids, want.ids, `budget ${budget}`);
    deepEqual(got.parents, want.parents, `budget ${budget}`);
    equal(got.requests, requests);
  }
});

Deno.test("sampling: siblings are drawn without replacement, each q the renormalised rest", async () => {
  const u = uniforms(3);
  for (let trial = 0; trial < 20; trial++) {
    const tree = await dynamicDraftTree(1, {
      budget: 9,
      sampling: { temperature: 1 },
      uniform: u,
      rows: (t, nodes) => Promise.resolve(nodes.map((n) => pathRow(pathOf(t, n)))),
    });
    equal(tree.ids.length, 10);
    for (let n = 1; n < tree.ids.length; n++) {
      const P = tree.parents[n];
      const full = samplingProbabilities({ data: pathRow(pathOf(tree, P)), shape: [1, 7] }, {
        temperature: 1,
      });
      const earlier = tree.ids.filter((_, j) => j < n && tree.parents[j] === P);
      ok(!earlier.includes(tree.ids[n]), "no repeated sibling");
      const rest = 1 - earlier.reduce((s, t) => s + full[t], 0);
      for (let t = 0; t < 7; t++) {
        const want = earlier.includes(t) ? 0 : full[t] / rest;
        ok(Math.abs(tree.q![n]![t] - want) < 1e-9, `node ${n}, token ${t}`);
      }
      ok(Math.abs(tree.pathProbability[n] - tree.pathProbability[P] * full[tree.ids[n]]) < 1e-12);
    }
  }
});

Deno.test("rejectionWalk over siblings drawn without replacement is lossless; i.i.d. residuals would not be", () => {
  // one level: 3 siblings drawn without replacement from q, verified against p
  const V = 5;
  const q = Float64Array.of(0.5, 0.25, 0.15, 0.1, 0);
  const p = Float64Array.of(0.1, 0.2, 0.3, 0.15, 0.25);
  const logp = Float32Array.from(p, (x) => Math.log(x));
  const logits = new Float32Array(4 * V);
  logits.set(logp, 0);
  const u = uniforms(9);
  const n = 30000;
  const right = new Float64Array(V), wrong = new Float64Array(V);
  for (let t = 0; t < n; t++) {
    const ids = [0], parents = [-1], qs: (Float64Array | null)[] = [null];
    const taken = new Set<number>();
    for (let s = 0; s < 3; s++) {
      const rest = q.map((x, i) => taken.has(i) ? 0 : x);
      const tot = rest.reduce((a, b) => a + b, 0);
      const qi = rest.map((x) => x / tot);
      let c = 0, x = 0;
      const r = u();
      for (; x < V; x++) if ((c += qi[x]) > r && qi[x] > 0) break;
      taken.add(x);
      ids.push(x);
      parents.push(0);
      qs.push(qi);
    }
    const o = { logits, vocabSize: V, start: 0, sampling: { temperature: 1 }, uniform: u };
    const a = rejectionWalk({ ids, parents, q: qs }, o);
    right[a.path.length > 1 ? ids[a.path[1]] : a.next]++;
    const b = rejectionWalk({ ids, parents, q: [null, q, q, q] }, o);
    wrong[b.path.length > 1 ? ids[b.path[1]] : b.next]++;
  }
  const ok1 = chiSquare(right, p), bad = chiSquare(wrong, p);
  ok(
    ok1.chi < ok1.critical,
    `without replacement: chi ${ok1.chi.toFixed(1)} ≥ ${ok1.critical.toFixed(1)}`,
  );
  ok(
    bad.chi > bad.critical,
    `i.i.d. residuals on distinct siblings: chi ${bad.chi.toFixed(1)} should be large`,
  );
});

Deno.test("templateDraftTree fills a fixed shape level by level (one request per level)", async () => {
  const template = optimalSparseTree(9, { alpha: 0.6 });
  const greedy = await templateDraftTree(3, {
    template,
    sampling: { temperature: 0 },
    uniform: () => 0,
    rows: (t, nodes) => Promise.resolve(nodes.map((n) => pathRow(pathOf(t, n)))),
  });
  // the same shape: per node (depth, rank among siblings) as a multiset
  const shape = (parents: number[], rankOf: (i: number) => number) =>
    parents.map((_, i) => {
      let d = 0;
      for (let a = i; parents[a] >= 0; a = parents[a]) d++;
      return `${d}:${rankOf(i)}:${parents[i] < 0 ? "" : rankOf(parents[i])}`;
    }).sort();
  const ranksIn = (parents: number[]) => (i: number) =>
    parents.slice(0, i + 1).filter((p) => p === parents[i]).length;
  deepEqual(
    shape(greedy.parents, ranksIn(greedy.parents)),
    shape(template.parents, (i) => i === 0 ? 1 : template.ranks[i]),
  );
  const depth = Math.max(...template.parents.map((_, i) => {
    let d = 0;
    for (let a = i; template.parents[a] >= 0; a = template.parents[a]) d++;
    return d;
  }));
  equal(greedy.requests, depth);
  for (let n = 1; n < greedy.ids.length; n++) {
    const P = greedy.parents[n];
    const row = pathRow(pathOf(greedy, P));
    const order = [...row.keys()].sort((a, b) => row[b] - row[a] || a - b);
    equal(greedy.ids[n], order[ranksIn(greedy.parents)(n) - 1], `node ${n}`);
  }
  const sampled = await templateDraftTree(3, {
    template,
    sampling: { temperature: 1 },
    uniform: uniforms(1),
    rows: (t, nodes) => Promise.resolve(nodes.map((n) => pathRow(pathOf(t, n)))),
  });
  deepEqual(sampled.parents, greedy.parents);
  for (let n = 1; n < sampled.ids.length; n++) {
    const sib = sampled.ids.filter((_, j) => j !== n && sampled.parents[j] === sampled.parents[n]);
    ok(!sib.includes(sampled.ids[n]));
  }
});

Deno.test("dyspec at temperature 0: ids equal plain greedy generate (tiny-target, tiny-draft)", async () => {
  ok(await greedyDraftCalls({ method: "dyspec", draft, treeBudget: 10 }) > 0);
  const template = optimalSparseTree(9, { alpha: 0.6 });
  ok(await greedyDraftCalls({ method: "dyspec", draft, dyspecTemplate: template }, 20) > 0);
});

Deno.test("dyspec at temperature 1, top-k 12: the first new token follows the target (chi-square)", async () => {
  const rate = await checkFirstTokenDistribution(target, {
    prompt: PROMPTS[1],
    options: { method: "dyspec", draft, treeBudget: 4, temperature: 1, topK: 12 },
    n: 500,
  });
  ok(rate > 0.02 && rate < 0.95, `both branches exercised: acceptance ${rate.toFixed(2)}`);
});

Deno.test("dyspec, vocabulary of 6, temperature 1: three-token outputs follow the exact distribution", async () => {
  const rate = await threeTokensRate({ method: "dyspec", treeBudget: 5, temperature: 1 }, 4000);
  ok(rate > 0.05 && rate < 0.95, `acceptance ${rate.toFixed(2)}`);
  const fixed = await threeTokensRate({
    method: "dyspec",
    dyspecTemplate: { parents: [-1, 0, 0, 1, 1, 2], ranks: [0, 1, 2, 1, 2, 1] },
    temperature: 1,
  }, 3000);
  ok(fixed > 0.05 && fixed < 0.95, `fixed tree: acceptance ${fixed.toFixed(2)}`);
});

Deno.test("dyspec: after every step the target's cache equals plain feeding", async () => {
  for (const temperature of [0, 1]) {
    const options = { method: "dyspec", draft, treeBudget: 8, temperature, seed: 5 } as const;
    await checkCacheAfterSteps(target, {
      prompt: PROMPTS[3],
      options: { ...options, maxNewTokens: 14 },
      name: `dyspec at temperature ${temperature}`,
    });
  }
});
