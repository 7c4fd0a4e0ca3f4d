/**
 * P70 ADED: an adaptive tri-gram source searched by MCTS.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";

/** Options of `speculativeGenerate` for method "aded". */
export interface AdedOptions {
  /** Placeholder until the method lands. */
  _adedReserved?: never;
}

/** The "aded" drafter (internal; called by `speculativeGenerate`). */
export function adedDrafter(_ctx: DrafterContext<AdedOptions>): Drafter {
  throw new TokenlabError('speculativeGenerate: not implemented yet: method "aded"', {
    hint: 'use "pld", "token-recycling" or "draft-chain" for now',
  });
}
