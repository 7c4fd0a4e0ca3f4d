/**
 * R2R's divergent-token analysis between a draft (small) and a target (large) model (P52,
 * "Roads to Rome: small-large model token routing"): run both on the same tokens with teacher
 * forcing, find where their greedy next-token predictions differ, and classify each difference
 * as *neutral* (taking the draft's token, the target's own greedy continuation comes back to the
 * one it would have written: the paths re-synchronise) or *divergent* (they do not, within a
 * horizon). R2R labels divergence with a judge LLM comparing continuations; here the judge is a
 * re-synchronisation test on the target's greedy continuations, the scaled-down stand-in.
 *
 * Routers decide per token whether the target is needed: a draft-confidence threshold
 * (`confidenceRouterCurve`) and a logistic router fitted to the divergence labels
 * (`fitRouter`, R2R's "lightweight router" on the draft's output distribution), and
 * `routedGenerate` decodes with the draft, calling the target only where the router says so.
 *
 * @example
 * ```ts
 * import { bundledModelPath, generate, loadModel } from "@tokenlab/tokenlab/models";
 * import { analyzeDivergence } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const draft = await loadModel(bundledModelPath("tiny-draft"));
 * const prompt = Array.from(target.tokenizer!.encode("The jury said it did find that"));
 * const ids = await generate(target, prompt, { maxNewTokens: 20 }); // the target's own path
 * const a = await analyzeDivergence(target, { draft, ids, from: prompt.length, horizon: 6 });
 * console.log(a.counts); // identical / neutral / divergent predictions
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";
import type { KvCache } from "../models/mod.ts";

/** What the analysis needs of a model (`Model` of `@tokenlab/tokenlab/models` is one). */
export interface DivergenceModel {
  /** Its config; only the vocabulary size is read. */
  readonly config: { readonly vocabSize: number };
  /** A fresh KV cache. */
  newCache(): KvCache;
  /** Logits of every fed position, [ids.length × vocab], after what `cache` holds. */
  forward(ids: number[], cache: KvCache): Promise<Float32Array>;
}

/** How a draft prediction compares with the target's. */
export type DivergenceKind = "identical" | "neutral" | "divergent";

/** One teacher-forced position: both models' greedy next token and the draft's certainty. */
export interface PredictionDiff {
  /** Index (into the token sequence) of the token being predicted. */
  position: number;
  /** The target's greedy token (lowest id on ties). */
  target: number;
  /** The draft's greedy token. */
  draft: number;
  /** Whether they differ. */
  differs: boolean;
  /** The draft's probability of its own token (its softmax maximum). */
  draftConfidence: number;
  /** Entropy of the draft's distribution, in nats. */
  draftEntropy: number;
  /** The draft's top-1 minus top-2 probability. */
  draftMargin: number;
  /** The target's probability of its own token. */
  targetConfidence: number;
  /** The draft's probability of the target's token. */
  draftProbOfTarget: number;
}

function argmax(row: ArrayLike<number>, start: number, n: number): number {
  let best = 0, top = -Infinity;
  for (let i = 0; i < n; i++) if (row[start + i] > top) top = row[best = i + start] as number;
  return best - start;
}

/** Softmax statistics of one row: the maximum, entropy, top-1 − top-2 margin, p of one id. */
function rowStats(row: ArrayLike<number>, start: number, n: number, id: number) {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, row[start + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(row[start + i] - max);
  let entropy = 0, p1 = 0, p2 = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.exp(row[start + i] - max) / sum;
    if (p > 0) entropy -= p * Math.log(p);
    if (p > p1) [p1, p2] = [p, p1];
    else if (p > p2) p2 = p;
  }
  return { confidence: p1, entropy, margin: p1 - p2, pOf: Math.exp(row[start + id] - max) / sum };
}

/** Options of {@linkcode predictionDiffs}. */
export interface PredictionDiffsOptions {
  /** Vocabulary size (the row length). */
  vocabSize: number;
  /** Position of the token predicted by row 0 (default 1: row r predicts token r + 1). */
  firstPosition?: number;
}

