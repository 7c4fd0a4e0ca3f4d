import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { awrsGenerate, awrsSample } from "../../lib/decoding/awrs.ts";
import { compileGrammar } from "../../lib/decoding/grammar.ts";
import { samplingProbabilities } from "../../kernels/sampling.ts";
import { bundledModelPath, loadModel } from "../../lib/models/mod.ts";
import type { Tokenizer } from "../../lib/tokenizers/tokenizer.ts";
import { trainBpe } from "../../lib/tokenizers/train_bpe.ts";
import { Rng } from "../../lib/util/rng.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { chiSquare } from "./_chi_square.ts";

/** A softmax of seeded random logits (spread `scale`). */
function randomDistribution(V: number, seed: number, scale: number): number[] {
  const rng = new Rng(seed);
  const z = Array.from({ length: V }, () => scale * rng.normal());
  const m = Math.max(...z);
  const w = z.map((x) => Math.exp(x - m));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/** Draws n times (counter 0..n-1) and tallies tokens, weights and evaluations. */
function tally(
  p: number[],
  allowed: Set<number>,
  n: number,
  opts: { estimator?: "recursive" | "geometric" | "auto"; seed?: number; maxAccepts?: number },
) {
  const counts = new Array(p.length).fill(0);
  let sw = 0, sw2 = 0, evals = 0;
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    const d = awrsSample(p, { accept: (t) => allowed.has(t), counter: i, ...opts });
    ok(d.token >= 0 && allowed.has(d.token), `drew ${d.token}, which is not allowed`);
    counts[d.token]++;
    sw += d.weight;
    sw2 += d.weight * d.weight;
    evals += d.evaluations;
    used.add(d.estimator);
  }
  const mean = sw / n, sd = Math.sqrt(Math.max(0, sw2 / n - mean * mean));
  return { counts, mean, se: sd / Math.sqrt(n), sd, evals: evals / n, used };
}

// exact masked-and-renormalised distribution and normaliser, by enumeration
function exact(p: number[], allowed: Set<number>) {
  let Z = 0;
  for (let t = 0; t < p.length; t++) if (allowed.has(t)) Z += p[t];
  return { Z, q: p.map((x, t) => (allowed.has(t) ? x / Z : 0)) };
}

const CASES = [
  { name: "flat", p: randomDistribution(12, 1, 1), allowed: new Set([1, 4, 5, 9, 11]) },
  { name: "spread", p: randomDistribution(12, 2, 2.5), allowed: new Set([0, 3, 7]) },
  // peaked: the top token holds > 2/3 of the mass (and is forbidden here), so "auto" is geometric
  {
    name: "peaked",
    p: [0.8, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02, 0.01],
    allowed: new Set([2, 3, 6, 7]),
  },
];

for (const c of CASES) {
  for (const estimator of ["recursive", "geometric", "auto"] as const) {
    Deno.test(`awrsSample (${c.name}, ${estimator}): tokens follow the masked distribution and ŵ is unbiased for Z`, () => {
      const { Z, q } = exact(c.p, c.allowed);
      const n = 20000;
      const r = tally(c.p, c.allowed, n, { estimator, seed: 7 });
      const { chi, critical } = chiSquare(r.counts, q);
      ok(chi < critical, `chi-square ${chi.toFixed(1)} ≥ ${critical.toFixed(1)}: ${r.counts}`);
      // the weight is an estimate, not Z itself: it varies between draws
      ok(r.sd > 0.01, `ŵ has sd ${r.sd}`);
      ok(
        Math.abs(r.mean - Z) < 4 * r.se,
        `mean ŵ ${r.mean.toFixed(5)} ± ${r.se.toFixed(5)} vs Z = ${Z.toFixed(5)}`,
      );
      // the test can see a 5% bias
      ok(4 * r.se < 0.05 * Z, `too few draws to see a 5% bias (se ${r.se})`);
      if (estimator === "auto") {
        // the reference implementation's rule: geometric once the top token holds ≥ 2/3
        deepEqual([...r.used], [Math.max(...c.p) >= 2 / 3 ? "geometric" : "recursive"]);
      }
    });
  }
}

