// An open-addressing cache from pre-token spans of a text to their token ids, looked up by a
// hash of the span's UTF-16 code units and `text.startsWith(key, start)`, so the encode loop
// never slices a string or hashes one through Map for a piece it has seen before (on a warm
// cache that was most of the encode time).

/** FNV-1a over `text[start, end)` with a final avalanche, as a 32-bit integer. */
export function spanHash(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  return h ^ (h >>> 16);
}

/** Span → ids; cleared when it reaches `limit` entries so memory stays bounded. */
export class PieceCache {
  #limit: number;
  #mask = 0;
  #keys: (string | undefined)[] = [];
  #hashes = new Int32Array(0);
  #values: number[][] = [];
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
    this.#reset(1 << 12);
  }

  #reset(capacity: number): void {
    this.#mask = capacity - 1;
    this.#keys = new Array(capacity);
    this.#hashes = new Int32Array(capacity);
    this.#values = new Array(capacity);
    this.#size = 0;
  }

  /** The ids cached for `text[start, end)` (whose hash is `hash`), or undefined. */
  get(text: string, start: number, end: number, hash: number): number[] | undefined {
    const len = end - start, keys = this.#keys, mask = this.#mask;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === undefined) return undefined;
      if (this.#hashes[i] === hash && k.length === len && text.startsWith(k, start)) {
        return this.#values[i];
      }
    }
  }

  /** Caches `ids` for `key` (not already present; `hash` = spanHash of it). */
  set(key: string, hash: number, ids: number[]): void {
    if (this.#size >= this.#limit) this.#reset(this.#keys.length);
    else if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const mask = this.#mask;
    let i = hash & mask;
    while (this.#keys[i] !== undefined) i = (i + 1) & mask;
    this.#keys[i] = key;
    this.#hashes[i] = hash;
    this.#values[i] = ids;
    this.#size++;
  }

  #grow(): void {
    const keys = this.#keys, hashes = this.#hashes, values = this.#values;
    this.#reset(keys.length * 2);
    const mask = this.#mask;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      if (k === undefined) continue;
      let i = hashes[j] & mask;
      while (this.#keys[i] !== undefined) i = (i + 1) & mask;
      this.#keys[i] = k;
      this.#hashes[i] = hashes[j];
      this.#values[i] = values[j];
      this.#size++;
    }
  }
}
