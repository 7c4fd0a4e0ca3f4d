/**
 * Draft-model rows for the nodes of a growing draft tree (DySpec, SpecTr): the draft cache
 * holds the committed tokens except the last one (the tree's root); each request feeds, in one
 * `forwardTree` pass, the committed tokens the cache still lacks as a chain, then the root and
 * the requested nodes with their ancestors, reads the requested rows, and keeps only the chain
 * in the cache. Tree nodes are re-fed at every request (the cache cannot hold two trees), so a
 * request costs one draft forward pass of (lacking + ancestors-closure) positions.
 *
 * @module
 */
import type { KvCache, Model, TokenTree } from "../models/mod.ts";

/** Draft rows on demand for a tree rooted at the last committed token. */
export class DraftTreeRows {
  /** Draft forward passes so far. */
  calls = 0;
  /** Positions fed to the draft so far (chains and re-fed tree nodes included). */
  positions = 0;
  readonly #draft: Model;
  #cache: KvCache;
  #behind: number[] = [];

  /** Rows of `draft`; call {@linkcode DraftTreeRows.reset} with the prompt first. */
  constructor(draft: Model) {
    this.#draft = draft;
    this.#cache = draft.newCache();
  }

  /** A fresh cache for a new prompt (nothing is fed until the first request). */
  reset(prompt: number[]): void {
    this.#cache = this.#draft.newCache();
    this.#behind = prompt.slice(0, -1);
  }

  /**
   * The draft's logits row after each node of `nodes` (node 0 is the root, the last committed
   * token), in one pass.
   */
  async rows(tree: TokenTree, nodes: number[]): Promise<Float32Array[]> {
    const V = this.#draft.config.vocabSize;
    const need = new Set<number>();
    for (const n of nodes) {
      for (let a = n; a >= 0 && !need.has(a); a = tree.parents[a]) need.add(a);
    }
    const order = [...need].sort((a, b) => a - b); // parents come first
    const b = this.#behind.length;
    const at = new Map<number, number>();
    const ids = [...this.#behind], parents = this.#behind.map((_, i) => i - 1);
    for (const n of order) {
      at.set(n, ids.length);
      ids.push(tree.ids[n]);
      parents.push(n === 0 ? b - 1 : at.get(tree.parents[n])!);
    }
    const logits = await this.#draft.forwardTree({ ids, parents }, this.#cache);
    this.calls++;
    this.positions += ids.length;
    this.#cache.acceptTreePath(parents, [...Array(b).keys()]);
    this.#behind = [];
    return nodes.map((n) => logits.slice(at.get(n)! * V, (at.get(n)! + 1) * V));
  }

  /** After a step: the root and the accepted tokens are committed (`next` is the new root). */
  commit(root: number, accepted: number[]): void {
    this.#behind.push(root, ...accepted);
  }
}
