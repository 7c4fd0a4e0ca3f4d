/**
 * Tree budgets sized by the hardware (P86, Hardware-aware Parallel Prompt Decoding): measure
 * how long the target takes to verify a token tree of n nodes on the backend it runs on
 * (`Model.forwardTree` after a cached context, logits read back), combine that curve with the
 * expected tokens per step of the best tree of each size under an acceptance model
 * (`optimalSparseTree`), and take the size that maximises expected tokens per second,
 * E[tokens](n) / latency(n). `speculativeGenerate`'s `treeBudget: "auto"` does that before
 * every step with {@linkcode AdaptiveTreeBudget}: the curve is measured once per model (and so
 * per backend) and cached for the life of the process; the acceptance is the top-1 α of a
 * geometric rank model measured so far in the call (prior α 0.6 of weight 4 trials), with at
 * least 4 drafts per step until 8 trials of evidence are in. {@linkcode autoTreeBudget} is the
 * one-off choice under a fixed acceptance.
 *
 * Size n counts the root (the last committed token, whose successor is not known yet) plus
 * the n − 1 draft nodes; the budget `speculativeGenerate` takes is n − 1. n = 1 is plain
 * decoding: one token per step.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { chooseTreeBudget, measureTreeLatency } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const curve = await measureTreeLatency(target, { sizes: [1, 4, 16], reps: 3 });
 * const choice = chooseTreeBudget(curve, { alpha: 0.6 });
 * console.log(curve.device, choice.size, choice.expectedTokens.toFixed(2), choice.speedup.toFixed(2));
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { timeRuns } from "../analysis/timing.ts";
import { getDevice } from "../gpu/mod.ts";
import type { Model } from "../models/mod.ts";
import { optimalSparseTree, type SparseTreeOptions } from "./sparse_tree.ts";
import { nonIncreasingFit } from "./rank_acceptance.ts";

/** Options of {@linkcode measureTreeLatency}. */
export interface TreeLatencyOptions {
  /** Tree sizes n to time, root included (default 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64). */
  sizes?: readonly number[];
  /** Tokens in the KV cache before the tree (default 128, or what the model's positions leave). */
  context?: number;
  /** Timed rounds; each round runs every size once in a seeded random order (default 5). */
  reps?: number;
  /** Untimed runs of each size first, discarded (default 1). */
  warmup?: number;
  /** Seed of the context tokens, tree tokens and run order (default 0). */
  seed?: number;
  /** Measure again even when this process has a curve for the model and options (default false). */
  refresh?: boolean;
}

/** One size of a latency curve. */
export interface TreeLatencyPoint {
  /** Tree size n (root included). */
  size: number;
  /** Median milliseconds of one verification pass. */
  ms: number;
  /** Lower end of the bootstrap interval of the median. */
  low: number;
  /** Upper end of that interval. */
  high: number;
}

/** Verification latency against tree size on one backend (see {@linkcode measureTreeLatency}). */
export interface TreeLatencyCurve {
  /** The model's runtime backend. */
  backend: "cpu" | "gpu";
  /** What ran it, named as what it is (e.g. `"WebGPU: llvmpipe … (software adapter)"`). */
  device: string;
  /** Whether that is a software adapter (never a hardware result). */
  software: boolean;
  /** Cached tokens before the tree. */
  context: number;
  /** One point per measured size, ascending. */
  points: TreeLatencyPoint[];
}

const curves = new WeakMap<Model, Map<string, Promise<TreeLatencyCurve>>>();

/** The default sizes of {@linkcode measureTreeLatency}. */
export const DEFAULT_TREE_SIZES: readonly number[] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];

/**
 * Measures the wall-clock time of one tree verification on `model`'s backend for each tree
 * size: a seeded random context of `context` tokens is prefilled once; each size's tree (the
 * shape `optimalSparseTree` gives for α = 0.6; the cost depends on n and the mask, not on the
 * tokens) is verified with `forwardTree`, logits read back, and rolled back with
 * `acceptTreePath(parents, [])` after the clock stops. Sizes run interleaved in a seeded random
 * order per round, after a discarded warm-up (`timeRuns`). The curve is cached per model and
 * options in this process (the first call measures; later ones return the same curve).
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { measureTreeLatency } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const curve = await measureTreeLatency(target, { sizes: [1, 8, 32], reps: 3, context: 64 });
 * for (const p of curve.points) console.log(p.size, p.ms.toFixed(2), "ms");
 * ```
 */
