/**
 * Sequence packing: put variable-length sequences (documents, prompts) into fixed-capacity
 * rows so that less of each row is padding. Best-fit decreasing, first-fit (decreasing or in
 * order) and next-fit (naive sequential concatenation), all O(n log n), plus the padding
 * arithmetic to compare them with padding every sequence.
 *
 * @module
 */

import { check } from "../util/errors.ts";

/** Packing strategies of {@linkcode packSequences}. */
export type PackingStrategy =
  | "best-fit-decreasing"
  | "first-fit-decreasing"
  | "first-fit"
  | "next-fit";

/** Options of the packers. */
export interface PackOptions {
  /** Tokens a row (bin) holds; every length must be at most this. */
  capacity: number;
}

/** Options of {@linkcode packSequences}. */
export interface PackSequencesOptions extends PackOptions {
  /** Strategy (default "best-fit-decreasing"). */
  strategy?: PackingStrategy;
}

/** The result of packing: which sequences share each row. */
export interface Packing {
  /** Per row, the indices (into the input lengths) of the sequences it holds, in placement order. */
  bins: number[][];
  /** Per row, the tokens it holds. */
  loads: number[];
  /** The row capacity used. */
  capacity: number;
}

function checkLengths(lengths: ArrayLike<number>, capacity: number, what: string): void {
  check(
    Number.isInteger(capacity) && capacity > 0,
    `${what}: capacity must be a positive integer, got ${capacity}`,
  );
  check(
    lengths != null && typeof lengths.length === "number",
    `${what}: lengths must be an array of sequence lengths`,
  );
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i];
    check(
      Number.isInteger(n) && n >= 1,
      `${what}: lengths[${i}] is ${n}; lengths must be positive integers`,
    );
    check(n <= capacity, `${what}: lengths[${i}] = ${n} exceeds the capacity ${capacity}`, {
      hint: "split long sequences first (chunkLengths) or raise the capacity",
    });
  }
}

/** Indices sorted by decreasing length, ties by index (deterministic). */
function decreasing(lengths: ArrayLike<number>): number[] {
  return Array.from({ length: lengths.length }, (_, i) => i).sort((a, b) =>
    lengths[b] - lengths[a] || a - b
  );
}

