/**
 * A binary max-heap ordered by a `better(a, b)` predicate: the best-first frontier that the
 * tree builders (`optimalSparseTree`, `expandTreeByProbability`) grow their trees from.
 *
 * @module
 */

/** Best-first queue; `better(a, b)` is true when `a` must come out before `b`. */
export class MaxHeap<T> {
  readonly #items: T[] = [];
  readonly #better: (a: T, b: T) => boolean;

  /** An empty heap ordered by `better`. */
  constructor(better: (a: T, b: T) => boolean) {
    this.#better = better;
  }

  /** Entries held. */
  get size(): number {
    return this.#items.length;
  }

  /** Adds `item`, sifting it up past every parent it is better than. */
  push(item: T): void {
    const h = this.#items;
    h.push(item);
    for (let i = h.length - 1; i > 0;) {
      const up = (i - 1) >> 1;
      if (!this.#better(h[i], h[up])) break;
      [h[i], h[up]] = [h[up], h[i]];
      i = up;
    }
  }

  /** Removes and returns the best entry (undefined when empty). */
  pop(): T | undefined {
    const h = this.#items;
    const top = h[0], last = h.pop();
    if (h.length && last !== undefined) {
      h[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.#better(h[l], h[m])) m = l;
        if (r < h.length && this.#better(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