export async function measureTreeLatency(
  model: Model,
  options: TreeLatencyOptions = {},
): Promise<TreeLatencyCurve> {
  check(
    model !== null && typeof model === "object" && typeof model.forwardTree === "function",
    "measureTreeLatency needs a loaded Model",
    { hint: 'pass await loadModel(bundledModelPath("tiny-target"))' },
  );
  const sizes = [...(options.sizes ?? DEFAULT_TREE_SIZES)];
  const maxPos = model.config.maxPositionEmbeddings;
  // default context: 128 tokens, fewer when the model's positions leave no room for the trees
  const context = options.context ?? Math.min(128, (maxPos || Infinity) - Math.max(...sizes));
  const reps = options.reps ?? 5;
  const warmup = options.warmup ?? 1, seed = options.seed ?? 0;
  check(
    sizes.length > 0 && sizes.every((n) => Number.isInteger(n) && n >= 1),
    `measureTreeLatency: sizes must be integers ≥ 1, got ${JSON.stringify(options.sizes)}`,
    { hint: "a size counts the root plus the draft nodes; 1 is plain decoding" },
  );
  check(
    new Set(sizes).size === sizes.length,
    `measureTreeLatency: sizes repeat: ${JSON.stringify(sizes)}`,
  );
  check(
    Number.isInteger(context) && context >= 1,
    `measureTreeLatency: context must be an integer ≥ 1, got ${context}`,
  );
  check(
    !maxPos || context + Math.max(...sizes) <= maxPos,
    `measureTreeLatency: context ${context} + a tree of ${
      Math.max(...sizes)
    } exceeds the model's ${maxPos} positions`,
    { hint: "use a shorter context or smaller sizes" },
  );
  check(Number.isInteger(reps) && reps >= 1, `measureTreeLatency: reps must be ≥ 1, got ${reps}`);
  check(
    Number.isInteger(warmup) && warmup >= 0,
    `measureTreeLatency: warmup must be ≥ 0, got ${warmup}`,
  );
  sizes.sort((a, b) => a - b);
  const key = JSON.stringify({ sizes, context, reps, warmup, seed });
  let perModel = curves.get(model);
  if (!perModel) curves.set(model, perModel = new Map());
  const hit = perModel.get(key);
  if (hit && !options.refresh) return hit;
  const run = measure(model, { sizes, context, reps, warmup, seed });
  perModel.set(key, run);
  // a failed measurement is not cached
  run.catch(() => perModel.get(key) === run && perModel.delete(key));
  return await run;
}

async function measure(
  model: Model,
  o: { sizes: number[]; context: number; reps: number; warmup: number; seed: number },
): Promise<TreeLatencyCurve> {
  let device = "CPU reference path (JavaScript)", software = false;
  if (model.backend === "gpu") {
    const gpu = await getDevice({ quiet: true });
    software = gpu?.adapter.software ?? false;
    device = `WebGPU: ${gpu?.adapter.name ?? "unknown adapter"}${
      software ? " (software adapter)" : ""
    }`;
  }
  const V = model.config.vocabSize;
  const rng = new Rng(o.seed);
  const cache = model.newCache();
  await model.forward(Array.from({ length: o.context }, () => rng.int(V)), cache);
  const trees = new Map(o.sizes.map((n) => {
    const parents = optimalSparseTree(n, { alpha: 0.6 }).parents;
    return [n, { ids: parents.map(() => rng.int(V)), parents }];
  }));
  const timed = await timeRuns(
    Object.fromEntries(o.sizes.map((n) => [n, async () => {
      const logits = await model.forwardTree(trees.get(n)!, cache);
      check(logits.length === n * V, `forwardTree returned ${logits.length} logits for ${n} nodes`);
      return n;
    }])),
    {
      iters: o.reps,
      warmup: o.warmup,
      seed: o.seed,
      backend: device,
      software,
      release: (n: number) => cache.acceptTreePath(trees.get(n)!.parents, []),
    },
  );
  return {
    backend: model.backend,
    device,
    software,
    context: o.context,
    points: o.sizes.map((n) => ({
      size: n,
      ms: timed[n].ms,
      low: timed[n].low,
      high: timed[n].high,
    })),
  };
}

