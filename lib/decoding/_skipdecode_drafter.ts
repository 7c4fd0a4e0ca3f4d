/**
 * P31 SkipDecode inside `speculativeGenerate`'s loop. SkipDecode is not speculative and not
 * lossless: it changes the model's computation. Each step proposes no draft (a root-only
 * tree), and the "verification" pass runs the root through the top k(t) layers only (its
 * stream entering layer L − k(t) is the embedding), k(t) falling from kMax to kMin over the
 * generated positions (`skipDecodeLayers`); the prompt's prefill runs every layer. τ is 1 by
 * construction; the layers each fed token ran are reported through `skipdecodeReport`, and the
 * ids differ from `generate`'s. Only a model trained with the schedule is accepted (its
 * config.json's `tokenlab_exit_training.method` is "skipdecode", as written by
 * tools/train_exit_models.ts) unless `skipdecodeUntrained` is set.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";
import {
  resolveSkipDecodeSchedule,
  skipDecodeLayers,
  type SkipDecodeOptions,
} from "./skipdecode.ts";

export type { SkipDecodeOptions, SkipDecodeReport } from "./skipdecode.ts";

/** The "skipdecode" drafter (internal; called by `speculativeGenerate`). */
export function skipdecodeDrafter(ctx: DrafterContext<SkipDecodeOptions>): Drafter {
  const m = ctx.target, o = ctx.options, L = m.config.numLayers;
  const recipe = m.config.raw?.tokenlab_exit_training as
    | { method?: string; schedule?: { kMax?: number; kMin?: number; span?: number } }
    | undefined;
  if (recipe?.method !== "skipdecode" && !o.skipdecodeUntrained) {
    throw new TokenlabError(
      'speculativeGenerate "skipdecode": the target was not trained with SkipDecode\'s schedule (config.json has no tokenlab_exit_training.method "skipdecode")',
      {
        hint:
          "use data/models/tiny-target-skipdecode (tools/train_exit_models.ts), or pass skipdecodeUntrained: true to measure an untrained model",
      },
    );
  }
  const schedule = resolveSkipDecodeSchedule({
    numLayers: L,
    kMax: o.skipdecodeKMax ?? recipe?.schedule?.kMax,
    kMin: o.skipdecodeKMin ?? recipe?.schedule?.kMin,
    span: o.skipdecodeSpan ?? recipe?.schedule?.span,
  });
  const report = o.skipdecodeReport;
  if (report) {
    report.layersRun = [];
    report.numLayers = L;
    report.schedule = { kMax: schedule.kMax, kMin: schedule.kMin, span: schedule.span };
  }
  let promptLength = 0;
  return {
    draftCalls: 0,
    prefill(prompt) {
      promptLength = prompt.length;
      return Promise.resolve();
    },
    propose(req) {
      return Promise.resolve({ ids: [req.context.at(-1)!], parents: [-1], source: ["root"] });
    },
    verify(fed, cache) {
      const t = cache.nextPosition;
      const k = skipDecodeLayers(t, { ...schedule, promptLength });
      report?.layersRun.push(k);
      const { hidden } = m.forwardLayers(fed.ids, cache, { from: L - k, positions: [t] });
      return Promise.resolve(m.exitLogits(hidden));
    },
    observe: () => Promise.resolve(),
  };
}
