// The BPE merge loop shared by every tokenizer: symbols are strings (bytes as binary-string
// chars for byte-level models, Unicode characters for char-level ones). Two priority rules:
// "ranks" (tiktoken: the rank of the concatenation) and "merges" (HF: the rank of the pair).

/** Separator for pair keys: never a byte char (0–255) and not a character of real vocabularies. */
export const PAIR_SEP = "\u{10FFFF}";

/** Looks up the priority of merging two adjacent symbols (lower first), or undefined. */
export type RankOf = (left: string, right: string) => number | undefined;

/** Short pieces: an array scan per merge (cheap, cache-friendly). */
const HEAP_THRESHOLD = 48;

/** Merges `parts` in place by priority (leftmost first on ties) and returns them. */
export function bpeMerge(parts: string[], rankOf: RankOf): string[] {
  if (parts.length < 2) return parts;
  if (parts.length > HEAP_THRESHOLD) return heapMerge(parts, rankOf);
  const ranks: number[] = new Array(parts.length - 1);
  for (let i = 0; i < parts.length - 1; i++) ranks[i] = rankOf(parts[i], parts[i + 1]) ?? Infinity;
  while (parts.length > 1) {
    let best = Infinity, bi = -1;
    for (let i = 0; i < ranks.length; i++) {
      if (ranks[i] < best) {
        best = ranks[i];
        bi = i;
      }
    }
    if (bi < 0) break;
    parts[bi] = parts[bi] + parts[bi + 1];
    parts.splice(bi + 1, 1);
    ranks.splice(bi, 1);
    if (bi > 0) ranks[bi - 1] = rankOf(parts[bi - 1], parts[bi]) ?? Infinity;
    if (bi < parts.length - 1) ranks[bi] = rankOf(parts[bi], parts[bi + 1]) ?? Infinity;
  }
  return parts;
}

/** Long pieces: a linked list and a binary heap with lazy invalidation, O(n log n). */
function heapMerge(parts: string[], rankOf: RankOf): string[] {
  const n = parts.length;
  const sym = parts.slice();
  const next = new Int32Array(n), prev = new Int32Array(n), version = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // heap entries: [rank, left, versionLeft, versionRight]
  const heap: number[][] = [];
  const less = (a: number[], b: number[]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const push = (e: number[]) => {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): number[] => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  const consider = (left: number) => {
    const right = next[left];
    if (left < 0 || right < 0) return;
    const r = rankOf(sym[left], sym[right]);
    if (r !== undefined) push([r, left, version[left], version[right]]);
  };
  for (let i = 0; i < n - 1; i++) consider(i);
  while (heap.length > 0) {
    const [, left, vl, vr] = pop();
    const right = next[left];
    if (right < 0 || version[left] !== vl || version[right] !== vr || version[left] < 0) continue;
    sym[left] = sym[left] + sym[right];
    version[left]++;
    version[right] = -1; // dead
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    if (prev[left] >= 0) consider(prev[left]);
    consider(left);
  }
  const out: string[] = [];
  for (let i = 0; i >= 0 && i < n; i = next[i]) out.push(sym[i]);
  return out;
}