/** A max segment tree over slots, to find the leftmost slot holding at least some value. */
class MaxTree {
  readonly #size: number;
  readonly #t: Float64Array;
  constructor(n: number) {
    let s = 1;
    while (s < Math.max(1, n)) s *= 2;
    this.#size = s;
    this.#t = new Float64Array(2 * s).fill(-1);
  }
  set(i: number, v: number): void {
    let p = i + this.#size;
    this.#t[p] = v;
    for (p >>= 1; p >= 1; p >>= 1) this.#t[p] = Math.max(this.#t[2 * p], this.#t[2 * p + 1]);
  }
  /** Leftmost slot with value ≥ v, or −1. */
  leftmost(v: number): number {
    if (this.#t[1] < v) return -1;
    let p = 1;
    while (p < this.#size) p = this.#t[2 * p] >= v ? 2 * p : 2 * p + 1;
    return p - this.#size;
  }
}

function firstFit(lengths: ArrayLike<number>, order: number[], capacity: number): Packing {
  const tree = new MaxTree(order.length);
  const bins: number[][] = [], loads: number[] = [];
  for (const i of order) {
    const n = lengths[i];
    let b = tree.leftmost(n);
    if (b < 0) {
      b = bins.length;
      bins.push([]);
      loads.push(0);
    }
    bins[b].push(i);
    loads[b] += n;
    tree.set(b, capacity - loads[b]);
  }
  return { bins, loads, capacity };
}

/**
 * Best-fit decreasing: sequences from longest to shortest, each into the row whose free space
 * is smallest but still enough (a new row when none fits). Uses at most 11/9·OPT + 6/9 rows.
 *
 * @example
 * ```ts
 * import { packBestFitDecreasing } from "@tokenlab/tokenlab/data";
 * const p = packBestFitDecreasing([6, 5, 4, 3, 2], { capacity: 10 });
 * console.log(p.bins, p.loads); // [[0, 2], [1, 3, 4]] [10, 10]
 * ```
 */
export function packBestFitDecreasing(lengths: ArrayLike<number>, options: PackOptions): Packing {
  const capacity = options?.capacity;
  checkLengths(lengths, capacity, "packBestFitDecreasing");
  // free space r → rows with exactly r free; a max tree over r marks which r have rows
  const rowsWithFree: number[][] = Array.from({ length: capacity + 1 }, () => []);
  const tree = new MaxTree(capacity + 1);
  const bins: number[][] = [], loads: number[] = [];
  for (const i of decreasing(lengths)) {
    const n = lengths[i];
    // slot r holds r while some row has exactly r free, so the leftmost slot holding ≥ n is
    // the smallest free amount that still fits: the best fit
    const r = tree.leftmost(n);
    let b: number;
    if (r < 0) {
      b = bins.length;
      bins.push([]);
      loads.push(0);
    } else {
      b = rowsWithFree[r].pop()!;
      if (!rowsWithFree[r].length) tree.set(r, -1);
    }
    bins[b].push(i);
    loads[b] += n;
    const free = capacity - loads[b];
    if (free > 0) {
      rowsWithFree[free].push(b);
      tree.set(free, free);
    }
  }
  return { bins, loads, capacity };
}

/**
 * Packs with the chosen strategy: "best-fit-decreasing" (see {@linkcode packBestFitDecreasing}),
 * "first-fit-decreasing" (longest first, each into the first row it fits), "first-fit" (input
 * order, first row it fits) or "next-fit" (input order, a new row whenever the current one
 * cannot take the sequence: naive sequential concatenation without splitting).
 *
 * @example
 * ```ts
 * import { packSequences } from "@tokenlab/tokenlab/data";
 * const lengths = [3, 8, 2, 7];
 * console.log(packSequences(lengths, { capacity: 10, strategy: "next-fit" }).bins.length); // 3
 * console.log(packSequences(lengths, { capacity: 10 }).bins.length); // 2
 * ```
 */
export function packSequences(lengths: ArrayLike<number>, options: PackSequencesOptions): Packing {
  const strategy = options?.strategy ?? "best-fit-decreasing";
  const capacity = options?.capacity;
  checkLengths(lengths, capacity, "packSequences");
  const inOrder = Array.from({ length: lengths.length }, (_, i) => i);
  switch (strategy) {
    case "best-fit-decreasing":
      return packBestFitDecreasing(lengths, { capacity });
    case "first-fit-decreasing":
      return firstFit(lengths, decreasing(lengths), capacity);
    case "first-fit":
      return firstFit(lengths, inOrder, capacity);
    case "next-fit": {
      const bins: number[][] = [], loads: number[] = [];
      for (const i of inOrder) {
        if (!bins.length || loads[loads.length - 1] + lengths[i] > capacity) {
          bins.push([]);
          loads.push(0);
        }
        bins[bins.length - 1].push(i);
        loads[loads.length - 1] += lengths[i];
      }
      return { bins, loads, capacity };
    }
    default:
      check(
        false,
        `packSequences: unknown strategy "${strategy}"; use best-fit-decreasing, first-fit-decreasing, first-fit or next-fit`,
      );
      throw new Error("unreachable");
  }
}

/** Options of {@linkcode chunkLengths}. */
export interface ChunkLengthsOptions {
  /** Longest chunk. */
  maxLength: number;
}

/**
 * Splits each sequence longer than `maxLength` into chunks of `maxLength` and a remainder, as
 * a training pipeline cuts long documents into training sequences; returns the chunk lengths
 * in order (empty sequences are dropped).
 *
 * @example
 * ```ts
 * import { chunkLengths } from "@tokenlab/tokenlab/data";
 * console.log(chunkLengths([5, 12, 0, 4], { maxLength: 4 })); // [4, 1, 4, 4, 4, 4]
 * ```
 */
export function chunkLengths(lengths: ArrayLike<number>, options: ChunkLengthsOptions): number[] {
  const m = options?.maxLength;
  check(
    Number.isInteger(m) && m > 0,
    `chunkLengths: maxLength must be a positive integer, got ${m}`,
  );
  const out: number[] = [];
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i];
    check(
      Number.isInteger(n) && n >= 0,
      `chunkLengths: lengths[${i}] is ${n}; lengths must be non-negative integers`,
    );
    for (let r = n; r > 0; r -= m) out.push(Math.min(m, r));
  }
  return out;
}

