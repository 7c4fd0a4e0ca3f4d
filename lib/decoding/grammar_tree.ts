/**
 * Grammar masks on every node of a speculation tree: what speculative decoding under a grammar
 * needs (the verifier masks the target's logits at each node; a draft token the grammar
 * forbids is rejected before verification). One depth-first walk with `accept` / `rollback`,
 * so each node costs one mask (cached per parser state) and the matcher ends where it started.
 *
 * @module
 */

import type { TokenTree } from "../models/tree.ts";
import { TokenlabError } from "../util/errors.ts";
import type { GrammarMatcher } from "./grammar.ts";

/** Options of {@linkcode grammarTreeMasks}. */
export interface GrammarTreeMasksOptions {
  /**
   * Whether the matcher has already taken the tokens of the tree's roots (parent −1), as when
   * a root is the last committed token (default true). When false, each root's token is
   * checked and taken from the matcher's current state.
   */
  rootsAccepted?: boolean;
}

/** What {@linkcode grammarTreeMasks} returns, per tree node. */
export interface GrammarTreeMasks {
  /** Whether the path from the root to the node is allowed by the grammar. */
  valid: boolean[];
  /** The mask of tokens allowed after the node's path (null where the path is not valid). */
  masks: Array<Uint32Array | null>;
}

/**
 * The grammar's mask after every node of a token tree, and which nodes the grammar allows.
 * The matcher is left in the state it was in.
 *
 * @example
 * ```ts
 * import { compileGrammar, grammarTreeMasks } from "@tokenlab/tokenlab/decoding";
 * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await loadPretrained("cl100k_base");
 * const m = compileGrammar({ ebnf: 'root ::= "a"+ "b"' }, tok).matcher();
 * const [a, b, c] = [tok.encode("a")[0], tok.encode("b")[0], tok.encode("c")[0]];
 * const r = grammarTreeMasks(m, { ids: [a, b, c, a], parents: [-1, 0, 0, 0] }, { rootsAccepted: false });
 * console.log(r.valid); // [true, true, false, true]
 * ```
 */
export function grammarTreeMasks(
  matcher: GrammarMatcher,
  tree: TokenTree,
  options: GrammarTreeMasksOptions = {},
): GrammarTreeMasks {
  const { ids, parents } = tree ?? {};
  if (!Array.isArray(ids) || !Array.isArray(parents) || ids.length !== parents.length) {
    throw new TokenlabError("grammarTreeMasks: tree needs ids and parents of the same length");
  }
  const n = ids.length;
  const kids: number[][] = Array.from({ length: n }, () => []);
  const roots: number[] = [];
  parents.forEach((p, v) => {
    if (p === -1) roots.push(v);
    else if (Number.isInteger(p) && p >= 0 && p < v) kids[p].push(v);
    else {
      throw new TokenlabError(`grammarTreeMasks: node ${v} has parent ${p}`, {
        hint: "parents come first: each parent index is −1 or smaller than its node's",
      });
    }
  });
  const valid = new Array<boolean>(n).fill(false);
  const masks = new Array<Uint32Array | null>(n).fill(null);
  const rootsAccepted = options.rootsAccepted ?? true;
  const start = matcher.length;
  // depth-first: entering a node takes its token, leaving it rolls the token back
  const visit = (v: number, taken: boolean): void => {
    valid[v] = true;
    masks[v] = matcher.mask();
    for (const c of kids[v]) {
      if (matcher.accept(ids[c])) {
        visit(c, true);
      }
    }
    if (taken) matcher.rollback(1);
  };
  for (const r of roots) {
    if (rootsAccepted) visit(r, false);
    else if (matcher.accept(ids[r])) visit(r, true);
  }
  if (matcher.length !== start) {
    throw new TokenlabError("grammarTreeMasks: internal error, matcher moved");
  }
  return { valid, masks };
}
