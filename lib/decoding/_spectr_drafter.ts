/**
 * P71 SpecTr: k i.i.d. draft sequences verified by k-sequential selection.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";

/** Options of `speculativeGenerate` for method "spectr". */
export interface SpecTrOptions {
  /** Placeholder until the method lands. */
  _spectrReserved?: never;
}

/** The "spectr" drafter (internal; called by `speculativeGenerate`). */
export function spectrDrafter(_ctx: DrafterContext<SpecTrOptions>): Drafter {
  throw new TokenlabError('speculativeGenerate: not implemented yet: method "spectr"', {
    hint: 'use "pld", "token-recycling" or "draft-chain" for now',
  });
}