/** Padding and packing arithmetic of {@linkcode paddingWaste}. */
export interface WasteReport {
  /** Real tokens. */
  tokens: number;
  /** Rows (sequences when padding, bins when packing). */
  rows: number;
  /** Token slots computed: rows × row length (or the sum of padded lengths). */
  slots: number;
  /** Slots holding padding. */
  padding: number;
  /** padding / slots. */
  wasteFraction: number;
}

/** Options of {@linkcode paddingWaste}. */
export interface PaddingWasteOptions {
  /**
   * How rows are formed: "max" pads every sequence to `capacity` (fixed-length batches),
   * "batch" pads each consecutive group of `batchSize` sequences to its longest (dynamic
   * padding), "packed" takes `packing`'s rows of `capacity`.
   */
  mode: "max" | "batch" | "packed";
  /** Row length for "max" (and the packing's capacity for "packed"). */
  capacity?: number;
  /** Group size for "batch". */
  batchSize?: number;
  /** The packing, for "packed". */
  packing?: Packing;
}

/**
 * Padding tokens and waste fraction of a way of batching `lengths`.
 *
 * @example
 * ```ts
 * import { packBestFitDecreasing, paddingWaste } from "@tokenlab/tokenlab/data";
 * const lengths = [6, 5, 4, 3, 2];
 * console.log(paddingWaste(lengths, { mode: "max", capacity: 10 }).padding); // 30
 * const packing = packBestFitDecreasing(lengths, { capacity: 10 });
 * console.log(paddingWaste(lengths, { mode: "packed", packing }).padding); // 0
 * ```
 */
export function paddingWaste(
  lengths: ArrayLike<number>,
  options: PaddingWasteOptions,
): WasteReport {
  let tokens = 0;
  for (let i = 0; i < lengths.length; i++) tokens += lengths[i];
  let rows: number, slots: number;
  if (options?.mode === "max") {
    const c = options.capacity!;
    checkLengths(lengths, c, "paddingWaste");
    rows = lengths.length;
    slots = rows * c;
  } else if (options?.mode === "batch") {
    const b = options.batchSize!;
    check(
      Number.isInteger(b) && b > 0,
      `paddingWaste: batchSize must be a positive integer, got ${b}`,
    );
    rows = lengths.length;
    slots = 0;
    for (let i = 0; i < lengths.length; i += b) {
      let m = 0;
      const end = Math.min(lengths.length, i + b);
      for (let j = i; j < end; j++) m = Math.max(m, lengths[j]);
      slots += m * (end - i);
    }
  } else if (options?.mode === "packed") {
    const p = options.packing;
    check(p && Array.isArray(p.bins), "paddingWaste: mode packed needs options.packing");
    const seen = p.bins.flat();
    check(
      seen.length === lengths.length && new Set(seen).size === lengths.length,
      `paddingWaste: the packing holds ${seen.length} sequences, not each of the ${lengths.length} once`,
      { hint: "pass the lengths the packing was made from" },
    );
    rows = p.bins.length;
    slots = rows * p.capacity;
  } else {
    check(false, `paddingWaste: mode must be "max", "batch" or "packed", got ${options?.mode}`);
    throw new Error("unreachable");
  }
  const padding = slots - tokens;
  return { tokens, rows, slots, padding, wasteFraction: slots ? padding / slots : 0 };
}

