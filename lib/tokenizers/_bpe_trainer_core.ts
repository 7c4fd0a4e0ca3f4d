// The BPE training loop shared by every trainer: words (symbol-id sequences with counts),
// pair counts, an index pair → words, and a max-heap with lazy invalidation.
// Ties: the highest count wins; among equal counts the pair with the smallest (left, right)
// ids, as HF tokenizers' trainer orders them.

/** A unique training word: its symbols and how often it occurs. */
export interface TrainWord {
  symbols: number[];
  count: number;
}

/** Options of {@linkcode trainMerges}. */
export interface TrainCoreOptions {
  /** Stop when the vocabulary (symbols) reaches this size. */
  targetSize: number;
  /** Stop when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Return false to forbid a merge (e.g. a length cap); it is then skipped for good. */
  allow?: (left: number, right: number) => boolean;
  /** Called after each merge with (merges done, merges wanted). */
  onMerge?: (done: number, total: number) => void;
  /**
   * How the next merge is chosen: "frequency" (classic BPE, the most frequent pair) or
   * "codeLength" (among the `candidates` most frequent pairs, the one whose merge most lowers
   * the order-0 code length N·H of the token stream).
   */
  objective?: "frequency" | "codeLength";
  /** Pairs rescored per merge under "codeLength" (default 64). */
  candidates?: number;
}

const xlog2x = (x: number) => (x > 0 ? x * Math.log2(x) : 0);

/**
 * Change of the order-0 code length L = N·log₂N − Σ nᵢ·log₂nᵢ (bits) when `p` occurrences of
 * the pair (a, b) become one new token.
 */
export function codeLengthDelta(
  n: readonly number[],
  total: number,
  pair: { a: number; b: number; count: number },
): number {
  const { a, b, count: p } = pair;
  const before = xlog2x(total) - xlog2x(n[a]) - (a === b ? 0 : xlog2x(n[b]));
  const na = n[a] - (a === b ? 2 * p : p);
  const after = xlog2x(total - p) - xlog2x(Math.max(0, na)) -
    (a === b ? 0 : xlog2x(Math.max(0, n[b] - p))) - xlog2x(p);
  return after - before;
}

/**
 * Learns merges in place: `symbols` (id → symbol string, concatenable) grows with each merge.
 * Returns the merges as id pairs, in order; the merged id of merge i is `startSize + i`.
 */
