/**
 * Speculative decoding, every method on one engine: τ (tokens per target call, prefill
 * included) first and wall-clock speed-up against plain `generate` in the same process second,
 * per method × task category of the Spec-Bench-style harness (`runSpecBench` on
 * `specBenchPrompts`: held-out Brown continuation, code, repetition-heavy text, UDHR,
 * "repeat the key sentence"), with the default tiny models. Every method listed in
 * `SPECULATIVE_METHODS` runs (Token Recycling twice: cold and hot start, and once more with
 * `treeBudget: "auto"`); at temperature 0 every run is checked to give `generate`'s ids and the
 * command fails when one does not. Then the verification-latency curve (`measureTreeLatency`),
 * which is why speed-up < τ here, the size its prior alone (α 0.6) would pick, and the budgets
 * `treeBudget: "auto"` chose per step from the acceptance it measured (`stats.treeBudgets`).
 *
 * Run: `deno task bench:speculative [--per-category 3] [--prompt-tokens 64] [--tokens 48]
 * [--reps 1] [--backend cpu|gpu] [--json out.json]`. Timings on a shared CPU are rough: runs
 * are interleaved in a seeded random order per prompt and the warm-up is discarded.
 *
 * @module
 */
import { bundledModelPath, loadModel } from "../lib/models/mod.ts";
import {
  AdjacencyTable,
  assertLossless,
  chooseTreeBudget,
  measureTreeLatency,
  runSpecBench,
  type SpecBenchArm,
  specBenchPrompts,
  SPECULATIVE_METHODS,
  speculativeGenerate,
} from "../lib/decoding/mod.ts";

const args = Deno.args;
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const PER = Number(flag("--per-category", "3")), PROMPT = Number(flag("--prompt-tokens", "64"));
const TOKENS = Number(flag("--tokens", "48")), REPS = Number(flag("--reps", "1"));
const BACKEND = flag("--backend", "cpu") as "cpu" | "gpu";
const target = await loadModel(bundledModelPath("tiny-target"), { backend: BACKEND });
const draft = await loadModel(bundledModelPath("tiny-draft"), { backend: BACKEND });
const prompts = specBenchPrompts(target.tokenizer!, { perCategory: PER, promptTokens: PROMPT });
const V = target.config.vocabSize;
const hot = new AdjacencyTable({ vocabSize: V });
const arms: SpecBenchArm[] = [];
const skipped: { method: string; why: string }[] = [];
for (const method of SPECULATIVE_METHODS) {
  const candidates: SpecBenchArm[] = method === "token-recycling"
    ? [
      { label: "token-recycling (cold)", options: { method } },
      { label: "token-recycling (hot)", options: { method, adjacency: hot } },
      {
        label: "token-recycling (hot, auto budget)",
        options: { method, adjacency: hot, treeBudget: "auto" },
      },
    ]
    : [{ label: method, options: { method, draft } }];
  for (const arm of candidates) {
    // a method that needs what this bench does not give (a model trained with exits, …) is
    // listed as skipped with its own message instead of failing the whole bench
    try {
      await speculativeGenerate(target, prompts[0].ids, { ...arm.options, maxNewTokens: 4 });
      arms.push(arm);
    } catch (e) {
      skipped.push({ method: arm.label, why: (e as Error).message });
    }
  }
}
// hot start: the shared table has seen every prompt once before the timed runs
for (const p of prompts) {
  await speculativeGenerate(target, p.ids, {
    method: "token-recycling",
    adjacency: hot,
    maxNewTokens: TOKENS,
  });
}
const t0 = performance.now();
const bench = await runSpecBench(target, { arms, prompts, maxNewTokens: TOKENS, reps: REPS });
const seconds = (performance.now() - t0) / 1000;
console.log(
  `\nbackend ${BACKEND}; ${prompts.length} prompts (${PER} per category, ≤ ${PROMPT} tokens), ` +
    `${TOKENS} new tokens, ${REPS} rep(s); ${seconds.toFixed(0)} s\n`,
);
console.log(bench.table.toMarkdown({ limit: Infinity }));
if (skipped.length) console.table(skipped);
// the verification-latency curve and what treeBudget: "auto" picks from it
const curve = await measureTreeLatency(target);
const choice = chooseTreeBudget(curve, { alpha: 0.6 });
console.log(`\nverification latency on ${curve.device}, ${curve.context} cached tokens:`);
console.table(curve.points.map((p) => ({
  "tree size n": p.size,
  ms: +p.ms.toFixed(2),
  "ms/node": +(p.ms / p.size).toFixed(2),
  "95% CI": `[${p.low.toFixed(2)}, ${p.high.toFixed(2)}]`,
})));
console.log(
  `the prior of treeBudget "auto" alone (α = 0.6): n = ${choice.size} (budget ${choice.budget}), ` +
    `E[tokens/step] ${choice.expectedTokens.toFixed(2)}, expected speed-up ${
      choice.speedup.toFixed(2)
    }×`,
);
// what "auto" chose per step (one more hot run per prompt, after the timed ones)
const autoRuns = [];
for (const p of prompts) {
  const r = await speculativeGenerate(target, p.ids, {
    method: "token-recycling",
    adjacency: hot,
    treeBudget: "auto",
    maxNewTokens: TOKENS,
  });
  autoRuns.push({ category: p.category, budgets: r.stats.treeBudgets!.join(" ") });
}
console.log('treeBudget "auto" (token-recycling, hot), budgets chosen per step:');
console.table(autoRuns);
const jsonAt = args.indexOf("--json");
if (jsonAt >= 0) {
  await Deno.writeTextFile(
    args[jsonAt + 1],
    JSON.stringify(
      {
        backend: BACKEND,
        perCategory: PER,
        promptTokens: PROMPT,
        tokens: TOKENS,
        reps: REPS,
        seconds,
        summaries: bench.summaries,
        rows: bench.rows,
        skipped,
        curve,
        choice: { ...choice, candidates: undefined },
        autoRuns,
      },
      null,
      1,
    ),
  );
}
assertLossless(bench);
