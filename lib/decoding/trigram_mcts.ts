/**
 * ADED's building blocks (P70, Liu, Lie, Zhang, Xu; arXiv 2407.12021): an adaptive tri-gram
 * matrix, a Monte Carlo tree search over it, and the trie that merges the searched paths
 * into one draft tree. The search follows the reference code (`DraftRetriever/src/mcts_sub.rs`
 * of the public fork): PUCT with c₁ = 1.814 and c₂ = 8 (an unvisited child scores +∞),
 * expansion of every successor, random rollout by the normalised probabilities up to the
 * path length, reward 1 + Σ probabilities along the state path, backup to the root; then the
 * top-k searched paths by visit count, each extended greedily by one token.
 *
 * @module
 */
import { check } from "../util/errors.ts";
import type { DraftTree } from "./token_tree.ts";

/** Options of `speculativeGenerate` for method "aded" (see {@linkcode mctsDraftPaths}). */
export interface AdedOptions {
  /**
   * "aded": the tri-gram matrix to draft from (the paper builds it from a corpus: see
   * `TrigramMatrix.fromTokens`); see `adedAdapt` for whether it changes. Default: an empty
   * matrix, so drafts come only from the target's own outputs of this call.
   */
  adedMatrix?: TrigramMatrix;
  /**
   * "aded": add the target's committed tokens to the matrix while decoding: `true` (default)
   * into `adedMatrix` itself (it keeps what it learnt for later calls), `"copy"` into a copy
   * made for this call (every call starts from the matrix as given), `false` not at all.
   */
  adedAdapt?: boolean | "copy";
  /** "aded": count added per observed tri-gram (default 1). */
  adedAdaptWeight?: number;
  /** "aded": MCTS iterations per step (default 150). */
  adedSimulations?: number;
  /** "aded": tokens per searched path, t₋₁ included (default 8). */
  adedLength?: number;
  /** "aded": searched paths kept by visit count (default 8). */
  adedPaths?: number;
}

/** Options of {@linkcode TrigramMatrix}. */
export interface TrigramMatrixOptions {
  /** Vocabulary size (token ids are 0..vocabSize−1). */
  vocabSize: number;
  /** Successors read per key, most frequent first (default 12, as in the reference README). */
  topK?: number;
}

/** Successors of a key with their probabilities (renormalised over the top-k). */
export interface TrigramSuccessors {
  /** Next tokens, most frequent first (ties: lower id first). */
  ids: Int32Array;
  /** Their probabilities, summing to 1 (empty when the key was never seen). */
  probs: Float64Array;
}

// a single JS number holds (a·V + b)·V + c exactly up to 2^53
const MAX_VOCAB = Math.floor(Math.cbrt(Number.MAX_SAFE_INTEGER));

/**
 * A tri-gram matrix: for a key (t₋₂, t₋₁), how often each next token followed it. It is built
 * from token streams ({@linkcode TrigramMatrix.fromTokens}), pruned to the `topK` most
 * frequent successors per key (counts kept), and adapted by {@linkcode TrigramMatrix.add} /
 * {@linkcode TrigramMatrix.observe} (ADED adds the target's outputs while decoding). Reads
 * return the top-k successors with their counts renormalised to probabilities.
 *
 * @example
 * ```ts
 * import { TrigramMatrix } from "@tokenlab/tokenlab/decoding";
 * const m = TrigramMatrix.fromTokens([[1, 2, 3, 1, 2, 3, 1, 2, 4]], { vocabSize: 5 });
 * console.log(m.successors(1, 2)); // ids [3, 4], probs [2/3, 1/3]
 * m.observe([1, 2, 4, 1, 2, 4]); // adaptation: (1, 2) → 4 twice more
 * console.log(m.successors(1, 2).ids); // [4, 3]
 * ```
 */
export class TrigramMatrix {
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** Successors read per key. */
  readonly topK: number;
  /** Trigram counts added by adaptation so far (weights summed). */
  adapted = 0;
  // the corpus part, immutable: sorted keys a·V + b, CSR offsets, successor ids and counts
  #keys: Float64Array;
  #offsets: Int32Array;
  #next: Int32Array;
  #counts: Float64Array;
  // keys touched by adaptation: their full successor lists (copied from the corpus part first)
  #overlay = new Map<number, { ids: number[]; counts: number[] }>();
  #read = new Map<number, TrigramSuccessors>();