/**
 * Several prompts laid out as rows of one token sequence, for a prefill that attends only
 * within each prompt: row r holds tokens `[r·rowLength, (r+1)·rowLength)`.
 */
export interface PackedBatch {
  /** Token ids, rows × rowLength (padding included). */
  ids: number[];
  /** Position id of each token: restarts at 0 for every prompt. */
  positions: number[];
  /** Sequence id of each token: equal within a prompt (padding gets ids of its own). */
  seqIds: number[];
  /** Index (into ids) of each prompt's last token, in input order. */
  lastIndex: number[];
  /** Number of rows. */
  rows: number;
  /** Tokens per row. */
  rowLength: number;
  /** Padding tokens in the layout. */
  padTokens: number;
}

/** Options of {@linkcode prepackPrompts}. */
export interface PrepackOptions {
  /**
   * "padded": one prompt per row, right-padded to the longest prompt (the usual batch);
   * "packed": best-fit-decreasing bins of `capacity` tokens, prompts concatenated in a row
   * with restarted positions, rows padded to the fullest row (prepacking).
   */
  mode: "padded" | "packed";
  /** Row capacity for "packed" (default: the longest prompt). */
  capacity?: number;
  /** Id of padding tokens (default 0). */
  padId?: number;
}

/**
 * Lays out prompts for a batched prefill, padded or prepacked (Zhao et al., "Prepacking").
 *
 * @example
 * ```ts
 * import { prepackPrompts } from "@tokenlab/tokenlab/data";
 * const prompts = [[5, 6, 7, 8], [9], [3, 4, 2]];
 * const padded = prepackPrompts(prompts, { mode: "padded" });
 * const packed = prepackPrompts(prompts, { mode: "packed" });
 * console.log(padded.rows, padded.padTokens, packed.rows, packed.padTokens); // 3 4 2 0
 * console.log(packed.positions); // [0, 1, 2, 3, 0, 1, 2, 0]
 * ```
 */
export function prepackPrompts(prompts: number[][], options: PrepackOptions): PackedBatch {
  check(
    Array.isArray(prompts) && prompts.length > 0,
    "prepackPrompts needs a non-empty array of prompts (arrays of token ids)",
  );
  const lengths = prompts.map((p, i) => {
    check(
      Array.isArray(p) && p.length > 0,
      `prepackPrompts: prompt ${i} is empty or not an array of token ids`,
    );
    return p.length;
  });
  const padId = options?.padId ?? 0;
  const longest = Math.max(...lengths);
  let bins: number[][];
  let rowLength: number;
  if (options?.mode === "padded") {
    bins = prompts.map((_, i) => [i]);
    rowLength = longest;
  } else if (options?.mode === "packed") {
    const capacity = options.capacity ?? longest;
    const packing = packBestFitDecreasing(lengths, { capacity });
    bins = packing.bins;
    rowLength = Math.max(...packing.loads);
  } else {
    check(false, `prepackPrompts: mode must be "padded" or "packed", got ${options?.mode}`);
    throw new Error("unreachable");
  }
  const ids: number[] = [], positions: number[] = [], seqIds: number[] = [];
  const lastIndex = new Array<number>(prompts.length);
  let padTokens = 0;
  bins.forEach((bin, r) => {
    for (const i of bin) {
      prompts[i].forEach((id, p) => {
        ids.push(id);
        positions.push(p);
        seqIds.push(i);
      });
      lastIndex[i] = ids.length - 1;
    }
    const fill = (r + 1) * rowLength - ids.length;
    // padded mode: padding continues its prompt's sequence (right padding under a causal
    // mask changes nothing before it); packed mode: each row's padding is a sequence of its own
    const padSeq = options.mode === "padded" ? bin[0] : -1 - r;
    for (let k = 0; k < fill; k++) {
      ids.push(padId);
      positions.push(options.mode === "padded" ? lengths[bin[0]] + k : k);
      seqIds.push(padSeq);
    }
    padTokens += fill;
  });
  return { ids, positions, seqIds, lastIndex, rows: bins.length, rowLength, padTokens };
}
