/**
 * P56 DySpec: a draft-model tree grown greedily by draft probability, verified losslessly.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";

/** Options of `speculativeGenerate` for method "dyspec". */
export interface DySpecOptions {
  /** Placeholder until the method lands. */
  _dyspecReserved?: never;
}

/** The "dyspec" drafter (internal; called by `speculativeGenerate`). */
export function dyspecDrafter(_ctx: DrafterContext<DySpecOptions>): Drafter {
  throw new TokenlabError('speculativeGenerate: not implemented yet: method "dyspec"', {
    hint: 'use "pld", "token-recycling" or "draft-chain" for now',
  });
}
