/**
 * A speculative-decoding harness in the style of Spec-Bench (Xia et al., 2024): task
 * categories built from our own corpora, every method ("arm") run on the same prompts as
 * plain decoding in the same process, and per method × category the mean τ (tokens per
 * target forward pass, prefill included; plain decoding gives 1.00) first and the wall-clock
 * speed-up second, each with a seeded bootstrap interval over prompts; at temperature 0 every
 * run's ids are compared with plain `generate` token for token.
 *
 * Categories (`specBenchPrompts`):
 * - `continuation`: a window of a held-out Brown document — the 10% of documents
 *   (`splitTrainTest(loadBrown(), { testFraction: 0.1, seed: 0 })`) the default models and
 *   their tokenizer never saw;
 * - `code`: a window of a source file of an installed package (`loadCodeFiles`);
 * - `repetition`: repetition-heavy text — a window of an SPDX license text (`loadLicenses`)
 *   or a numbered list whose items recur;
 * - `multilingual`: a window of a UDHR translation (`loadUdhr`);
 * - `summarise`: held-out Brown sentences, one of them named the key sentence, then
 *   "Repeat the key sentence:" (the answer is a copy, as in Spec-Bench's summarisation).
 *
 * Speed-up follows Spec-Bench's `speed.py`: the mean over prompts of new tokens per second
 * divided by the same mean for plain decoding.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { runSpecBench, specBenchPrompts } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const prompts = specBenchPrompts(target.tokenizer!, { perCategory: 1, promptTokens: 32 });
 * const bench = await runSpecBench(target, {
 *   arms: [{ label: "pld", options: { method: "pld" } }],
 *   prompts,
 *   maxNewTokens: 16,
 *   progress: false,
 * });
 * console.log(bench.table.toMarkdown(), bench.rows.every((r) => r.lossless));
 * ```
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { progress as progressBar } from "../util/progress.ts";
import { loadBrown } from "../data/brown.ts";
import { splitTrainTest } from "../data/split.ts";
import { type CodeFile, loadCodeFiles } from "../data/files.ts";
import { loadLicenses } from "../data/licenses.ts";
import { loadUdhr } from "../data/udhr.ts";
import { bootstrapOver, type ConfidenceInterval } from "../analysis/stats.ts";
import { type Table, table as makeTable } from "../analysis/table.ts";
import { type Figure, figure as makeFigure, Plot } from "../analysis/figure.ts";
import { generate, type Model, type ModelTokenizer } from "../models/mod.ts";
import { speculativeGenerate, type SpeculativeOptions } from "./speculative.ts";

/** The task categories of {@linkcode specBenchPrompts}. */
export type SpecBenchCategory =
  | "continuation"
  | "code"
  | "repetition"
  | "multilingual"
  | "summarise";

/** Every category, in the order {@linkcode specBenchPrompts} returns them. */
export const SPEC_BENCH_CATEGORIES: readonly SpecBenchCategory[] = [
  "continuation",
  "code",
  "repetition",
  "multilingual",
  "summarise",
];

/** One prompt of the harness. */
export interface SpecBenchPrompt {
  /** Task category (one of {@linkcode SPEC_BENCH_CATEGORIES}, or the caller's own). */
  category: string;
  /** Prompt token ids. */
  ids: number[];
  /** The prompt as text (the tokenizer's decoding of `ids`), when known. */
  text?: string;
  /** Where it came from (e.g. `"brown:cn17"`, `"license:MIT"`, `"udhr:deu_1996"`). */
  source?: string;
}

/** Options of {@linkcode specBenchPrompts}. */
export interface SpecBenchPromptOptions {
  /** Prompts per category (default 4). */
  perCategory?: number;
  /** Tokens per prompt, at most (default 64; a prompt is cut to this many). */
  promptTokens?: number;
  /** Categories to build (default all, {@linkcode SPEC_BENCH_CATEGORIES}). */
  categories?: readonly SpecBenchCategory[];
  /** Seed of every choice (documents, files, offsets; default 0). */
  seed?: number;
}

/** The Brown documents the default models were not trained on (see their model cards). */
function heldOutBrown() {
  return splitTrainTest(loadBrown(), { testFraction: 0.1, seed: 0 }).test;
}