Deno.test("awrsSample: geometric with maxAccepts 4 is unbiased too, with lower variance", () => {
  const c = CASES[0];
  const { Z } = exact(c.p, c.allowed);
  const r2 = tally(c.p, c.allowed, 20000, { estimator: "geometric", seed: 3 });
  const r4 = tally(c.p, c.allowed, 20000, { estimator: "geometric", seed: 3, maxAccepts: 4 });
  ok(Math.abs(r4.mean - Z) < 4 * r4.se, `mean ŵ ${r4.mean} ± ${r4.se} vs Z ${Z}`);
  ok(r4.sd < r2.sd, `sd with 4 accepts ${r4.sd} vs 2 accepts ${r2.sd}`);
  ok(r4.evals > r2.evals);
});

Deno.test("awrsSample: evaluation counts and edge cases", () => {
  const p = randomDistribution(50, 4, 1);
  // everything allowed: the recursive walk evaluates the first token and one more; ŵ = 1
  const all = awrsSample(p, { accept: () => true, estimator: "recursive", seed: 1 });
  equal(all.evaluations, 2);
  equal(all.weight, 1);
  const g = awrsSample(p, { accept: () => true, estimator: "geometric", seed: 1 });
  equal(g.weight, 1);
  ok(g.evaluations <= 2);
  // nothing allowed: every token of positive probability is evaluated once, ŵ = 0
  const p0 = p.map((x, i) => (i < 10 ? 0 : x));
  const s0 = p0.reduce((a, b) => a + b, 0);
  const none = awrsSample(p0.map((x) => x / s0), { accept: () => false, estimator: "recursive" });
  deepEqual({ token: none.token, weight: none.weight, evaluations: none.evaluations }, {
    token: -1,
    weight: 0,
    evaluations: 40,
  });
  const noneG = awrsSample(p0.map((x) => x / s0), { accept: () => false, estimator: "geometric" });
  equal(noneG.token, -1);
  equal(noneG.weight, 0);
  equal(noneG.evaluations, 40);
  // a token of probability 0 is never evaluated nor drawn
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    awrsSample([0, 0.5, 0.5], { accept: (t) => (seen.add(t), t === 2), counter: i });
  }
  ok(!seen.has(0));
  // deterministic in (seed, counter)
  const a = awrsSample(p, { accept: (t) => t % 3 === 0, seed: 9, counter: 4 });
  const b = awrsSample(p, { accept: (t) => t % 3 === 0, seed: 9, counter: 4 });
  deepEqual(a, b);
  throws(() => awrsSample([0.5, 0.6], { accept: () => true }), TokenlabError);
  throws(() => awrsSample([1, -0], { accept: () => true, maxAccepts: 1 }), /maxAccepts/);
  throws(() => awrsSample([0.2, 0.8], {} as never), /accept/);
});

Deno.test("awrsSample: evaluations scale with the forbidden mass ahead, not with V", () => {
  const V = 4096;
  const z = Array.from({ length: V }, (_, t) => 1 / (t + 1)); // Zipf
  const s = z.reduce((a, b) => a + b, 0);
  const p = z.map((x) => x / s);
  const allowed = new Set(Array.from({ length: V }, (_, t) => t).filter((t) => t % 2 === 1));
  const r = tally(p, allowed, 2000, { estimator: "recursive", seed: 2 });
  ok(r.evals < 10, `mean evaluations ${r.evals}`); // a full mask evaluates 4096
});

