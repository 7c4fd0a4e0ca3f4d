/**
 * Grammar-constrained decoding after XGrammar (P78): a grammar (EBNF, JSON Schema or any JSON)
 * compiled against a tokenizer into a byte-level pushdown automaton, and a matcher that gives
 * the exact set of tokens allowed next as a bitset.
 *
 * How it works: each rule becomes a byte NFA (rule references are call edges; rules that call
 * nothing and can match empty, like JSON whitespace, are built inline; structurally identical
 * rules are built once); a parser state is the ε-closed set of (NFA node, return stack)
 * configurations, where stacks are persistent (hash-consed linked frames, so states share
 * prefixes and `rollback` is a pointer move). States are interned and their byte transitions
 * memoised, which builds a DFA over configuration sets lazily. Masks walk the vocabulary's
 * byte trie (tokens sorted by bytes, as XGrammar sorts its vocabulary): a dead prefix skips its
 * whole subtree. As in XGrammar, tokens are split into context-independent and
 * context-dependent ones: a state's configurations are grouped by stack, and each group's
 * node set is walked over a "bottom" marker instead of its stack — tokens that stay inside the
 * rule are decided there and cached (a bitset or an id list, whichever is smaller). The
 * caches are shared as widely as the semantics allow: a node set's mask is the union of its
 * nodes' masks (each node walked once per grammar), the walk below a first byte is cached on
 * the state it leads to, and the masks of nodes in rules that call nothing (strings, numbers,
 * patterns) are shared by every grammar of the tokenizer. Where the rule can end inside a
 * token, the rest of the token is checked at run time against the real continuation, one
 * local state per stack group, from the same caches. The full mask is also cached per state
 * (a state met again costs a copy). Nodes that cannot finish are pruned at compile time, so
 * every prefix the matcher accepts can be completed (no dead ends). Caches fill lazily by
 * default: a grammar's first document pays for the walks of the states it meets first;
 * `{ precompute: true }` walks every position at compile time instead, as XGrammar does
 * (`deno task bench:grammar [--precompute]` reports compile and masks either way, against
 * XGrammar's WebAssembly build).
 *
 * The id space is the tokenizer's `idSpace` (tiktoken's `n_vocab`): every id it can emit,
 * specials included. Special tokens are never allowed inside a grammar, except the stop tokens
 * (by default the end-of-text specials the tokenizer has), allowed exactly when the matcher can
 * terminate.
 *
 * @module
 */

import type { Tokenizer } from "../tokenizers/tokenizer.ts";
import { TokenlabError } from "../util/errors.ts";
import { type LocalMask, Pda, type PdaState, type SubtreeWalk } from "./_automaton.ts";
import { parseEbnf } from "./_ebnf.ts";
import type { GrammarIr } from "./_grammar_ir.ts";
import { schemaToIr } from "./_json_schema.ts";
import { type VocabTrie, vocabTrie } from "./_vocab_trie.ts";

/** What to compile: a JSON Schema, an EBNF grammar, or any JSON value. */
export type GrammarSource =
  | { jsonSchema: Record<string, unknown> | boolean }
  | { ebnf: string; root?: string }
  | { json: true };

/** Options of {@linkcode compileGrammar}. */
export interface CompileGrammarOptions {
  /** Refuse JSON Schema keywords we do not know (default true); false lists them as unenforced. */
  strict?: boolean;
  /**
   * Ids that end generation, allowed exactly when the grammar can terminate. Default: the
   * tokenizer's end-of-text specials (`<|endoftext|>`, `<|end_of_text|>`, `<|eot_id|>`,
   * `<|im_end|>`, `</s>`, `<eos>`, `<|end|>`), whichever it has.
   */
  stopTokens?: number[];
  /**
   * Longest run of whitespace between JSON tokens (default unbounded, as JSON allows; a bound
   * keeps a model from looping on whitespace). Applies to `json` and `jsonSchema` sources.
   */
  maxWhitespace?: number;
  /** Print the unenforced keywords once (default true). */
  warn?: boolean;
  /**
   * Build the context-independent mask of every automaton position at compile time, as
   * XGrammar builds its adaptive token mask cache (default false: each position's mask is
   * built when a matcher first meets it, and a grammar's first document pays for the
   * positions it meets). Masks are the same either way. Eager costs far more in total: on the
   * fixture schemas (`deno task bench:grammar [--precompute]`, llama3) compile goes from
   * ~80 ms to ~1.3 s median (about 20× XGrammar's) while the lazy path's first document pays
   * ~40 ms for the positions it meets; it buys cheaper first documents (mask median ~29 µs
   * instead of ~44 µs, p99 under 1 ms instead of ~4 ms). Positions inside a multi-byte UTF-8
   * character stay lazy.
   */
  precompute?: boolean;
}