  /** An empty matrix (nothing seen yet). */
  constructor(options: TrigramMatrixOptions) {
    const { vocabSize, topK = 12 } = options;
    check(
      Number.isInteger(vocabSize) && vocabSize > 0 && vocabSize <= MAX_VOCAB,
      `TrigramMatrix: vocabSize must be an integer in 1..${MAX_VOCAB}, got ${vocabSize}`,
      { hint: "pass the model's config.vocabSize" },
    );
    check(
      Number.isInteger(topK) && topK >= 1,
      `TrigramMatrix: topK must be a positive integer, got ${topK}`,
    );
    this.vocabSize = vocabSize;
    this.topK = topK;
    this.#keys = new Float64Array(0);
    this.#offsets = new Int32Array(1);
    this.#next = new Int32Array(0);
    this.#counts = new Float64Array(0);
  }

  /**
   * Counts every tri-gram of every stream (streams are not joined: no tri-gram crosses two)
   * and keeps each key's `topK` most frequent successors.
   */
  static fromTokens(
    streams: ArrayLike<number>[],
    options: TrigramMatrixOptions,
  ): TrigramMatrix {
    const m = new TrigramMatrix(options);
    check(Array.isArray(streams), "TrigramMatrix.fromTokens: pass a list of token streams", {
      hint: "wrap one stream in an array: fromTokens([ids], …)",
    });
    const V = m.vocabSize;
    let n = 0;
    for (const s of streams) n += Math.max(0, s.length - 2);
    const codes = new Float64Array(n);
    let w = 0;
    for (const s of streams) {
      for (let i = 0; i + 2 < s.length; i++) {
        const a = s[i], b = s[i + 1], c = s[i + 2];
        m.#checkId(a), m.#checkId(b), m.#checkId(c);
        codes[w++] = (a * V + b) * V + c;
      }
    }
    codes.sort();
    const keys: number[] = [], offsets: number[] = [0], next: number[] = [], counts: number[] = [];
    let i = 0;
    while (i < n) {
      const key = Math.floor(codes[i] / V);
      const group: [number, number][] = [];
      while (i < n && Math.floor(codes[i] / V) === key) {
        const code = codes[i];
        let j = i;
        while (j < n && codes[j] === code) j++;
        group.push([code - key * V, j - i]);
        i = j;
      }
      group.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
      keys.push(key);
      for (const [c, k] of group.slice(0, m.topK)) {
        next.push(c);
        counts.push(k);
      }
      offsets.push(next.length);
    }
    m.#keys = Float64Array.from(keys);
    m.#offsets = Int32Array.from(offsets);
    m.#next = Int32Array.from(next);
    m.#counts = Float64Array.from(counts);
    return m;
  }

