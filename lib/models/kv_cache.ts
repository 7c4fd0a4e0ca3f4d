/**
 * The per-layer KV cache shared by the CPU and GPU forwards: keys (after RoPE) and values of
 * every fed token, their absolute positions, and the research edits on them (keep, evict,
 * accept one path of a verified token tree). Storage grows geometrically, so appending a token
 * costs amortised O(1) copies, not a copy of the whole cache.
 *
 * @example
 * ```ts
 * import { KvCache } from "@tokenlab/tokenlab/models";
 * const cache = new KvCache({ numLayers: 1, kvHeads: 1, headDim: 2 });
 * cache.append(0, { k: Float32Array.of(1, 2, 3, 4), v: Float32Array.of(5, 6, 7, 8), positions: [0, 1] });
 * cache.evict(0, [0]);
 * console.log(cache.length(0), cache.positions[0], cache.keys[0]); // 1 [1] Float32Array [3, 4]
 * ```
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import { tokenTreeDepths } from "./tree.ts";

/** Shape of a {@linkcode KvCache}. */
export interface KvCacheOptions {
  /** Decoder layers. */
  numLayers: number;
  /** Key/value heads per layer. */
  kvHeads: number;
  /** Dimension of one head. */
  headDim: number;
}

/** New entries for {@linkcode KvCache.append} and {@linkcode KvCache.appendRows}. */
export interface KvEntries {
  /** Keys of the new entries (layout given by the method). */
  k: Float32Array;
  /** Values of the new entries, same layout as `k`. */
  v: Float32Array;
  /** Absolute position of each new entry. */
  positions: number[];
}

/** Edits (keep/evict) remembered per layer for {@linkcode KvCache.unchangedSince}. */
const EDIT_HISTORY = 64;
/** Smallest capacity (entries) a layer grows to. */
const MIN_CAPACITY = 16;

/** A frozen array whose element `l` is computed by `get(l)` on each access. */
function lazyLayers(n: number, get: (layer: number) => Float32Array): readonly Float32Array[] {
  const a: Float32Array[] = [];
  for (let l = 0; l < n; l++) Object.defineProperty(a, l, { get: () => get(l), enumerable: true });
  return Object.freeze(a);
}

/**
 * Per-layer KV cache. `positions[layer]` are the absolute positions of the kept entries.
 * Eviction keeps new tokens' positions counting from `nextPosition`, so RoPE phases stay those
 * of the original sequence.
 *
 * Each layer stores its entries row-major, [capacity, kvHeads, headDim], and doubles its
 * capacity when an append does not fit. {@linkcode KvCache.keyRows} and
 * {@linkcode KvCache.valueRows} are views of the `length` kept entries in that layout (no
 * copy); `keys` and `values` give the older head-major layout [kvHeads, length, headDim] as
 * copies made on access. Neither ever shows the spare capacity.
 *
 * @example
 * ```ts
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const cache = model.newCache();
 * await model.forward([1, 17, 42, 99], cache);
 * cache.keep(0, [0, 3]); // layer 0 keeps the first and the last token
 * console.log(cache.length(0), cache.positions[0], cache.nextPosition); // 2 [0, 3] 4
 * ```
 */
export class KvCache {
  /** Layers. */
  readonly numLayers: number;
  /** Key/value heads per layer. */
  readonly kvHeads: number;
  /** Dimension of one head. */
  readonly headDim: number;
  /**
   * Keys per layer, [kvHeads, length(layer), headDim]: a copy made when read (and reused until
   * the layer changes); edit the cache with its methods, not through this array.
   */
  readonly keys: readonly Float32Array[];
  /** Values per layer, [kvHeads, length(layer), headDim]; a copy, like `keys`. */
  readonly values: readonly Float32Array[];
  /** Absolute positions of kept entries per layer. */
  positions: number[][];
  /** Position the next fed token gets. */
  nextPosition = 0;
  /** Set true to record attention probabilities of the next forward call. */
  captureAttention = false;
  /** When capturing: per layer, probabilities [heads, newTokens, length] of the last forward. */
  attention: Float32Array[] = [];
  /** Keys and values per layer, [capacity, kvHeads, headDim]. */
  readonly #k: Float32Array<ArrayBuffer>[];
  readonly #v: Float32Array<ArrayBuffer>[];
  /** Head-major copies handed out by `keys` / `values`, until the layer changes. */
  readonly #headMajor: (null | { k?: Float32Array; v?: Float32Array })[];
  /** keep/evict edits per layer, and for the last EDIT_HISTORY of them the unchanged prefix. */
  readonly #revision: number[];
  readonly #edits: number[][];

