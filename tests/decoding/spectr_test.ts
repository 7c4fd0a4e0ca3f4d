import { equal, ok, throws } from "node:assert/strict";
import {
  kSeqAcceptance,
  kSeqBeta,
  kSeqResidual,
  kSeqRho,
  kSeqSelect,
} from "../../lib/decoding/spectr.ts";
import { drawFrom, residualDistribution } from "../../lib/decoding/verify.ts";
import { samplingUniform } from "../../kernels/mod.ts";
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
import { speculativeGenerate } from "../../lib/decoding/speculative.ts";

function uniforms(seed: number): () => number {
  let n = 0;
  return () => samplingUniform({ seed, row: 0, counter: n++ });
}

/** A random distribution over V with some zeros (seeded). */
function randomDist(V: number, u: () => number, zeros = true): Float64Array {
  const d = new Float64Array(V);
  let t = 0;
  for (let i = 0; i < V; i++) {
    d[i] = zeros && u() < 0.2 ? 0 : u() ** 3;
    t += d[i];
  }
  if (t === 0) d[0] = t = 1;
  return d.map((x) => x / t);
}

/**
 * The exact output distribution and acceptance of one K-SEQ position at a given ρ, by
 * enumerating all V^k draft tuples (written from the paper's rule: accept Xᵢ w.p.
 * min(1, p/(ρq)), else the residual).
 */
function enumerate(p: Float64Array, q: Float64Array, k: number, rho: number) {
  const V = p.length, out = new Float64Array(V);
  const residual = kSeqResidual({ p, q }, { k, rho });
  let accept = 0;
  const tuple = new Array<number>(k).fill(0);
  for (let code = 0; code < V ** k; code++) {
    let c = code, w = 1;
    for (let i = 0; i < k; i++) {
      tuple[i] = c % V;
      c = Math.floor(c / V);
      w *= q[tuple[i]];
    }
    if (w === 0) continue;
    let none = w;
    for (const x of tuple) {
      const a = Math.min(1, p[x] / (rho * q[x]));
      out[x] += none * a;
      accept += none * a;
      none *= 1 - a;
    }
    for (let y = 0; y < V; y++) out[y] += none * residual[y];
  }
  return { out, accept };
}

Deno.test("K-SEQ by enumeration, V 4–5, k 1–4: the output is exactly p, acceptance 1 − (1 − β(ρ*))^k", () => {
  const u = uniforms(11);
  let sawRhoAboveOne = false;
  for (let trial = 0; trial < 12; trial++) {
    const V = 4 + (trial % 2);
    const p = randomDist(V, u), q = randomDist(V, u);
    let last = -1;
    for (let k = 1; k <= 4; k++) {
      const rho = kSeqRho({ p, q }, k);
      ok(rho >= 1 && rho <= k, `ρ* = ${rho} in [1, ${k}]`);
      const { out, accept } = enumerate(p, q, k, rho);
      for (let y = 0; y < V; y++) {
        ok(
          Math.abs(out[y] - p[y]) < 1e-9,
          `trial ${trial}, k ${k}: P(${y}) ${out[y]} vs p ${p[y]}`,
        );
      }
      const want = kSeqAcceptance({ p, q }, k);
      ok(Math.abs(accept - want) < 1e-9, `k ${k}: enumerated acceptance ${accept} vs ${want}`);
      ok(accept >= last - 1e-12, `acceptance grows with k: ${accept} after ${last}`);
      last = accept;
      if (k === 1) {
        // Leviathan: acceptance Σ min(p, q) and residual max(0, p − q) renormalised
        let overlap = 0;
        for (let i = 0; i < V; i++) overlap += Math.min(p[i], q[i]);
        ok(Math.abs(accept - overlap) < 1e-12);
        equal(rho, 1);
        const r = kSeqResidual({ p, q }, { k: 1 }), lev = residualDistribution(p, q);
        for (let i = 0; i < V; i++) ok(Math.abs(r[i] - lev[i]) < 1e-12);
      }
      if (rho > 1.01) {
        sawRhoAboveOne = true;
        // ρ* is the smallest valid ρ: just below it the residual would need negative mass
        const below = rho * (1 - 1e-3);
        const b = kSeqBeta({ p, q }, below);
        ok(1 - (1 - b) ** k > below * b, `ρ* ${rho} is minimal`);
      }
    }
  }
  ok(sawRhoAboveOne, "some trials need ρ* > 1");
  // the enumeration can fail: ρ = 1 with k = 2 drafts over-selects tokens with p ≤ q
  const p = Float64Array.of(0.1, 0.2, 0.3, 0.4), q = Float64Array.of(0.4, 0.3, 0.2, 0.1);
  ok(Math.abs(kSeqRho({ p, q }, 2) - 1.5) < 1e-9); // β(1.5) = 0.5 and 1 − 0.5² = 1.5 · 0.5
  const wrong = enumerate(p, q, 2, 1).out;
  ok(Math.abs(wrong[0] - 0.14) < 1e-12, `P(0) at ρ = 1: ${wrong[0]} (p = 0.1, c = 0.84 / 0.6)`);
});