/** Options of {@linkcode chooseTreeBudget}: the acceptance model and the tree's shape. */
export interface ChooseTreeBudgetOptions extends SparseTreeOptions {
  /**
   * `"tree"` (default): the best sparse tree of each size; `"chain"`: a single chain of
   * top-1 guesses (prompt lookup, a draft model's γ), accepted with the rank-1 probability.
   */
  shape?: "tree" | "chain";
  /** Largest size considered (default: the curve's largest measured size). */
  maxSize?: number;
  /**
   * Fit the measured medians with the closest non-decreasing curve first (default true):
   * verifying more nodes never costs less, so a dip is timing noise (a shared CPU), and the
   * fit keeps one noisy point from deciding the size.
   */
  monotone?: boolean;
}

/** One candidate size of {@linkcode chooseTreeBudget}. */
export interface TreeBudgetCandidate {
  /** Tree size n, root included. */
  size: number;
  /** Expected tokens committed per step (1 + expected accepted drafts). */
  expectedTokens: number;
  /** Verification latency, ms (linear between measured sizes). */
  ms: number;
  /** Expected tokens per second, 1000 · expectedTokens / ms. */
  tokensPerSecond: number;
}

/** The size {@linkcode chooseTreeBudget} picked, and every candidate it weighed. */
export interface TreeBudgetChoice extends TreeBudgetCandidate {
  /** Draft nodes: size − 1 (what `treeBudget` means to `speculativeGenerate`). */
  budget: number;
  /** Expected speed-up over plain decoding: tokensPerSecond ÷ that of size 1. */
  speedup: number;
  /** Every size from 1 to the largest, in order. */
  candidates: TreeBudgetCandidate[];
}

/**
 * The tree size that maximises expected tokens per second, E[tokens](n) / latency(n), over
 * every n from 1 to the curve's largest size: E from `optimalSparseTree` under the acceptance
 * model (`alpha` or measured `rankProbabilities`, e.g. `nonIncreasingFit(rankAcceptanceRates(…))`),
 * latency from the measured curve (made non-decreasing, see `monotone`), linear between
 * measured sizes. Ties go to the smaller tree.
 * The curve must include size 1 (plain decoding is the baseline).
 *
 * @example
 * ```ts
 * import { chooseTreeBudget } from "@tokenlab/tokenlab/decoding";
 * // a backend where one more node costs a tenth of a step
 * const points = [1, 2, 4, 8, 16, 32].map((n) => ({ size: n, ms: 1 + 0.1 * (n - 1), low: 0, high: 0 }));
 * const curve = { backend: "cpu" as const, device: "example", software: false, context: 0, points };
 * const c = chooseTreeBudget(curve, { alpha: 0.7 });
 * console.log(c.size, c.budget, c.expectedTokens.toFixed(2), c.speedup.toFixed(2));
 * ```
 */
