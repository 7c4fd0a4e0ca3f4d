// The byte-level BPE model stage on integers: a piece's UTF-8 bytes are written into a scratch
// buffer, looked up whole in a hash index over every token's bytes, and otherwise merged as
// token ids with an integer pair table. No strings are built or hashed on this path, which is
// what made the first (cold) pass over new text slow: every merge used to concatenate two
// strings and look the result up in a Map.
//
// Two priority rules, as in _bpe_engine.ts: "ranks" (tiktoken: a pair merges when the
// concatenation is a token, lowest rank first; parts are byte ranges of the piece, looked up
// in place) and "merges" (HF: only listed pairs merge, in list order, through an integer pair
// table). Leftmost first on ties in both.

/** Pieces longer than this use the heap (O(n log n)); shorter ones scan an array. */
const HEAP_THRESHOLD = 64;
const NONE = -1;

/** FNV-1a over bytes with a final avalanche. */
function bytesHash(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 16777619);
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  return h ^ (h >>> 16);
}

function pairHash(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

function capacityFor(n: number): number {
  let c = 1024;
  while (c < n * 2) c <<= 1;
  return c;
}

/** Options of {@linkcode ByteBpe}. */
export interface ByteBpeOptions {
  /** id → token bytes as a binary string ("" for ids that are no byte sequence). */
  symbols: readonly string[];
  /** Priority rule. */
  mode: "ranks" | "merges";
  /** Ordered merges as pairs of binary strings (merges mode). */
  merges: readonly (readonly [string, string])[];
  /** Whether a piece that is a whole token skips merging (tiktoken; HF's ignore_merges). */
  wholePieceFirst: boolean;
}

/** Byte-level BPE over integer ids. */
export class ByteBpe {
  /** Token bytes, concatenated; token `id` is `bytes[offsets[id], offsets[id + 1])`. */
  #bytes: Uint8Array;
  #offsets: Int32Array;
  #index: Int32Array; // open addressing over token bytes → id (NONE = empty)
  #indexMask: number;
  #byteIds = new Int32Array(256).fill(NONE);
  /** Ranks mode: rank of each two-byte token (b0 << 8 | b1), 2^31−1 where none: every piece's
   * first round of pair ranks is a table read instead of a hash lookup. */
  #bytePairRank = new Int32Array(0);
  #mode: "ranks" | "merges";
  #wholeFirst: boolean;
  // pair table: (left, right) → rank and merged id; left = NONE marks an empty slot
  #pairLeft = new Int32Array(0);
  #pairRight = new Int32Array(0);
  #pairRank = new Int32Array(0);
  #pairMerged = new Int32Array(0);
  #pairMask = 0;
  #pairSize = 0;
  // scratch buffers, grown on demand
  #scratch = new Uint8Array(256);
  #heap = new Int32Array(0); // heap-path arrays, one block reused across pieces
  #parts = new Int32Array(256);
  #ranks = new Int32Array(256);

  constructor(options: ByteBpeOptions) {
    const { symbols } = options;
    this.#mode = options.mode;
    this.#wholeFirst = options.wholePieceFirst;
    let total = 0;
    for (const s of symbols) total += s.length;
    this.#bytes = new Uint8Array(total);
    this.#offsets = new Int32Array(symbols.length + 1);
    let o = 0;
    for (let id = 0; id < symbols.length; id++) {
      const s = symbols[id];
      this.#offsets[id] = o;
      for (let i = 0; i < s.length; i++) this.#bytes[o++] = s.charCodeAt(i);
    }
    this.#offsets[symbols.length] = o;
    const cap = capacityFor(symbols.length);
    this.#index = new Int32Array(cap).fill(NONE);
    this.#indexMask = cap - 1;
    for (let id = 0; id < symbols.length; id++) {
      const start = this.#offsets[id], end = this.#offsets[id + 1];
      if (end === start || this.#lookup(this.#bytes, start, end) !== NONE) continue; // first id wins
      let i = bytesHash(this.#bytes, start, end) & this.#indexMask;
      while (this.#index[i] !== NONE) i = (i + 1) & this.#indexMask;
      this.#index[i] = id;
      if (end - start === 1) this.#byteIds[this.#bytes[start]] = id;
    }
    if (this.#mode === "ranks") {
      this.#bytePairRank = new Int32Array(1 << 16);
      const pair = new Uint8Array(2);
      for (let k = 0; k < 1 << 16; k++) {
        pair[0] = k >> 8;
        pair[1] = k & 255;
        this.#bytePairRank[k] = this.#rangeRank(pair, 0, 2);
      }
    }
    if (this.#mode === "merges") {
      this.#resetPairs(capacityFor(options.merges.length));
      options.merges.forEach(([a, b], rank) => {
        const left = this.idOf(a), right = this.idOf(b), merged = this.idOf(a + b);
        if (left === NONE || right === NONE || merged === NONE) return;
        if (this.#findPair(left, right) === NONE) this.#insertPair(left, right, rank, merged);
      });
    }
  }

  /** The id of a token given as a binary string, or -1. */
  idOf(symbol: string): number {
    const n = symbol.length;
    if (this.#scratch.length < n) this.#scratch = new Uint8Array(n * 2);
    for (let i = 0; i < n; i++) this.#scratch[i] = symbol.charCodeAt(i);
    return this.#lookup(this.#scratch, 0, n);
  }

  /** The id of single byte `b`, or -1 when the vocabulary lacks it. */
  byteId(b: number): number {
    return this.#byteIds[b];
  }

  #lookup(buf: Uint8Array, start: number, end: number): number {
    const len = end - start, bytes = this.#bytes, offsets = this.#offsets;
    for (let i = bytesHash(buf, start, end) & this.#indexMask;; i = (i + 1) & this.#indexMask) {
      const id = this.#index[i];
      if (id === NONE) return NONE;
      const o = offsets[id];
      if (offsets[id + 1] - o !== len) continue;
      let k = 0;
      while (k < len && bytes[o + k] === buf[start + k]) k++;
      if (k === len) return id;
    }
  }

  #resetPairs(capacity: number): void {
    this.#pairLeft = new Int32Array(capacity).fill(NONE);
    this.#pairRight = new Int32Array(capacity);
    this.#pairRank = new Int32Array(capacity);
    this.#pairMerged = new Int32Array(capacity);
    this.#pairMask = capacity - 1;
    this.#pairSize = 0;
  }

  /** Slot of pair (a, b), or -1. */
  #findPair(a: number, b: number): number {
    const left = this.#pairLeft, right = this.#pairRight, mask = this.#pairMask;
    for (let i = pairHash(a, b) & mask;; i = (i + 1) & mask) {
      const l = left[i];
      if (l === NONE) return NONE;
      if (l === a && right[i] === b) return i;
    }
  }

  #insertPair(a: number, b: number, rank: number, merged: number): void {
    if ((this.#pairSize + 1) * 2 > this.#pairLeft.length) this.#growPairs();
    const mask = this.#pairMask;
    let i = pairHash(a, b) & mask;
    while (this.#pairLeft[i] !== NONE) i = (i + 1) & mask;
    this.#pairLeft[i] = a;
    this.#pairRight[i] = b;
    this.#pairRank[i] = rank;
    this.#pairMerged[i] = merged;
    this.#pairSize++;
  }

  #growPairs(): void {
    const left = this.#pairLeft, right = this.#pairRight;
    const rank = this.#pairRank, merged = this.#pairMerged;
    this.#resetPairs(left.length * 2);
    for (let j = 0; j < left.length; j++) {
      if (left[j] !== NONE) this.#insertPair(left[j], right[j], rank[j], merged[j]);
    }
  }

  /** Merges mode: rank of merging tokens a and b (lower first), or 2^31−1 when they do not. */
  #rank(a: number, b: number): number {
    const slot = this.#findPair(a, b);
    return slot === NONE ? 0x7fffffff : this.#pairRank[slot];
  }

  #merged(a: number, b: number): number {
    return this.#pairMerged[this.#findPair(a, b)];
  }

  /** Ranks mode: the rank of bytes [a, b) of `buf` as one token (its id), or 2^31−1. */
  #rangeRank(buf: Uint8Array, a: number, b: number): number {
    const id = this.#lookup(buf, a, b);
    return id === NONE ? 0x7fffffff : id;
  }

  /**
   * Encodes `text[start, end)` (well-formed UTF-16) as UTF-8 bytes through BPE. Returns the ids,
   * or null when a byte has no token (the caller reports the incomplete vocabulary).
   */
  encodeSpan(text: string, start: number, end: number): number[] | null {
    // UTF-8 into the scratch buffer (at most 3 bytes per UTF-16 unit)
    if (this.#scratch.length < (end - start) * 3) this.#scratch = new Uint8Array((end - start) * 6);
    const buf = this.#scratch;
    let n = 0;
    for (let i = start; i < end; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) buf[n++] = c;
      else if (c < 0x800) {
        buf[n++] = 0xc0 | (c >> 6);
        buf[n++] = 0x80 | (c & 63);
      } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < end) {
        c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
        buf[n++] = 0xf0 | (c >> 18);
        buf[n++] = 0x80 | ((c >> 12) & 63);
        buf[n++] = 0x80 | ((c >> 6) & 63);
        buf[n++] = 0x80 | (c & 63);
      } else {
        buf[n++] = 0xe0 | (c >> 12);
        buf[n++] = 0x80 | ((c >> 6) & 63);
        buf[n++] = 0x80 | (c & 63);
      }
    }
    return this.encodeBytes(buf, n);
  }

  /** BPE over `bytes[0, n)`; null when a byte has no token. */
  encodeBytes(bytes: Uint8Array, n: number): number[] | null {
    if (n === 0) return [];
    if (this.#wholeFirst) {
      const whole = this.#lookup(bytes, 0, n);
      if (whole !== NONE) return [whole];
    }
    if (this.#parts.length < n + 1) {
      this.#parts = new Int32Array(n * 2 + 1);
      this.#ranks = new Int32Array(n * 2 + 1);
    }
    const parts = this.#parts;
    for (let i = 0; i < n; i++) {
      const id = this.#byteIds[bytes[i]];
      if (id === NONE) return null;
      parts[i] = id;
    }
    if (n > HEAP_THRESHOLD) return this.#heapMerge(bytes, n);
    return this.#mode === "ranks" ? this.#scanRanks(bytes, n) : this.#scanMerge(n);
  }

  /**
   * Ranks mode, short pieces (tiktoken's loop): parts are byte ranges of the piece, so joining
   * parts i and i+1 is the range from part i's start to part i+2's, looked up as it stands.
   */
  #scanRanks(buf: Uint8Array, n: number): number[] {
    const pos = this.#parts, ranks = this.#ranks; // pos[i]: start of part i; pos[m] = n
    let m = n;
    for (let i = 0; i <= n; i++) pos[i] = i;
    const pairRank = this.#bytePairRank;
    for (let i = 0; i < n - 1; i++) ranks[i] = pairRank[(buf[i] << 8) | buf[i + 1]];
    while (m > 1) {
      let best = 0x7fffffff, bi = -1;
      for (let i = 0; i < m - 1; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          bi = i;
        }
      }
      if (bi < 0) break;
      for (let i = bi + 1; i < m; i++) pos[i] = pos[i + 1];
      for (let i = bi + 1; i < m - 2; i++) ranks[i] = ranks[i + 1];
      m--;
      if (bi > 0) ranks[bi - 1] = this.#rangeRank(buf, pos[bi - 1], pos[bi + 1]);
      if (bi < m - 1) ranks[bi] = this.#rangeRank(buf, pos[bi], pos[bi + 2]);
    }
    const out: number[] = new Array(m);
    for (let i = 0; i < m; i++) out[i] = this.#lookup(buf, pos[i], pos[i + 1]);
    return out;
  }

  /** Short pieces: find the lowest rank by a scan, merge, shift left. */
  #scanMerge(n: number): number[] {
    const parts = this.#parts, ranks = this.#ranks;
    for (let i = 0; i < n - 1; i++) ranks[i] = this.#rank(parts[i], parts[i + 1]);
    while (n > 1) {
      let best = 0x7fffffff, bi = -1;
      for (let i = 0; i < n - 1; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          bi = i;
        }
      }
      if (bi < 0) break;
      parts[bi] = this.#merged(parts[bi], parts[bi + 1]);
      for (let i = bi + 1; i < n - 1; i++) parts[i] = parts[i + 1];
      for (let i = bi; i < n - 2; i++) ranks[i] = ranks[i + 1];
      n--;
      if (bi > 0) ranks[bi - 1] = this.#rank(parts[bi - 1], parts[bi]);
      if (bi < n - 1) ranks[bi] = this.#rank(parts[bi], parts[bi + 1]);
    }
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = parts[i];
    return out;
  }

  /**
   * Long pieces: a doubly linked list of symbols and a binary heap of candidate merges keyed by
   * (rank, position), with stale entries skipped by a version check — O(n log n), so a piece
   * of a million bytes costs no more per byte than a short one.
   */
  #heapMerge(buf: Uint8Array, n: number): number[] {
    // one reused block: symbols, next, prev, versions, then heap entries (rank, left,
    // version of left, version of right); each merge adds at most two entries
    const cap = 3 * n;
    if (this.#heap.length < 4 * n + 4 * cap) this.#heap = new Int32Array(2 * (4 * n + 4 * cap));
    const block = this.#heap;
    const sym = block.subarray(0, n), next = block.subarray(n, 2 * n);
    const prev = block.subarray(2 * n, 3 * n), version = block.subarray(3 * n, 4 * n);
    const heapBase = 4 * n;
    sym.set(this.#parts.subarray(0, n));
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : NONE;
      prev[i] = i - 1;
      version[i] = 0;
    }
    const hRank = block.subarray(heapBase, heapBase + cap);
    const hLeft = block.subarray(heapBase + cap, heapBase + 2 * cap);
    const hVl = block.subarray(heapBase + 2 * cap, heapBase + 3 * cap);
    const hVr = block.subarray(heapBase + 3 * cap, heapBase + 4 * cap);
    let size = 0;
    const less = (i: number, j: number) =>
      hRank[i] < hRank[j] || (hRank[i] === hRank[j] && hLeft[i] < hLeft[j]);
    const swap = (i: number, j: number) => {
      let t = hRank[i];
      hRank[i] = hRank[j];
      hRank[j] = t;
      t = hLeft[i];
      hLeft[i] = hLeft[j];
      hLeft[j] = t;
      t = hVl[i];
      hVl[i] = hVl[j];
      hVl[j] = t;
      t = hVr[i];
      hVr[i] = hVr[j];
      hVr[j] = t;
    };
    // ranks mode: node i is the part starting at byte i, so a pair spans [left, next[right])
    const ranksMode = this.#mode === "ranks";
    const consider = (left: number) => {
      const right = next[left];
      if (left < 0 || right < 0) return;
      const r = ranksMode
        ? this.#rangeRank(buf, left, next[right] < 0 ? n : next[right])
        : this.#rank(sym[left], sym[right]);
      if (r === 0x7fffffff) return;
      let i = size++;
      hRank[i] = r;
      hLeft[i] = left;
      hVl[i] = version[left];
      hVr[i] = version[right];
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(i, p)) break;
        swap(i, p);
        i = p;
      }
    };
    for (let i = 0; i < n - 1; i++) consider(i);
    while (size > 0) {
      const left = hLeft[0], vl = hVl[0], vr = hVr[0];
      // pop the top
      size--;
      if (size > 0) {
        hRank[0] = hRank[size];
        hLeft[0] = hLeft[size];
        hVl[0] = hVl[size];
        hVr[0] = hVr[size];
        let i = 0;
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < size && less(l, m)) m = l;
          if (r < size && less(r, m)) m = r;
          if (m === i) break;
          swap(i, m);
          i = m;
        }
      }
      const right = next[left];
      if (right < 0 || version[left] !== vl || version[left] < 0 || version[right] !== vr) continue;
      if (!ranksMode) sym[left] = this.#merged(sym[left], sym[right]);
      version[left]++;
      version[right] = NONE; // dead
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      if (prev[left] >= 0) consider(prev[left]);
      consider(left);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) {
      out.push(ranksMode ? this.#lookup(buf, i, next[i] < 0 ? n : next[i]) : sym[i]);
    }
    return out;
  }
}
