/**
 * Token trees for speculative verification: nodes with parent indices, checked once and
 * shared by the CPU and GPU forwards.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";

/**
 * A token tree to verify in one forward pass (speculative decoding): `ids[i]` is node i's
 * token and `parents[i]` the index of its parent node, or −1 for a node that continues the
 * cached prefix directly (a root). Parents come before their children.
 */
export interface TokenTree {
  /** Token id of each node. */
  ids: number[];
  /** Parent node index of each node (−1 for a root). */
  parents: number[];
}

/**
 * Checks a token tree and returns each node's depth (0 for a root).
 *
 * @example
 * ```ts
 * import { tokenTreeDepths } from "@tokenlab/tokenlab/models";
 * // a root with two children, the first of which has a child
 * console.log(tokenTreeDepths({ ids: [5, 6, 7, 8], parents: [-1, 0, 0, 1] })); // [0, 1, 1, 2]
 * ```
 */
export function tokenTreeDepths(tree: TokenTree): number[] {
  if (!tree || !Array.isArray(tree.ids) || !Array.isArray(tree.parents)) {
    throw new TokenlabError("a token tree needs `ids` and `parents` arrays", {
      hint: "pass { ids: [...], parents: [...] } with parents[i] = −1 for a root",
    });
  }
  if (tree.ids.length !== tree.parents.length) {
    throw new TokenlabError(
      `token tree has ${tree.ids.length} ids but ${tree.parents.length} parents`,
      { hint: "give one parent index per node" },
    );
  }
  const depth: number[] = [];
  tree.parents.forEach((p, i) => {
    if (!Number.isInteger(p) || p < -1 || p >= i) {
      throw new TokenlabError(`token tree parents[${i}] = ${p} is invalid`, {
        hint: "use −1 for a root or the index of an earlier node (parents before children)",
      });
    }
    depth.push(p < 0 ? 0 : depth[p] + 1);
  });
  return depth;
}