/**
 * Compares two models' teacher-forced logits row by row: row r of each ([rows × vocab],
 * row-major) predicts token `firstPosition + r`. Pure: the building block of
 * {@linkcode analyzeDivergence}, usable on logits from anywhere.
 *
 * @example
 * ```ts
 * import { predictionDiffs } from "@tokenlab/tokenlab/decoding";
 * const draft = new Float32Array([2, 0, 0, 0, 0, 3]), target = new Float32Array([2, 0, 0, 3, 0, 0]);
 * const d = predictionDiffs({ draft, target }, { vocabSize: 3 });
 * console.log(d.map((x) => [x.position, x.draft, x.target, x.differs])); // [[1,0,0,false],[2,2,0,true]]
 * ```
 */
export function predictionDiffs(
  logits: { draft: ArrayLike<number>; target: ArrayLike<number> },
  options: PredictionDiffsOptions,
): PredictionDiff[] {
  const V = options?.vocabSize;
  check(
    Number.isInteger(V) && V > 0,
    `predictionDiffs: vocabSize must be a positive integer, got ${V}`,
  );
  const { draft, target } = logits ?? {};
  check(
    draft?.length === target?.length && draft.length % V === 0,
    `predictionDiffs: draft and target logits must have the same whole number of rows of ${V}, got ${draft?.length} and ${target?.length}`,
  );
  const first = options.firstPosition ?? 1;
  const out: PredictionDiff[] = [];
  for (let r = 0; r < draft.length / V; r++) {
    const o = r * V, t = argmax(target, o, V), d = argmax(draft, o, V);
    const ds = rowStats(draft, o, V, t), ts = rowStats(target, o, V, t);
    out.push({
      position: first + r,
      target: t,
      draft: d,
      differs: t !== d,
      draftConfidence: ds.confidence,
      draftEntropy: ds.entropy,
      draftMargin: ds.margin,
      targetConfidence: ts.confidence,
      draftProbOfTarget: ds.pOf,
    });
  }
  return out;
}

/** Options of {@linkcode resynchronized}. */
export interface ResyncOptions {
  /** Tokens that must agree (default 4). */
  syncTokens?: number;
  /** How far the two paths may be shifted against each other, in tokens (default 2). */
  maxShift?: number;
}

/**
 * Whether two continuations of the same prefix have come back together by their end: the last
 * `syncTokens` tokens of one occur in the other, starting within `maxShift` tokens of the same
 * place (a shift allows a one-token word against a two-token one). Symmetric. Pure.
 *
 * @example
 * ```ts
 * import { resynchronized } from "@tokenlab/tokenlab/decoding";
 * console.log(resynchronized([1, 2, 3, 4, 5, 6], [9, 2, 3, 4, 5, 6])); // true: same after the first token
 * console.log(resynchronized([1, 2, 3, 4, 5, 6], [8, 8, 2, 3, 4, 5, 6, 7])); // true: shifted by one
 * console.log(resynchronized([1, 2, 3, 4, 5, 6], [7, 8, 9, 7, 8, 9])); // false
 * ```
 */
export function resynchronized(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: ResyncOptions = {},
): boolean {
  const K = options.syncTokens ?? 4, S = options.maxShift ?? 2;
  check(
    Number.isInteger(K) && K > 0,
    `resynchronized: syncTokens must be a positive integer, got ${K}`,
  );
  check(
    Number.isInteger(S) && S >= 0,
    `resynchronized: maxShift must be a non-negative integer, got ${S}`,
  );
  const tailIn = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    if (x.length < K) return false;
    const at = x.length - K;
    for (let s = -S; s <= S; s++) {
      const j = at + s;
      if (j < 0 || j + K > y.length) continue;
      let same = true;
      for (let i = 0; i < K && same; i++) same = x[at + i] === y[j + i];
      if (same) return true;
    }
    return false;
  };
  return tailIn(a, b) || tailIn(b, a);
}

/** Options of {@linkcode analyzeDivergence}. */
export interface DivergenceOptions extends ResyncOptions {
  /** The draft (small) model, same vocabulary. */
  draft: DivergenceModel;
  /** The token sequence both models read (teacher forcing); e.g. the target's own greedy output. */
  ids: ArrayLike<number>;
  /** First position analysed (the prompt length; default 1). */
  from?: number;
  /**
   * End of the analysed positions, exclusive (default ids.length): positions from..to-1. Tokens
   * after `to` still serve as the target's own continuation when they are its greedy path.
   */
  to?: number;
  /**
   * Continuation length, in tokens after the branch token, before the re-synchronisation test
   * (default 8); continuations run `horizon + maxShift` tokens so a shifted match fits.
   */
  horizon?: number;
}

