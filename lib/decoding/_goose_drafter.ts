/**
 * P29 Goose: anisotropic speculation trees (a context-matched spine with adjacency branches).
 *
 * @module
 */
import { check } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";
import {
  balancedTree,
  contextMatch,
  GooseAdjacency,
  gooseBudget,
  type GooseOptions,
  gooseSpineShare,
  gooseTree,
} from "./goose_tree.ts";
import type { DraftTree } from "./token_tree.ts";

export type { GooseOptions };

/**
 * The "goose" drafter (internal; called by `speculativeGenerate`). Per step: match the context
 * (spine and confidence), size the tree (`treeBudget` when given, else 60 + 40·confidence
 * nodes), give the spine its share (tier by the EMA of spine acceptance, pushed up by the
 * confidence) and fill the rest with branches from the two-tier adjacency table, which every
 * verified pass (prefill, every node) refreshes.
 */
export function gooseDrafter(ctx: DrafterContext<GooseOptions>): Drafter {
  const o = ctx.options;
  const V = ctx.target.config.vocabSize;
  const sources = o.gooseSources ?? "both";
  check(
    sources === "both" || sources === "spine" || sources === "branches",
    `speculativeGenerate: gooseSources must be "both", "spine" or "branches", got ${
      JSON.stringify(sources)
    }`,
  );
  const alpha = o.gooseEmaAlpha ?? 0.3;
  check(
    alpha > 0 && alpha <= 1,
    `speculativeGenerate: gooseEmaAlpha must be in (0, 1], got ${alpha}`,
    { hint: "the paper uses 0.3" },
  );
  const balanced = o.gooseBalanced;
  check(
    balanced === undefined || (Number.isInteger(balanced) && balanced >= 1),
    `speculativeGenerate: gooseBalanced must be a positive integer (children per node), got ${balanced}`,
    { hint: "3 or 5 for the paper's iso3 / iso5 controls" },
  );
  const ngrams = o.gooseNgrams ?? [5, 4, 3];
  const spineLength = o.gooseSpineLength ?? 20;
  const maxBranchDepth = o.gooseMaxBranchDepth ?? 6;
  const minScore = o.gooseMinScore ?? 0.01;
  const table = o.gooseTable ?? new GooseAdjacency({ vocabSize: V, k: o.gooseK });
  check(
    table.vocabSize === V,
    `speculativeGenerate: the Goose table has vocabulary ${table.vocabSize}, the target ${V}`,
    { hint: "make the table with the target's config.vocabSize" },
  );
  check(
    o.gooseK === undefined || o.gooseTable === undefined || o.gooseK === table.k,
    `speculativeGenerate: gooseK ${o.gooseK} differs from the given gooseTable's k ${table.k}`,
    { hint: "pass one of them" },
  );
  // validate the match options once, with contextMatch's own messages
  contextMatch([0], { ngrams, maxLength: spineLength });
  check(
    Number.isInteger(maxBranchDepth) && maxBranchDepth >= 0 && minScore >= 0,
    `speculativeGenerate: gooseMaxBranchDepth must be a non-negative integer and gooseMinScore ≥ 0, got ${maxBranchDepth} and ${minScore}`,
  );
  let ema = 0.5;
  let proposed: DraftTree = { ids: [], parents: [] };
  let context: number[] = [];
  const successors = (t: number, p: number) => table.successors(t, p);
  return {
    draftCalls: 0,
    prefill(prompt, logits) {
      table.update(prompt, logits, { prev: prompt.map((_, i) => i > 0 ? prompt[i - 1] : -1) });
      return Promise.resolve();
    },
    propose(req) {
      context = req.context;
      const root = context.at(-1)!, prev = context.length > 1 ? context.at(-2)! : -1;
      const maxDepth = Math.max(0, req.maxDepth);
      const match = sources === "branches"
        ? { tokens: [], confidence: 0 }
        : contextMatch(context, { ngrams, maxLength: spineLength });
      const budget = req.budget ?? ctx.options.treeBudget ?? gooseBudget(match.confidence);
      if (balanced !== undefined) {
        proposed = balancedTree(root, { budget, branching: balanced, successors, prev, maxDepth });
      } else {
        proposed = gooseTree(root, {
          spine: match.tokens,
          budget: sources === "spine" ? Math.min(budget, match.tokens.length) : budget,
          spineShare: sources === "spine" ? 1 : gooseSpineShare(ema, match.confidence),
          successors: sources === "spine" ? () => ({ ids: [], scores: [] }) : successors,
          prev,
          k: table.k,
          maxBranchDepth,
          minScore,
          maxDepth,
        });
      }
      return Promise.resolve(proposed);
    },
    observe(fed, logits, accepted) {
      // fed is the proposed tree, or (first step) its subtree below the root
      const offset = proposed.ids.length - fed.ids.length; // 0 or 1
      const prevIds = fed.ids.map((_, i) => {
        const p = proposed.parents[i + offset];
        return p >= 0 ? proposed.ids[p] : context.length > 1 ? context.at(-2)! : -1;
      });
      table.update(fed.ids, logits, { prev: prevIds });
      // spine acceptance: the walk follows accepted tokens from the root (siblings are unique)
      const spineNodes = proposed.source?.filter((s) => s === "spine").length ?? 0;
      if (spineNodes > 0) {
        let node = 0, onSpine = 0;
        for (const t of accepted) {
          const c = proposed.ids.findIndex((id, i) => proposed.parents[i] === node && id === t);
          if (c < 0) break;
          if (proposed.source![c] === "spine") onSpine++;
          node = c;
        }
        ema = (1 - alpha) * ema + alpha * (onSpine / spineNodes);
      }
      return Promise.resolve();
    },
  };
}