  /** Makes an empty cache. */
  constructor(options: KvCacheOptions) {
    const { numLayers, kvHeads, headDim } = options;
    for (const [name, n] of Object.entries({ numLayers, kvHeads, headDim })) {
      check(
        Number.isInteger(n) && n > 0,
        `KvCache: ${name} must be a positive integer, got ${n}`,
        { hint: "make the cache with model.newCache()" },
      );
    }
    this.numLayers = numLayers;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.#k = Array.from({ length: numLayers }, () => new Float32Array(0));
    this.#v = Array.from({ length: numLayers }, () => new Float32Array(0));
    this.#headMajor = Array.from({ length: numLayers }, () => null);
    this.#revision = Array.from({ length: numLayers }, () => 0);
    this.#edits = Array.from({ length: numLayers }, () => []);
    this.positions = Array.from({ length: numLayers }, () => []);
    this.keys = lazyLayers(numLayers, (l) => this.#copyHeadMajor(l, "k"));
    this.values = lazyLayers(numLayers, (l) => this.#copyHeadMajor(l, "v"));
  }

  /** Number of cached entries in a layer. */
  length(layer = 0): number {
    return this.positions[layer].length;
  }

  /** Entries a layer holds room for before its storage grows again (at least `length`). */
  capacity(layer = 0): number {
    return this.#k[layer].length / (this.kvHeads * this.headDim);
  }

  /**
   * The layer's keys as a view [length, kvHeads, headDim] (row t = entry t), without a copy;
   * valid until the layer next changes.
   */
  keyRows(layer: number): Float32Array<ArrayBuffer> {
    return this.#k[layer].subarray(0, this.length(layer) * this.kvHeads * this.headDim);
  }

  /** The layer's values as a view [length, kvHeads, headDim], like {@linkcode KvCache.keyRows}. */
  valueRows(layer: number): Float32Array<ArrayBuffer> {
    return this.#v[layer].subarray(0, this.length(layer) * this.kvHeads * this.headDim);
  }

  /**
   * How many keep/evict edits (including those of `acceptTreePath`) a layer has had; appends do
   * not count. With {@linkcode KvCache.unchangedSince}, a copy of the cache kept elsewhere (the
   * GPU backend's) knows which of its rows are still current.
   */
  revision(layer: number): number {
    return this.#revision[layer];
  }

  /**
   * How many leading entries of a layer are the same entries as at revision `since` (their
   * row indices did not move): `length` when there was no edit since, 0 when the edits are too
   * old to tell.
   */
  unchangedSince(layer: number, since: number): number {
    const now = this.#revision[layer], len = this.length(layer);
    if (since === now) return len;
    const back = now - since, edits = this.#edits[layer];
    if (!(back > 0) || back > edits.length) return 0;
    let p = len;
    for (let i = edits.length - back; i < edits.length; i++) p = Math.min(p, edits[i]);
    return p;
  }

  /** Keeps only the entries at the given indices (into the layer's current entries, any order kept sorted). */
  keep(layer: number, indices: number[]): void {
    const len = this.length(layer);
    const idx = [...new Set(indices)].sort((a, b) => a - b);
    for (const i of idx) {
      if (!Number.isInteger(i) || i < 0 || i >= len) {
        throw new TokenlabError(
          `cache.keep: index ${i} is out of range for layer ${layer} (length ${len})`,
          {
            hint: "indices count entries of the layer's cache, 0..length-1",
          },
        );
      }
    }
    const row = this.kvHeads * this.headDim, n = idx.length;
    const K = this.#k[layer], V = this.#v[layer];
    let prefix = 0;
    while (prefix < n && idx[prefix] === prefix) prefix++;
    // indices ascend and idx[j] >= j, so moving rows down in order never overwrites a row
    // still to be moved; runs of consecutive indices move in one copy
    for (let j = prefix; j < n;) {
      let e = j + 1;
      while (e < n && idx[e] === idx[e - 1] + 1) e++;
      K.copyWithin(j * row, idx[j] * row, (idx[e - 1] + 1) * row);
      V.copyWithin(j * row, idx[j] * row, (idx[e - 1] + 1) * row);
      j = e;
    }
    const pos = this.positions[layer];
    this.positions[layer] = idx.map((i) => pos[i]);
    this.#headMajor[layer] = null;
    this.#revision[layer]++;
    const edits = this.#edits[layer];
    edits.push(prefix);
    if (edits.length > EDIT_HISTORY) edits.shift();
  }

  /** Drops the entries at the given indices. */
  evict(layer: number, indices: number[]): void {
    const drop = new Set(indices);
    this.keep(layer, [...Array(this.length(layer)).keys()].filter((i) => !drop.has(i)));
  }

  /** Appends new [kvHeads, n, headDim] entries at the given positions. */
  append(layer: number, entry: KvEntries): void {
    const H = this.kvHeads, D = this.headDim, n = entry.positions.length;
    this.#checkEntry(layer, entry, "append");
    const old = this.length(layer);
    this.#reserve(layer, old + n);
    const K = this.#k[layer], V = this.#v[layer];
    for (let h = 0; h < H; h++) {
      for (let j = 0; j < n; j++) {
        const src = (h * n + j) * D, dst = ((old + j) * H + h) * D;
        K.set(entry.k.subarray(src, src + D), dst);
        V.set(entry.v.subarray(src, src + D), dst);
      }
    }
    this.#pushPositions(layer, entry.positions);
  }

  /**
   * Appends new entries given row-major, [n, kvHeads, headDim] (the layout of a K or V
   * projection after RoPE), at the given positions. Used by the forwards.
   */
  appendRows(layer: number, entry: KvEntries): void {
    this.#checkEntry(layer, entry, "appendRows");
    const old = this.length(layer), row = this.kvHeads * this.headDim;
    const m = entry.positions.length * row;
    this.#reserve(layer, old + entry.positions.length);
    this.#k[layer].set(entry.k.subarray(0, m), old * row);
    this.#v[layer].set(entry.v.subarray(0, m), old * row);
    this.#pushPositions(layer, entry.positions);
  }

  /**
   * After `Model.forwardTree`, keeps the cached prefix and the nodes of one root-to-node path
   * of that tree (`path`: node indices, root first, each the parent of the next; may be
   * empty), drops the other tree nodes in every layer, and advances `nextPosition` by the
   * path length, so the cache is as if the path had been fed with `Model.forward`.
   */
  acceptTreePath(parents: number[], path: number[]): void {
    const n = parents.length;
    tokenTreeDepths({ ids: parents.map(() => 0), parents });
    path.forEach((node, k) => {
      const want = k === 0 ? -1 : path[k - 1];
      if (!Number.isInteger(node) || node < 0 || node >= n || parents[node] !== want) {
        throw new TokenlabError(
          `acceptTreePath: path[${k}] = ${node} is not ${
            k === 0 ? "a root" : `a child of node ${want}`
          } of the tree`,
          { hint: "pass node indices from a root down, each the parent of the next" },
        );
      }
    });
    for (let l = 0; l < this.numLayers; l++) {
      const len = this.length(l);
      if (len < n) {
        throw new TokenlabError(
          `acceptTreePath: layer ${l} holds ${len} entries, fewer than the tree's ${n}`,
          { hint: "call it right after model.forwardTree(tree, cache) with the same tree" },
        );
      }
    }
    for (let l = 0; l < this.numLayers; l++) {
      const prefix = this.length(l) - n;
      this.keep(l, [...Array(prefix).keys(), ...path.map((i) => prefix + i)]);
    }
    this.nextPosition += path.length;
  }

  #checkEntry(layer: number, entry: KvEntries, what: string): void {
    check(
      Number.isInteger(layer) && layer >= 0 && layer < this.numLayers,
      `cache.${what}: layer ${layer} is not one of the cache's ${this.numLayers} layers`,
    );
    const want = entry.positions.length * this.kvHeads * this.headDim;
    check(
      entry.k.length === want && entry.v.length === want,
      `cache.${what}: ${entry.positions.length} positions need k and v of ${want} values ` +
        `(${this.kvHeads} kv heads × ${this.headDim}), got ${entry.k.length} and ${entry.v.length}`,
      { hint: "give one position per new entry" },
    );
  }

  /** Grows layer storage geometrically so that it holds at least `need` entries. */
  #reserve(layer: number, need: number): void {
    const row = this.kvHeads * this.headDim, cap = this.capacity(layer);
    this.#headMajor[layer] = null;
    if (need <= cap) return;
    const next = Math.max(need, 2 * cap, MIN_CAPACITY);
    const used = this.length(layer) * row;
    const k = new Float32Array(next * row), v = new Float32Array(next * row);
    k.set(this.#k[layer].subarray(0, used));
    v.set(this.#v[layer].subarray(0, used));
    this.#k[layer] = k;
    this.#v[layer] = v;
  }

  #pushPositions(layer: number, positions: number[]): void {
    const p = this.positions[layer];
    for (let i = 0; i < positions.length; i++) p.push(positions[i]);
  }

  #copyHeadMajor(layer: number, which: "k" | "v"): Float32Array {
    const memo = this.#headMajor[layer] ??= {};
    const hit = memo[which];
    if (hit) return hit;
    const H = this.kvHeads, D = this.headDim, T = this.length(layer);
    const rows = which === "k" ? this.#k[layer] : this.#v[layer];
    const out = new Float32Array(H * T * D);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        out.set(rows.subarray((t * H + h) * D, (t * H + h + 1) * D), (h * T + t) * D);
      }
    }
    memo[which] = out;
    return out;
  }
}
