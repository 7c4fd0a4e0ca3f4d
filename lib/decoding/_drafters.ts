/**
 * The draft sources behind `speculativeGenerate`'s methods: each proposes a tree rooted at the
 * last committed token and learns from the target's verified pass.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { type SampleOptions, sampleReference, samplingProbabilities } from "../../kernels/mod.ts";
import type { KvCache, Model } from "../models/mod.ts";
import type { AdjacencyTable } from "./adjacency.ts";
import { promptLookup, type PromptLookupOptions } from "./ngram.ts";
import { chainTree, type DraftTree, treeFromTemplate, type TreeTemplate } from "./token_tree.ts";
import { drawFrom, type RejectionWalkOptions, type WalkResult } from "./verify.ts";

/** What a drafter is told when asked for a tree. */
export interface DraftRequest {
  /** Prompt and committed tokens so far (the last one is the tree's root). */
  context: number[];
  /** Deepest draft node wanted (tokens still to generate − 1). */
  maxDepth: number;
  /**
   * The target's cache (holds the context, without its last token except on the first step).
   * Self-speculative drafters (DEL) append their drafts' lower-layer rows to it.
   */
  cache?: KvCache;
  /**
   * Draft nodes wanted this step (`treeBudget: "auto"` re-chooses it every step); when absent,
   * the drafter's own budget.
   */
  budget?: number;
}

/** What a method's drafter factory is given by `speculativeGenerate`. */
export interface DrafterContext<O> {
  /** The target model. */
  target: Model;
  /** The caller's options (the method's own fields, `treeBudget`, `draft`, …). */
  options: O & { treeBudget?: number; draft?: Model };
  /** The target's sampling options (temperature 0: greedy). */
  sampling: SampleOptions;
  /** Seeded uniforms for the drafter's own draws (a stream apart from the verifier's). */
  uniform: () => number;
}

/** The draft model a method needs, checked once: present, and with the target's vocabulary. */
export function requireDraft(
  ctx: { target: Model; options: { draft?: Model } },
  method: string,
): Model {
  const draft = ctx.options.draft;
  if (!draft) {
    throw new TokenlabError(`method "${method}" needs a draft model`, {
      hint: 'pass { draft: await loadModel(bundledModelPath("tiny-draft")) }',
    });
  }
  const V = ctx.target.config.vocabSize;
  if (draft.config?.vocabSize !== V) {
    throw new TokenlabError(
      `speculativeGenerate: the draft's vocabulary (${draft.config?.vocabSize}) differs from the target's (${V})`,
      { hint: "use a draft trained with the target's tokenizer" },
    );
  }
  return draft;
}

/** A draft source. */
export interface Drafter {
  /** Draft-model forward passes so far. */
  draftCalls: number;
  /** Sees the prompt's prefill logits. */
  prefill(prompt: number[], logits: Float32Array): Promise<void>;
  /** A tree whose node 0 is the context's last token. */
  propose(req: DraftRequest): Promise<DraftTree>;
  /** Sees the verified pass: the fed tree, its logits, the accepted tokens and the next token. */
  observe(fed: DraftTree, logits: Float32Array, accepted: number[], next: number): Promise<void>;
  /**
   * A verification rule of the method's own (SpecTr's k-sequential selection, …) used in place
   * of the greedy walk / recursive rejection sampling; it must be lossless.
   */
  walk?(tree: DraftTree, options: RejectionWalkOptions): WalkResult;
  /**
   * The target's pass over the fed tree, in place of `target.forwardTree(fed, cache)`: the
   * same logits and cache rows (DEL reuses its drafts' lower-layer keys and values), or, for a
   * method that is not lossless (SkipDecode), its own partial pass.
   */
  verify?(fed: DraftTree, cache: KvCache): Promise<Float32Array>;
}

