/**
 * P31 SkipDecode: a monotone per-position exit schedule.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";

/** Options of `speculativeGenerate` for method "skipdecode". */
export interface SkipDecodeOptions {
  /** Placeholder until the method lands. */
  _skipdecodeReserved?: never;
}

/** The "skipdecode" drafter (internal; called by `speculativeGenerate`). */
export function skipdecodeDrafter(_ctx: DrafterContext<SkipDecodeOptions>): Drafter {
  throw new TokenlabError('speculativeGenerate: not implemented yet: method "skipdecode"', {
    hint: 'use "pld", "token-recycling" or "draft-chain" for now',
  });
}