export function chooseTreeBudget(
  curve: TreeLatencyCurve,
  options: ChooseTreeBudgetOptions,
): TreeBudgetChoice {
  check(
    curve !== null && typeof curve === "object" && Array.isArray(curve.points) &&
      curve.points.length > 0,
    "chooseTreeBudget needs a latency curve with points",
    { hint: "measure one with measureTreeLatency(model)" },
  );
  const pts = [...curve.points].sort((a, b) => a.size - b.size);
  pts.forEach((p, i) => {
    check(
      Number.isInteger(p.size) && p.size >= 1 && Number.isFinite(p.ms) && p.ms > 0,
      `chooseTreeBudget: point ${i} (size ${p.size}, ${p.ms} ms) needs an integer size ≥ 1 and a positive time`,
    );
  });
  check(pts[0].size === 1, "chooseTreeBudget: the curve must include size 1 (plain decoding)", {
    hint: "measure with sizes that start at 1",
  });
  const shape = options?.shape ?? "tree";
  check(
    shape === "tree" || shape === "chain",
    `chooseTreeBudget: shape must be "tree" or "chain", got ${JSON.stringify(shape)}`,
  );
  const top = pts.at(-1)!.size;
  const maxSize = options.maxSize ?? top;
  check(
    Number.isInteger(maxSize) && maxSize >= 1 && maxSize <= top,
    `chooseTreeBudget: maxSize must be an integer in [1, ${top}] (the measured range), got ${maxSize}`,
  );
  if (options.monotone ?? true) {
    const fit = nonIncreasingFit(pts.map((p) => -p.ms));
    pts.forEach((p, i) => pts[i] = { ...p, ms: -fit[i] });
  }
  // validates the acceptance model with optimalSparseTree's own messages
  optimalSparseTree(1, options);
  const model: SparseTreeOptions = shape === "chain"
    ? { rankProbabilities: [rankOne(options)] }
    : { alpha: options.alpha, rankProbabilities: options.rankProbabilities };
  if (model.alpha === undefined) delete model.alpha;
  if (model.rankProbabilities === undefined) delete model.rankProbabilities;
  const latency = (n: number): number => {
    let j = 0;
    while (pts[j].size < n) j++;
    if (pts[j].size === n) return pts[j].ms;
    const a = pts[j - 1], b = pts[j];
    return a.ms + (b.ms - a.ms) * (n - a.size) / (b.size - a.size);
  };
  const tree = optimalSparseTree(maxSize, model);
  const candidates: TreeBudgetCandidate[] = [];
  let accepted = 0;
  for (let n = 1; n <= maxSize; n++) {
    // the best tree of size n is the first n nodes of the best tree of maxSize (best-first)
    if (n > 1) accepted += tree.acceptance[n - 1];
    const ms = latency(n);
    candidates.push({
      size: n,
      expectedTokens: 1 + accepted,
      ms,
      tokensPerSecond: 1000 * (1 + accepted) / ms,
    });
  }
  const best = candidates.reduce((x, y) => (y.tokensPerSecond > x.tokensPerSecond ? y : x));
  return {
    ...best,
    budget: best.size - 1,
    speedup: best.tokensPerSecond / candidates[0].tokensPerSecond,
    candidates,
  };
}

function rankOne(options: SparseTreeOptions): number {
  return options.rankProbabilities ? (options.rankProbabilities[0] ?? 0) : options.alpha!;
}

/** Options of {@linkcode autoTreeBudget}. */
export interface AutoTreeBudgetOptions extends TreeLatencyOptions {
  /** Acceptance model: top-1 probability of a geometric rank model (default 0.6). */
  alpha?: number;
  /** Acceptance model: measured per-rank probabilities (instead of `alpha`). */
  rankProbabilities?: number[];
  /** `"tree"` (default) or `"chain"` (see {@linkcode ChooseTreeBudgetOptions.shape}). */
  shape?: "tree" | "chain";
}

/**
 * The draft-node budget (size − 1) for a fixed acceptance: the curve of
 * {@linkcode measureTreeLatency} (measured once per model in this process) and
 * {@linkcode chooseTreeBudget} under `alpha` (default 0.6, the acceptance Token Recycling's
 * default template assumes) or measured `rankProbabilities`. This is where `treeBudget: "auto"`
 * starts from (its prior); during the call it re-chooses from the measured acceptance
 * ({@linkcode AdaptiveTreeBudget}).
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { autoTreeBudget, speculativeGenerate } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * console.log(await autoTreeBudget(target)); // the choice at α 0.6 on this backend
 * const prompt = Array.from(target.tokenizer!.encode("one, two, three. one, two,"));
 * const out = await speculativeGenerate(target, prompt, { method: "token-recycling", treeBudget: "auto" });
 * console.log(out.stats.tau, out.stats.treeBudgets); // the budgets "auto" chose per step
 * ```
 */
export async function autoTreeBudget(
  model: Model,
  options: AutoTreeBudgetOptions = {},
): Promise<number> {
  const { alpha, rankProbabilities, shape, ...latency } = options;
  const curve = await measureTreeLatency(model, latency);
  const acceptance: SparseTreeOptions = rankProbabilities
    ? { rankProbabilities }
    : { alpha: alpha ?? 0.6 };
  return chooseTreeBudget(curve, { ...acceptance, shape }).budget;
}

