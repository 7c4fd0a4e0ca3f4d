/**
 * Speculative decoding on one engine: a drafter proposes a token tree rooted at the last
 * committed token, the target scores every node in one pass (`Model.forwardTree`), a
 * verification rule accepts a path (greedy walk at temperature 0, rejection sampling above),
 * `KvCache.acceptTreePath` keeps that path, and the target's row at its end gives one more
 * token. Every method shares the loop and the statistics, so τ and speed-ups compare.
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import {
  type SampleOptions,
  sampleReference,
  samplingProbabilities,
  samplingUniform,
} from "../../kernels/mod.ts";
import type { GenerateOptions, KvCache, Model } from "../models/mod.ts";
import { generationArgs } from "../models/_generation_args.ts";
import { AdjacencyTable } from "./adjacency.ts";
import { optimalSparseTree } from "./sparse_tree.ts";
import { AdaptiveTreeBudget, measureTreeLatency } from "./tree_budget.ts";
import type { DraftTree, TreeTemplate } from "./token_tree.ts";
import { drawFrom, greedyWalk, rejectionWalk, type WalkResult } from "./verify.ts";
import {
  draftChainDrafter,
  type Drafter,
  pldDrafter,
  recyclingDrafter,
  requireDraft,
} from "./_drafters.ts";
import { gooseDrafter, type GooseOptions } from "./_goose_drafter.ts";
import { adedDrafter, type AdedOptions } from "./_aded_drafter.ts";
import { dyspecDrafter, type DySpecOptions } from "./_dyspec_drafter.ts";
import { spectrDrafter, type SpecTrOptions } from "./_spectr_drafter.ts";
import { delDrafter, type DelOptions } from "./_del_drafter.ts";
import { skipdecodeDrafter, type SkipDecodeOptions } from "./_skipdecode_drafter.ts";

/** The methods of {@linkcode speculativeGenerate}. */
export type SpeculativeMethod =
  | "pld"
  | "token-recycling"
  | "draft-chain"
  | "goose"
  | "aded"
  | "dyspec"
  | "spectr"
  | "del"
  | "skipdecode";

/** The methods that run today; the others throw "not implemented yet". */
export const SPECULATIVE_METHODS: readonly SpeculativeMethod[] = [
  "pld",
  "token-recycling",
  "draft-chain",
  "goose",
  "aded",
  "dyspec",
  "spectr",
  "del",
  "skipdecode",
];

/** One verification step, as {@linkcode SpeculativeOptions.onStep} sees it. */
export interface SpeculativeStep {
  /** The tree fed to the target (its node 0 is the pending token, except on the first step). */
  tree: DraftTree;
  /** The walk's result: accepted nodes and the next token. */
  walk: WalkResult;
  /** Prompt and committed tokens after the step (the last is not yet in the cache). */
  ids: number[];
  /** The target's cache after `acceptTreePath` (holds `ids` without its last token). */
  cache: KvCache;
}

/** Options of {@linkcode speculativeGenerate}. */
export interface SpeculativeOptions
  extends
    GenerateOptions,
    GooseOptions,
    AdedOptions,
    DySpecOptions,
    SpecTrOptions,
    DelOptions,
    SkipDecodeOptions {
  /** The draft source. */
  method: SpeculativeMethod;
  /** Draft model for "draft-chain" (same vocabulary as the target). */
  draft?: Model;
  /**
   * Draft nodes per step: "pld" tokens copied (default 10), "token-recycling" nodes of the
   * tree (default 24), "draft-chain" γ when `gamma` is not given. `"auto"`: re-chosen before
   * every step from the verification latency measured on the target's backend (P86; cached per
   * model in the process) and the top-1 acceptance measured so far in the call (prior 0.6, at
   * least 4 drafts until 8 trials of evidence; `AdaptiveTreeBudget`): a tree for tree methods,
   * a chain for "pld"; the choices are in `stats.treeBudgets`. An `AdaptiveTreeBudget` of your
   * own (another curve, prior or exploration rule) is used the same way.
   */
  treeBudget?: number | "auto" | AdaptiveTreeBudget;
  /** "draft-chain", "spectr": draft tokens per step (per sequence) γ (default 4). */
  gamma?: number;
  /** "pld": longest n-gram matched (default 3). */
  maxNgram?: number;
  /** "pld": shortest n-gram matched (default 1). */
  minNgram?: number;
  /**
   * "token-recycling": the table to draft from and update. Pass the same table to several
   * calls for a hot start; by default each call starts cold with an empty one.
   */
  adjacency?: AdjacencyTable;
  /** "token-recycling": successors per token of a new table (default 8). */
  adjacencyK?: number;
  /**
   * "token-recycling": the tree shape (parents and sibling ranks; default the optimal sparse
   * tree of `treeBudget` + 1 nodes for a top-1 acceptance of 0.6).
   */
  template?: TreeTemplate;
  /** Called after every verification step (research hook: trees, walks, the cache). */
  onStep?: (step: SpeculativeStep) => void;
}