Deno.test("kSeqSelect: sampled selections follow p (chi-square) with the predicted acceptance", () => {
  const u = uniforms(5);
  const p = Float64Array.of(0.05, 0.4, 0.1, 0.25, 0.0, 0.2);
  const q = Float64Array.of(0.3, 0.1, 0.3, 0.05, 0.15, 0.1);
  for (const k of [1, 3]) {
    const n = 20000, counts = new Float64Array(6);
    let accepted = 0;
    for (let t = 0; t < n; t++) {
      const drafts = Array.from({ length: k }, () => drawFrom(q, u()));
      const r = kSeqSelect({ p, q }, { drafts, uniform: u });
      counts[r.token]++;
      if (r.index >= 0) {
        accepted++;
        equal(r.token, drafts[r.index]);
      }
    }
    const { chi, critical } = chiSquare(counts, p);
    ok(chi < critical, `k ${k}: chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)}`);
    const a = kSeqAcceptance({ p, q }, k), sd = Math.sqrt(a * (1 - a) / n);
    ok(Math.abs(accepted / n - a) < 4 * sd, `k ${k}: acceptance ${accepted / n} vs ${a}`);
    // the draft's own distribution is far from p: the same harness tells them apart
    ok(chiSquare(counts, q).chi > chiSquare(counts, q).critical);
  }
  throws(() => kSeqSelect({ p, q: p }, { drafts: [4], uniform: u }), /probability 0 under q/);
  throws(() => kSeqRho({ p, q: [0.5, 0.5] }, 2), /same vocabulary/);
});

Deno.test("spectr at temperature 0: ids equal plain greedy generate (tiny-target, tiny-draft)", async () => {
  const runs = await checkGreedyIds(target, {
    prompts: PROMPTS.slice(0, 4),
    cases: [["spectr", { method: "spectr", draft, draftSequences: 3, gamma: 3 }]],
    maxNewTokens: 32,
  });
  ok(runs.reduce((a, r) => a + r.result.stats.draftCalls, 0) > 0);
});

Deno.test("spectr at temperature 1, top-k 12: the first new token follows the target (chi-square)", async () => {
  const rate = await checkFirstTokenDistribution(target, {
    prompt: PROMPTS[1],
    options: { method: "spectr", draft, draftSequences: 3, gamma: 1, temperature: 1, topK: 12 },
    n: 500,
  });
  ok(rate > 0.05 && rate < 0.95, `both branches exercised: acceptance ${rate.toFixed(2)}`);
});

Deno.test("spectr, vocabulary of 6, temperature 1: three-token outputs follow the exact distribution", async () => {
  for (const k of [1, 3]) {
    // the vocabulary-6 target (seed 1) with its draft (seed 2)
    const { rate } = await checkThreeTokensExact(tinyVocabModel(1), {
      options: {
        method: "spectr",
        draft: tinyVocabModel(2),
        draftSequences: k,
        gamma: 2,
        temperature: 1,
      },
      n: 4000,
    });
    ok(rate > 0.05 && rate < 0.95, `k ${k}: acceptance ${rate.toFixed(2)}`);
  }
});

Deno.test("spectr: after every step the target's cache equals plain feeding", async () => {
  for (const temperature of [0, 1]) {
    await checkCacheAfterSteps(target, {
      prompt: PROMPTS[3],
      options: {
        method: "spectr",
        draft,
        draftSequences: 3,
        gamma: 3,
        temperature,
        seed: 2,
        maxNewTokens: 14,
      },
      name: `spectr at temperature ${temperature}`,
    });
  }
});

Deno.test("spectr with k = 1 is Leviathan/Chen: the same ids as draft-chain for the same seed", async () => {
  let accepted = 0;
  for (let seed = 0; seed < 4; seed++) {
    const o = { draft, gamma: 3, maxNewTokens: 16, temperature: 1, seed };
    const a = await speculativeGenerate(target, PROMPTS[seed], {
      ...o,
      method: "spectr",
      draftSequences: 1,
    });
    const b = await speculativeGenerate(target, PROMPTS[seed], { ...o, method: "draft-chain" });
    equal(a.ids.join(), b.ids.join(), `seed ${seed}`);
    equal(a.stats.acceptedDrafts, b.stats.acceptedDrafts);
    accepted += a.stats.acceptedDrafts;
  }
  ok(accepted > 0);
});
