// The reference a grammar mask is checked against: every id of the id space tried from the
// matcher's current state, one by one (what `GrammarMatcher.mask` must equal, bit for bit).
import type { GrammarMatcher } from "./grammar.ts";

/** The naive mask: bit t set iff `m.allows(t)`, for every t < idSpace. */
export function naiveMask(m: GrammarMatcher, idSpace: number): Uint32Array {
  const out = new Uint32Array((idSpace + 31) >>> 5);
  for (let t = 0; t < idSpace; t++) if (m.allows(t)) out[t >>> 5] |= 1 << (t & 31);
  return out;
}
