/**
 * P29 Goose: anisotropic speculation trees (a context-matched spine with adjacency branches).
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";

/** Options of `speculativeGenerate` for method "goose". */
export interface GooseOptions {
  /** Placeholder until the method lands. */
  _gooseReserved?: never;
}

/** The "goose" drafter (internal; called by `speculativeGenerate`). */
export function gooseDrafter(_ctx: DrafterContext<GooseOptions>): Drafter {
  throw new TokenlabError('speculativeGenerate: not implemented yet: method "goose"', {
    hint: 'use "pld", "token-recycling" or "draft-chain" for now',
  });
}
