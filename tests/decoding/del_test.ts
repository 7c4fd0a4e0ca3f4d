import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  type DelRound,
  ExitAcceptanceTracker,
  exitTpl,
  exitTplSurface,
} from "../../lib/decoding/del.ts";
import { speculativeGenerate, type SpeculativeOptions } from "../../lib/decoding/speculative.ts";
import {
  checkCacheAfterSteps,
  checkGreedyIds,
  checkThreeTokensExact,
  PROMPTS as SHARED,
  target,
  tinyVocabModel,
} from "./_speculative_checks.ts";

Deno.test("exitTpl: E[tokens] / layers by hand", () => {
  // α 0.5, ℓ 1, γ 2, L 4: E = 1 + 0.5 + 0.25 = 1.75; cost (4 − 2) + 3·2 = 8
  ok(Math.abs(exitTpl({ alpha: 0.5, exitLayer: 1, gamma: 2, numLayers: 4 }) - 1.75 / 8) < 1e-15);
  // γ 0 is plain decoding: 1 token for L layers
  equal(exitTpl({ alpha: 0.9, exitLayer: 2, gamma: 0, numLayers: 4 }), 1 / 4);
  // closed form (1 − α^{γ+1}) / (1 − α)
  const a = 0.7, g = 4;
  ok(
    Math.abs(
      exitTpl({ alpha: a, exitLayer: 0, gamma: g, numLayers: 6 }) -
        (1 - a ** (g + 1)) / (1 - a) / (5 + 5),
    ) < 1e-12,
  );
  const s = exitTplSurface([NaN, 1], { numLayers: 3, gammaMax: 2 });
  ok(Number.isNaN(s[0][0]));
  // α 1 at ℓ 1 of 3 layers: γ 1 gives 2 tokens for 1 + 2·2 = 5 layers
  equal(s[1][1], 2 / 5);
});

Deno.test("ExitAcceptanceTracker: clipped after the exit layer's first mismatch, EMA ω, TPL choice", () => {
  const t = new ExitAcceptanceTracker({ numLayers: 4, gammaMax: 4, omega: 0.5 });
  deepEqual(t.choose(), { exitLayer: 0, gamma: 1, tpl: NaN }, "DEL's start before data");
  t.update({
    final: [1, 2, 3, 4, 5],
    // exit 1 first mismatches at position 2: positions 0..2 are kept
    shadow: [[1, 0, 0, 4, 5], [1, 2, 0, 4, 5], [1, 2, 3, 4, 5]],
    confidence: [[0.9, 0.2, 0.1, 1, 1], [0.8, 0.7, 0.3, 1, 1], [1, 1, 1, 1, 1]],
    exitLayer: 1,
  });
  deepEqual(t.counts, [[1, 2], [2, 1], [3, 0]]);
  deepEqual(t.alpha(), [1 / 3, 2 / 3, 1]);
  const c1 = t.meanConfidence(1);
  ok(Math.abs(c1.matched - 0.75) < 1e-12 && Math.abs(c1.mismatched - 0.3) < 1e-12);
  // a second round halves the old counts first
  t.update({ final: [7], shadow: [[7], [0], [7]], exitLayer: 0 });
  deepEqual(t.counts, [[1.5, 1], [1, 1.5], [2.5, 0]]);
  // the choice is the surface's argmax, found independently here
  const alpha = t.alpha();
  let best = { exitLayer: -1, gamma: -1, tpl: -Infinity };
  for (let l = 0; l < 3; l++) {
    for (let g = 0; g < 4; g++) {
      let e = 0;
      for (let k = 0; k <= g; k++) e += alpha[l] ** k;
      const tpl = e / (4 - l - 1 + (g + 1) * (l + 1));
      if (tpl > best.tpl) best = { exitLayer: l, gamma: g, tpl };
    }
  }
  const got = t.choose();
  deepEqual([got.exitLayer, got.gamma], [best.exitLayer, best.gamma]);
  ok(Math.abs(got.tpl - best.tpl) < 1e-12);
  equal(t.history.length, 2);
  // the prompt's context is counted whole (no clipping)
  const u = new ExitAcceptanceTracker({ numLayers: 2 });
  u.update({ final: [1, 2, 3], shadow: [[0, 2, 3]], exitLayer: 0, noClip: true });
  deepEqual(u.counts, [[2, 1]]);
  u.update({ final: [1, 2, 3], shadow: [[0, 2, 3]], exitLayer: 0 });
  deepEqual(u.counts, [[2, 2]], "clipped: only the first mismatch counts");
  throws(() => t.update({ final: [1], shadow: [[1]], exitLayer: 0 }), /3 rows of 1/);
  throws(() => new ExitAcceptanceTracker({ numLayers: 1 }), /≥ 2/);
});

