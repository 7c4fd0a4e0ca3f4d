import { deepEqual, equal, notDeepEqual, ok, rejects, throws } from "node:assert/strict";
import {
  assertLossless,
  firstMismatch,
  runSpecBench,
  SPEC_BENCH_CATEGORIES,
  type SpecBenchPrompt,
  specBenchPrompts,
} from "../../lib/decoding/spec_bench.ts";
import { AdjacencyTable } from "../../lib/decoding/adjacency.ts";
import { bundledModelPath, generate, loadModel } from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

const target = await loadModel(bundledModelPath("tiny-target"));
const tok = target.tokenizer!;

Deno.test("specBenchPrompts: every category, seeded, at most promptTokens tokens", () => {
  const t0 = performance.now();
  const a = specBenchPrompts(tok, { perCategory: 3, promptTokens: 40 });
  ok(performance.now() - t0 < 5000, "building prompts should take well under a few seconds");
  deepEqual(
    [...new Set(a.map((p) => p.category))],
    [...SPEC_BENCH_CATEGORIES],
  );
  for (const c of SPEC_BENCH_CATEGORIES) equal(a.filter((p) => p.category === c).length, 3);
  for (const p of a) {
    ok(p.ids.length > 8 && p.ids.length <= 40, `${p.source}: ${p.ids.length} tokens`);
    equal(p.text, tok.decode(p.ids));
  }
  deepEqual(specBenchPrompts(tok, { perCategory: 3, promptTokens: 40 }), a);
  notDeepEqual(specBenchPrompts(tok, { perCategory: 3, promptTokens: 40, seed: 1 }), a);
  // a category's prompts do not depend on which other categories are built
  deepEqual(
    specBenchPrompts(tok, { perCategory: 3, promptTokens: 40, categories: ["multilingual"] }),
    a.filter((p) => p.category === "multilingual"),
  );
});

Deno.test("specBenchPrompts: continuation comes from the documents the default models did not train on", async () => {
  const split = JSON.parse(
    await Deno.readTextFile(`${bundledModelPath("brown-bpe-8k")}/split.json`),
  );
  const heldOut = new Set<string>(split.heldOut);
  const ps = specBenchPrompts(tok, {
    perCategory: 12,
    categories: ["continuation", "summarise"],
  });
  for (const p of ps) {
    ok(p.source?.startsWith("brown:"), p.source);
    ok(heldOut.has(p.source!.slice(6)), `${p.source} is not a held-out document`);
  }
});

Deno.test("specBenchPrompts: summarise prompts name a key sentence and ask for it again", () => {
  for (const p of specBenchPrompts(tok, { perCategory: 5, categories: ["summarise"] })) {
    const m = p.text!.match(/^Key sentence: ([^\n]+)\nText:/);
    ok(m, p.text);
    const key = m[1];
    ok(p.text!.endsWith(`\nRepeat the key sentence: ${key.split(" ")[0]}`), p.text);
  }
  const code = specBenchPrompts(tok, { perCategory: 4, categories: ["code"] });
  equal(new Set(code.map((p) => p.source!.split("/")[0])).size, 4, "one file per package");
});

Deno.test("specBenchPrompts: bad options are refused with the option named", () => {
  throws(() => specBenchPrompts(tok, { perCategory: 0 }), /perCategory/);
  throws(() => specBenchPrompts(tok, { promptTokens: 2 }), /promptTokens/);
  // deno-lint-ignore no-explicit-any
  throws(() => specBenchPrompts(tok, { categories: ["poetry" as any] }), /unknown category/);
  // deno-lint-ignore no-explicit-any
  throws(() => specBenchPrompts(null as any), TokenlabError);
});

Deno.test("firstMismatch: first differing index, shorter length counts, -1 when equal", () => {
  equal(firstMismatch([4, 5, 6], [4, 5, 6]), -1);
  equal(firstMismatch([4, 5, 6], [4, 9, 6]), 1);
  equal(firstMismatch([4, 5, 6], [7, 5, 6]), 0);
  equal(firstMismatch([4, 5, 6], [4, 5]), 2);
  equal(firstMismatch([4, 5], [4, 5, 6]), 2);
  equal(firstMismatch([], []), -1);
});

const small: SpecBenchPrompt[] = specBenchPrompts(tok, { perCategory: 1, promptTokens: 24 });