/** What a run measured. */
export interface SpeculativeStats {
  /** The method. */
  method: SpeculativeMethod;
  /** Target forward passes, prefill included. */
  targetCalls: number;
  /** Draft-model forward passes (0 for draft-free methods). */
  draftCalls: number;
  /** New tokens returned. */
  newTokens: number;
  /** newTokens / targetCalls (plain decoding: 1). */
  tau: number;
  /** Per verification pass, tokens committed (accepted drafts + the next token). */
  acceptedLengths: number[];
  /** Draft nodes fed to the target in all (the root excluded). */
  draftedNodes: number;
  /** Draft nodes accepted in all. */
  acceptedDrafts: number;
  /** Accepted drafts by depth below the root (index 0: depth 1). */
  acceptedByDepth: number[];
  /**
   * Per draft source (the tree's `source` labels: "ngram", "adjacency", "draft", …), nodes
   * fed and nodes accepted.
   */
  bySource: Record<string, { drafted: number; accepted: number }>;
  /** With `treeBudget: "auto"` (or a rule): the draft budget chosen for each proposal. */
  treeBudgets?: number[];
  /** Wall-clock seconds of the call. */
  seconds: number;
}

/** Result of {@linkcode speculativeGenerate}. */
export interface SpeculativeResult {
  /** Prompt + new ids. */
  ids: number[];
  /** Statistics. */
  stats: SpeculativeStats;
}

/**
 * Generates with speculative decoding. At temperature 0 the ids equal `generate(target, …)`'s
 * token for token (the CPU forward gives a tree node the same row as plain decoding); above
 * 0 every new token follows the target's sampling distribution (rejection sampling against
 * the distribution each draft was drawn from), with its own seeded draws, so the ids are not
 * those of `generate` with the same seed.
 *
 * "goose" (P29): a deep spine copied from the longest earlier 5/4/3-gram match and wide branches
 * from a two-tier adjacency table, sized by the match's confidence (`gooseTree`). "aded" (P70):
 * MCTS over an adaptive tri-gram matrix (`adedMatrix`, `TrigramMatrix`), its most visited paths
 * merged into a trie. Both draft deterministically; above temperature 0 they are verified by the
 * engine's rejection walk (lossless; ADED's own rule at T > 0 is not).
 *
 * Methods: "pld" (prompt lookup: a chain copied from an earlier n-gram match), "token-recycling"
 * (a tree read from an adjacency table of the target's top-k successors), "draft-chain"
 * (Leviathan/Chen: γ tokens from a smaller `draft` model). "del": self-speculation from the
 * target's own early exit, the exit layer and γ chosen each round from per-layer shadow-token
 * acceptance (P83; one shared cache, layers above the exit verified from the drafts' streams).
 * "skipdecode" is NOT lossless: each token runs only the top k(t) layers of a model trained
 * with that schedule (P31; τ = 1, the layers run are reported). "dyspec": a `draft` tree
 * grown by a max-heap on path draft probability, siblings sampled without replacement (P56).
 * "spectr": `draftSequences` i.i.d. `draft` sequences verified by K-SEQ selection (P71).
 *
 * @example
 * ```ts
 * import { bundledModelPath, generate, loadModel } from "@tokenlab/tokenlab/models";
 * import { speculativeGenerate } from "@tokenlab/tokenlab/decoding";
 * const target = await loadModel(bundledModelPath("tiny-target"));
 * const prompt = Array.from(target.tokenizer!.encode("the cat sat on the mat. the cat sat"));
 * const { ids, stats } = await speculativeGenerate(target, prompt, { method: "pld", maxNewTokens: 12 });
 * const plain = await generate(target, prompt, { maxNewTokens: 12 });
 * console.log(ids.join() === plain.join(), stats.tau.toFixed(2));
 * ```
 */