/** Options of {@linkcode AdaptiveTreeBudget}: the prior, the exploration rule, the shape. */
export interface AdaptiveTreeBudgetOptions {
  /** Prior top-1 acceptance α of the geometric rank model (default 0.6). */
  prior?: number;
  /** Weight of the prior, in pseudo-trials (default 4). */
  priorWeight?: number;
  /**
   * Factor applied to the evidence before each new step's is added (default 1: every step of
   * the call counts alike; e.g. 0.9 forgets with a half-life of about 7 steps).
   */
  decay?: number;
  /** Trials of evidence below which at least `minBudget` drafts are fed (default 8). */
  explore?: number;
  /** Drafts fed per step while exploring (default 4). */
  minBudget?: number;
  /**
   * When the choice is 0 drafts (plain decoding), every `probeEvery`-th such step feeds one
   * draft instead, so a text that turns repetitive is noticed (default 8; 0: never).
   */
  probeEvery?: number;
  /** `"tree"` (default) or `"chain"` (see {@linkcode ChooseTreeBudgetOptions.shape}). */
  shape?: "tree" | "chain";
  /** Largest tree size considered (default: the curve's largest measured size). */
  maxSize?: number;
}

/** One step's choice of {@linkcode AdaptiveTreeBudget}. */
export interface AdaptiveTreeBudgetStep {
  /** Draft nodes asked for. */
  budget: number;
  /** The acceptance estimate it was chosen under. */
  alpha: number;
  /** Trials of evidence behind the estimate (the prior's excluded). */
  evidence: number;
  /** Why: the cost model's choice, the exploration floor, or a probe out of plain decoding. */
  reason: "choice" | "explore" | "probe";
}

/** A verified step as {@linkcode AdaptiveTreeBudget.observe} reads it. */
export interface AdaptiveTreeBudgetWalk {
  /** Accepted node indices (`start` first when it is ≥ 0), as the verification walks return. */
  path: readonly number[];
  /** Node the walk started from: 0 (the tree's root), or −1 (every parentless node is a child). */
  start: number;
}

/**
 * The budget rule behind `treeBudget: "auto"`: the tree size is re-chosen before every step
 * with {@linkcode chooseTreeBudget} on a fixed latency curve, under the top-1 acceptance α
 * measured so far in the call. At each node the walk stood on, its children are candidates of
 * rank 1, 2, … in index order; the walk accepting rank r counts r trials and one success, a
 * node whose children were all rejected counts them all as trials and no success (the maximum
 * likelihood estimate of a geometric rank model, censored at the tree's width). α is
 * (successes + w·prior) / (trials + w), a Beta prior of weight w. Until `explore` trials are
 * in, at least `minBudget` drafts are fed (so a pessimistic prior never decides alone); when
 * the estimate later picks plain decoding, every `probeEvery`-th step feeds one draft.
 * The budget changes only the tree, never the verification, so decoding stays lossless.
 *
 * @example
 * ```ts
 * import { AdaptiveTreeBudget } from "@tokenlab/tokenlab/decoding";
 * // a backend where each node costs about as much as a step (a CPU)
 * const points = [1, 2, 4, 8, 16].map((n) => ({ size: n, ms: 0.4 + 1.2 * n, low: 0, high: 0 }));
 * const auto = new AdaptiveTreeBudget({ backend: "cpu", device: "example", software: false, context: 0, points }, { shape: "chain" });
 * console.log(auto.next()); // 4: exploring, the prior (α 0.6) alone would say 0
 * auto.observe({ parents: [-1, 0, 1, 2, 3] }, { path: [0, 1, 2, 3, 4], start: 0 });
 * auto.observe({ parents: [-1, 0, 1, 2, 3] }, { path: [0, 1, 2, 3], start: 0 });
 * console.log(auto.alpha.toFixed(2), auto.next()); // 0.80 and the cost model's choice
 * ```
 */
export class AdaptiveTreeBudget {
  /** The latency curve the choices are made on. */
  readonly curve: TreeLatencyCurve;
  /** Every choice so far, in order. */
  readonly history: AdaptiveTreeBudgetStep[] = [];
  #o: Required<Omit<AdaptiveTreeBudgetOptions, "maxSize">> & { maxSize?: number };
  #successes = 0;
  #trials = 0;
  #zeroSteps = 0;
  #memo = new Map<number, number>();