Deno.test("runSpecBench: lossless flags are computed against plain generate", async () => {
  const max = 12;
  // a deliberately wrong arm, built through options: it stops early on a token that plain
  // decoding of the first prompt emits, so its ids are a strict prefix of plain decoding's
  const plain0 = (await generate(target, small[0].ids, { maxNewTokens: max }))
    .slice(small[0].ids.length);
  const stopTok = plain0[3];
  const k = plain0.indexOf(stopTok);
  const seen: string[] = [];
  const bench = await runSpecBench(target, {
    arms: [
      { label: "pld", options: { method: "pld" } },
      {
        label: "recycling",
        options: {
          method: "token-recycling",
          adjacency: new AdjacencyTable({ vocabSize: target.config.vocabSize }),
        },
      },
      { label: "stops early", options: { method: "pld", stop: [stopTok] } },
    ],
    prompts: small,
    maxNewTokens: max,
    reps: 2,
    progress: false,
    onProgress: (p) => seen.push(`${p.prompt}:${p.label}`),
  });
  equal(bench.rows.length, 3 * small.length);
  equal(seen.length, small.length * 4 * 2, "every timed run is reported");
  equal(seen.filter((s) => s.endsWith(":plain")).length, small.length * 2);
  for (const r of bench.rows.filter((r) => r.arm !== "stops early")) {
    equal(r.lossless, true, `${r.arm} on prompt ${r.prompt}`);
    equal(r.firstMismatch, -1);
    equal(r.newTokens, max);
    ok(r.tau > 0 && Math.abs(r.tau - r.newTokens / r.targetCalls) < 1e-12);
    ok(r.seconds > 0 && r.plainSeconds > 0 && r.speedup > 0);
  }
  const wrong = bench.rows.find((r) => r.arm === "stops early" && r.prompt === 0)!;
  equal(wrong.lossless, false);
  equal(wrong.firstMismatch, k + 1);
  equal(wrong.newTokens, k + 1);
  const wrongSummary = bench.summaries.find((s) => s.arm === "stops early" && s.category === "all");
  equal(wrongSummary!.lossless, false);
  equal(bench.summaries.find((s) => s.arm === "pld" && s.category === "all")!.lossless, true);
  throws(() => assertLossless(bench), /stops early on prompt 0/);
  // the summaries: one per arm × category plus "all"; τ is the mean of the prompts' τ
  equal(bench.summaries.length, 3 * (SPEC_BENCH_CATEGORIES.length + 1));
  for (const s of bench.summaries) {
    const rs = bench.rows.filter((r) =>
      r.arm === s.arm && (s.category === "all" || r.category === s.category)
    );
    equal(s.prompts, rs.length);
    ok(Math.abs(s.tau.estimate - rs.reduce((a, r) => a + r.tau, 0) / rs.length) < 1e-9);
    ok(s.tau.low <= s.tau.estimate && s.tau.estimate <= s.tau.high);
    ok(s.speedup.low <= s.speedup.estimate && s.speedup.estimate <= s.speedup.high);
  }
  equal(bench.table.numRows(), bench.summaries.length);
  ok(bench.table.toMarkdown().includes("NO"), "the table shows the failing arm");
  ok(bench.figure.svg.startsWith("<svg") || bench.figure.html.includes("<svg"));
});

Deno.test("runSpecBench: above temperature 0 lossless is null, not assumed", async () => {
  const bench = await runSpecBench(target, {
    arms: [{ label: "pld", options: { method: "pld" } }],
    prompts: small.slice(0, 2),
    maxNewTokens: 6,
    temperature: 0.8,
    seed: 3,
    progress: false,
  });
  for (const r of bench.rows) equal(r.lossless, null);
  equal(bench.summaries[0].lossless, null);
  equal(bench.temperature, 0.8);
});

Deno.test("runSpecBench: invalid inputs are refused with what to change", async () => {
  const arms = [{ label: "pld", options: { method: "pld" as const } }];
  const base = { arms, prompts: small.slice(0, 1), maxNewTokens: 4, progress: false };
  await rejects(runSpecBench(target, { ...base, arms: [] }), /arms must be a non-empty/);
  await rejects(runSpecBench(target, { ...base, arms: [...arms, ...arms] }), /two arms/);
  await rejects(
    runSpecBench(target, { ...base, arms: [{ label: "plain", options: { method: "pld" } }] }),
    /baseline/,
  );
  await rejects(
    runSpecBench(target, {
      ...base,
      arms: [{ label: "x", options: { method: "pld", temperature: 1 } }],
    }),
    /sets temperature/,
  );
  await rejects(runSpecBench(target, { ...base, prompts: [] }), /prompts must be/);
  await rejects(
    runSpecBench(target, { ...base, prompts: [{ category: "c", ids: [1, 99999] }] }),
    /outside the target's vocabulary/,
  );
  await rejects(runSpecBench(target, { ...base, maxNewTokens: 0 }), /maxNewTokens/);
  await rejects(runSpecBench(target, { ...base, reps: 0 }), /reps/);
});

Deno.test("runSpecBench: the untimed warm-up runs every arm once more, unless turned off", async () => {
  const updates = async (warmup: boolean) => {
    const adjacency = new AdjacencyTable({ vocabSize: target.config.vocabSize });
    const arms = [{ label: "tr", options: { method: "token-recycling" as const, adjacency } }];
    await runSpecBench(target, {
      arms,
      prompts: small.slice(0, 1),
      maxNewTokens: 4,
      warmup,
      progress: false,
    });
    return adjacency.updates;
  };
  const off = await updates(false), on = await updates(true);
  ok(off > 0);
  ok(on > off, `warm-up ran the arm: ${on} table rows written vs ${off} without it`);
});