const STOP_NAMES = [
  "<|endoftext|>",
  "<|end_of_text|>",
  "<|eot_id|>",
  "<|im_end|>",
  "</s>",
  "<eos>",
  "<|end|>",
];
const MASK_CACHE_BYTES = 64 * 1024 * 1024;
const SHARED_SUBTREE = 32; // subtrees at least this big are looked up when entering a leaf state
const MANY_FIRST_BYTES = 64; // a state reached by this many first bytes is taken as a rejected list
const warned = new Set<string>();
const NO_IDS = new Int32Array(0); // shared empty id list (never written)
// Local masks of nodes of rules that call nothing, shared by every grammar of a tokenizer
// (keyed by the rule's body and the node's place in it; see `Pda.leafKey`).
const sharedLeaf = new WeakMap<VocabTrie, Map<string, LocalMask | Uint32Array>>();
// Leaf keys (long strings: a rule body and a place in it) numbered once per process.
const leafNumbers = new Map<string, number>();
function leafNumber(key: string): number {
  let n = leafNumbers.get(key);
  if (n === undefined) leafNumbers.set(key, n = leafNumbers.size);
  return n;
}
const sharedBelow = new WeakMap<VocabTrie, Map<string, Map<number, SubtreeWalk>>>();

const rootChildCache = new WeakMap<VocabTrie, Int32Array>();
// The trie node of each first byte (-1 when no token starts with it).
function rootChildren(t: VocabTrie): Int32Array {
  let rc = rootChildCache.get(t);
  if (!rc) {
    rc = new Int32Array(256).fill(-1);
    for (let c = 0; c < t.byte.length; c = t.end[c]) rc[t.byte[c]] = c;
    rootChildCache.set(t, rc);
  }
  return rc;
}

function setIds(words: Uint32Array, ids: Int32Array): void {
  for (let x = 0; x < ids.length; x++) {
    const id = ids[x];
    words[id >>> 5] |= 1 << (id & 31);
  }
}

/**
 * A grammar compiled against one tokenizer; `matcher()` starts a parse.
 *
 * @example
 * ```ts
 * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
 * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await loadPretrained("cl100k_base");
 * const g = compileGrammar({ ebnf: 'root ::= "yes" | "no"' }, tok);
 * console.log(g.idSpace, g.unenforced);
 * ```
 */
export class CompiledGrammar {
  /** The tokenizer's id space: the mask has `ceil(idSpace / 32)` words. */
  readonly idSpace: number;
  /** Ids allowed exactly when the parse can end. */
  readonly stopTokens: readonly number[];
  /** Schema keywords (JSON pointer: keyword) the grammar does not enforce. */
  readonly unenforced: readonly string[];
  /** The tokenizer it was compiled for. */
  readonly tokenizer: Tokenizer;
  #pda: Pda;
  #trie: VocabTrie;
  #cached: PdaState[] = [];
  #cacheHead = 0;
  #leafIds = new Map<number, number>(); // kernel entry → its leaf key's number, -1: not a leaf

  /** Use {@linkcode compileGrammar}. */
  constructor(
    ir: GrammarIr,
    tokenizer: Tokenizer,
    info: { unenforced: string[]; stopTokens: number[]; precompute?: boolean },
  ) {
    this.#pda = new Pda(ir);
    this.#trie = vocabTrie(tokenizer);
    this.tokenizer = tokenizer;
    this.idSpace = this.#trie.idSpace;
    this.stopTokens = info.stopTokens;
    this.unenforced = info.unenforced;
    if (info.precompute ?? false) this.#precompute();
  }

