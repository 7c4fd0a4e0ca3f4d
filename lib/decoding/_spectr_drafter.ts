/**
 * P71 SpecTr: k i.i.d. draft sequences of γ tokens from the draft model, merged into a trie (one
 * tree node per distinct prefix) that the target scores in one pass, and verified position by
 * position with K-SEQ (`kSeqSelect`): at each position the drafts still consistent with the
 * accepted prefix offer their next tokens — i.i.d. from the draft's distribution given that
 * prefix, since each sequence continues independently — and those whose token was selected
 * continue. When none is accepted the residual's token ends the step; after the last position
 * the bonus token comes from the target. Temperature 0: the drafts coincide (a greedy chain)
 * and the greedy walk verifies them.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { sampleReference, samplingProbabilities } from "../../kernels/mod.ts";
import { type Drafter, type DrafterContext, requireDraft } from "./_drafters.ts";
import { DraftTreeRows } from "./_draft_tree_rows.ts";
import type { DraftTree } from "./token_tree.ts";
import { drawFrom, greedyWalk, type WalkResult } from "./verify.ts";
import { kSeqSelect, type SpecTrOptions } from "./spectr.ts";

export type { SpecTrOptions };

/** The "spectr" drafter (internal; called by `speculativeGenerate`). */
export function spectrDrafter(ctx: DrafterContext<SpecTrOptions>): Drafter {
  const { target, options, sampling, uniform } = ctx;
  const draft = requireDraft(ctx, "spectr");
  const V = target.config.vocabSize;
  const k = options.draftSequences ?? 4;
  // a tree budget sizes the trie: k sequences of γ tokens hold at most kγ nodes
  const budget = options.treeBudget;
  const gamma = options.gamma ?? (budget === undefined ? 4 : Math.max(1, Math.floor(budget / k)));
  for (const [name, v, min] of [["draftSequences", k, 1], ["gamma", gamma, 0]] as const) {
    if (!Number.isInteger(v) || v < min) {
      throw new TokenlabError(`speculativeGenerate: ${name} must be an integer ≥ ${min}, got ${v}`);
    }
  }
  const greedy = (sampling.temperature ?? 0) === 0;
  const rows = new DraftTreeRows(draft);
  let root = -1;
  // the last proposal: per sequence its node at each depth (index d: depth d + 1), per node the
  // draft distribution its children were drawn from, its children by token
  let seqNodes: number[][] = [];
  let childQ: (Float64Array | null)[] = [];
  let kids: Map<number, number>[] = [];
  let tokens: number[] = [];
  let depth = 0, size = 0;
  const self: Drafter = {
    draftCalls: 0,
    prefill(prompt) {
      rows.reset(prompt);
      return Promise.resolve();
    },
    async propose(req) {
      root = req.context.at(-1)!;
      // "auto" re-chooses the budget every step; an explicit gamma wins
      const stepGamma = req.budget === undefined || options.gamma !== undefined
        ? gamma
        : Math.max(1, Math.floor(req.budget / k));
      const g = Math.min(stepGamma, req.maxDepth);
      const n = greedy ? 1 : k; // greedy drafts coincide
      const tree: DraftTree = { ids: [root], parents: [-1], q: [null], source: ["root"] };
      seqNodes = Array.from({ length: n }, () => []);
      childQ = [null];
      kids = [new Map()];
      let at = new Array<number>(n).fill(0);
      for (let d = 0; d < g; d++) {
        const level = [...new Set(at)];
        const got = await rows.rows(tree, level);
        const dist = new Map<number, Float64Array>();
        level.forEach((node, i) => {
          const z = { data: got[i], shape: [1, V] };
          const q = greedy ? null : samplingProbabilities(z, sampling);
          childQ[node] = q;
          if (q) dist.set(node, q);
          else dist.set(node, Float64Array.of(sampleReference(z)[0]));
        });
        at = at.map((node, s) => {
          const q = dist.get(node)!;
          const x = greedy ? q[0] : drawFrom(q, uniform());
          let child = kids[node].get(x);
          if (child === undefined) {
            child = tree.ids.length;
            tree.ids.push(x);
            tree.parents.push(node);
            tree.q!.push(greedy ? null : q);
            tree.source!.push("draft");
            kids[node].set(x, child);
            kids.push(new Map());
            childQ.push(null);
          }
          seqNodes[s].push(child);
          return child;
        });
      }
      self.draftCalls = rows.calls;
      size = tree.ids.length;
      tokens = tree.ids;
      depth = g;
      return tree;
    },
    observe(_fed, _logits, accepted) {
      rows.commit(root, accepted);
      return Promise.resolve();
    },
    walk(tree, o): WalkResult {
      if (greedy) return greedyWalk(tree, o);
      // the first step feeds the tree without its root (already in the target's cache)
      const shift = size - tree.ids.length;
      const start = o.start ?? -1;
      const row = (node: number) =>
        node - shift < 0
          ? o.contextLogits!
          : o.logits.subarray((node - shift) * V, (node - shift + 1) * V);
      const path = start >= 0 ? [start] : [];
      let node = 0, active = seqNodes.map((_, s) => s);
      for (let d = 0;; d++) {
        const p = samplingProbabilities({ data: row(node), shape: [1, V] }, o.sampling);
        if (d >= depth || active.length === 0) {
          return {
            path,
            next: drawFrom(p, o.uniform()),
            accepted: path.length - (start >= 0 ? 1 : 0),
          };
        }
        const drafts = active.map((s) => tokens[seqNodes[s][d]]);
        const pick = kSeqSelect({ p, q: childQ[node]! }, { drafts, uniform: o.uniform });
        if (pick.index < 0) {
          return { path, next: pick.token, accepted: path.length - (start >= 0 ? 1 : 0) };
        }
        node = kids[node].get(pick.token)!;
        path.push(node - shift);
        active = active.filter((s) => seqNodes[s][d] === node);
      }
    },
  };
  return self;
}