/** Sentences of a Brown text (one per line in `loadBrown`), long enough to be sentences. */
function sentences(text: string): string[] {
  return text.split("\n").map((s) => s.trim()).filter((s) => s.split(" ").length >= 6);
}

/**
 * Seeded prompts of the harness's task categories, from the bundled corpora (see the module
 * documentation for what each category holds). Deterministic given the options and the
 * tokenizer; takes well under a second.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { specBenchPrompts } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const prompts = specBenchPrompts(target.tokenizer!, { perCategory: 2, promptTokens: 48 });
 * console.log(prompts.map((p) => `${p.category} ${p.source} ${p.ids.length}`));
 * ```
 */
export function specBenchPrompts(
  tokenizer: ModelTokenizer,
  options: SpecBenchPromptOptions = {},
): SpecBenchPrompt[] {
  check(
    tokenizer !== null && typeof tokenizer === "object" && typeof tokenizer.encode === "function",
    "specBenchPrompts needs a tokenizer with encode (and decode)",
    { hint: "pass model.tokenizer of a loaded model, e.g. the default tiny-target" },
  );
  const perCategory = options.perCategory ?? 4;
  const promptTokens = options.promptTokens ?? 64;
  const seed = options.seed ?? 0;
  check(
    Number.isInteger(perCategory) && perCategory >= 1,
    `specBenchPrompts: perCategory must be an integer ≥ 1, got ${perCategory}`,
  );
  check(
    Number.isInteger(promptTokens) && promptTokens >= 8,
    `specBenchPrompts: promptTokens must be an integer ≥ 8, got ${promptTokens}`,
    { hint: "a prompt needs a few tokens of context for the drafters to work with" },
  );
  check(
    Number.isInteger(seed) && seed >= 0,
    `specBenchPrompts: seed must be a non-negative integer, got ${seed}`,
  );
  const categories = options.categories ?? SPEC_BENCH_CATEGORIES;
  check(
    Array.isArray(categories) && categories.length > 0,
    "specBenchPrompts: categories must be a non-empty array",
  );
  for (const c of categories) {
    check(
      SPEC_BENCH_CATEGORIES.includes(c),
      `specBenchPrompts: unknown category ${JSON.stringify(c)}`,
      { hint: `use some of ${SPEC_BENCH_CATEGORIES.map((x) => `"${x}"`).join(", ")}` },
    );
  }
  const rng = new Rng(seed);
  const decode = (ids: number[]) =>
    typeof tokenizer.decode === "function" ? tokenizer.decode(ids) : undefined;
  /** A window of `text` starting at a seeded line start, cut to promptTokens tokens. */
  const windowOf = (text: string, r: Rng): number[] => {
    const starts = [0];
    for (let i = text.indexOf("\n"); i >= 0 && i < text.length - 1; i = text.indexOf("\n", i + 1)) {
      starts.push(i + 1);
    }
    // keep starts that leave enough text (about 8 characters per token is plenty)
    const room = starts.filter((s) => text.length - s >= promptTokens * 8);
    const start = room.length ? room[r.int(room.length)] : 0;
    const ids = Array.from(tokenizer.encode(text.slice(start, start + promptTokens * 16)));
    return ids.slice(0, promptTokens);
  };
  const pick = <T>(items: readonly T[], n: number, r: Rng): T[] => {
    check(items.length > 0, "specBenchPrompts: a corpus came back empty");
    const order = r.shuffle([...items.keys()]);
    return Array.from({ length: n }, (_, i) => items[order[i % order.length]]);
  };
  const out: SpecBenchPrompt[] = [];
  const push = (category: SpecBenchCategory, ids: number[], source: string) => {
    if (ids.length === 0) return;
    out.push({ category, ids, text: decode(ids), source });
  };
  for (const category of SPEC_BENCH_CATEGORIES) {
    // one stream per category, so adding a category does not change the others' prompts
    const r = rng.fork();
    if (!categories.includes(category)) continue;
    if (category === "continuation") {
      for (const d of pick(heldOutBrown(), perCategory, r)) {
        push(category, windowOf(d.text, r), `brown:${d.id}`);
      }
    } else if (category === "code") {
      // one file from each of perCategory packages (a package can hold hundreds of files)
      const byPackage = new Map<string, CodeFile[]>();
      for (const f of loadCodeFiles({ maxFiles: 100_000 })) {
        if (f.text.length < 2000 || f.text.split("\n").length < 40) continue;
        const m = f.path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
        const key = m ? m[1] : f.path.split("/")[0];
        byPackage.set(key, [...byPackage.get(key) ?? [], f]);
      }
      for (const files of pick([...byPackage.values()], perCategory, r)) {
        const f = files[r.int(files.length)];
        push(category, windowOf(f.text, r), `code:${f.path.replace(/^.*node_modules\//, "")}`);
      }
    } else if (category === "repetition") {
      const licenses = loadLicenses({ minChars: 3000 });
      const words = sentences(heldOutBrown().map((d) => d.text).join("\n"))
        .flatMap((s) => s.toLowerCase().split(" "))
        .filter((w) => /^[a-z]{4,}$/.test(w));
      for (let i = 0; i < perCategory; i++) {
        if (i % 2 === 0) {
          const [lic] = pick(licenses, 1, r);
          push(category, windowOf(lic.text, r), `license:${lic.id}`);
        } else {
          // a numbered list cycling through a few items: "1. pears 2. plums 3. nails 4. pears …"
          const items = pick([...new Set(words)], 3 + r.int(3), r);
          const lines: string[] = [];
          for (let k = 0; lines.join("\n").length < promptTokens * 8; k++) {
            lines.push(`${k + 1}. ${items[k % items.length]}`);
          }
          push(
            category,
            Array.from(tokenizer.encode(lines.join("\n"))).slice(0, promptTokens),
            "list",
          );
        }
      }
    } else if (category === "multilingual") {
      const langs = loadUdhr().filter((t) => t.code !== "eng");
      for (const t of pick(langs, perCategory, r)) {
        push(category, windowOf(t.text, r), `udhr:${t.code}`);
      }
    } else {
      for (const d of pick(heldOutBrown(), perCategory, r)) {
        const ss = sentences(d.text);
        const at = r.int(ss.length);
        // the key sentence, cut to a third of the budget so the instruction always fits
        const keyIds = Array.from(tokenizer.encode(ss[at])).slice(0, Math.floor(promptTokens / 3));
        const key = decode(keyIds) ?? ss[at];
        const head = Array.from(tokenizer.encode(`Key sentence: ${key}\nText:`));
        const tail = Array.from(
          tokenizer.encode(`\nRepeat the key sentence: ${key.split(" ")[0]}`),
        );
        // context sentences around the key sentence, as many as fit
        const room = Math.max(0, promptTokens - head.length - tail.length);
        const from = Math.max(0, at - 3);
        const body = Array.from(tokenizer.encode(" " + ss.slice(from, from + 8).join(" ")))
          .slice(0, room);
        push(category, [...head, ...body, ...tail].slice(-promptTokens), `brown:${d.id}`);
      }
    }
  }
  return out;
}

