/**
 * P83 DEL: self-speculation from a dynamically chosen exit layer.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";

/** Options of `speculativeGenerate` for method "del". */
export interface DelOptions {
  /** Placeholder until the method lands. */
  _delReserved?: never;
}

/** The "del" drafter (internal; called by `speculativeGenerate`). */
export function delDrafter(_ctx: DrafterContext<DelOptions>): Drafter {
  throw new TokenlabError('speculativeGenerate: not implemented yet: method "del"', {
    hint: 'use "pld", "token-recycling" or "draft-chain" for now',
  });
}