/** One analysed position of {@linkcode analyzeDivergence}. */
export interface DivergencePosition extends PredictionDiff {
  /** identical (same token), neutral (re-synchronises) or divergent. */
  kind: DivergenceKind;
  /** Where they differ: the target's greedy continuation after its own token (that token first). */
  targetPath?: number[];
  /** Where they differ: the target's greedy continuation after the draft's token (that token first). */
  draftPath?: number[];
}

/** What {@linkcode analyzeDivergence} returns. */
export interface DivergenceAnalysis {
  /** Every analysed position, in order. */
  positions: DivergencePosition[];
  /** How many positions of each kind. */
  counts: Record<DivergenceKind, number>;
  /** Target forward passes spent (the teacher-forced one and the continuations). */
  targetCalls: number;
}

function truncateCache(cache: KvCache, n: number): void {
  const keep = Array.from({ length: n }, (_, i) => i);
  for (let l = 0; l < cache.numLayers; l++) cache.keep(l, keep);
  cache.nextPosition = n;
}

/**
 * R2R's divergent-token analysis, scaled down: both models read `ids` (one teacher-forced pass
 * each); at every position from `from` on where their greedy tokens differ, the target continues
 * greedily after its own token and after the draft's (`horizon + maxShift` tokens each, from
 * the cached prefix), and the difference is *neutral* when the two continuations
 * {@linkcode resynchronized}, else *divergent*. When `ids` already is the target's greedy path
 * there, the continuation after the target's token is read from `ids` instead of recomputed.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { analyzeDivergence } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const draft = await loadModel(bundledModelPath("tiny-draft"));
 * const ids = Array.from(target.tokenizer!.encode("It was the best of times, it was the worst of times."));
 * const { positions, counts } = await analyzeDivergence(target, { draft, ids, from: 4 });
 * console.log(counts, positions.filter((p) => p.kind === "divergent").map((p) => p.position));
 * ```
 */
export async function analyzeDivergence(
  target: DivergenceModel,
  options: DivergenceOptions,
): Promise<DivergenceAnalysis> {
  const V = target.config.vocabSize, ids = Array.from(options?.ids ?? []);
  check(
    options?.draft?.config?.vocabSize === V,
    `analyzeDivergence: the draft's vocabulary (${options?.draft?.config?.vocabSize}) differs from the target's (${V})`,
    { hint: "both models must share one tokenizer" },
  );
  for (const id of ids) {
    check(
      Number.isInteger(id) && id >= 0 && id < V,
      `analyzeDivergence: token id ${id} is outside 0..${V - 1}`,
    );
  }
  const from = options.from ?? 1, H = options.horizon ?? 8, S = options.maxShift ?? 2;
  check(
    Number.isInteger(from) && from >= 1 && from <= ids.length,
    `analyzeDivergence: from must be in 1..${ids.length} (the prompt length), got ${from}`,
    { hint: "a position needs at least one token before it" },
  );
  check(
    Number.isInteger(H) && H > 0,
    `analyzeDivergence: horizon must be a positive integer, got ${H}`,
  );
  const to = options.to ?? ids.length;
  check(
    Number.isInteger(to) && to >= from && to <= ids.length,
    `analyzeDivergence: to must be in ${from}..${ids.length}, got ${to}`,
  );
  const L = H + S; // tokens generated after the branch token
  const cache = target.newCache();
  const tLogits = await target.forward(ids, cache);
  const dLogits = await options.draft.forward(ids, options.draft.newCache());
  let targetCalls = 1;
  const rows = (x: Float32Array) => x.subarray((from - 1) * V, (to - 1) * V);
  const diffs = predictionDiffs({ draft: rows(dLogits), target: rows(tLogits) }, {
    vocabSize: V,
    firstPosition: from,
  });
  // greedy target token after every prefix (row j predicts ids[j + 1])
  const greedy = Array.from({ length: ids.length }, (_, j) => argmax(tLogits, j * V, V));
  const onPath = (q: number) => {
    // ids[q..q+L] is the target's greedy continuation from the prefix ids[0..q)
    if (q + L >= ids.length) return false;
    for (let j = q; j <= q + L; j++) if (ids[j] !== greedy[j - 1]) return false;
    return true;
  };
  const branch = async (q: number, first: number) => {
    truncateCache(cache, q);
    const path = [first];
    for (let i = 0; i < L; i++) {
      const row = await target.forward([path[path.length - 1]], cache);
      targetCalls++;
      path.push(argmax(row, 0, V));
    }
    return path;
  };
  const positions: DivergencePosition[] = diffs.map((d) => ({ ...d, kind: "identical" }));
  // descending, so the cache only ever shrinks back to a shorter prefix
  for (let r = positions.length - 1; r >= 0; r--) {
    const p = positions[r];
    if (!p.differs) continue;
    const q = p.position;
    p.targetPath = onPath(q) ? ids.slice(q, q + L + 1) : await branch(q, p.target);
    p.draftPath = await branch(q, p.draft);
    // both ways: each path's first horizon + 1 tokens against the other (longer) path
    const tp = p.targetPath,
      dp = p.draftPath,
      sync = { syncTokens: options.syncTokens, maxShift: S };
    const back = resynchronized(tp.slice(0, H + 1), dp, sync) ||
      resynchronized(dp.slice(0, H + 1), tp, sync);
    p.kind = back ? "neutral" : "divergent";
  }
  const counts = { identical: 0, neutral: 0, divergent: 0 };
  for (const p of positions) counts[p.kind]++;
  return { positions, counts, targetCalls };
}