/** One method of the bench: a label and `speculativeGenerate`'s options. */
export interface SpecBenchArm {
  /** Name shown in tables and figures (unique within a bench). */
  label: string;
  /**
   * Options of `speculativeGenerate` (`maxNewTokens`, `temperature` and `seed` come from
   * the bench). Objects in them (a hot-start `adjacency` table, a draft model) are shared by
   * every prompt of the arm.
   */
  options: Omit<SpeculativeOptions, "maxNewTokens">;
}

/** Progress of {@linkcode runSpecBench}, after every timed run. */
export interface SpecBenchProgress {
  /** Runs done (plain runs included). */
  done: number;
  /** Runs in all. */
  total: number;
  /** The run just done: an arm's label, or `"plain"`. */
  label: string;
  /** Index of its prompt. */
  prompt: number;
}

/** Options of {@linkcode runSpecBench}. */
export interface SpecBenchOptions {
  /** The methods to compare. */
  arms: readonly SpecBenchArm[];
  /** The prompts (e.g. from {@linkcode specBenchPrompts}). */
  prompts: readonly SpecBenchPrompt[];
  /** New tokens per run. */
  maxNewTokens: number;
  /** Sampling temperature of every run, plain ones included (default 0: greedy). */
  temperature?: number;
  /** Sampling seed of every run (default 0). */
  seed?: number;
  /** Timed repetitions per arm × prompt; the median time is kept (default 1). */
  reps?: number;
  /** Seed of the run order (default 0). */
  orderSeed?: number;
  /**
   * Run plain decoding and every arm once on the first prompt, untimed, before the timed runs
   * (default true; turn it off only when the model has just run the same kernels).
   */
  warmup?: boolean;
  /** Show a progress bar (lib/util/progress; default true). */
  progress?: boolean;
  /** Called after every timed run. */
  onProgress?: (p: SpecBenchProgress) => void;
  /** Bootstrap resamples of the summaries' intervals (default 2000). */
  resamples?: number;
}