export async function speculativeGenerate(
  target: Model,
  promptIds: ArrayLike<number>,
  options: SpeculativeOptions,
): Promise<SpeculativeResult> {
  const t0 = performance.now();
  const method = options?.method;
  const { prompt, max } = generationArgs(promptIds, {
    maxNewTokens: options?.maxNewTokens,
    defaultMax: 16,
    caller: "speculativeGenerate",
  });
  const V = target.config.vocabSize;
  const sampling: SampleOptions = {
    temperature: options.temperature ?? 0,
    topK: options.topK,
    topP: options.topP,
  };
  // validates the sampling options once, with the sampler's own messages
  samplingProbabilities({ data: new Float32Array(1), shape: [1, 1] }, sampling);
  const seed = options.seed ?? 0;
  const stream = (row: number) => {
    let counter = 0;
    return () => samplingUniform({ seed, row, counter: counter++ });
  };
  const uniform = stream(1);
  const auto = options.treeBudget === "auto"
    ? await autoBudget(target, options.method)
    : options.treeBudget instanceof AdaptiveTreeBudget
    ? options.treeBudget
    : undefined;
  let nextBudget = auto?.next();
  const treeBudget = auto ? nextBudget : options.treeBudget as number | undefined;
  const drafter = makeDrafter(target, { ...options, treeBudget, auto }, sampling, stream(2));
  const stop = new Set(options.stop ?? []);
  const stats: SpeculativeStats = {
    method,
    targetCalls: 0,
    draftCalls: 0,
    newTokens: 0,
    tau: 0,
    acceptedLengths: [],
    draftedNodes: 0,
    acceptedDrafts: 0,
    acceptedByDepth: [],
    bySource: {},
    seconds: 0,
  };
  if (auto) stats.treeBudgets = [];
  const ids = [...prompt];
  const finish = (): SpeculativeResult => {
    stats.newTokens = ids.length - prompt.length;
    stats.tau = stats.targetCalls ? stats.newTokens / stats.targetCalls : 0;
    stats.draftCalls = drafter.draftCalls;
    stats.seconds = (performance.now() - t0) / 1000;
    return { ids, stats };
  };
  if (max === 0) return finish();
  const cache = target.newCache();
  const prefill = await target.forward(prompt, cache);
  stats.targetCalls++;
  await drafter.prefill(prompt, prefill);
  let contextRow: Float32Array | null = prefill.subarray(prefill.length - V);
  const walk = (tree: DraftTree, logits: Float32Array, start: number): WalkResult => {
    const o = { logits, vocabSize: V, start, contextLogits: contextRow ?? undefined };
    if (drafter.walk) return drafter.walk(tree, { ...o, sampling, uniform });
    return sampling.temperature === 0
      ? greedyWalk(tree, o)
      : rejectionWalk(tree, { ...o, sampling, uniform });
  };
  for (;;) {
    const left = max - (ids.length - prompt.length);
    const budget = nextBudget;
    const proposed = await drafter.propose({ context: ids, maxDepth: left - 1, cache, budget });
    if (auto) stats.treeBudgets!.push(budget!);
    // the first step's root (the prompt's last token) is already in the cache: feed its subtree
    const fed = contextRow ? dropRoot(proposed) : proposed;
    const start = contextRow ? -1 : 0;
    let result: WalkResult;
    let logits: Float32Array = new Float32Array(0);
    if (fed.ids.length === 0) {
      // nothing to verify: the next token comes from the row we already have
      const next = sampling.temperature === 0
        ? sampleReference({ data: contextRow!, shape: [1, V] })[0]
        : drawFrom(
          samplingProbabilities({ data: contextRow!, shape: [1, V] }, sampling),
          uniform(),
        );
      result = { path: [], next, accepted: 0 };
    } else {
      logits = drafter.verify
        ? await drafter.verify(fed, cache)
        : await target.forwardTree(fed, cache);
      stats.targetCalls++;
      result = walk(fed, logits, start);
      cache.acceptTreePath(fed.parents, result.path);
      auto?.observe(fed, { path: result.path, start });
      stats.draftedNodes += fed.ids.length - (start >= 0 ? 1 : 0);
      fed.ids.forEach((_, i) => {
        if (i === start) return;
        const s = stats.bySource[fed.source?.[i] ?? "draft"] ??= { drafted: 0, accepted: 0 };
        s.drafted++;
      });
    }
    contextRow = null;
    const acceptedNodes = result.path.slice(start >= 0 ? 1 : 0);
    const accepted = acceptedNodes.map((i) => fed.ids[i]);
    accepted.forEach((_, d) => stats.acceptedByDepth[d] = (stats.acceptedByDepth[d] ?? 0) + 1);
    stats.acceptedDrafts += accepted.length;
    for (const i of acceptedNodes) stats.bySource[fed.source?.[i] ?? "draft"].accepted++;
    if (fed.ids.length) stats.acceptedLengths.push(accepted.length + 1);
    await drafter.observe(fed, logits, accepted, result.next);
    const fresh = [...accepted, result.next];
    let done = false;
    for (const t of fresh) {
      if (ids.length - prompt.length >= max) {
        done = true;
        break;
      }
      ids.push(t);
      if (stop.has(t)) {
        done = true;
        break;
      }
    }
    options.onStep?.({ tree: fed, walk: result, ids: [...ids], cache });
    if (done || ids.length - prompt.length >= max) return finish();
    if (auto) nextBudget = auto.next();
  }
}