/** One threshold of {@linkcode confidenceRouterCurve}. */
export interface RouterPoint {
  /** The threshold: positions with a score below it go to the target. */
  threshold: number;
  /** Share of positions sent to the target. */
  routed: number;
  /** Share of the divergent positions sent to the target (recall). */
  divergentCaught: number;
  /** Share of all positions that are divergent and left to the draft. */
  divergentMissed: number;
  /** Share of all positions where the draft's token stays and differs from the target's. */
  differingKept: number;
}

/** Options of {@linkcode confidenceRouterCurve}. */
export interface RouterCurveOptions {
  /** Thresholds to evaluate (default 0, 0.05, …, 1). */
  thresholds?: number[];
  /** The score compared with the threshold (default: the draft's confidence). */
  score?: (p: DivergencePosition) => number;
}

/**
 * Routing by a score threshold over analysed positions: a position goes to the target when its
 * score (default: the draft's confidence) is below the threshold. Per threshold, the share
 * routed and how many divergent positions it catches or leaves. Pure.
 *
 * @example
 * ```ts
 * import { confidenceRouterCurve, type DivergencePosition } from "@tokenlab/tokenlab/decoding";
 * const p = (draftConfidence: number, kind: DivergencePosition["kind"]) =>
 *   ({ draftConfidence, kind, differs: kind !== "identical" }) as DivergencePosition;
 * const curve = confidenceRouterCurve([p(0.9, "identical"), p(0.2, "divergent")], { thresholds: [0.5] });
 * console.log(curve[0]); // routed 0.5, divergentCaught 1, divergentMissed 0, differingKept 0
 * ```
 */
export function confidenceRouterCurve(
  positions: DivergencePosition[],
  options: RouterCurveOptions = {},
): RouterPoint[] {
  check(Array.isArray(positions) && positions.length > 0, "confidenceRouterCurve: no positions");
  const thresholds = options.thresholds ?? Array.from({ length: 21 }, (_, i) => i / 20);
  const score = options.score ?? ((p: DivergencePosition) => p.draftConfidence);
  const n = positions.length, div = positions.filter((p) => p.kind === "divergent").length;
  return thresholds.map((threshold) => {
    let routed = 0, caught = 0, missed = 0, kept = 0;
    for (const p of positions) {
      if (score(p) < threshold) {
        routed++;
        if (p.kind === "divergent") caught++;
      } else {
        if (p.kind === "divergent") missed++;
        if (p.differs) kept++;
      }
    }
    return {
      threshold,
      routed: routed / n,
      divergentCaught: div ? caught / div : NaN,
      divergentMissed: missed / n,
      differingKept: kept / n,
    };
  });
}