/** PLD: a chain copied from an earlier occurrence of the context's last n-gram. */
export function pldDrafter(options: PromptLookupOptions): Drafter {
  return {
    draftCalls: 0,
    prefill: () => Promise.resolve(),
    propose(req) {
      const maxDraft = Math.min(req.budget ?? options.maxDraft ?? 10, req.maxDepth);
      const draft = promptLookup(req.context, { ...options, maxDraft });
      return Promise.resolve(chainTree([req.context.at(-1)!, ...draft], { source: "ngram" }));
    },
    observe: () => Promise.resolve(),
  };
}

/**
 * Token Recycling: a template filled breadth-first from the adjacency table (a function gives
 * the template for each step's budget).
 */
export function recyclingDrafter(
  table: AdjacencyTable,
  template: TreeTemplate | ((budget?: number) => TreeTemplate),
): Drafter {
  return {
    draftCalls: 0,
    prefill(prompt, logits) {
      table.update(prompt, logits);
      return Promise.resolve();
    },
    propose(req) {
      const t = typeof template === "function" ? template(req.budget) : template;
      return Promise.resolve(treeFromTemplate(t, {
        root: req.context.at(-1)!,
        successors: (t) => table.successors(t),
        maxDepth: req.maxDepth,
        source: "adjacency",
      }));
    },
    observe(fed, logits) {
      table.update(fed.ids, logits);
      return Promise.resolve();
    },
  };
}

/**
 * Leviathan/Chen speculative sampling's drafter: γ tokens drawn one by one from the draft
 * model with the target's sampling options (greedy at temperature 0), each node carrying the
 * distribution it was drawn from. The draft cache holds the committed tokens it has been fed;
 * `behind` lists committed tokens it has not been fed yet.
 */
export function draftChainDrafter(
  draft: Model,
  options: { gamma: number; sampling: SampleOptions; uniform: () => number },
): Drafter {
  const V = draft.config.vocabSize, T = options.sampling.temperature ?? 0;
  let cache: KvCache = draft.newCache();
  let behind: number[] = [];
  let lastRow: Float32Array | null = null;
  let fedDrafts: number[] = [];
  const self: Drafter = {
    draftCalls: 0,
    async prefill(prompt) {
      cache = draft.newCache();
      const z = await draft.forward(prompt, cache);
      self.draftCalls++;
      lastRow = z.subarray(z.length - V);
      behind = [];
    },
    async propose(req) {
      const gamma = Math.min(options.gamma, req.maxDepth);
      const ids = [req.context.at(-1)!];
      const q: (Float64Array | null)[] = [null];
      fedDrafts = [];
      if (gamma === 0) return { ids, parents: [-1], q, source: ["root"] };
      let row = lastRow!;
      if (behind.length) {
        const z = await draft.forward(behind, cache);
        self.draftCalls++;
        row = z.subarray(z.length - V);
        behind = [];
      }
      for (let i = 0; i < gamma; i++) {
        let x: number;
        if (T === 0) {
          x = sampleReference({ data: row, shape: [1, V] })[0];
          q.push(null);
        } else {
          const dist = samplingProbabilities({ data: row, shape: [1, V] }, options.sampling);
          x = drawFrom(dist, options.uniform());
          q.push(dist);
        }
        ids.push(x);
        if (i < gamma - 1) {
          row = await draft.forward([x], cache);
          self.draftCalls++;
          fedDrafts.push(x);
        }
      }
      lastRow = null;
      return { ...chainTree(ids, { source: "draft" }), q };
    },
    observe(_fed, _logits, accepted, next) {
      // keep the accepted drafts the draft cache was fed, drop the rest, queue what it lacks
      const keepFed = Math.min(accepted.length, fedDrafts.length);
      const drop = fedDrafts.length - keepFed;
      if (drop > 0) {
        const len = cache.length(0) - drop;
        for (let l = 0; l < cache.numLayers; l++) cache.keep(l, [...Array(len).keys()]);
        cache.nextPosition -= drop;
      }
      behind.push(...accepted.slice(keepFed), next);
      fedDrafts = [];
      return Promise.resolve();
    },
  };
  return self;
}
