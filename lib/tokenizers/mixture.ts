/**
 * Data mixture inference (Hayase et al., 2024): what a BPE merge list reveals about the mix of
 * its training data. Each merge was the most frequent pair in the (unknown) mixture at its step;
 * with samples of each candidate category, every step gives linear constraints on the mixture
 * weights, and a linear program (solved with HiGHS) finds the weights that violate them least.
 *
 * @module
 */
import highsLoader from "highs";
import { TokenlabError } from "../util/errors.ts";
import { bytesToBinary } from "./_bytes.ts";
import { MaxHeap, pairKey, ReplayState } from "./_merge_replay.ts";
import { type PretokenizerSpec, resolvePretokenizer } from "./pretokenizers.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { countPieces } from "./_train_common.ts";

/** A merge: the bytes of the two tokens it joins. */
export type ByteMerge = [Uint8Array, Uint8Array];

/**
 * A tokenizer's merges in order. Merge-based tokenizers (HF, our trainers) return their list;
 * rank-based ones (tiktoken) get it rebuilt: each multi-byte token, in rank order, is split by
 * running BPE over its bytes with the lower ranks only, which ends in exactly two parts for every
 * token a merge made. Tokens that do not (none in the tiktoken files we load) are left out.
 *
 * @example
 * ```ts
 * import { loadPretrained, mergeList } from "@tokenlab/tokenlab/tokenizers";
 * const merges = mergeList(await loadPretrained("cl100k_base"));
 * console.log(merges.length, new TextDecoder().decode(merges[0][0]));
 * ```
 */
