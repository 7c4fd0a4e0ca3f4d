/**
 * P56 DySpec: a draft-model tree grown greedily by draft probability (`dynamicDraftTree`), its
 * siblings drawn without replacement, verified losslessly by the engine's walks (greedy at
 * temperature 0, recursive rejection sampling above).
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { type Drafter, type DrafterContext, requireDraft } from "./_drafters.ts";
import { DraftTreeRows } from "./_draft_tree_rows.ts";
import { dynamicDraftTree, type DySpecOptions, templateDraftTree } from "./dyspec_tree.ts";
import type { DraftTree } from "./token_tree.ts";

export type { DySpecOptions };

/** The "dyspec" drafter (internal; called by `speculativeGenerate`). */
export function dyspecDrafter(ctx: DrafterContext<DySpecOptions>): Drafter {
  const { options, sampling, uniform } = ctx;
  const draft = requireDraft(ctx, "dyspec");
  const budget = options.treeBudget ?? 16;
  const depthLimit = options.dyspecMaxDepth ?? Infinity;
  if (!(depthLimit >= 0)) {
    throw new TokenlabError(`speculativeGenerate: dyspecMaxDepth must be ≥ 0, got ${depthLimit}`);
  }
  const rows = new DraftTreeRows(draft);
  let root = -1;
  const self: Drafter = {
    draftCalls: 0,
    prefill(prompt) {
      rows.reset(prompt);
      return Promise.resolve();
    },
    async propose(req) {
      root = req.context.at(-1)!;
      const common = {
        maxDepth: Math.min(depthLimit, req.maxDepth),
        sampling,
        uniform,
        rows: (t: DraftTree, nodes: number[]) => rows.rows(t, nodes),
      };
      const tree = options.dyspecTemplate
        ? await templateDraftTree(root, { ...common, template: options.dyspecTemplate })
        : await dynamicDraftTree(root, { ...common, budget: req.budget ?? budget });
      self.draftCalls = rows.calls;
      return { ids: tree.ids, parents: tree.parents, q: tree.q, source: tree.source };
    },
    observe(_fed, _logits, accepted) {
      rows.commit(root, accepted);
      return Promise.resolve();
    },
  };
  return self;
}