/**
 * The router's input features of one draft logits row: [confidence (the softmax maximum),
 * entropy (nats), top-1 − top-2 margin] — the same values {@linkcode predictionDiffs} reports.
 *
 * @example
 * ```ts
 * import { routerFeatures } from "@tokenlab/tokenlab/decoding";
 * console.log(routerFeatures(new Float32Array([0, 0]))); // [0.5, ln 2, 0]
 * ```
 */
export function routerFeatures(draftRow: ArrayLike<number>): number[] {
  const s = rowStats(draftRow, 0, draftRow.length, 0);
  return [s.confidence, s.entropy, s.margin];
}

/** A fitted logistic router (see {@linkcode fitRouter}). */
export interface LogisticRouter {
  /** Weights of the standardised features. */
  weights: number[];
  /** Bias. */
  bias: number;
  /** Feature means used for standardisation. */
  mean: number[];
  /** Feature standard deviations used for standardisation. */
  std: number[];
}

/** Options of {@linkcode fitRouter}. */
export interface FitRouterOptions {
  /** Gradient-descent iterations (default 500). */
  iterations?: number;
  /** Step size (default 0.5). */
  learningRate?: number;
  /** L2 penalty on the weights (default 1e-3). */
  l2?: number;
  /** Weigh the classes equally (default true: divergent tokens are the rare class). */
  balanced?: boolean;
}

/**
 * Fits a logistic-regression router on feature vectors and labels (true = send to the target,
 * e.g. `kind === "divergent"`), by full-batch gradient descent on standardised features —
 * R2R's lightweight router, scaled down to a linear model of the draft's output distribution.
 * Deterministic (no random initialisation).
 *
 * @example
 * ```ts
 * import { fitRouter, routerProbability } from "@tokenlab/tokenlab/decoding";
 * const router = fitRouter({ features: [[0.9], [0.8], [0.2], [0.1]], labels: [false, false, true, true] });
 * console.log(routerProbability(router, [0.15]) > 0.5, routerProbability(router, [0.95]) < 0.5); // true true
 * ```
 */
export function fitRouter(
  data: { features: number[][]; labels: boolean[] },
  options: FitRouterOptions = {},
): LogisticRouter {
  const X = data?.features, y = data?.labels;
  check(
    Array.isArray(X) && Array.isArray(y) && X.length === y.length && X.length > 0,
    `fitRouter: features and labels must be non-empty arrays of one length, got ${X?.length} and ${y?.length}`,
  );
  const F = X[0].length;
  check(
    X.every((x) => x.length === F && x.every(Number.isFinite)),
    "fitRouter: every feature vector needs the same finite features",
  );
  const n = X.length, iters = options.iterations ?? 500, lr = options.learningRate ?? 0.5;
  const l2 = options.l2 ?? 1e-3;
  const mean = Array.from({ length: F }, (_, j) => X.reduce((s, x) => s + x[j], 0) / n);
  const std = Array.from(
    { length: F },
    (_, j) => Math.sqrt(X.reduce((s, x) => s + (x[j] - mean[j]) ** 2, 0) / n) || 1,
  );
  const Z = X.map((x) => x.map((v, j) => (v - mean[j]) / std[j]));
  const pos = y.filter(Boolean).length;
  const wPos = options.balanced === false || pos === 0 ? 1 : n / (2 * pos);
  const wNeg = options.balanced === false || pos === n ? 1 : n / (2 * (n - pos));
  const w = new Array(F).fill(0);
  let b = 0;
  for (let it = 0; it < iters; it++) {
    const g = new Array(F).fill(0);
    let gb = 0, wsum = 0;
    for (let i = 0; i < n; i++) {
      let z = b;
      for (let j = 0; j < F; j++) z += w[j] * Z[i][j];
      const p = 1 / (1 + Math.exp(-z)), c = y[i] ? wPos : wNeg, e = c * (p - (y[i] ? 1 : 0));
      for (let j = 0; j < F; j++) g[j] += e * Z[i][j];
      gb += e;
      wsum += c;
    }
    for (let j = 0; j < F; j++) w[j] -= lr * (g[j] / wsum + l2 * w[j]);
    b -= lr * (gb / wsum);
  }
  return { weights: w, bias: b, mean, std };
}