  /** A rule on `curve` (e.g. `await measureTreeLatency(model)`). */
  constructor(curve: TreeLatencyCurve, options: AdaptiveTreeBudgetOptions = {}) {
    const o = {
      prior: options.prior ?? 0.6,
      priorWeight: options.priorWeight ?? 4,
      decay: options.decay ?? 1,
      explore: options.explore ?? 8,
      minBudget: options.minBudget ?? 4,
      probeEvery: options.probeEvery ?? 8,
      shape: options.shape ?? "tree",
      maxSize: options.maxSize,
    };
    check(
      o.prior > 0 && o.prior < 1,
      `AdaptiveTreeBudget: prior must be in (0, 1), got ${o.prior}`,
      { hint: "the top-1 acceptance you expect before any step, e.g. 0.6" },
    );
    check(
      o.priorWeight > 0 && Number.isFinite(o.priorWeight),
      `AdaptiveTreeBudget: priorWeight must be a positive number, got ${o.priorWeight}`,
    );
    check(
      o.decay > 0 && o.decay <= 1,
      `AdaptiveTreeBudget: decay must be in (0, 1], got ${o.decay}`,
    );
    for (const k of ["explore", "minBudget", "probeEvery"] as const) {
      check(
        Number.isInteger(o[k]) && o[k] >= 0,
        `AdaptiveTreeBudget: ${k} must be an integer ≥ 0, got ${o[k]}`,
      );
    }
    this.curve = curve;
    this.#o = o;
    // validates the curve, the shape and maxSize with chooseTreeBudget's own messages
    this.#choose(o.prior);
  }

  /** The current estimate of the top-1 acceptance α (the prior before any evidence). */
  get alpha(): number {
    const { prior, priorWeight } = this.#o;
    return (this.#successes + priorWeight * prior) / (this.#trials + priorWeight);
  }

  /** Trials of evidence so far (decayed; the prior's excluded). */
  get evidence(): number {
    return this.#trials;
  }

  /** The draft budget (tree size − 1) for the next step; recorded in `history`. */
  next(): number {
    const alpha = this.alpha, evidence = this.#trials;
    let budget = this.#choose(alpha);
    let reason: AdaptiveTreeBudgetStep["reason"] = "choice";
    const top = (this.#o.maxSize ?? this.curve.points.reduce((m, p) => Math.max(m, p.size), 1)) -
      1;
    if (evidence < this.#o.explore && budget < this.#o.minBudget) {
      budget = Math.min(this.#o.minBudget, top);
      reason = "explore";
    } else if (budget === 0) {
      this.#zeroSteps++;
      if (this.#o.probeEvery > 0 && this.#zeroSteps % this.#o.probeEvery === 0 && top >= 1) {
        budget = 1;
        reason = "probe";
      }
    }
    this.history.push({ budget, alpha, evidence, reason });
    return budget;
  }

  /** Adds one verified step's evidence: the fed tree and the walk's accepted path. */
  observe(tree: { parents: readonly number[] }, walk: AdaptiveTreeBudgetWalk): void {
    const { parents } = tree;
    const children = (node: number) => {
      const out: number[] = [];
      for (let i = 0; i < parents.length; i++) if (parents[i] === node) out.push(i);
      return out;
    };
    let successes = 0, trials = 0;
    let at = walk.start;
    const accepted = walk.start >= 0 ? walk.path.slice(1) : walk.path;
    for (const node of accepted) {
      const kids = children(at);
      const rank = kids.indexOf(node) + 1;
      check(rank > 0, `AdaptiveTreeBudget.observe: node ${node} is not a child of ${at}`, {
        hint: "pass the tree that was verified and the walk's path over it",
      });
      trials += rank;
      successes++;
      at = node;
    }
    trials += children(at).length;
    this.#successes = this.#o.decay * this.#successes + successes;
    this.#trials = this.#o.decay * this.#trials + trials;
  }

  #choose(alpha: number): number {
    // α to 1/200: the choice is a step function of α, and the memo keeps steps cheap
    const key = Math.min(0.995, Math.max(0.005, Math.round(alpha * 200) / 200));
    let b = this.#memo.get(key);
    if (b === undefined) {
      const { shape, maxSize } = this.#o;
      b = chooseTreeBudget(this.curve, { alpha: key, shape, maxSize }).budget;
      this.#memo.set(key, b);
    }
    return b;
  }
}