export function mergeList(tokenizer: Tokenizer): ByteMerge[] {
  if (!tokenizer || typeof tokenizer.tokenBytes !== "function") {
    throw new TokenlabError("mergeList needs a Tokenizer", {
      hint: "load one with loadPretrained(name) or Tokenizer.fromTokenizerJson(path)",
    });
  }
  const own = tokenizer.merges;
  if (own.length > 0) return own;
  const special = new Set(Object.values(tokenizer.specialTokens));
  const rank = new Map<string, number>();
  const tokens: string[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (special.has(id)) continue;
    let bytes: Uint8Array;
    try {
      bytes = tokenizer.tokenBytes(id);
    } catch {
      continue;
    }
    const s = bytesToBinary(bytes);
    if (!rank.has(s)) rank.set(s, id);
    tokens[id] = s;
  }
  const out: ByteMerge[] = [];
  for (let id = 0; id < tokens.length; id++) {
    const s = tokens[id];
    if (s === undefined || s.length < 2 || rank.get(s) !== id) continue;
    const parts = s.split("");
    for (;;) {
      let best = -1, bestRank = id;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rank.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    if (parts.length === 2) {
      out.push([binary(parts[0]), binary(parts[1])]);
    }
  }
  return out;
}

function binary(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** Options of {@linkcode inferMixture}. */
export interface InferMixtureOptions {
  /** One text sample per candidate category (held out from anything the tokenizer saw, ideally). */
  samples: Record<string, string | string[]>;
  /** The tokenizer's pre-tokenizer: merges never cross its pieces. */
  pretokenizer: PretokenizerSpec;
  /** How many merges give constraints (default 3000, or all when fewer). */
  merges?: number;
  /**
   * Merges applied first without constraints (default 0): e.g. the base tokenizer's merges when
   * asking what data a tokenizer *extension* (Llama 3 over cl100k) was trained on.
   */
  skipMerges?: number;
  /** Most violated competitor pairs added per merge step and round (default 10). */
  competitorsPerStep?: number;
  /** Rounds of constraint generation before giving up (default 40). */
  maxRounds?: number;
  /**
   * Stop when a round moves no weight by more than this (default 5e-4); 0 runs until no
   * constraint is violated, as the paper does (slower, same weights to about this tolerance).
   */
  tolerance?: number;
  /** Called after each solver round. */
  onRound?: (info: MixtureRound) => void;
}

/** Progress of one constraint-generation round. */
export interface MixtureRound {
  /** Round number, from 1. */
  round: number;
  /** Constraints added this round. */
  added: number;
  /** Constraints in the program. */
  constraints: number;
  /** Current weight estimate per category. */
  proportions: Record<string, number>;
}

/** What {@linkcode inferMixture} found. */
export interface MixtureInference {
  /** Estimated share of each category in the training data (sums to 1). */
  proportions: Record<string, number>;
  /** Merge steps used as constraints. */
  steps: number;
  /** Merges skipped because their tokens never occur as pairs in the byte alphabet. */
  unusableMerges: number;
  /** Merges (among the steps) that remake an already-made token; replayed without constraints. */
  redundantMerges: number;
  /**
   * Merges whose pair occurs in no sample at its step. Many of them mean the samples miss the
   * tokenizer's data, or the list is not in frequency order; the estimate is then unreliable.
   */
  unseenMerges: number;
  /** Constraints in the final linear program. */
  constraints: number;
  /** Constraint-generation rounds. */
  rounds: number;
  /** Total slack of the final program (0 = every merge exactly explained). */
  objective: number;
  /** Whether the last round found no violated constraint, or moved no weight beyond `tolerance`. */
  converged: boolean;
  /** Wall-clock seconds. */
  seconds: number;
}

// Counts are normalised per million sample bytes, so the weights are byte shares and the
// coefficients sit in a range the solver likes.
const PER_BYTES = 1e6;

interface Constraint {
  step: number;
  pair: number;
  coef: Float64Array; // per category: normalised count(merge) − count(pair)
}

type HighsSolver = { solve(lp: string, options?: Record<string, unknown>): HighsResult };
interface HighsResult {
  Status: string;
  ObjectiveValue?: number;
  Columns: Record<string, { Primal: number }>;
}
let solverPromise: Promise<HighsSolver> | null = null;

/**
 * Infers the training-data mixture of a BPE tokenizer over the given categories, by the linear
 * program of Hayase et al. (2024): for each merge step t and each competing pair p,
 * Σᵢ αᵢ (cᵢ,ₜ(mₜ) − cᵢ,ₜ(p)) + vₜ + v_p ≥ 0, minimising Σ vₜ + Σ v_p with α on the simplex.
 * Competing pairs are added lazily: each round replays the merges under the current α and adds
 * the pairs that would have out-ranked the true merge, until none does.
 *
 * @example
 * ```ts
 * import { inferMixture, trainBpe } from "@tokenlab/tokenlab/tokenizers";
 * const en = "the cat sat on the mat with the hat ".repeat(200);
 * const de = "der hund und die katze sind hier ".repeat(200);
 * const tok = trainBpe(en.repeat(3) + de, { vocabSize: 300, onProgress: () => {} });
 * const r = await inferMixture(tok, { samples: { en, de }, pretokenizer: "gpt2" });
 * console.log(r.proportions); // about { en: 0.75, de: 0.25 }
 * ```
 */
export async function inferMixture(
  source: Tokenizer | ByteMerge[],
  options: InferMixtureOptions,
): Promise<MixtureInference> {
  const t0 = performance.now();
  const merges = Array.isArray(source) ? source : mergeList(source);
  const o = validate(merges, options);
  const names = Object.keys(o.samples);
  const n = names.length;
  const re = resolvePretokenizer(o.pretokenizer);

  // Symbol ids: bytes are 0–255, merge t makes 256 + t (or reuses the id of equal bytes).
  const idOf = new Map<string, number>();
  for (let b = 0; b < 256; b++) idOf.set(String.fromCharCode(b), b);
  const plan: Array<[number, number, number]> = [];
  let unusable = 0;
  // A merge that makes a token an earlier merge already made (converted vocabularies list
  // several splits per token) is replayed, as the tokenizer would, but gives no constraint.
  const redundant = new Set<number>();
  const end = Math.min(merges.length, o.skipMerges + o.merges);
  for (let t = 0; t < end; t++) {
    const sa = bytesToBinary(merges[t][0]), sb = bytesToBinary(merges[t][1]);
    const a = idOf.get(sa), b = idOf.get(sb);
    if (a === undefined || b === undefined) {
      unusable++;
      plan.push([-1, -1, -1]);
      continue;
    }
    let c = idOf.get(sa + sb);
    if (c === undefined) idOf.set(sa + sb, c = 256 + t);
    else if (t >= o.skipMerges) redundant.add(t - o.skipMerges);
    plan.push([a, b, c]);
  }
  const applyFirst = plan.slice(0, o.skipMerges);
  const steps = plan.slice(o.skipMerges);

  // Replay each category once, logging per-step count deltas and the true merge's count.
  const init: Array<Map<number, number>> = [];
  const deltaLog: Array<Array<Map<number, number>>> = []; // [step][category]
  const mergeCount = new Float64Array(steps.length * n);
  const scale = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const texts = o.samples[names[i]];
    const list = typeof texts === "string" ? [texts] : texts;
    const pieces = countPieces(list, re);
    let bytes = 0;
    for (const [p, c] of pieces) bytes += p.length * c;
    if (bytes === 0) {
      throw new TokenlabError(`inferMixture: the sample of "${names[i]}" is empty`);
    }
    scale[i] = PER_BYTES / bytes;
    const state = new ReplayState(pieces);
    for (const [a, b, c] of applyFirst) if (a >= 0) state.apply(a, b, c, null);
    init.push(new Map(state.pairCounts));
    for (let t = 0; t < steps.length; t++) {
      const [a, b, c] = steps[t];
      deltaLog[t] ??= [];
      const d = new Map<number, number>();
      if (a >= 0) {
        mergeCount[t * n + i] = state.pairCounts.get(pairKey(a, b)) ?? 0;
        state.apply(a, b, c, d);
      }
      deltaLog[t][i] = d;
    }
  }

  let unseen = 0;
  for (let t = 0; t < steps.length; t++) {
    if (steps[t][0] < 0 || redundant.has(t)) continue;
    let total = 0;
    for (let i = 0; i < n; i++) total += mergeCount[t * n + i];
    if (total === 0) unseen++;
  }
  const highs = await (solverPromise ??= (highsLoader as unknown as () => Promise<HighsSolver>)());
  let alpha = new Float64Array(n).fill(1 / n);
  let stepSlack = new Float64Array(steps.length);
  let pairSlack = new Map<number, number>();
  const constraints: Constraint[] = [];
  const seen = new Set<string>();
  let objective = 0, rounds = 0, converged = false;
  for (; rounds < o.maxRounds;) {
    rounds++;
    const added = findViolations();
    if (added === 0) {
      converged = true;
      break;
    }
    const before = alpha;
    ({ alpha, stepSlack, pairSlack, objective } = solve());
    const moved = Math.max(...alpha.map((x, i) => Math.abs(x - before[i])));
    o.onRound?.({
      round: rounds,
      added,
      constraints: constraints.length,
      proportions: named(alpha),
    });
    if (rounds > 1 && moved < o.tolerance) {
      converged = true;
      break;
    }
  }
  return {
    proportions: named(alpha),
    steps: steps.length,
    unusableMerges: unusable,
    redundantMerges: redundant.size,
    unseenMerges: unseen,
    constraints: constraints.length,
    rounds,
    objective,
    converged,
    seconds: (performance.now() - t0) / 1000,
  };

  function named(a: Float64Array): Record<string, number> {
    return Object.fromEntries(names.map((name, i) => [name, a[i]]));
  }

  // Replays the merges under the current weights; adds the pairs that out-rank the true merge.
  function findViolations(): number {
    const counts = init.map((m) => new Map(m));
    const mixed = new Map<number, number>();
    const heap = new MaxHeap();
    for (let i = 0; i < n; i++) {
      const w = alpha[i] * scale[i];
      for (const [k, c] of counts[i]) mixed.set(k, (mixed.get(k) ?? 0) + w * c);
    }
    for (const [k, v] of mixed) heap.push(v, k);
    let added = 0;
    const held: Array<[number, number]> = [];
    for (let t = 0; t < steps.length; t++) {
      const [a, b] = steps[t];
      if (a >= 0 && !redundant.has(t)) {
        const mk = pairKey(a, b);
        let pm = 0;
        for (let i = 0; i < n; i++) pm += alpha[i] * scale[i] * mergeCount[t * n + i];
        const tol = 1e-7 * Math.max(1, pm);
        const threshold = pm + stepSlack[t] + tol;
        let found = 0, looked = 0;
        held.length = 0;
        while (
          heap.size > 0 && heap.peekValue() > threshold && found < o.competitors &&
          looked < 8 * o.competitors
        ) {
          const [v, k] = heap.pop();
          if (mixed.get(k) !== v) continue; // stale
          held.push([v, k]);
          if (k === mk) continue;
          looked++;
          if (v - pm - stepSlack[t] - (pairSlack.get(k) ?? 0) <= tol) continue;
          const id = `${t}:${k}`;
          if (seen.has(id)) continue;
          seen.add(id);
          const coef = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            coef[i] = scale[i] * (mergeCount[t * n + i] - (counts[i].get(k) ?? 0));
          }
          constraints.push({ step: t, pair: k, coef });
          found++;
          added++;
        }
        for (const [v, k] of held) heap.push(v, k);
      }
      const changed = new Set<number>();
      for (let i = 0; i < n; i++) {
        const w = alpha[i] * scale[i];
        for (const [k, d] of deltaLog[t][i]) {
          if (d === 0) continue;
          counts[i].set(k, (counts[i].get(k) ?? 0) + d);
          mixed.set(k, (mixed.get(k) ?? 0) + w * d);
          changed.add(k);
        }
      }
      for (const k of changed) heap.push(mixed.get(k)!, k);
    }
    return added;
  }

  function solve() {
    const stepVars = new Map<number, string>(), pairVars = new Map<number, string>();
    const rows: string[] = [];
    for (const [ci, c] of constraints.entries()) {
      const sv = stepVars.get(c.step) ?? `v${c.step}`;
      stepVars.set(c.step, sv);
      let pv = pairVars.get(c.pair);
      if (!pv) pairVars.set(c.pair, pv = `w${pairVars.size}`);
      let row = ` c${ci}:`;
      for (let i = 0; i < n; i++) {
        const x = c.coef[i];
        if (x === 0) continue;
        row += ` ${x < 0 ? "-" : "+"} ${Math.abs(x).toPrecision(12)} a${i}`;
      }
      rows.push(`${row} + ${sv} + ${pv} >= 0`);
    }
    const objectiveTerms = [...stepVars.values(), ...pairVars.values()];
    const lp = [
      "Minimize",
      ` obj: ${objectiveTerms.length ? objectiveTerms.join(" + ") : "0 a0"}`,
      "Subject To",
      ...rows,
      ` simplex: ${names.map((_, i) => `a${i}`).join(" + ")} = 1`,
      "End",
    ].join("\n");
    const result = highs.solve(lp);
    if (result.Status !== "Optimal") {
      throw new TokenlabError(`inferMixture: the linear program ended "${result.Status}"`, {
        hint: "try fewer merges or larger samples",
      });
    }
    const col = (name: string) => result.Columns[name]?.Primal ?? 0;
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.max(0, col(`a${i}`));
    const sum = a.reduce((s, x) => s + x, 0) || 1;
    for (let i = 0; i < n; i++) a[i] /= sum;
    const ss = new Float64Array(steps.length);
    for (const [t, name] of stepVars) ss[t] = col(name);
    const ps = new Map<number, number>();
    for (const [k, name] of pairVars) ps.set(k, col(name));
    return { alpha: a, stepSlack: ss, pairSlack: ps, objective: result.ObjectiveValue ?? 0 };
  }
}