// a Brown continuation, a list and a license clause
const PROMPTS = [SHARED[0], SHARED[2], SHARED[3]];
const CASES: [string, SpeculativeOptions][] = [
  ["del (dynamic)", { method: "del" }],
  ["del, static ℓ 2 γ 3", { method: "del", delExitLayer: 2, delGamma: 3 }],
  ["del, static ℓ 0 γ 5 with confidence exit", {
    method: "del",
    delExitLayer: 0,
    delGamma: 5,
    delConfidenceExit: true,
  }],
  ["del, γ 0", { method: "del", delExitLayer: 1, delGamma: 0 }],
];

Deno.test("del at temperature 0: ids equal plain greedy generate, token for token", async () => {
  // a fresh tracker per run
  const runs = await checkGreedyIds(target, {
    prompts: PROMPTS,
    cases: CASES.map(([name, o]) => [name, () => ({
      ...o,
      delTracker: new ExitAcceptanceTracker({ numLayers: 4 }),
    })]),
    maxNewTokens: 30,
  });
  equal(runs.length, PROMPTS.length * CASES.length);
  for (const { name, options, result } of runs) {
    if (name.includes("γ 0")) continue;
    ok(result.stats.draftCalls > 0, `${name}: drafted`);
    ok(options.delTracker!.history.length > 0, `${name}: the tracker saw rounds`);
  }
});

Deno.test("del: after every step the target's cache equals feeding the committed tokens plainly", async () => {
  for (
    const [name, o] of [
      ...CASES,
      ["del at T 1", { method: "del", temperature: 1, seed: 3 }],
    ] as [string, SpeculativeOptions][]
  ) {
    await checkCacheAfterSteps(target, {
      prompt: PROMPTS[2],
      options: { ...o, maxNewTokens: 14 },
      name,
    });
  }
});

Deno.test("del at temperature 1, vocabulary 6: three-token outputs follow the exactly enumerated distribution", async () => {
  // a vocabulary-6, 3-layer Llama: exits below the last layer
  const { rate } = await checkThreeTokensExact(tinyVocabModel(1, 3), {
    options: { method: "del", delExitLayer: 0, delGamma: 3, temperature: 1 },
    n: 4000,
  });
  ok(rate > 0.05 && rate < 0.95, `acceptance ${rate.toFixed(2)}: both branches exercised`);
});

Deno.test("del: the round log agrees with the loop's statistics and DEL's cost model", async () => {
  const log: DelRound[] = [];
  const r = await speculativeGenerate(target, PROMPTS[1], {
    method: "del",
    delExitLayer: 1,
    delGamma: 3,
    delLog: log,
    maxNewTokens: 20,
  });
  equal(log.length, r.stats.acceptedLengths.length);
  equal(log.reduce((a, x) => a + x.accepted, 0), r.stats.acceptedDrafts);
  equal(log.reduce((a, x) => a + x.gamma, 0), r.stats.draftedNodes);
  for (const x of log) {
    ok(x.gamma <= 3 && x.exitLayer === 1);
    equal(x.layerCost, 4 - 2 + (x.gamma + 1) * 2);
  }
});