/** One arm on one prompt. */
export interface SpecBenchRow {
  /** The arm's label. */
  arm: string;
  /** The method. */
  method: string;
  /** The prompt's category. */
  category: string;
  /** Index of the prompt in `prompts`. */
  prompt: number;
  /** τ = newTokens / targetCalls (prefill included). */
  tau: number;
  /** Target forward passes, prefill included. */
  targetCalls: number;
  /** Draft-model forward passes. */
  draftCalls: number;
  /** New tokens. */
  newTokens: number;
  /** Wall-clock seconds of the run (median of `reps`). */
  seconds: number;
  /** Wall-clock seconds of plain `generate` on the same prompt (median of `reps`). */
  plainSeconds: number;
  /** New tokens of that plain run. */
  plainTokens: number;
  /** (newTokens / seconds) / (plainTokens / plainSeconds). */
  speedup: number;
  /**
   * Temperature 0: whether the ids equal plain `generate`'s token for token (null above 0,
   * where only the distribution is preserved).
   */
  lossless: boolean | null;
  /** Index among the new tokens of the first difference from plain decoding (−1: none). */
  firstMismatch: number;
  /** Accepted drafts by depth below the root (index 0: depth 1). */
  acceptedByDepth: number[];
  /** Per draft source, nodes fed and accepted. */
  bySource: Record<string, { drafted: number; accepted: number }>;
  /** Per verification pass, tokens committed. */
  acceptedLengths: number[];
  /** With `treeBudget: "auto"`: the draft budget chosen for each proposal. */
  treeBudgets?: number[];
}

/** One arm on one category (or on `"all"` prompts). */
export interface SpecBenchSummary {
  /** The arm's label. */
  arm: string;
  /** The category, or `"all"`. */
  category: string;
  /** Prompts summarised. */
  prompts: number;
  /** Mean τ over the prompts, with a bootstrap interval over prompts. */
  tau: ConfidenceInterval;
  /**
   * Mean new tokens per second over the prompts divided by plain decoding's (Spec-Bench's
   * speed-up), with a paired bootstrap interval over prompts.
   */
  speedup: ConfidenceInterval;
  /** True when every run matched plain decoding, false when one did not, null above T = 0. */
  lossless: boolean | null;
  /** Accepted drafts by depth, summed over the prompts. */
  acceptedByDepth: number[];
  /** Per draft source, nodes fed and accepted, summed over the prompts. */
  bySource: Record<string, { drafted: number; accepted: number }>;
}

/** What {@linkcode runSpecBench} measured. */
export interface SpecBenchResult {
  /** One row per arm × prompt. */
  rows: SpecBenchRow[];
  /** One summary per arm × category, then per arm over all prompts (`category: "all"`). */
  summaries: SpecBenchSummary[];
  /** The summaries as an Arquero table (τ first, speed-up second, with intervals). */
  table: Table;
  /** τ (x) against speed-up (y) per arm, one panel per category, intervals as rules. */
  figure: Figure;
  /** The target's backend ("cpu" or "gpu"). */
  backend: string;
  /** New tokens per run. */
  maxNewTokens: number;
  /** Sampling temperature. */
  temperature: number;
}

/**
 * Index of the first position where `candidate` differs from `reference` (a length
 * difference counts at the shorter length), or −1 when they are equal token for token: the
 * comparison behind {@linkcode SpecBenchRow.lossless}.
 *
 * @example
 * ```ts
 * import { firstMismatch } from "@tokenlab/tokenlab/decoding";
 * console.log(firstMismatch([1, 2, 3], [1, 2, 3]), firstMismatch([1, 2, 3], [1, 5, 3])); // -1 1
 * console.log(firstMismatch([1, 2, 3], [1, 2])); // 2
 * ```
 */
