/**
 * P70 ADED: an adaptive tri-gram source searched by MCTS.
 *
 * @module
 */
import { check } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";
import { type AdedOptions, mctsDraftPaths, trieTree, TrigramMatrix } from "./trigram_mcts.ts";

export type { AdedOptions };

/**
 * The "aded" drafter (internal; called by `speculativeGenerate`): each step searches the
 * tri-gram matrix from the context's last two tokens (MCTS, PUCT c₁ = 1.814, c₂ = 8), keeps
 * the most visited paths extended greedily by one token, merges them into a trie (at most
 * `treeBudget` nodes when given) and, after verification, adds the committed tokens' tri-grams
 * to the matrix. Its rollouts draw from the drafter's own seeded stream.
 */
export function adedDrafter(ctx: DrafterContext<AdedOptions>): Drafter {
  const o = ctx.options;
  const V = ctx.target.config.vocabSize;
  const given = o.adedMatrix ?? new TrigramMatrix({ vocabSize: V });
  check(
    given instanceof TrigramMatrix,
    "speculativeGenerate: adedMatrix must be a TrigramMatrix",
    { hint: "build one with TrigramMatrix.fromTokens(streams, { vocabSize })" },
  );
  check(
    given.vocabSize === V,
    `speculativeGenerate: the tri-gram matrix has vocabulary ${given.vocabSize}, the target ${V}`,
    { hint: "build the matrix with the target's tokenizer and config.vocabSize" },
  );
  const adapt = o.adedAdapt ?? true;
  check(
    adapt === true || adapt === false || adapt === "copy",
    `speculativeGenerate: adedAdapt must be true, false or "copy", got ${JSON.stringify(adapt)}`,
  );
  const matrix = adapt === "copy" ? given.clone() : given;
  const weight = o.adedAdaptWeight ?? 1;
  check(
    weight > 0 && Number.isFinite(weight),
    `speculativeGenerate: adedAdaptWeight must be a positive number, got ${weight}`,
  );
  const search = {
    simulations: o.adedSimulations ?? 150,
    length: o.adedLength ?? 8,
    paths: o.adedPaths ?? 8,
    uniform: ctx.uniform,
  };
  // validate the search options once, with the search's own messages
  mctsDraftPaths(new TrigramMatrix({ vocabSize: 1 }), [0, 0], { ...search, simulations: 0 });
  const budget = ctx.options.treeBudget;
  let context: number[] = [];
  return {
    draftCalls: 0,
    prefill: () => Promise.resolve(),
    propose(req) {
      context = req.context;
      const root = context.at(-1)!;
      if (context.length < 2 || req.maxDepth <= 0) {
        return Promise.resolve({ ids: [root], parents: [-1], source: ["root"] });
      }
      const paths = mctsDraftPaths(matrix, [context.at(-2)!, root], search);
      return Promise.resolve(trieTree(root, paths, {
        budget: req.budget ?? budget,
        maxDepth: req.maxDepth,
        source: "trigram",
      }));
    },
    observe(_fed, _logits, accepted, next) {
      if (adapt !== false) matrix.observe([...context.slice(-2), ...accepted, next], weight);
      return Promise.resolve();
    },
  };
}