  // The adaptive mask cache built eagerly: the context-independent mask of every automaton
  // position (each node with byte edges, alone over the bottom marker), then the start state's
  // full mask. A kernel of several nodes is the union of these (see #localMask), so no trie
  // walk of a context-independent part is left for run time; what remains there is the
  // context-dependent rest of tokens that cross a rule's end, from the same caches.
  #precompute(): void {
    const pda = this.#pda;
    const N = pda.nodeCount;
    for (const n of pda.positions()) {
      const single = pda.singleOf(n + N); // node n over the bottom marker (stack id 1)
      if (!single.local) single.local = this.#localMask(single);
    }
    this._mask(pda.initial);
  }

  /** Number of byte-automaton nodes (a size measure). */
  get automatonNodes(): number {
    return this.#pda.nodeCount;
  }

  /**
   * A new matcher at the start of the grammar.
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const m = compileGrammar({ json: true }, tok).matcher();
   * console.log(m.accept(tok.encode("{")[0]), m.canTerminate());
   * ```
   */
  matcher(): GrammarMatcher {
    return new GrammarMatcher(this);
  }

  /** @internal */
  _pda(): Pda {
    return this.#pda;
  }

  /** @internal the mask of a state (cached). */
  _mask(st: PdaState): Uint32Array {
    if (st.mask) return st.mask;
    const pda = this.#pda;
    const words = new Uint32Array((this.idSpace + 31) >>> 5);
    // OR over the kernel's stack groups: the group's context-independent part (cached on its
    // local state), then, where its rule can end inside a token, the rest of the token walked
    // from the real continuation.
    let empty = true;
    for (const { stack, local } of pda.groups(st)) {
      const lm = local.local ?? (local.local = this.#localMask(local));
      if (lm.accepted) {
        if (empty) words.set(lm.accepted); // a copy, not an OR, into the empty mask
        else for (let w = 0; w < words.length; w++) words[w] |= lm.accepted[w];
      } else for (const id of lm.acceptedList!) words[id >>> 5] |= 1 << (id & 31);
      empty = false;
      if (lm.endIds.length === 0 && lm.firstBytes.length === 0) continue;
      const cont = stack === 0 ? null : pda.continuation(stack);
      if (stack !== 0 && !cont) continue; // nothing can follow the rule here
      for (const id of lm.endIds) words[id >>> 5] |= 1 << (id & 31); // ends where the rule ends
      if (!cont) continue;
      this.#rest(cont, lm.firstBytes, lm.byFirst, words);
    }
    for (const id of this.stopTokens) {
      if (st.accepting) words[id >>> 5] |= 1 << (id & 31);
      else words[id >>> 5] &= ~(1 << (id & 31));
    }
    // FIFO-bounded cache
    const limit = Math.max(16, Math.floor(MASK_CACHE_BYTES / (words.length * 4)));
    if (this.#cached.length < limit) this.#cached.push(st);
    else {
      delete this.#cached[this.#cacheHead].mask;
      this.#cached[this.#cacheHead] = st;
      this.#cacheHead = (this.#cacheHead + 1) % limit;
    }
    st.mask = words;
    return words;
  }

  // The context-independent mask of a local state: one trie walk, cached on the state. Where
  // the rule can end inside a token (an escape), the tokens ending there are listed and the
  // children of the escape node are grouped by their byte for the run-time continuation.
  #localMask(local: PdaState): LocalMask {
    // A token is accepted from a set of configurations iff from one of them, so a kernel of
    // several nodes is the union of its nodes' masks: each node is walked once per grammar
    // and shared by every local state it appears in (a property-name position and an "any
    // other key" string loop, met under every subset of properties seen, walk the vocabulary
    // once instead of once per subset).
    if (local.kernel.length > 1) return this.#unionMask(local.kernel);
    // a node of a rule that calls nothing (JSON strings, numbers, patterns) walks the same
    // way in every grammar with that rule: shared per tokenizer
    const key = this.#pda.leafKey(local.kernel[0]);
    let store = sharedLeaf.get(this.#trie);
    if (!store) sharedLeaf.set(this.#trie, store = new Map());
    let shared = key === null ? undefined : store.get(key) as LocalMask | undefined;
    if (shared) return shared;
    const t = this.#trie;
    const parts: Int32Array[] = [];
    let total = 0;
    const escapes: number[] = [];
    // the first byte from here, then the subtree below it from the state it leads to: that
    // part is cached on the state (states after one byte are shared: "any string" after
    // every property-name prefix is the same state), so the vocabulary is walked once per state
    // only the first bytes the node has edges for
    const pda = this.#pda;
    const rc = rootChildren(t);
    const ed = pda.edgesOf(local.kernel[0]);
    const seen = new Uint8Array(256);
    for (let i = 0; i < ed.length; i += 3) for (let b = ed[i]; b <= ed[i + 1]; b++) seen[b] = 1;
    const byState = new Map<PdaState, number[]>();
    for (let b = 0; b < 256; b++) {
      if (!seen[b] || rc[b] < 0) continue;
      let ns = local.next[b];
      if (ns === undefined) ns = pda.step(local, b);
      if (!ns) continue;
      let bs = byState.get(ns);
      if (!bs) byState.set(ns, bs = []);
      bs.push(b);
    }
    // many first bytes into one state ("any other character" of a string): that state's
    // all-first-bytes bitset, less the tokens of the first bytes not taken (a rejected list,
    // as in XGrammar's adaptive cache), instead of setting every accepted id
    let words: Uint32Array | null = null;
    for (const [ns, bs] of byState) {
      if (words || bs.length < MANY_FIRST_BYTES) continue;
      words = this.#allFirst(ns).slice();
      const taken = new Uint8Array(256);
      for (const b of bs) taken[b] = 1;
      for (let b = 0; b < 256; b++) {
        if (taken[b] || rc[b] < 0) continue;
        const r = this.#below(ns, rc[b]).ids;
        for (let x = 0; x < r.length; x++) words[r[x] >>> 5] &= ~(1 << (r[x] & 31));
      }
      for (const b of bs) {
        const r = this.#below(ns, rc[b]);
        for (let x = 0; x < r.escapes.length; x++) escapes.push(r.escapes[x]);
      }
      byState.delete(ns);
    }
    for (const [ns, bs] of byState) {
      for (const b of bs) {
        const r = this.#below(ns, rc[b]);
        if (r.ids.length) parts.push(r.ids), total += r.ids.length;
        for (let x = 0; x < r.escapes.length; x++) escapes.push(r.escapes[x]);
      }
    }
    const endIds: number[] = [];
    const groups = new Map<number, Set<number>>();
    for (const i of escapes) {
      for (let q = t.tokStart[i]; q < t.tokStart[i + 1]; q++) endIds.push(t.tokIds[q]);
      for (let j = i + 1; j < t.end[i]; j = t.end[j]) {
        let g = groups.get(t.byte[j]);
        if (!g) groups.set(t.byte[j], g = new Set());
        g.add(j);
      }
    }
    shared = this.#finishLocal(parts, total, words, endIds, groups);
    if (key !== null) store.set(key, shared);
    return shared;
  }

  // The tokens accepted below every first byte's subtree as if each byte led into `ns` (a
  // bitset; cached on ns, and per tokenizer when ns is made of leaf-rule nodes).
  #allFirst(ns: PdaState): Uint32Array {
    if (ns.allFirst) return ns.allFirst;
    const key = this.#leafStateKey(ns);
    let store = sharedLeaf.get(this.#trie);
    if (!store) sharedLeaf.set(this.#trie, store = new Map());
    const hit = key === null ? undefined : store.get(`${key}\u0003`) as Uint32Array | undefined;
    if (hit) return (ns.allFirst = hit);
    const words = new Uint32Array((this.idSpace + 31) >>> 5);
    const rc = rootChildren(this.#trie);
    for (let b = 0; b < 256; b++) if (rc[b] >= 0) setIds(words, this.#below(ns, rc[b]).ids);
    ns.allFirst = words;
    if (key !== null) store.set(`${key}\u0003`, words);
    return words;
  }

  #unionMask(kernel: number[]): LocalMask {
    const pda = this.#pda;
    const ps = kernel.map((k) => {
      const single = pda.singleOf(k);
      return single.local ?? (single.local = this.#localMask(single));
    });
    const nWords = (this.idSpace + 31) >>> 5;
    const lists: Int32Array[] = [];
    let total = 0;
    let words: Uint32Array | null = null;
    const endIds = new Set<number>();
    const groups = new Map<number, Set<number>>();
    for (const p of ps) {
      if (p.accepted) {
        if (!words) words = p.accepted.slice();
        else for (let w = 0; w < nWords; w++) words[w] |= p.accepted[w];
      } else if (p.acceptedList!.length) {
        lists.push(p.acceptedList!), total += p.acceptedList!.length;
      }
      for (const id of p.endIds) endIds.add(id);
      p.firstBytes.forEach((b, k) => {
        let g = groups.get(b);
        if (!g) groups.set(b, g = new Set());
        for (const j of p.byFirst[k]) g.add(j);
      });
    }
    return this.#finishLocal(lists, total, words, [...endIds], groups);
  }

  // The adaptive form of a local mask: the accepted ids (the lists, and the bitset if any) as
  // a bitset, or as an id list when that is shorter.
  #finishLocal(
    lists: Int32Array[],
    total: number,
    words: Uint32Array | null,
    endIds: number[],
    groups: Map<number, Set<number>>,
  ): LocalMask {
    const nWords = (this.idSpace + 31) >>> 5;
    const firstBytes = [...groups.keys()].sort((a, b) => a - b);
    const byFirst = firstBytes.map((b) =>
      Int32Array.from([...groups.get(b)!].sort((x, y) => x - y))
    );
    let acceptedList: Int32Array | null = null;
    if (!words && total < nWords) {
      acceptedList = new Int32Array(total);
      let k = 0;
      for (const l of lists) acceptedList.set(l, k), k += l.length;
    } else {
      words ??= new Uint32Array(nWords);
      for (const l of lists) setIds(words, l);
    }
    return {
      accepted: acceptedList ? null : words,
      acceptedList,
      endIds: endIds.length ? new Int32Array(endIds) : NO_IDS,
      firstBytes: new Uint8Array(firstBytes),
      byFirst,
    };
  }

  // The rest of tokens after a rule ended inside them (trie nodes `byFirst[k]`, children of
  // the nodes where it ended, whose byte is `firstBytes[k]`), accepted from the continuation
  // `c`: per stack group of `c`, one step of its local state rules out a whole byte group,
  // then each subtree's local walk comes from the cache on the state that step leads to —
  // local states are shared by every stack, so a continuation met for the first time costs
  // cache lookups, not new automaton states. Where that rule ends too, the rest goes on from
  // its own continuation (each level consumes a byte, so the depth is bounded by the token).
  #rest(
    c: PdaState,
    firstBytes: ArrayLike<number>,
    byFirst: ArrayLike<ArrayLike<number>>,
    words: Uint32Array,
  ): void {
    const t = this.#trie;
    const pda = this.#pda;
    for (const { stack, local } of pda.groups(c)) {
      let cont: PdaState | null | undefined;
      for (let k = 0; k < firstBytes.length; k++) {
        const b = firstBytes[k];
        let ns = local.next[b];
        if (ns === undefined) ns = pda.step(local, b);
        if (ns === null) continue;
        const kids = byFirst[k];
        for (let x = 0; x < kids.length; x++) {
          const r = this.#below(ns, kids[x]);
          setIds(words, r.ids);
          if (r.escapes.length === 0) continue;
          if (cont === undefined) cont = stack === 0 ? null : pda.continuation(stack);
          if (stack !== 0 && !cont) continue;
          const groups = new Map<number, number[]>();
          for (let y = 0; y < r.escapes.length; y++) {
            const e = r.escapes[y];
            for (let q = t.tokStart[e], qe = t.tokStart[e + 1]; q < qe; q++) {
              const id = t.tokIds[q];
              words[id >>> 5] |= 1 << (id & 31);
            }
            if (!cont) continue; // the root ended: nothing may follow
            for (let j = e + 1; j < t.end[e]; j = t.end[j]) {
              let g = groups.get(t.byte[j]);
              if (!g) groups.set(t.byte[j], g = []);
              g.push(j);
            }
          }
          if (cont && groups.size) {
            const fb = [...groups.keys()];
            this.#rest(cont, fb, fb.map((x) => groups.get(x)!), words);
          }
        }
      }
    }
  }

  // The local walk of trie node c's subtree, c's byte already consumed into `ns`: tokens
  // alive without leaving the rule, and the nodes where the rule ends (cached on ns).
  #below(ns: PdaState, c: number): SubtreeWalk {
    const memo = ns.below ?? (ns.below = this.#belowMemo(ns));
    const hit = memo.get(c);
    if (hit) return hit;
    const t = this.#trie;
    const ids: number[] = [], escapes: number[] = [];
    if (ns.escaped) escapes.push(c);
    if (ns.kernel.length > 0) {
      for (let q = t.tokStart[c], e = t.tokStart[c + 1]; q < e; q++) ids.push(t.tokIds[q]);
      if (t.end[c] > c + 1) this.#walk(ns, c, escapes, ids);
    }
    // (new Int32Array(array) copies an array directly; Int32Array.from goes through its iterator)
    const r = {
      ids: ids.length ? new Int32Array(ids) : NO_IDS,
      escapes: escapes.length ? new Int32Array(escapes) : NO_IDS,
    };
    memo.set(c, r);
    return r;
  }

  // The memo of a state's subtree walks: a state of nodes in rules that call nothing, over the
  // bottom marker, walks the same in every grammar of the tokenizer (string content after its
  // first byte: once per process), so its memo is the tokenizer's shared one.
  #belowMemo(ns: PdaState): Map<number, SubtreeWalk> {
    const key = this.#leafStateKey(ns);
    if (key === null) return new Map();
    let byKey = sharedBelow.get(this.#trie);
    if (!byKey) sharedBelow.set(this.#trie, byKey = new Map());
    let memo = byKey.get(key);
    if (!memo) byKey.set(key, memo = new Map());
    return memo;
  }

  // The cross-grammar key of a local state whose every configuration is a node of a rule that
  // calls nothing, directly over the bottom marker (null otherwise); computed once per state.
  #leafStateKey(st: PdaState): string | null {
    if (st.leafKey !== undefined) return st.leafKey;
    const N = this.#pda.nodeCount;
    const ids: number[] = [];
    for (const k of st.kernel) {
      let id = this.#leafIds.get(k);
      if (id === undefined) {
        const lk = (k - (k % N)) / N === 1 ? this.#pda.leafKey(k) : null;
        id = lk === null ? -1 : leafNumber(lk);
        this.#leafIds.set(k, id);
      }
      if (id < 0) return (st.leafKey = null);
      ids.push(id);
    }
    return (st.leafKey = `${ids.sort((a, b) => a - b).join(",")}${st.escaped ? "^" : ""}`);
  }

  // The local walk below trie node i, whose byte led into `st` (alive, kernel non-empty):
  // pushes the tokens that stay alive without popping past the bottom, and the nodes where a
  // pop past the bottom happens. Children whose byte no kernel node has an edge for are
  // skipped by a bit test, without a step.
  #walk(st: PdaState, i: number, escapes: number[], ids: number[]): void {
    const t = this.#trie;
    const pda = this.#pda;
    const { byte, end, tokStart, tokIds } = t;
    const allowed = st.allowed ?? pda.allowed(st);
    for (let j = i + 1, e = end[i]; j < e; j = end[j]) {
      const b = byte[j];
      if (((allowed[b >>> 5] >>> (b & 31)) & 1) === 0) continue;
      let ns = st.next[b];
      if (ns === undefined) ns = pda.step(st, b);
      if (ns === null) continue;
      if (end[j] - j > SHARED_SUBTREE && ns !== st && this.#leafStateKey(ns) !== null) {
        // into a leaf-rule state ("any other character" of a property name leads into the
        // string rule): its walk of this subtree is shared per tokenizer
        const r = this.#below(ns, j);
        for (let x = 0; x < r.ids.length; x++) ids.push(r.ids[x]);
        for (let x = 0; x < r.escapes.length; x++) escapes.push(r.escapes[x]);
        continue;
      }
      if (ns.escaped) escapes.push(j);
      if (ns.kernel.length === 0) continue;
      for (let q = tokStart[j], qe = tokStart[j + 1]; q < qe; q++) ids.push(tokIds[q]);
      if (end[j] > j + 1) this.#walk(ns, j, escapes, ids);
    }
  }

  /** @internal bytes of a non-special id, null if it has none. */
  _bytes(id: number): Uint8Array | null {
    return this.#trie.bytesOf[id] ?? null;
  }
}

const TERMINATED = "terminated" as const;
type Entry = PdaState | typeof TERMINATED;

/**
 * A parse in progress: which tokens may come next, and the tokens taken so far.
 *
 * @example
 * ```ts
 * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
 * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await loadPretrained("cl100k_base");
 * const m = compileGrammar({ ebnf: 'root ::= "ab" [0-9]+' }, tok).matcher();
 * const id = tok.encode("ab")[0];
 * const mask = m.mask();
 * console.log((mask[id >>> 5] >>> (id & 31)) & 1, m.accept(id), m.canTerminate());
 * ```
 */
export class GrammarMatcher {
  #g: CompiledGrammar;
  #pda: Pda;
  #hist: Entry[];

  /** Use `compiled.matcher()`. */
  constructor(grammar: CompiledGrammar) {
    this.#g = grammar;
    this.#pda = grammar._pda();
    this.#hist = [this.#pda.initial];
  }

  /** Tokens accepted so far (not counting rolled-back ones). */
  get length(): number {
    return this.#hist.length - 1;
  }

  /**
   * The allowed next tokens as a fresh bitset: id t is allowed iff bit `t & 31` of word
   * `t >>> 5` is set.
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const mask = compileGrammar({ ebnf: 'root ::= [0-9]' }, tok).matcher().mask();
   * console.log(mask.length * 32 >= tok.idSpace);
   * ```
   */
  mask(): Uint32Array {
    const top = this.#hist[this.#hist.length - 1];
    if (top === TERMINATED) return new Uint32Array((this.#g.idSpace + 31) >>> 5);
    return this.#g._mask(top).slice();
  }

  /**
   * Writes the allowed next tokens into `out` (at least `ceil(idSpace / 32)` words) without
   * allocating — what a decoding loop should call every step; returns `out`.
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const g = compileGrammar({ json: true }, tok);
   * const buf = new Uint32Array((g.idSpace + 31) >>> 5);
   * g.matcher().fillMask(buf);
   * ```
   */
  fillMask(out: Uint32Array): Uint32Array {
    const words = (this.#g.idSpace + 31) >>> 5;
    if (!(out instanceof Uint32Array) || out.length < words) {
      throw new TokenlabError(`fillMask: out must be a Uint32Array of at least ${words} words`);
    }
    const top = this.#hist[this.#hist.length - 1];
    if (top === TERMINATED) out.fill(0, 0, words);
    else out.set(this.#g._mask(top));
    return out;
  }

  /**
   * Takes one token; false (and no change) when it is not allowed.
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const m = compileGrammar({ ebnf: 'root ::= "a"+' }, tok).matcher();
   * console.log(m.accept(tok.encode("a")[0]), m.accept(tok.encode("b")[0])); // true false
   * ```
   */
  accept(tokenId: number): boolean {
    const top = this.#hist[this.#hist.length - 1];
    if (top === TERMINATED || !Number.isInteger(tokenId)) return false;
    if (this.#g.stopTokens.includes(tokenId)) {
      if (!top.accepting) return false;
      this.#hist.push(TERMINATED);
      return true;
    }
    const b = this.#g._bytes(tokenId);
    if (!b) return false;
    const ns = this.#pda.feed(top, b);
    if (!ns) return false;
    this.#hist.push(ns);
    return true;
  }

  /**
   * Whether `accept(tokenId)` would take the token now, without taking it (no state change):
   * the one-token test that rejection samplers such as AWRS and the naive mask make.
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const m = compileGrammar({ ebnf: 'root ::= "a"+' }, tok).matcher();
   * console.log(m.allows(tok.encode("a")[0]), m.length); // true 0
   * ```
   */
  allows(tokenId: number): boolean {
    const top = this.#hist[this.#hist.length - 1];
    if (top === TERMINATED || !Number.isInteger(tokenId)) return false;
    if (this.#g.stopTokens.includes(tokenId)) return top.accepting;
    const b = this.#g._bytes(tokenId);
    return b !== null && this.#pda.feed(top, b) !== null;
  }

  /**
   * Takes raw bytes (not a token); false and no change when they are not allowed. Counts as
   * one step for `rollback`.
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const m = compileGrammar({ json: true }, tok).matcher();
   * console.log(m.acceptBytes(new TextEncoder().encode('{"a": [1, 2]}')), m.canTerminate());
   * ```
   */
  acceptBytes(bytes: Uint8Array): boolean {
    const top = this.#hist[this.#hist.length - 1];
    if (top === TERMINATED) return false;
    const ns = this.#pda.feed(top, bytes);
    if (!ns) return false;
    this.#hist.push(ns);
    return true;
  }

  /**
   * Whether the input so far is a complete document (a stop token is allowed now); true
   * after a stop token was accepted.
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const m = compileGrammar({ ebnf: 'root ::= "a"+' }, tok).matcher();
   * console.log(m.canTerminate(), m.accept(tok.encode("a")[0]), m.canTerminate()); // false true true
   * ```
   */
  canTerminate(): boolean {
    const top = this.#hist[this.#hist.length - 1];
    return top === TERMINATED || top.accepting;
  }

  /** Whether a stop token has been accepted (nothing more is allowed). */
  isTerminated(): boolean {
    return this.#hist[this.#hist.length - 1] === TERMINATED;
  }

  /**
   * Undoes the last n accepted tokens (for speculative decoding); O(n).
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const m = compileGrammar({ ebnf: 'root ::= "a"+' }, tok).matcher();
   * m.accept(tok.encode("a")[0]);
   * m.rollback(1);
   * console.log(m.length, m.canTerminate()); // 0 false
   * ```
   */
  rollback(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.#hist.length - 1) {
      throw new TokenlabError(
        `rollback: n must be an integer in [0, ${
          this.#hist.length - 1
        }] (tokens accepted), got ${n}`,
      );
    }
    this.#hist.length -= n;
  }

  /**
   * Back to the start of the grammar.
   *
   * @example
   * ```ts
   * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
   * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
   * const tok = await loadPretrained("cl100k_base");
   * const m = compileGrammar({ json: true }, tok).matcher();
   * m.accept(tok.encode("[")[0]);
   * m.reset();
   * console.log(m.length); // 0
   * ```
   */
  reset(): void {
    this.#hist = [this.#pda.initial];
  }
}

/**
 * Compiles a grammar for a tokenizer: `{ ebnf, root? }` (the GBNF dialect: rules `name ::= …`,
 * `|`, groups, `*` `+` `?` `{m,n}`, character classes, string literals; errors give line:column),
 * `{ jsonSchema }` (see the JSON Schema notes below) or `{ json: true }` (any JSON value).
 *
 * JSON Schema: types, `properties` in any order / `required` / `additionalProperties`,
 * `patternProperties` (exact beside `additionalProperties: false` with one pattern that matches
 * no declared name; otherwise listed as unenforced, valid documents still accepted),
 * `items` / `prefixItems`, `minItems` / `maxItems`, `enum` / `const` (numbers by value: `1`,
 * `1.0`, `10e-1`), `anyOf` / `oneOf` (exclusivity unchecked unless the branches' types are
 * disjoint), `allOf` when its parts merge, `$ref` / `$defs` / `definitions` (recursive too),
 * string `minLength` / `maxLength` (code points; in such strings a surrogate pair escape counts
 * as one character and a lone surrogate escape is refused), `pattern` (a regex subset:
 * literals, `.`, classes, `\d \w \s`, groups, `|`, `* + ? {m,n}`, `^ $`), `format` date / time /
 * date-time / uuid / ipv4 / ipv6 / email / json-pointer as ajv-formats checks them (a leap
 * second only with a whole-hour offset), number and integer `minimum` / `maximum` /
 * `exclusiveMinimum` / `exclusiveMaximum` (exact in every spelling of the value with exponents
 * up to ±8; beyond, only where the bound does not depend on the exponent), `minProperties` /
 * `maxProperties` / `dependentRequired` / `dependencies` (name lists) when every property an
 * object may hold is tracked (at most 10 declared, `additionalProperties: false`; otherwise
 * listed as unenforced). A declared name appears at most once; other keys may repeat (a grammar
 * cannot compare arbitrary strings). What is not enforced is listed in `unenforced` (JSON
 * pointer: keyword) and printed once; unknown keywords are errors unless `{ strict: false }`; a
 * malformed schema is refused with its JSON pointer. Whitespace between JSON tokens and around
 * the root value: `[ \t\n\r]*`, unbounded as JSON allows unless `maxWhitespace` bounds each run.
 *
 * @example
 * ```ts
 * import { compileGrammar } from "@tokenlab/tokenlab/decoding";
 * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const tok = await loadPretrained("o200k_base");
 * const g = compileGrammar({
 *   jsonSchema: {
 *     type: "object",
 *     properties: { name: { type: "string" }, age: { type: "integer" } },
 *     required: ["name"],
 *     additionalProperties: false,
 *   },
 * }, tok);
 * const m = g.matcher();
 * for (const id of tok.encode('{"age": 3, "name": "Ada"}')) m.accept(id);
 * console.log(m.canTerminate()); // true
 * ```
 */
export function compileGrammar(
  source: GrammarSource,
  tokenizer: Tokenizer,
  options: CompileGrammarOptions = {},
): CompiledGrammar {
  if (!source || typeof source !== "object") {
    throw new TokenlabError(
      "compileGrammar: source must be { ebnf }, { jsonSchema } or { json: true }",
    );
  }
  let ir: GrammarIr;
  let unenforced: string[] = [];
  const ws = options.maxWhitespace;
  if (ws !== undefined && !(Number.isInteger(ws) && ws >= 0)) {
    throw new TokenlabError(
      `compileGrammar: maxWhitespace must be a non-negative integer, got ${ws}`,
    );
  }
  if ("ebnf" in source) {
    ir = parseEbnf(source.ebnf, source.root ?? "root");
  } else if ("jsonSchema" in source) {
    const r = schemaToIr(source.jsonSchema, { strict: options.strict ?? true, maxWhitespace: ws });
    ir = r.ir;
    unenforced = r.unenforced;
  } else if ("json" in source && source.json === true) {
    ir = schemaToIr(true, { strict: true, maxWhitespace: ws }).ir;
  } else {
    throw new TokenlabError(
      "compileGrammar: source must be { ebnf }, { jsonSchema } or { json: true }",
      {
        hint: `got keys ${Object.keys(source).join(", ") || "(none)"}`,
      },
    );
  }
  const idSpace = tokenizer.idSpace;
  let stopTokens: number[];
  if (options.stopTokens) {
    for (const id of options.stopTokens) {
      if (!Number.isInteger(id) || id < 0 || id >= idSpace) {
        throw new TokenlabError(
          `compileGrammar: stop token ${id} is outside the id space [0, ${idSpace})`,
        );
      }
    }
    stopTokens = [...options.stopTokens];
  } else {
    const sp = tokenizer.specialTokens;
    stopTokens = STOP_NAMES.filter((n) => n in sp).map((n) => sp[n]);
  }
  if (unenforced.length > 0 && (options.warn ?? true)) {
    const msg = `compileGrammar: not enforced: ${unenforced.join("; ")}`;
    if (!warned.has(msg)) {
      warned.add(msg);
      console.warn(msg);
    }
  }
  return new CompiledGrammar(ir, tokenizer, {
    unenforced,
    stopTokens,
    precompute: options.precompute,
  });
}