export function firstMismatch(
  reference: ArrayLike<number>,
  candidate: ArrayLike<number>,
): number {
  const n = Math.min(reference.length, candidate.length);
  for (let i = 0; i < n; i++) if (reference[i] !== candidate[i]) return i;
  return reference.length === candidate.length ? -1 : n;
}

function validateBench(target: Model, options: SpecBenchOptions): void {
  check(
    target !== null && typeof target === "object" && typeof target.forwardTree === "function",
    "runSpecBench needs a target Model",
    { hint: 'pass await loadModel(bundledModelPath("tiny-target"))' },
  );
  check(
    options !== null && typeof options === "object",
    "runSpecBench needs options { arms, prompts, maxNewTokens }",
  );
  const { arms, prompts, maxNewTokens } = options;
  check(
    Array.isArray(arms) && arms.length > 0,
    "runSpecBench: arms must be a non-empty array of { label, options }",
    { hint: 'e.g. arms: [{ label: "pld", options: { method: "pld" } }]' },
  );
  const labels = new Set<string>();
  arms.forEach((a, i) => {
    check(
      a !== null && typeof a === "object" && typeof a.label === "string" && a.label.length > 0,
      `runSpecBench: arms[${i}] needs a non-empty label`,
    );
    check(
      a.label !== "plain",
      'runSpecBench: the label "plain" is the baseline\'s; rename the arm',
    );
    check(!labels.has(a.label), `runSpecBench: two arms are labelled ${JSON.stringify(a.label)}`, {
      hint: "give every arm its own label",
    });
    labels.add(a.label);
    check(
      a.options !== null && typeof a.options === "object" && typeof a.options.method === "string",
      `runSpecBench: arm "${a.label}" needs options with a method`,
      { hint: 'e.g. { method: "token-recycling" }' },
    );
    for (const k of ["maxNewTokens", "temperature", "seed"] as const) {
      check(
        (a.options as Record<string, unknown>)[k] === undefined,
        `runSpecBench: arm "${a.label}" sets ${k}, which the bench sets for every run`,
        { hint: `pass ${k} to runSpecBench instead` },
      );
    }
  });
  check(
    Array.isArray(prompts) && prompts.length > 0,
    "runSpecBench: prompts must be a non-empty array of { category, ids }",
    { hint: "build them with specBenchPrompts(model.tokenizer)" },
  );
  const V = target.config.vocabSize;
  prompts.forEach((p, i) => {
    check(
      p !== null && typeof p === "object" && typeof p.category === "string" &&
        Array.isArray(p.ids) && p.ids.length > 0,
      `runSpecBench: prompts[${i}] needs a category and a non-empty ids array`,
    );
    check(
      p.ids.every((t: number) => Number.isInteger(t) && t >= 0 && t < V),
      `runSpecBench: prompts[${i}] holds ids outside the target's vocabulary [0, ${V})`,
      { hint: "encode the prompts with the target's tokenizer" },
    );
  });
  check(
    Number.isInteger(maxNewTokens) && maxNewTokens >= 1,
    `runSpecBench: maxNewTokens must be an integer ≥ 1, got ${maxNewTokens}`,
  );
  const reps = options.reps ?? 1;
  check(
    Number.isInteger(reps) && reps >= 1,
    `runSpecBench: reps must be an integer ≥ 1, got ${reps}`,
  );
  const t = options.temperature ?? 0;
  check(
    Number.isFinite(t) && t >= 0,
    `runSpecBench: temperature must be a finite number ≥ 0, got ${t}`,
  );
}