/** `treeBudget: "auto"`: a chain for prompt lookup, a tree for the tree methods. */
async function autoBudget(target: Model, method: SpeculativeMethod): Promise<AdaptiveTreeBudget> {
  if (method === "draft-chain") {
    throw new TokenlabError('speculativeGenerate: treeBudget "auto" does not size "draft-chain"', {
      hint:
        "its draft model costs a call per token, which the latency curve leaves out: pass gamma",
    });
  }
  const curve = await measureTreeLatency(target);
  return new AdaptiveTreeBudget(curve, { shape: method === "pld" ? "chain" : "tree" });
}

function makeDrafter(
  target: Model,
  options: SpeculativeOptions & { treeBudget?: number; auto?: AdaptiveTreeBudget },
  sampling: SampleOptions,
  uniform: () => number,
): Drafter {
  const V = target.config.vocabSize;
  const method = options.method;
  const budget = options.treeBudget;
  const ctx = { target, options, sampling, uniform };
  if (budget !== undefined) {
    check(
      Number.isInteger(budget) && budget >= 0,
      `speculativeGenerate: treeBudget must be a non-negative integer, got ${budget}`,
      { hint: 'or "auto" (sized by the verification latency measured on this backend)' },
    );
  }
  switch (method) {
    case "pld":
      return pldDrafter({
        maxDraft: budget ?? 10,
        maxNgram: options.maxNgram,
        minNgram: options.minNgram,
      });
    case "token-recycling": {
      const table = options.adjacency ??
        new AdjacencyTable({ vocabSize: V, k: options.adjacencyK });
      check(
        table.vocabSize === V,
        `speculativeGenerate: the adjacency table has vocabulary ${table.vocabSize}, the target ${V}`,
        { hint: "make the table with the target's config.vocabSize" },
      );
      const auto = options.auto;
      if (options.template || !auto) {
        return recyclingDrafter(
          table,
          options.template ?? optimalSparseTree((budget ?? 24) + 1, { alpha: 0.6 }),
        );
      }
      // "auto": the best tree of the chosen size under the acceptance measured so far
      const templates = new Map<string, TreeTemplate>();
      return recyclingDrafter(table, (b = 0) => {
        const alpha = Math.min(0.99, Math.max(0.01, Math.round(auto.alpha * 100) / 100));
        const key = `${b}:${alpha}`;
        let t = templates.get(key);
        if (!t) templates.set(key, t = optimalSparseTree(b + 1, { alpha }));
        return t;
      });
    }
    case "draft-chain": {
      const draft = requireDraft(ctx, "draft-chain");
      const gamma = options.gamma ?? budget ?? 4;
      check(
        Number.isInteger(gamma) && gamma >= 0,
        `speculativeGenerate: gamma must be a non-negative integer, got ${gamma}`,
      );
      return draftChainDrafter(draft, { gamma, sampling, uniform });
    }
    case "goose":
      return gooseDrafter(ctx);
    case "aded":
      return adedDrafter(ctx);
    case "dyspec":
      return dyspecDrafter(ctx);
    case "spectr":
      return spectrDrafter(ctx);
    case "del":
      return delDrafter(ctx);
    case "skipdecode":
      return skipdecodeDrafter(ctx);
    default:
      throw new TokenlabError(`speculativeGenerate: unknown method ${JSON.stringify(method)}`, {
        hint: `use one of ${SPECULATIVE_METHODS.map((m) => `"${m}"`).join(", ")}`,
      });
  }
}

/** The subtree below node 0, its children as roots (node 0 is already in the cache). */
function dropRoot(tree: DraftTree): DraftTree {
  const out: DraftTree = {
    ids: tree.ids.slice(1),
    parents: tree.parents.slice(1).map((p) => p - 1),
  };
  if (tree.q) out.q = tree.q.slice(1);
  if (tree.source) out.source = tree.source.slice(1);
  return out;
}
