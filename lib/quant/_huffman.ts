// Length-limited canonical Huffman codes for byte symbols (used for bf16 exponents).

/** Optimal code lengths with none above `maxLength` (package-merge); 0 for absent symbols. */
export function limitedCodeLengths(counts: ArrayLike<number>, maxLength: number): Uint8Array {
  const lengths = new Uint8Array(counts.length);
  const present: number[] = [];
  for (let s = 0; s < counts.length; s++) if (counts[s] > 0) present.push(s);
  if (present.length === 0) return lengths;
  if (present.length === 1) {
    lengths[present[0]] = 1; // one symbol still needs one bit per value
    return lengths;
  }
  if (2 ** maxLength < present.length) {
    throw new RangeError(`${present.length} symbols do not fit codes of at most ${maxLength} bits`);
  }
  // An item is a leaf (symbol) or a package of two items; package-merge over maxLength levels.
  type Item = { w: number; sym: number; a?: Item; b?: Item };
  const leaves: Item[] = present.map((s) => ({ w: counts[s], sym: s }))
    .sort((x, y) => x.w - y.w || x.sym - y.sym);
  let list: Item[] = leaves;
  for (let level = 1; level < maxLength; level++) {
    const packages: Item[] = [];
    for (let i = 0; i + 1 < list.length; i += 2) {
      packages.push({ w: list[i].w + list[i + 1].w, sym: -1, a: list[i], b: list[i + 1] });
    }
    // merge two sorted lists, leaves first on equal weight
    const merged: Item[] = [];
    let i = 0, j = 0;
    while (i < leaves.length || j < packages.length) {
      if (j >= packages.length || (i < leaves.length && leaves[i].w <= packages[j].w)) {
        merged.push(leaves[i++]);
      } else merged.push(packages[j++]);
    }
    list = merged;
  }
  const stack: Item[] = list.slice(0, 2 * present.length - 2);
  while (stack.length > 0) {
    const it = stack.pop()!;
    if (it.sym >= 0) lengths[it.sym]++;
    else stack.push(it.a!, it.b!);
  }
  return lengths;
}

/** Canonical codes for the given lengths: shorter codes first, ties by symbol value. */
export function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const codes = new Uint32Array(lengths.length);
  const order = [...lengths.keys()].filter((s) => lengths[s] > 0)
    .sort((a, b) => lengths[a] - lengths[b] || a - b);
  let code = 0, prev = 0;
  for (const s of order) {
    code *= 2 ** (lengths[s] - prev);
    codes[s] = code;
    code++;
    prev = lengths[s];
  }
  return codes;
}

/** A decoder for a canonical code: a 16-bit lookup table with a per-length fallback. */
export interface CanonicalDecoder {
  /** For each 16-bit prefix: symbol << 8 | length, or 0 when the code is longer than 16. */
  table: Uint32Array;
  /** For each length: the first code, the number of codes and the index of its first symbol. */
  first: Float64Array;
  count: Uint32Array;
  start: Uint32Array;
  /** Symbols in canonical order. */
  symbols: Uint8Array;
  maxLength: number;
}

/** Builds the decoder of a canonical code from its lengths. */
export function canonicalDecoder(lengths: Uint8Array): CanonicalDecoder {
  const maxLength = Math.max(0, ...lengths);
  const order = [...lengths.keys()].filter((s) => lengths[s] > 0)
    .sort((a, b) => lengths[a] - lengths[b] || a - b);
  const codes = canonicalCodes(lengths);
  const first = new Float64Array(maxLength + 2);
  const count = new Uint32Array(maxLength + 2);
  const start = new Uint32Array(maxLength + 2);
  for (let k = 0; k < order.length; k++) {
    const l = lengths[order[k]];
    if (count[l] === 0) {
      first[l] = codes[order[k]];
      start[l] = k;
    }
    count[l]++;
  }
  const table = new Uint32Array(1 << 16);
  for (const s of order) {
    const l = lengths[s];
    if (l > 16) continue;
    const lo = codes[s] << (16 - l), span = 1 << (16 - l);
    for (let k = 0; k < span; k++) table[lo + k] = (s << 8) | l;
  }
  return { table, first, count, start, symbols: Uint8Array.from(order), maxLength };
}
