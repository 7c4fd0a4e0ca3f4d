// Replays an ordered merge list over the pre-tokenized words of one text sample, keeping the
// count of every adjacent pair and logging how each merge changes those counts. Data mixture
// inference reads the pair counts at every step from this log.

/** Pair key: two symbol ids below 2^21 packed in one safe integer. */
export function pairKey(a: number, b: number): number {
  return a * 2097152 + b;
}

/** One category's words and pair counts while merges are applied. */
export class ReplayState {
  words: Int32Array[] = [];
  freqs: number[] = [];
  pairCounts: Map<number, number> = new Map();
  #where: Map<number, Set<number>> = new Map();

  /** `pieces`: binary-string pre-tokens with counts; `byteId` maps a byte to its symbol id. */
  constructor(pieces: Map<string, number>) {
    for (const [piece, n] of pieces) {
      const w = new Int32Array(piece.length);
      for (let i = 0; i < piece.length; i++) w[i] = piece.charCodeAt(i);
      const idx = this.words.length;
      this.words.push(w);
      this.freqs.push(n);
      this.#addPairs(idx, w, n, null);
    }
  }

  #addPairs(idx: number, w: Int32Array, n: number, delta: Map<number, number> | null): void {
    for (let i = 0; i + 1 < w.length; i++) {
      const k = pairKey(w[i], w[i + 1]);
      this.pairCounts.set(k, (this.pairCounts.get(k) ?? 0) + n);
      if (delta) delta.set(k, (delta.get(k) ?? 0) + n);
      let s = this.#where.get(k);
      if (!s) this.#where.set(k, s = new Set());
      s.add(idx);
    }
  }

  #removePairs(idx: number, w: Int32Array, n: number, delta: Map<number, number> | null): void {
    for (let i = 0; i + 1 < w.length; i++) {
      const k = pairKey(w[i], w[i + 1]);
      const c = (this.pairCounts.get(k) ?? 0) - n;
      if (c <= 0) this.pairCounts.delete(k);
      else this.pairCounts.set(k, c);
      if (delta) delta.set(k, (delta.get(k) ?? 0) - n);
      this.#where.get(k)?.delete(idx);
    }
  }

  /** Applies merge (a, b) → c to every word holding the pair; records count changes in `delta`. */
  apply(a: number, b: number, c: number, delta: Map<number, number> | null): void {
    const holders = this.#where.get(pairKey(a, b));
    if (!holders || holders.size === 0) return;
    for (const idx of [...holders]) {
      const w = this.words[idx];
      const n = this.freqs[idx];
      this.#removePairs(idx, w, n, delta);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(c);
          i++;
        } else out.push(w[i]);
      }
      const nw = Int32Array.from(out);
      this.words[idx] = nw;
      this.#addPairs(idx, nw, n, delta);
    }
    this.#where.delete(pairKey(a, b));
  }
}

/** A binary max-heap of (value, key) with lazy deletion: stale entries are skipped by the caller. */
export class MaxHeap {
  #values: number[] = [];
  #keys: number[] = [];

  get size(): number {
    return this.#values.length;
  }

  push(value: number, key: number): void {
    const v = this.#values, k = this.#keys;
    let i = v.length;
    v.push(value);
    k.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (v[p] >= value) break;
      v[i] = v[p];
      k[i] = k[p];
      i = p;
    }
    v[i] = value;
    k[i] = key;
  }

  peekValue(): number {
    return this.#values[0];
  }

  pop(): [number, number] {
    const v = this.#values, k = this.#keys;
    const top: [number, number] = [v[0], k[0]];
    const lastV = v.pop()!, lastK = k.pop()!;
    const n = v.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && v[r] > v[l] ? r : l;
        if (v[c] <= lastV) break;
        v[i] = v[c];
        k[i] = k[c];
        i = c;
      }
      v[i] = lastV;
      k[i] = lastK;
    }
    return top;
  }
}