export function trainMerges(
  words: TrainWord[],
  symbols: string[],
  options: TrainCoreOptions,
): Array<[number, number]> {
  const minFrequency = Math.max(1, options.minFrequency ?? 2);
  const want = options.targetSize - symbols.length;
  const merges: Array<[number, number]> = [];
  if (want <= 0) return merges;
  // pair key = left * K + right; K ≥ final size keeps keys small integers (Smi) for vocabs < 32k
  const K = Math.max(options.targetSize, 1);
  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < words.length; w++) {
    const { symbols: s, count } = words[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i] * K + s[i + 1];
      counts.set(key, (counts.get(key) ?? 0) + count);
      const list = where.get(key);
      if (list === undefined) where.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }
  // max-heap of keys ordered by (count desc, key asc); entries carry the count they were pushed with
  const heapKeys: number[] = [], heapCounts: number[] = [];
  const better = (i: number, j: number) =>
    heapCounts[i] > heapCounts[j] || (heapCounts[i] === heapCounts[j] && heapKeys[i] < heapKeys[j]);
  const swap = (i: number, j: number) => {
    [heapKeys[i], heapKeys[j]] = [heapKeys[j], heapKeys[i]];
    [heapCounts[i], heapCounts[j]] = [heapCounts[j], heapCounts[i]];
  };
  const push = (key: number, count: number) => {
    heapKeys.push(key);
    heapCounts.push(count);
    let i = heapKeys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const pop = (): [number, number] => {
    const top: [number, number] = [heapKeys[0], heapCounts[0]];
    const lk = heapKeys.pop()!, lc = heapCounts.pop()!;
    if (heapKeys.length > 0) {
      heapKeys[0] = lk;
      heapCounts[0] = lc;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heapKeys.length && better(l, m)) m = l;
        if (r < heapKeys.length && better(r, m)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    }
    return top;
  };
  for (const [key, c] of counts) push(key, c);
  const banned = new Set<number>();
  const touched = new Map<number, number>();
  // unigram counts of the token stream, kept only for the code-length objective
  const byCode = options.objective === "codeLength";
  const pool = Math.max(1, options.candidates ?? 64);
  const unigram: number[] = [];
  let total = 0;
  if (byCode) {
    for (let i = 0; i < symbols.length; i++) unigram.push(0);
    for (const { symbols: s, count } of words) {
      for (const x of s) unigram[x] += count;
      total += s.length * count;
    }
  }
  // the most frequent valid pair, or null when none is left above minFrequency
  const nextFrequent = (): number | null => {
    while (heapKeys.length > 0) {
      const [key, pushed] = pop();
      const current = counts.get(key) ?? 0;
      if (current !== pushed) {
        if (current > 0) push(key, current); // stale: counts only fall for old pairs
        continue;
      }
      if (current < minFrequency) {
        push(key, current);
        return null;
      }
      if (banned.has(key)) continue;
      const a = Math.floor(key / K), b = key - a * K;
      if (options.allow && !options.allow(a, b)) {
        banned.add(key);
        continue;
      }
      return key;
    }
    return null;
  };
  const nextPair = (): number | null => {
    if (!byCode) return nextFrequent();
    const cands: number[] = [];
    while (cands.length < pool) {
      const k = nextFrequent();
      if (k === null) break;
      cands.push(k);
    }
    let best = -1, bestDelta = Infinity;
    for (let i = 0; i < cands.length; i++) {
      const a = Math.floor(cands[i] / K), b = cands[i] - a * K;
      const d = codeLengthDelta(unigram, total, { a, b, count: counts.get(cands[i])! });
      if (d < bestDelta || (d === bestDelta && cands[i] < cands[best])) {
        bestDelta = d;
        best = i;
      }
    }
    for (let i = 0; i < cands.length; i++) if (i !== best) push(cands[i], counts.get(cands[i])!);
    return best < 0 ? null : cands[best];
  };
  while (merges.length < want) {
    const key = nextPair();
    if (key === null) break;
    const a = Math.floor(key / K), b = key - a * K;
    const id = symbols.length;
    if (byCode) unigram.push(0);
    symbols.push(symbols[a] + symbols[b]);
    merges.push([a, b]);
    touched.clear();
    for (const w of where.get(key) ?? []) {
      const word = words[w];
      const s = word.symbols;
      // quick reject: the pair may have left this word in an earlier merge
      let found = false;
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) {
          found = true;
          break;
        }
      }
      if (!found) continue;
      const c = word.count;
      for (let i = 0; i + 1 < s.length; i++) {
        const k = s[i] * K + s[i + 1];
        counts.set(k, counts.get(k)! - c);
      }
      // merge in place (no new array per word: allocation dominated the first run)
      let wi = 0;
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          s[wi++] = id;
          i++;
        } else s[wi++] = s[i];
      }
      if (byCode) {
        const replaced = (s.length - wi) * c;
        unigram[a] -= replaced;
        unigram[b] -= replaced;
        unigram[id] += replaced;
        total -= replaced;
      }
      s.length = wi;
      const merged = s;
      for (let i = 0; i + 1 < merged.length; i++) {
        const k = merged[i] * K + merged[i + 1];
        const nc = (counts.get(k) ?? 0) + c;
        counts.set(k, nc);
        if (merged[i] === id || merged[i + 1] === id) {
          touched.set(k, nc);
          const list = where.get(k);
          if (list === undefined) where.set(k, [w]);
          else if (list[list.length - 1] !== w) list.push(w);
        }
      }
    }
    counts.delete(key);
    where.delete(key);
    for (const [k] of touched) push(k, counts.get(k)!);
    options.onMerge?.(merges.length, want);
  }
  return merges;
}