  /** Keys (t₋₂, t₋₁) with at least one successor. */
  get size(): number {
    let extra = 0;
    for (const key of this.#overlay.keys()) if (this.#find(key) < 0) extra++;
    return this.#keys.length + extra;
  }

  /** Adds `weight` to the count of `c` after (a, b) (adaptation). */
  add(a: number, b: number, c: number, weight = 1): void {
    this.#checkId(a), this.#checkId(b), this.#checkId(c);
    check(weight > 0, `TrigramMatrix.add: weight must be > 0, got ${weight}`);
    const key = a * this.vocabSize + b;
    let entry = this.#overlay.get(key);
    if (!entry) {
      entry = { ids: [], counts: [] };
      const at = this.#find(key);
      if (at >= 0) {
        for (let j = this.#offsets[at]; j < this.#offsets[at + 1]; j++) {
          entry.ids.push(this.#next[j]);
          entry.counts.push(this.#counts[j]);
        }
      }
      this.#overlay.set(key, entry);
    }
    const j = entry.ids.indexOf(c);
    if (j >= 0) entry.counts[j] += weight;
    else {
      entry.ids.push(c);
      entry.counts.push(weight);
    }
    this.#read.delete(key);
    this.adapted += weight;
  }

  /** Adds every tri-gram of `tokens` (a committed stretch of text) with `weight` each. */
  observe(tokens: ArrayLike<number>, weight = 1): void {
    for (let i = 0; i + 2 < tokens.length; i++) {
      this.add(tokens[i], tokens[i + 1], tokens[i + 2], weight);
    }
  }

  /** The top-k successors of (a, b) and their renormalised probabilities (do not modify). */
  successors(a: number, b: number): TrigramSuccessors {
    const key = a * this.vocabSize + b;
    const cached = this.#read.get(key);
    if (cached) return cached;
    let pairs: [number, number][] = [];
    const entry = this.#overlay.get(key);
    if (entry) pairs = entry.ids.map((id, j) => [id, entry.counts[j]]);
    else {
      const at = this.#find(key);
      if (at >= 0) {
        for (let j = this.#offsets[at]; j < this.#offsets[at + 1]; j++) {
          pairs.push([this.#next[j], this.#counts[j]]);
        }
      }
    }
    pairs.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    pairs = pairs.slice(0, this.topK);
    const total = pairs.reduce((s, p) => s + p[1], 0);
    const out: TrigramSuccessors = {
      ids: Int32Array.from(pairs, (p) => p[0]),
      probs: Float64Array.from(pairs, (p) => p[1] / total),
    };
    this.#read.set(key, out);
    return out;
  }

  /** A copy that adapts on its own (the corpus part is shared: it never changes). */
  clone(): TrigramMatrix {
    const m = new TrigramMatrix({ vocabSize: this.vocabSize, topK: this.topK });
    m.#keys = this.#keys;
    m.#offsets = this.#offsets;
    m.#next = this.#next;
    m.#counts = this.#counts;
    for (const [k, e] of this.#overlay) {
      m.#overlay.set(k, { ids: [...e.ids], counts: [...e.counts] });
    }
    m.adapted = this.adapted;
    return m;
  }

  #find(key: number): number {
    let lo = 0, hi = this.#keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = this.#keys[mid];
      if (k === key) return mid;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  #checkId(t: number): void {
    if (!(Number.isInteger(t) && t >= 0 && t < this.vocabSize)) {
      check(false, `TrigramMatrix: token id ${t} is outside 0..${this.vocabSize - 1}`, {
        hint: "build the matrix with the tokenizer's vocabulary size",
      });
    }
  }
}

/** Options of {@linkcode mctsDraftPaths}. */
export interface MctsDraftOptions {
  /** Search iterations (default 150). */
  simulations?: number;
  /** Tokens per searched path, t₋₁ included (the reference's sentence length; default 8). */
  length?: number;
  /** Paths kept, by visit count (default 8). */
  paths?: number;
  /** PUCT's c₁ (default 1.814). */
  c1?: number;
  /** PUCT's c₂ (default 8). */
  c2?: number;
  /** Uniform numbers in [0, 1) for the rollouts (seeded). */
  uniform: () => number;
}

interface SearchNode {
  a: number;
  b: number;
  p: number;
  visits: number;
  score: number;
  parent: SearchNode | null;
  children: SearchNode[];
  successors: TrigramSuccessors;
}

/**
 * ADED's draft search from the state (t₋₂, t₋₁): MCTS over the tri-gram matrix, then the top
 * `paths` searched paths by visit count (ties: depth-first order), each extended by the most
 * probable successor of its last two tokens. A path here lists the tokens after t₋₁ (the
 * root's own path, t₋₁ alone, comes back empty). Deterministic given `uniform`.
 *
 * @example
 * ```ts
 * import { mctsDraftPaths, TrigramMatrix } from "@tokenlab/tokenlab/decoding";
 * import { samplingUniform } from "@tokenlab/tokenlab/kernels";
 * const m = TrigramMatrix.fromTokens([[1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 5]], { vocabSize: 6 });
 * let n = 0;
 * const uniform = () => samplingUniform({ seed: 0, row: 0, counter: n++ });
 * console.log(mctsDraftPaths(m, [1, 2], { uniform, simulations: 20, length: 4, paths: 3 }));
 * ```
 */
export function mctsDraftPaths(
  matrix: TrigramMatrix,
  state: [number, number],
  options: MctsDraftOptions,
): number[][] {
  const {
    simulations = 150,
    length = 8,
    paths = 8,
    c1 = 1.814,
    c2 = 8,
    uniform,
  } = options;
  check(
    Number.isInteger(simulations) && simulations >= 0 && Number.isInteger(length) &&
      length >= 1 && Number.isInteger(paths) && paths >= 0,
    `mctsDraftPaths: simulations ≥ 0, length ≥ 1 and paths ≥ 0 must be integers, got ${simulations}, ${length}, ${paths}`,
  );
  check(c1 >= 0 && c2 > 0, `mctsDraftPaths: need c1 ≥ 0 and c2 > 0, got ${c1} and ${c2}`);
  check(typeof uniform === "function", "mctsDraftPaths: uniform must be a function", {
    hint: "pass seeded uniforms, e.g. from samplingUniform",
  });
  const node = (
    a: number,
    b: number,
    p: number,
    parent: SearchNode | null,
  ): SearchNode => ({
    a,
    b,
    p,
    visits: 0,
    score: 0,
    parent,
    children: [],
    successors: matrix.successors(a, b),
  });
  const root = node(state[0], state[1], 0, null);
  const puct = (c: SearchNode, total: number) =>
    c.visits === 0 ? Infinity : c.score / c.visits +
      (c1 + Math.log((total + c2 + 1) / c2)) * c.p * Math.sqrt(total) / (1 + c.visits);
  const probOf = (a: number, b: number, c: number) => {
    const s = matrix.successors(a, b);
    const j = s.ids.indexOf(c);
    return j >= 0 ? s.probs[j] : 0;
  };
  for (let it = 0; it < simulations; it++) {
    let cur = root;
    const states: [number, number][] = [[cur.a, cur.b]];
    let end = false;
    // selection: descend while the node is expanded
    while (cur.successors.ids.length > 0 && cur.children.length > 0 && !end) {
      let best = cur.children[0], top = 0;
      for (const c of cur.children) {
        const s = puct(c, cur.visits);
        if (s > top) {
          top = s;
          best = c;
        }
      }
      cur = best;
      states.push([cur.a, cur.b]);
      if (states.length === length) end = true;
    }
    // expansion: every successor becomes a child; continue from the last one
    if (cur.successors.ids.length > 0 && !end) {
      const s = cur.successors;
      for (let j = 0; j < s.ids.length; j++) {
        cur.children.push(node(cur.b, s.ids[j], s.probs[j], cur));
      }
      cur = cur.children.at(-1)!;
      states.push([cur.a, cur.b]);
    }
    // rollout by the normalised probabilities
    while (states.length < length) {
      const [a, b] = states.at(-1)!;
      const s = matrix.successors(a, b);
      if (s.ids.length === 0) break;
      const u = uniform();
      let cum = 0, pick = s.ids[s.ids.length - 1];
      for (let j = 0; j < s.ids.length; j++) {
        cum += s.probs[j];
        if (u <= cum) {
          pick = s.ids[j];
          break;
        }
      }
      states.push([b, pick]);
    }
    let reward = 1;
    for (let i = 0; i + 1 < states.length; i++) {
      reward += probOf(states[i][0], states[i][1], states[i + 1][1]);
    }
    for (let n: SearchNode | null = cur; n; n = n.parent) {
      n.visits++;
      n.score += reward;
    }
  }
  // every searched node's path (depth-first), the most visited first
  const found: { path: number[]; visits: number; a: number; b: number }[] = [];
  const walk = (n: SearchNode, path: number[]) => {
    found.push({ path, visits: n.visits, a: n.a, b: n.b });
    if (path.length + 1 > length) return;
    for (const c of n.children) walk(c, [...path, c.b]);
  };
  walk(root, []);
  const order = found.map((f, i) => ({ f, i }))
    .sort((x, y) => y.f.visits - x.f.visits || x.i - y.i)
    .slice(0, paths);
  return order.map(({ f }) => {
    if (f.path.length === 0) return [];
    const s = matrix.successors(f.a, f.b);
    return s.ids.length > 0 ? [...f.path, s.ids[0]] : f.path;
  });
}

/** Options of {@linkcode trieTree}. */
export interface TrieTreeOptions {
  /** Most nodes below the root (default: no limit); paths are added in order until full. */
  budget?: number;
  /** Deepest node (default: no limit). */
  maxDepth?: number;
  /** Source label of the nodes (default "trie"). */
  source?: string;
}

/**
 * Merges token paths below a root into a trie (shared prefixes become one branch), in the
 * given order, node by node, until `budget` nodes are placed.
 *
 * @example
 * ```ts
 * import { trieTree } from "@tokenlab/tokenlab/decoding";
 * const tree = trieTree(9, [[1, 2], [1, 3], [4]]);
 * console.log(tree.ids, tree.parents); // [9, 1, 2, 3, 4] [-1, 0, 1, 1, 0]
 * ```
 */
export function trieTree(
  root: number,
  paths: ArrayLike<number>[],
  options: TrieTreeOptions = {},
): DraftTree {
  const { budget = Infinity, maxDepth = Infinity, source = "trie" } = options;
  check(budget >= 0, `trieTree: budget must be ≥ 0, got ${budget}`);
  const tree: DraftTree = { ids: [root], parents: [-1], source: ["root"] };
  const kids = new Map<number, Map<number, number>>();
  outer: for (const path of paths) {
    let node = 0;
    for (let d = 0; d < path.length && d < maxDepth; d++) {
      const t = path[d];
      let m = kids.get(node);
      if (!m) kids.set(node, m = new Map());
      const c = m.get(t);
      if (c !== undefined) {
        node = c;
        continue;
      }
      if (tree.ids.length - 1 >= budget) break outer;
      tree.ids.push(t);
      tree.parents.push(node);
      tree.source!.push(source);
      m.set(t, tree.ids.length - 1);
      node = tree.ids.length - 1;
    }
  }
  return tree;
}
