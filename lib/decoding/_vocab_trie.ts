// The vocabulary as a byte trie in preorder (tokens sorted by their bytes, as XGrammar sorts its
// decoded vocabulary): a node's subtree is the contiguous run up to `end`, so a dead prefix
// skips every token below it at once. Internal.

import type { Tokenizer } from "../tokenizers/tokenizer.ts";

/** A preorder byte trie over (bytes, id) entries. */
export interface ByteTrie {
  /** Edge byte into each node. */
  byte: Uint8Array;
  /** Depth of each node (1 = first byte). */
  depth: Uint16Array;
  /** Index just past each node's subtree. */
  end: Int32Array;
  /** Tokens ending at node i are tokIds[tokStart[i] .. tokStart[i + 1]). */
  tokStart: Int32Array;
  tokIds: Int32Array;
  maxDepth: number;
}

/** The preorder byte trie of a tokenizer's vocabulary. */
export interface VocabTrie extends ByteTrie {
  /** Bytes of every id that has bytes and is not special; null otherwise. */
  bytesOf: Array<Uint8Array | null>;
  /** Special ids (added tokens marked special). */
  specials: Set<number>;
  idSpace: number;
}

const cache = new WeakMap<Tokenizer, VocabTrie>();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Builds (once per tokenizer) the trie of every non-special id with bytes. */
export function vocabTrie(tok: Tokenizer): VocabTrie {
  const hit = cache.get(tok);
  if (hit) return hit;
  const idSpace = tok.idSpace;
  const specials = new Set(Object.values(tok.specialTokens));
  const bytesOf: Array<Uint8Array | null> = new Array(idSpace).fill(null);
  const ids: number[] = [];
  for (let id = 0; id < idSpace; id++) {
    if (specials.has(id)) continue;
    let b: Uint8Array;
    try {
      b = tok.tokenBytes(id);
    } catch {
      continue; // an unused id (a hole between ranked and special tokens)
    }
    if (b.length === 0) continue;
    bytesOf[id] = b;
    ids.push(id);
  }
  const trie: VocabTrie = {
    ...buildTrie(ids.map((id) => bytesOf[id]!), ids),
    bytesOf,
    specials,
    idSpace,
  };
  cache.set(tok, trie);
  return trie;
}

/** Builds the preorder trie of the entries (bytes[k] for id ids[k]; empty bytes are skipped). */
export function buildTrie(bytes: Uint8Array[], ids: ArrayLike<number>): ByteTrie {
  const order = Array.from({ length: bytes.length }, (_, k) => k).filter((k) =>
    bytes[k].length > 0
  );
  order.sort((x, y) => compareBytes(bytes[x], bytes[y]) || ids[x] - ids[y]);
  const byte: number[] = [], depth: number[] = [], end: number[] = [];
  const attachNode: number[] = [], attachId: number[] = [];
  const path: number[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  let maxDepth = 0;
  for (const k of order) {
    const b = bytes[k];
    let l = 0;
    while (l < prev.length && l < b.length && prev[l] === b[l]) l++;
    while (path.length > l) end[path.pop()!] = byte.length;
    for (let j = l; j < b.length; j++) {
      path.push(byte.length);
      byte.push(b[j]);
      depth.push(j + 1);
      end.push(0);
    }
    attachNode.push(path[b.length - 1]);
    attachId.push(ids[k]);
    maxDepth = Math.max(maxDepth, b.length);
    prev = b;
  }
  while (path.length > 0) end[path.pop()!] = byte.length;
  const N = byte.length;
  const tokStart = new Int32Array(N + 1);
  for (const n of attachNode) tokStart[n + 1]++;
  for (let i = 0; i < N; i++) tokStart[i + 1] += tokStart[i];
  const fill = tokStart.slice(0, N);
  const tokIds = new Int32Array(attachId.length);
  for (let k = 0; k < attachId.length; k++) tokIds[fill[attachNode[k]]++] = attachId[k];
  return {
    byte: Uint8Array.from(byte),
    depth: Uint16Array.from(depth),
    end: Int32Array.from(end),
    tokStart,
    tokIds,
    maxDepth,
  };
}
