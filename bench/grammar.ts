/**
 * Grammar mask benchmark against XGrammar itself (web-xgrammar, its WebAssembly build, one
 * thread), in the same run, same schemas (tests/fixtures/grammar/schemas.json: real-world-like
 * JSON Schemas with valid documents), same vocabularies (llama3 and o200k by default) and the
 * same token ids: compile time per schema, mask time per token (median, p99) replaying the
 * documents, a naive full-vocabulary scan on every k-th state (each checked equal to our
 * mask), and one forward pass of the default target (tiny-target, CPU path) for scale. See
 * bench/_grammar_harness.ts for what is timed.
 *
 * Run: `deno task bench:grammar [--vocab llama3,o200k_base] [--naive-every 8] [--quick]
 * [--no-xgrammar] [--precompute] [--json out.json]` (`--precompute`: compileGrammar's
 * `{ precompute: true }`, every position's mask cache built at compile time and timed as
 * compile).
 *
 * @module
 */
import { benchVocab, loadSchemaCases, quantileOf, type VocabResult } from "./_grammar_harness.ts";
import { bundledModelPath, loadModel } from "../lib/models/mod.ts";

function arg(name: string, dflt: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : dflt;
}

const vocabs = arg("--vocab", "llama3,o200k_base").split(",");
const naiveEvery = Number(arg("--naive-every", "8"));
const quick = Deno.args.includes("--quick");
const useXg = !Deno.args.includes("--no-xgrammar");
const jsonOut = Deno.args.includes("--json") ? arg("--json", "") : "";
const precompute = Deno.args.includes("--precompute");

let cases = await loadSchemaCases();
if (quick) cases = cases.slice(0, 4);

// one forward pass of the default target, CPU path: 16 tokens of context, then 1 token
const model = await loadModel(bundledModelPath("tiny-target"));
const fwd: number[] = [];
for (let r = 0; r < 12; r++) {
  const cache = model.newCache();
  await model.forward(Array.from({ length: 16 }, (_, i) => (i * 37 + 1) % 256), cache);
  const a = performance.now();
  await model.forward([7], cache);
  if (r >= 2) fwd.push((performance.now() - a) * 1000);
}
const fwdUs = quantileOf(fwd, 0.5);
console.log(`tiny-target forward pass (1 token after 16, CPU path): median ${fwdUs.toFixed(0)} µs`);
console.log(
  `tokenlab caches: ${
    precompute ? "precompute (every position at compile time, in compile)" : "lazy (default)"
  }`,
);

const f = (x: number | null | undefined, d = 1) => (x == null ? "-" : x.toFixed(d));
const results: VocabResult[] = [];
const summary: Record<string, unknown>[] = [];
for (const vocab of vocabs) {
  const r = await benchVocab(vocab, { cases, naiveEvery, xgrammar: useXg, precompute });
  results.push(r);
  for (const row of r.rows) {
    if (row.naiveMismatches.length) {
      throw new Error(
        `${vocab} ${row.name}: masks differ from the naive scan at steps ${row.naiveMismatches}`,
      );
    }
  }
  console.log(
    `\n${vocab}: ${r.idSpace} ids; our vocabulary trie ${f(r.trieMs, 0)} ms, xgrammar ` +
      `TokenizerInfo ${f(r.xgTokenizerInfoMs, 0)} ms (once per tokenizer)`,
  );
  console.log(
    "schema               tokens | compile ms ours / xg | mask µs median ours / xg | p99 ours / xg" +
      " | ours compile+doc1 ms",
  );
  const ours: number[] = [], later: number[] = [], xg: number[] = [], naive: number[] = [];
  const cOurs: number[] = [], cXg: number[] = [], setupOurs: number[] = [];
  for (const row of r.rows) {
    ours.push(...row.oursUs);
    later.push(...row.oursUs.slice(row.firstDocTokens));
    xg.push(...row.xgUs);
    naive.push(...row.naiveUs);
    cOurs.push(row.oursCompileMs);
    if (row.xgCompileMs != null) cXg.push(row.xgCompileMs);
    const doc1 = row.oursUs.slice(0, row.firstDocTokens).reduce((a, b) => a + b, 0) / 1000;
    setupOurs.push(row.oursCompileMs + doc1);
    console.log(
      `${row.name.padEnd(20)} ${String(row.tokens).padStart(6)} | ${
        f(row.oursCompileMs).padStart(8)
      } / ${f(row.xgCompileMs).padStart(7)} | ${f(quantileOf(row.oursUs, 0.5)).padStart(8)} / ${
        row.xgUs.length ? f(quantileOf(row.xgUs, 0.5)).padStart(6) : "     -"
      } | ${f(quantileOf(row.oursUs, 0.99), 0).padStart(6)} / ${
        row.xgUs.length ? f(quantileOf(row.xgUs, 0.99), 0) : "-"
      } | ${f(row.oursCompileMs + doc1)}${
        row.xgRefused.length ? `  xgrammar refused ${row.xgRefused.join(", ")}` : ""
      }${row.xgError ? `  xgrammar error: ${row.xgError}` : ""}`,
    );
  }
  const med = quantileOf(ours, 0.5), xMed = xg.length ? quantileOf(xg, 0.5) : NaN;
  const nMed = quantileOf(naive, 0.5);
  const s = {
    vocab,
    tokens: ours.length,
    oursMedianUs: med,
    oursP99Us: quantileOf(ours, 0.99),
    oursLaterMedianUs: quantileOf(later, 0.5),
    xgMedianUs: xMed,
    xgP99Us: xg.length ? quantileOf(xg, 0.99) : NaN,
    naiveMedianUs: nMed,
    naiveChecked: r.rows.reduce((a, row) => a + row.naiveChecked, 0),
    oursCompileMedianMs: quantileOf(cOurs, 0.5),
    xgCompileMedianMs: cXg.length ? quantileOf(cXg, 0.5) : NaN,
    oursCompilePlusDoc1MedianMs: quantileOf(setupOurs, 0.5),
    forwardUs: fwdUs,
    precompute,
  };
  summary.push(s);
  console.log(
    `${vocab} summary over ${s.tokens} masks: ours median ${f(med)} µs (p99 ${
      f(s.oursP99Us, 0)
    }; after each schema's first document ${f(s.oursLaterMedianUs)}), xgrammar median ${
      f(xMed)
    } µs (p99 ${f(s.xgP99Us, 0)}) → ours/xgrammar ${f(med / xMed, 2)}×; naive scan median ${
      f(nMed, 0)
    } µs → naive/ours ${
      f(nMed / med, 0)
    }× (${s.naiveChecked} masks checked equal); compile median ${
      f(s.oursCompileMedianMs)
    } ms vs xgrammar ${f(s.xgCompileMedianMs)} ms → ${
      f(s.oursCompileMedianMs / s.xgCompileMedianMs, 2)
    }× (ours compile + first document's masks ${f(s.oursCompilePlusDoc1MedianMs)} ms → ${
      f(s.oursCompilePlusDoc1MedianMs / s.xgCompileMedianMs, 2)
    }×); mask median / forward pass = ${f((100 * med) / fwdUs, 2)}% (xgrammar ${
      f((100 * xMed) / fwdUs, 2)
    }%)`,
  );
}
if (jsonOut) {
  await Deno.writeTextFile(jsonOut, JSON.stringify({ forwardUs: fwdUs, summary, results }));
}