Deno.test("awrsSample on tiny-target's first JSON step: masked distribution and unbiased ŵ", async () => {
  const model = await loadModel(bundledModelPath("tiny-target"));
  const tok = model.tokenizer as Tokenizer;
  const grammar = compileGrammar({ json: true }, tok, { maxWhitespace: 1 });
  const m = grammar.matcher();
  const V = model.config.vocabSize;
  const logits = await model.logits(Array.from(tok.encode("The value is ")));
  const p = Array.from(
    samplingProbabilities({ data: logits.slice(logits.length - V), shape: [1, V] }, {
      temperature: 1,
    }),
  );
  const mask = m.mask();
  const allowed = new Set<number>();
  for (let t = 0; t < V; t++) if ((mask[t >>> 5] >>> (t & 31)) & 1) allowed.add(t);
  const accept = (t: number) => m.allows(t);
  const { Z, q } = exact(p, allowed);
  ok(Z > 0.001 && Z < 0.9, `Z = ${Z}`);
  const counts = new Array(V).fill(0);
  let sw = 0, sw2 = 0, evals = 0;
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const d = awrsSample(p, { accept, seed: 11, counter: i });
    ok(allowed.has(d.token));
    counts[d.token]++;
    sw += d.weight;
    sw2 += d.weight ** 2;
    evals += d.evaluations;
  }
  const mean = sw / n, se = Math.sqrt((sw2 / n - mean * mean) / n);
  ok(Math.abs(mean - Z) < 4 * se, `mean ŵ ${mean} ± ${se} vs Z ${Z}`);
  const { chi, critical } = chiSquare(counts, q);
  ok(chi < critical, `chi-square ${chi} ≥ ${critical}`);
  ok(evals / n < V / 10, `mean evaluations ${evals / n} of ${V}`);
  equal(m.length, 0); // the evaluations left the matcher where it was
});

Deno.test("awrsGenerate: grammatical, deterministic, first token distributed as the masked model", async () => {
  const model = await loadModel("tests/fixtures/models/llama_gqa");
  const tok = trainBpe("ab ab ba", { vocabSize: model.config.vocabSize });
  const grammar = compileGrammar({ ebnf: 'root ::= ("a" | "b")+' }, tok);
  const out = await awrsGenerate(model, [1, 2], { grammar, maxNewTokens: 6, seed: 1 });
  const again = await awrsGenerate(model, [1, 2], { grammar, maxNewTokens: 6, seed: 1 });
  deepEqual(out, again);
  ok(/^[ab]+$/.test(tok.decode(out.ids.filter((t) => !grammar.stopTokens.includes(t)))));
  equal(out.weights.length, out.ids.length);
  ok(out.weights.every((w) => w > 0 && w <= 1));
  const sum = out.weights.reduce((a, w) => a + Math.log(w), 0);
  ok(Math.abs(out.logWeight - sum) < 1e-12);
  // first token over seeds vs the exactly masked first-step distribution
  const V = model.config.vocabSize;
  const logits = await model.logits([1, 2]);
  const p = samplingProbabilities({ data: logits.slice(logits.length - V), shape: [1, V] }, {
    temperature: 1,
  });
  const mask = grammar.matcher().mask();
  let Z = 0;
  for (let t = 0; t < V; t++) if ((mask[t >>> 5] >>> (t & 31)) & 1) Z += p[t];
  const q = Array.from(p, (x, t) => ((mask[t >>> 5] >>> (t & 31)) & 1 ? x / Z : 0));
  const counts = new Array(V).fill(0);
  for (let s = 0; s < 600; s++) {
    const r = await awrsGenerate(model, [1, 2], { grammar, maxNewTokens: 1, seed: s });
    counts[r.ids[0]]++;
  }
  const { chi, critical } = chiSquare(counts, q);
  ok(chi < critical, `chi-square ${chi} ≥ ${critical}`);
  await awrsGenerate(model, [1, 2], { grammar, temperature: 0 }).then(
    () => ok(false, "temperature 0 must be refused"),
    (e) => ok(e instanceof TokenlabError && /temperature/.test(e.message)),
  );
});