function validate(merges: ByteMerge[], options: InferMixtureOptions) {
  if (!options || typeof options !== "object") {
    throw new TokenlabError("inferMixture needs options { samples, pretokenizer }");
  }
  const samples = options.samples;
  if (!samples || typeof samples !== "object" || Object.keys(samples).length < 2) {
    throw new TokenlabError("inferMixture: samples needs at least two categories", {
      hint: "pass { samples: { english: text, code: text, … } }",
    });
  }
  for (const [k, v] of Object.entries(samples)) {
    const ok = typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"));
    if (!ok) {
      throw new TokenlabError(`inferMixture: samples.${k} must be a string or an array of strings`);
    }
  }
  if (options.pretokenizer === undefined) {
    throw new TokenlabError("inferMixture needs the tokenizer's pretokenizer", {
      hint: 'e.g. "gpt2" for trainBpe defaults, "o200k" for GPT-4o, "llama3" for Llama 3',
    });
  }
  if (merges.length === 0) {
    throw new TokenlabError("inferMixture: the merge list is empty");
  }
  const skipMerges = options.skipMerges ?? 0;
  const count = options.merges ?? 3000;
  for (const [name, v] of [["merges", count], ["skipMerges", skipMerges]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new TokenlabError(`inferMixture: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  if (skipMerges >= merges.length) {
    throw new TokenlabError(
      `inferMixture: skipMerges (${skipMerges}) leaves none of the ${merges.length} merges`,
    );
  }
  return {
    samples,
    pretokenizer: options.pretokenizer,
    merges: count,
    skipMerges,
    competitors: options.competitorsPerStep ?? 10,
    maxRounds: options.maxRounds ?? 40,
    onRound: options.onRound,
    tolerance: options.tolerance ?? 5e-4,
  };
}
