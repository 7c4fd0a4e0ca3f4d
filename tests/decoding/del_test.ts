import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  type DelRound,
  ExitAcceptanceTracker,
  exitTpl,
  exitTplSurface,
} from "../../lib/decoding/del.ts";
import { speculativeGenerate, type SpeculativeOptions } from "../../lib/decoding/speculative.ts";
import { samplingProbabilities } from "../../kernels/mod.ts";
import {
  bundledModelPath,
  generate,
  type KvCache,
  loadModel,
  type Model,
  parseConfig,
  TinyLM,
} from "../../lib/models/mod.ts";
import { chiSquare } from "./_chi_square.ts";

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

const target = await loadModel(bundledModelPath("tiny-target"));
const encode = (s: string) => Array.from(target.tokenizer!.encode(s));
const PROMPTS = [
  "The Fulton County Grand Jury said Friday an investigation of recent primary election",
  "1. apples 2. pears 3. plums 4. apples 5. pears 6. plums 7. apples 8.",
  "THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY KIND. THE SOFTWARE IS PROVIDED",
].map(encode);
const CASES: [string, Partial<SpeculativeOptions>][] = [
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
  const max = 30;
  for (let i = 0; i < PROMPTS.length; i++) {
    const plain = await generate(target, PROMPTS[i], { maxNewTokens: max });
    for (const [name, o] of CASES) {
      const tracker = new ExitAcceptanceTracker({ numLayers: 4 });
      const r = await speculativeGenerate(target, PROMPTS[i], {
        ...o,
        method: "del",
        delTracker: tracker,
        maxNewTokens: max,
      });
      deepEqual(r.ids, plain, `${name}, prompt ${i}`);
      equal(r.stats.newTokens, max);
      if (!name.includes("γ 0")) {
        ok(r.stats.draftCalls > 0, `${name}: drafted`);
        ok(tracker.history.length > 0, `${name}: the tracker saw rounds`);
      }
    }
  }
});

Deno.test("del: after every step the target's cache equals feeding the committed tokens plainly", async () => {
  for (
    const [name, o] of [...CASES, ["del at T 1", { method: "del", temperature: 1, seed: 3 }]] as [
      string,
      Partial<SpeculativeOptions>,
    ][]
  ) {
    let steps = 0;
    const checks: Promise<void>[] = [];
    await speculativeGenerate(target, PROMPTS[2], {
      ...o,
      method: "del",
      maxNewTokens: 14,
      onStep: ({ ids, cache }) => {
        steps++;
        const snap = snapshot(cache);
        checks.push((async () => {
          const plain = target.newCache();
          await target.forward(ids.slice(0, -1), plain);
          for (let l = 0; l < plain.numLayers; l++) {
            deepEqual(snap.k[l], plain.keyRows(l), `${name}, step ${steps}, keys ${l}`);
            deepEqual(snap.v[l], plain.valueRows(l), `${name}, step ${steps}, values ${l}`);
            deepEqual(snap.p[l], plain.positions[l]);
          }
          equal(snap.next, plain.nextPosition);
        })());
      },
    });
    await Promise.all(checks);
    ok(steps > 1, name);
  }
});

function snapshot(c: KvCache) {
  const k: Float32Array[] = [], v: Float32Array[] = [], p: number[][] = [];
  for (let l = 0; l < c.numLayers; l++) {
    k.push(c.keyRows(l).slice());
    v.push(c.valueRows(l).slice());
    p.push([...c.positions[l]]);
  }
  return { k, v, p, next: c.nextPosition };
}

/** A vocabulary-6, 3-layer Llama with peaked random weights. */
function tinyVocabModel(seed: number): Model {
  const config = parseConfig({
    model_type: "llama",
    hidden_size: 16,
    num_hidden_layers: 3,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 32,
    vocab_size: 6,
    tie_word_embeddings: true,
  });
  return new TinyLM(config, { seed, initStd: 0.6 }).toModel();
}

Deno.test("del at temperature 1, vocabulary 6: three-token outputs follow the exactly enumerated distribution", async () => {
  const t = tinyVocabModel(1), V = 6, prompt = [0, 3, 1, 0, 3];
  const probs = async (ids: number[]) => {
    const z = await t.logits(ids);
    return samplingProbabilities({ data: z.subarray(z.length - V), shape: [1, V] }, {
      temperature: 1,
    });
  };
  const exact = new Float64Array(V ** 3);
  const p1 = await probs(prompt);
  for (let a = 0; a < V; a++) {
    const p2 = await probs([...prompt, a]);
    for (let b = 0; b < V; b++) {
      const p3 = await probs([...prompt, a, b]);
      for (let c = 0; c < V; c++) exact[(a * V + b) * V + c] = p1[a] * p2[b] * p3[c];
    }
  }
  const n = 4000, counts = new Float64Array(V ** 3);
  let drafted = 0, accepted = 0;
  for (let seed = 0; seed < n; seed++) {
    const r = await speculativeGenerate(t, prompt, {
      method: "del",
      delExitLayer: 0,
      delGamma: 3,
      maxNewTokens: 3,
      temperature: 1,
      seed,
    });
    const [a, b, c] = r.ids.slice(prompt.length);
    counts[(a * V + b) * V + c]++;
    drafted += r.stats.draftedNodes;
    accepted += r.stats.acceptedDrafts;
  }
  const { chi, critical, df } = chiSquare(counts, exact);
  ok(chi < critical, `chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)} (df ${df})`);
  const rate = accepted / drafted;
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