const medianOf = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Runs every arm and plain decoding on every prompt in the same process and reports τ,
 * speed-up and losslessness per arm × prompt and per arm × category. Per prompt, the plain
 * run and the arms run in a seeded random order (`reps` rounds, each freshly shuffled); one
 * untimed warm-up of plain decoding and of every arm on the first prompt comes first and is
 * discarded. At temperature 0 an arm's ids are compared with the plain run's token for token.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { AdjacencyTable, runSpecBench, specBenchPrompts } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const hot = new AdjacencyTable({ vocabSize: target.config.vocabSize });
 * const bench = await runSpecBench(target, {
 *   arms: [
 *     { label: "pld", options: { method: "pld" } },
 *     { label: "token-recycling (hot)", options: { method: "token-recycling", adjacency: hot } },
 *   ],
 *   prompts: specBenchPrompts(target.tokenizer!, { perCategory: 1, promptTokens: 32 }),
 *   maxNewTokens: 16,
 *   progress: false,
 * });
 * for (const s of bench.summaries) console.log(s.arm, s.category, s.tau.estimate, s.speedup.estimate);
 * ```
 */
export async function runSpecBench(
  target: Model,
  options: SpecBenchOptions,
): Promise<SpecBenchResult> {
  validateBench(target, options);
  const { arms, prompts, maxNewTokens } = options;
  const temperature = options.temperature ?? 0, seed = options.seed ?? 0;
  const reps = options.reps ?? 1;
  const sampling = { maxNewTokens, temperature, seed };
  const plainRun = (ids: number[]) => generate(target, ids, sampling);
  const armRun = (a: SpecBenchArm, ids: number[]) =>
    speculativeGenerate(target, ids, { ...a.options, ...sampling } as SpeculativeOptions);
  // warm-up (pipelines, JIT, caches), discarded
  if (options.warmup ?? true) {
    await plainRun(prompts[0].ids);
    for (const a of arms) await armRun(a, prompts[0].ids);
  }
  const total = prompts.length * (arms.length + 1) * reps;
  const bar = options.progress === false ? null : progressBar(total, {
    label: "spec-bench",
    unit: "runs",
  });
  const rng = new Rng(options.orderSeed ?? 0);
  const rows: SpecBenchRow[] = [];
  let done = 0;
  try {
    for (const [pi, p] of prompts.entries()) {
      const plainTimes: number[] = [];
      let plainIds: number[] = [];
      const times = arms.map(() => [] as number[]);
      const results: (Awaited<ReturnType<typeof armRun>> | null)[] = arms.map(() => null);
      for (let r = 0; r < reps; r++) {
        const order = rng.shuffle([-1, ...arms.keys()]);
        for (const j of order) {
          const t0 = performance.now();
          if (j < 0) {
            plainIds = await plainRun(p.ids);
            plainTimes.push((performance.now() - t0) / 1000);
          } else {
            const res = await armRun(arms[j], p.ids);
            times[j].push((performance.now() - t0) / 1000);
            results[j] ??= res;
          }
          done++;
          const label = j < 0 ? "plain" : arms[j].label;
          bar?.tick();
          options.onProgress?.({ done, total, label, prompt: pi });
        }
      }
      const plainSeconds = medianOf(plainTimes);
      const plainTokens = plainIds.length - p.ids.length;
      arms.forEach((a, j) => {
        const res = results[j]!;
        const seconds = medianOf(times[j]);
        const mismatch = firstMismatch(plainIds.slice(p.ids.length), res.ids.slice(p.ids.length));
        const s = res.stats;
        rows.push({
          arm: a.label,
          method: a.options.method,
          category: p.category,
          prompt: pi,
          tau: s.tau,
          targetCalls: s.targetCalls,
          draftCalls: s.draftCalls,
          newTokens: s.newTokens,
          seconds,
          plainSeconds,
          plainTokens,
          speedup: (s.newTokens / seconds) / (plainTokens / plainSeconds),
          lossless: temperature === 0 ? mismatch < 0 : null,
          firstMismatch: mismatch,
          acceptedByDepth: [...s.acceptedByDepth],
          bySource: structuredClone(s.bySource),
          acceptedLengths: [...s.acceptedLengths],
          ...(s.treeBudgets ? { treeBudgets: [...s.treeBudgets] } : {}),
        });
      });
    }
  } finally {
    bar?.finish();
  }
  const summaries = summarise(rows, arms.map((a) => a.label), options.resamples ?? 2000);
  return {
    rows,
    summaries,
    table: summaryTable(summaries),
    figure: summaryFigure(summaries),
    backend: target.backend,
    maxNewTokens,
    temperature,
  };
}

function summarise(rows: SpecBenchRow[], labels: string[], resamples: number): SpecBenchSummary[] {
  const categories = [...new Set(rows.map((r) => r.category))];
  const out: SpecBenchSummary[] = [];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const one = (arm: string, category: string, rs: SpecBenchRow[]): SpecBenchSummary => {
    const byDepth: number[] = [];
    const bySource: Record<string, { drafted: number; accepted: number }> = {};
    for (const r of rs) {
      r.acceptedByDepth.forEach((n, d) => byDepth[d] = (byDepth[d] ?? 0) + n);
      for (const [k, v] of Object.entries(r.bySource)) {
        const s = bySource[k] ??= { drafted: 0, accepted: 0 };
        s.drafted += v.drafted;
        s.accepted += v.accepted;
      }
    }
    const ls = rs.map((r) => r.lossless);
    return {
      arm,
      category,
      prompts: rs.length,
      tau: bootstrapOver(rs, { statistic: (s) => mean(s.map((r) => r.tau)), resamples }),
      speedup: bootstrapOver(rs, {
        statistic: (s) =>
          mean(s.map((r) => r.newTokens / r.seconds)) /
          mean(s.map((r) => r.plainTokens / r.plainSeconds)),
        resamples,
      }),
      lossless: ls.some((l) => l === null) ? null : ls.every((l) => l),
      acceptedByDepth: byDepth,
      bySource,
    };
  };
  for (const arm of labels) {
    for (const c of categories) {
      const rs = rows.filter((r) => r.arm === arm && r.category === c);
      if (rs.length) out.push(one(arm, c, rs));
    }
    if (categories.length > 1) out.push(one(arm, "all", rows.filter((r) => r.arm === arm)));
  }
  return out;
}

const fmt = (ci: ConfidenceInterval) =>
  `${ci.estimate.toFixed(2)} [${ci.low.toFixed(2)}, ${ci.high.toFixed(2)}]`;

function summaryTable(summaries: SpecBenchSummary[]): Table {
  return makeTable(summaries.map((s) => ({
    method: s.arm,
    category: s.category,
    prompts: s.prompts,
    "τ [95% CI]": fmt(s.tau),
    "speed-up [95% CI]": fmt(s.speedup),
    lossless: s.lossless === null ? "n/a (T > 0)" : s.lossless ? "yes" : "NO",
  })));
}

function summaryFigure(summaries: SpecBenchSummary[]): Figure {
  const data = summaries.filter((s) => s.category !== "all").map((s) => ({
    method: s.arm,
    category: s.category,
    tau: s.tau.estimate,
    tauLow: s.tau.low,
    tauHigh: s.tau.high,
    speedup: s.speedup.estimate,
    speedupLow: s.speedup.low,
    speedupHigh: s.speedup.high,
  }));
  return makeFigure({
    title: "τ (tokens per target call) and speed-up over plain decoding, per method and category",
    width: 900,
    height: 260,
    grid: true,
    color: { legend: true },
    x: { label: "τ" },
    y: { label: "speed-up ×" },
    fx: { label: null },
    marks: [
      Plot.ruleY([1], { stroke: "#999" }),
      Plot.ruleX([1], { stroke: "#999" }),
      Plot.ruleY(data, {
        fx: "category",
        x1: "tauLow",
        x2: "tauHigh",
        y: "speedup",
        stroke: "method",
      }),
      Plot.ruleX(data, {
        fx: "category",
        x: "tau",
        y1: "speedupLow",
        y2: "speedupHigh",
        stroke: "method",
      }),
      Plot.dot(data, { fx: "category", x: "tau", y: "speedup", fill: "method", r: 4, tip: true }),
    ],
  });
}

/**
 * Throws when `result` holds a run at temperature 0 that was not lossless (for CI scripts).
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { assertLossless, runSpecBench, specBenchPrompts } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const prompts = specBenchPrompts(target.tokenizer!, { perCategory: 1, categories: ["code"] });
 * const arms = [{ label: "pld", options: { method: "pld" as const } }];
 * assertLossless(await runSpecBench(target, { arms, prompts, maxNewTokens: 8, progress: false }));
 * ```
 */
export function assertLossless(result: SpecBenchResult): void {
  const bad = result.rows.filter((r) => r.lossless === false);
  if (bad.length) {
    throw new TokenlabError(
      `runSpecBench: ${bad.length} run(s) differ from plain decoding: ${
        bad.slice(0, 5).map((r) => `${r.arm} on prompt ${r.prompt} (token ${r.firstMismatch})`)
          .join(", ")
      }`,
      { hint: "a lossless method must reproduce plain greedy decoding token for token" },
    );
  }
}