/**
 * The router's probability that a position needs the target.
 *
 * @example
 * ```ts
 * import { routerProbability } from "@tokenlab/tokenlab/decoding";
 * console.log(routerProbability({ weights: [-2], bias: 0, mean: [0.5], std: [0.25] }, [0.5])); // 0.5
 * ```
 */
export function routerProbability(router: LogisticRouter, features: number[]): number {
  let z = router.bias;
  for (let j = 0; j < router.weights.length; j++) {
    z += router.weights[j] * (features[j] - router.mean[j]) / router.std[j];
  }
  return 1 / (1 + Math.exp(-z));
}

/** Options of {@linkcode routedGenerate}. */
export interface RoutedGenerateOptions {
  /** The draft (small) model that writes by default. */
  draft: DivergenceModel;
  /** The prompt ids. */
  prompt: ArrayLike<number>;
  /** New tokens to write. */
  maxNewTokens: number;
  /** Whether the target writes this token, given the draft's logits row for it. */
  route: (draftRow: Float32Array) => boolean;
}

/** What {@linkcode routedGenerate} returns. */
export interface RoutedGenerateResult {
  /** Prompt + new ids. */
  ids: number[];
  /** For each new token: whether the target wrote it. */
  fromTarget: boolean[];
  /** Sequential target passes: one per routed token (the first also reads the prompt). */
  targetCalls: number;
  /** Draft passes (prefill included). */
  draftCalls: number;
}

/**
 * Greedy decoding by the draft with per-token routing (R2R's inference loop): for each new
 * token the router sees the draft's logits; when it says so, the target — after catching up
 * on the tokens it has not read yet, in one pass — writes the token (its greedy choice),
 * otherwise the draft's greedy token stays. With `route: () => true` the output is the target's
 * greedy output; with `() => false`, the draft's.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { routedGenerate } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const draft = await loadModel(bundledModelPath("tiny-draft"));
 * const prompt = Array.from(target.tokenizer!.encode("The jury said"));
 * const low = (row: Float32Array) => { let m = -Infinity, s = 0; for (const x of row) m = Math.max(m, x); for (const x of row) s += Math.exp(x - m); return 1 / s < 0.3; };
 * const r = await routedGenerate(target, { draft, prompt, maxNewTokens: 12, route: low });
 * console.log(r.fromTarget.filter(Boolean).length, "of 12 tokens from the target");
 * ```
 */
export async function routedGenerate(
  target: DivergenceModel,
  options: RoutedGenerateOptions,
): Promise<RoutedGenerateResult> {
  const V = target.config.vocabSize, prompt = Array.from(options?.prompt ?? []);
  check(prompt.length > 0, "routedGenerate: the prompt is empty", {
    hint: "pass at least one token",
  });
  check(
    options.draft?.config?.vocabSize === V,
    "routedGenerate: the draft and the target need the same vocabulary",
  );
  const max = options.maxNewTokens;
  check(
    Number.isInteger(max) && max >= 0,
    `routedGenerate: maxNewTokens must be a non-negative integer, got ${max}`,
  );
  const dCache = options.draft.newCache(), tCache = target.newCache();
  const ids = [...prompt], fromTarget: boolean[] = [];
  let pending = [...prompt], targetCalls = 0, draftCalls = 1;
  let dRow = (await options.draft.forward(prompt, dCache)).slice(-V);
  for (let i = 0; i < max; i++) {
    let next: number;
    if (options.route(dRow)) {
      const t = await target.forward(pending, tCache);
      targetCalls++;
      pending = [];
      next = argmax(t, t.length - V, V);
      fromTarget.push(true);
    } else {
      next = argmax(dRow, 0, V);
      fromTarget.push(false);
    }
    ids.push(next);
    pending.push(next);
    if (i + 1 < max) {
      dRow = (await options.draft.forward([next], dCache)).slice(-V);
      draftCalls++;
    }
  }
  return { ids, fromTarget, targetCalls, draftCalls };
}
