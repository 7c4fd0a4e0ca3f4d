// The byte-level pushdown automaton: grammar rules lowered to one byte NFA per rule (Thompson
// construction; rule references are call edges), run with a persistent (hash-consed) return
// stack. A configuration is (NFA node, stack id); a parser state is the ε-closed set of
// configurations, interned, with its byte transitions memoised (a lazily built DFA over
// configuration sets, exact because the closure is). Internal.

import { TokenlabError } from "../util/errors.ts";
import type { Expr, GrammarIr } from "./_grammar_ir.ts";
import { utf8Sequences, withoutSurrogates } from "./_grammar_ir.ts";

/** A parser state: an interned set of configurations. */
export interface PdaState {
  /** Configurations that can consume a byte: node + stack * nodeCount. */
  readonly kernel: number[];
  /** Whether the root rule can end here. */
  readonly accepting: boolean;
  /**
   * Whether the closure popped past the bottom of a context-free ("local") stack: the rule the
   * walk started in ended, and what follows depends on the real stack.
   */
  readonly escaped: boolean;
  /** Memoised transitions: undefined = not computed, null = dead. */
  readonly next: Array<PdaState | null | undefined>;
  /** A cached token mask, when computed. */
  mask?: Uint32Array;
  /** For local states: the context-independent part of the mask, once computed. */
  local?: LocalMask;
  /** The tokens below every first byte as if each led here (see the mask engine). */
  allFirst?: Uint32Array;
  /** For local states: the cross-grammar key of its leaf-rule nodes (null: not all leaf). */
  leafKey?: string | null;
  /** Bytes some kernel node has an edge for (a 256-bit set), once computed. */
  allowed?: Uint32Array;
  /** Local walks of trie subtrees entered into this state (by the subtree's root node). */
  below?: Map<number, SubtreeWalk>;
  /** The kernel grouped by stack, once computed (see `Pda.groups`). */
  groups?: Array<{ stack: number; local: PdaState }>;
}

/**
 * The context-independent mask of a local state (kernel nodes over the bottom marker): tokens
 * accepted whatever the stack below (a bitset or, when shorter, a list of ids), and the trie
 * nodes where the rule can end — there the rest of the token depends on the stack.
 */
export interface LocalMask {
  accepted: Uint32Array | null;
  acceptedList: Int32Array | null;
  /** Tokens that end exactly where the rule ends (allowed when the continuation lives). */
  endIds: Int32Array;
  /** First bytes after an escape, and per byte the trie nodes (children of escapes) with it. */
  firstBytes: Uint8Array;
  byFirst: Int32Array[];
}

/**
 * A local walk of one trie subtree whose root's byte led into the state: the tokens accepted
 * without leaving the rule, and the nodes where the rule ends (after their byte).
 */
export interface SubtreeWalk {
  ids: Int32Array;
  escapes: Int32Array;
}

const NONE: number[] = []; // the shared empty edge list (never written)
const MAX_NODES = 4_000_000;
const MAX_STACK_DEPTH = 100_000;
const MAX_INTERNED = 200_000;
const BOTTOM = 1;
// Rule shapes (body strings, often thousands of characters) numbered once per process, so the
// cross-grammar leaf keys are short strings: a map lookup does not compare whole bodies.
const shapeNumbers = new Map<string, number>();
function shapeNumber(shape: string): number {
  let n = shapeNumbers.get(shape);
  if (n === undefined) shapeNumbers.set(shape, n = shapeNumbers.size);
  return n;
}

/** The compiled automaton. */
export class Pda {
  // NFA: per node, byte edges (lo, hi, to) flat; ε edges; call edges (rule, ret).
  #bytes: number[][] = [];
  #eps: number[][] = [];
  #calls: number[][] = [];
  #ruleEnd: number[] = []; // rule index when the node is a rule's end, else -1
  #ruleStart: number[] = [];
  #ruleEndNode: number[] = [];
  #tail: Uint8Array = new Uint8Array(0);
  #nodeCount = 0;
  #inline = new Set<string>();
  #leafShape: Array<number | null> = []; // the shape's process-wide number (see shapeNumber)
  #nodeRule: Int32Array = new Int32Array(0);
  #built: number[] = [];
  #leafKeys = new Map<number, string | null>();
  #midChar: number[] = []; // nodes inside a character class's UTF-8 sequence
  // persistent stack: id 0 = empty, id 1 = the bottom marker of local (context-free) walks
  #retOf: number[] = [0, -1];
  #parentOf: number[] = [0, -1];
  #depthOf: number[] = [0, 0];
  #cont = new Map<number, PdaState | null>();
  #locals = new Map<string, PdaState>();
  #singles = new Map<number, PdaState>();
  #stackIds = new Map<number, number>();
  #interned = new Map<string, PdaState>();
  #bySeeds = new Map<string, PdaState | null>();
  /** The start state. */
  readonly initial: PdaState;

  constructor(ir: GrammarIr) {
    // structurally identical rules (per-site copies of a string rule, a pattern used twice)
    // are built once, so their states, and the masks cached on them, are shared
    const { canon, shapes } = canonicalRules(ir);
    const names = [...ir.rules.keys()].filter((n) => canon.get(n) === n);
    const index = new Map(names.map((n, i) => [n, i]));
    for (const [n, c] of canon) if (n !== c) index.set(n, index.get(c)!);
    for (const [n, e] of ir.rules) if (n !== ir.root && inlinable(e)) this.#inline.add(n);
    for (let r = 0; r < names.length; r++) {
      this.#ruleStart.push(this.#node());
      this.#ruleEndNode.push(this.#node());
    }
    const built: number[] = [];
    for (let r = 0; r < names.length; r++) {
      this.#ruleEnd[this.#ruleEndNode[r]] = r;
      built.push(this.#nodeCount);
      this.#build(ir.rules.get(names[r])!, this.#ruleStart[r], this.#ruleEndNode[r], index, ir);
    }
    built.push(this.#nodeCount);
    // where each node of a rule that calls nothing sits in its rule (see leafKey)
    this.#leafShape = names.map((n) => {
      const sh = shapes.get(n)!;
      return sh.refs.length === 0 ? shapeNumber(sh.shape) : null;
    });
    this.#nodeRule = new Int32Array(this.#nodeCount).fill(-1);
    for (let r = 0; r < names.length; r++) {
      this.#nodeRule[this.#ruleStart[r]] = r;
      this.#nodeRule[this.#ruleEndNode[r]] = r;
      for (let n = built[r]; n < built[r + 1]; n++) this.#nodeRule[n] = r;
    }
    this.#built = built;
    for (let n = 0; n < this.#nodeCount; n++) this.#ruleEnd[n] ??= -1;
    checkLeftRecursion(this, names, ir);
    const root = index.get(ir.root);
    if (root === undefined) {
      throw new TokenlabError(`grammar: the root rule ${JSON.stringify(ir.root)} is not defined`, {
        hint: "define it or pass { root } naming an existing rule",
      });
    }
    const productive = this.#pruneDeadEnds();
    if (!productive[root]) {
      throw new TokenlabError(
        `grammar: the root rule ${JSON.stringify(ir.root)} matches no string`,
        {
          hint: 'every recursion needs a way out, e.g. x ::= "(" x ")" | "a"',
        },
      );
    }
    this.#computeTail();
    const init = this.#closure([this.#ruleStart[root], 0]);
    if (!init) throw new TokenlabError("grammar: the root rule matches nothing");
    this.initial = init;
  }

  /**
   * The nodes a token can end at between characters: those with byte edges, less the nodes
   * inside a character class's multi-byte UTF-8 sequence (a token ending mid-character).
   */
  positions(): number[] {
    const mid = new Uint8Array(this.#nodeCount);
    for (const n of this.#midChar) mid[n] = 1;
    const out: number[] = [];
    for (let n = 0; n < this.#nodeCount; n++) {
      if (!mid[n] && this.#bytes[n].length > 0) out.push(n);
    }
    return out;
  }

  /** Number of NFA nodes. */
  get nodeCount(): number {
    return this.#nodeCount;
  }

  /** Internal for the left-recursion check: ε/call structure. */
  structure(): {
    eps: number[][];
    calls: number[][];
    bytes: number[][];
    start: number[];
    end: number[];
  } {
    return {
      eps: this.#eps,
      calls: this.#calls,
      bytes: this.#bytes,
      start: this.#ruleStart,
      end: this.#ruleEndNode,
    };
  }

  #node(): number {
    if (this.#nodeCount >= MAX_NODES) {
      throw new TokenlabError(`grammar: more than ${MAX_NODES} automaton nodes`, {
        hint: "lower repetition bounds (maxLength, maxItems, {m,n})",
      });
    }
    this.#bytes.push(NONE);
    this.#eps.push(NONE);
    this.#calls.push(NONE);
    return this.#nodeCount++;
  }

  // The node's edge list, made its own on the first write (nodes start with the shared NONE).
  #own(lists: number[][], n: number): number[] {
    const l = lists[n];
    return l === NONE ? (lists[n] = []) : l;
  }

  #build(e: Expr, from: number, to: number, index: Map<string, number>, ir: GrammarIr): void {
    switch (e.k) {
      case "bytes": {
        if (e.b.length === 0) {
          this.#own(this.#eps, from).push(to);
          return;
        }
        let cur = from;
        for (let i = 0; i < e.b.length; i++) {
          const nx = i === e.b.length - 1 ? to : this.#node();
          this.#own(this.#bytes, cur).push(e.b[i], e.b[i], nx);
          cur = nx;
        }
        return;
      }
      case "cls": {
        const seqs: Array<Array<[number, number]>> = [];
        for (const [a, b] of withoutSurrogates(e.r)) utf8Sequences(a, b, seqs);
        for (const s of seqs) {
          let cur = from;
          for (let i = 0; i < s.length; i++) {
            const nx = i === s.length - 1 ? to : this.#node();
            if (i < s.length - 1) this.#midChar.push(nx);
            this.#own(this.#bytes, cur).push(s[i][0], s[i][1], nx);
            cur = nx;
          }
        }
        return;
      }
      case "seq": {
        if (e.items.length === 0) {
          this.#own(this.#eps, from).push(to);
          return;
        }
        let cur = from;
        for (let i = 0; i < e.items.length; i++) {
          const nx = i === e.items.length - 1 ? to : this.#node();
          this.#sub(e.items[i], cur, nx, index, ir);
          cur = nx;
        }
        return;
      }
      case "alt":
        for (const it of e.items) this.#sub(it, from, to, index, ir);
        return;
      case "rep": {
        let cur = from;
        for (let i = 0; i < e.min; i++) {
          const nx = this.#node();
          this.#sub(e.item, cur, nx, index, ir);
          cur = nx;
        }
        if (e.max === Infinity) {
          const loop = this.#node();
          this.#own(this.#eps, cur).push(loop);
          this.#sub(e.item, loop, loop, index, ir);
          this.#own(this.#eps, loop).push(to);
        } else {
          for (let i = e.min; i < e.max; i++) {
            this.#own(this.#eps, cur).push(to);
            const nx = this.#node();
            this.#sub(e.item, cur, nx, index, ir);
            cur = nx;
          }
          this.#own(this.#eps, cur).push(to);
        }
        return;
      }
      case "ref": {
        if (this.#inline.has(e.name)) {
          this.#build(ir.rules.get(e.name)!, from, to, index, ir);
          return;
        }
        const r = index.get(e.name);
        if (r === undefined) {
          throw new TokenlabError(
            `grammar: rule ${JSON.stringify(e.name)} is used${
              e.at ? ` at ${e.at}` : ""
            } but never defined`,
            { hint: "define the rule or fix its name" },
          );
        }
        this.#own(this.#calls, from).push(r, to);
        return;
      }
    }
  }

  // Keeps only what can still finish: a node is live when its rule's end can be reached from
  // it (bytes, ε, calls of productive rules — rules that match some string); edges into dead
  // nodes and calls of unproductive rules are dropped, so no accepted prefix is a dead end.
  #pruneDeadEnds(): Uint8Array {
    const N = this.#nodeCount, R = this.#ruleStart.length;
    // predecessors, call sites by return node and by rule, in flat (CSR) arrays
    const predAt = new Int32Array(N + 1), retAt = new Int32Array(N + 1);
    const ruleAt = new Int32Array(R + 1);
    for (let n = 0; n < N; n++) {
      const b = this.#bytes[n];
      for (let i = 0; i < b.length; i += 3) predAt[b[i + 2] + 1]++;
      for (const e of this.#eps[n]) predAt[e + 1]++;
      const c = this.#calls[n];
      for (let i = 0; i < c.length; i += 2) retAt[c[i + 1] + 1]++, ruleAt[c[i] + 1]++;
    }
    for (let n = 0; n < N; n++) predAt[n + 1] += predAt[n], retAt[n + 1] += retAt[n];
    for (let r = 0; r < R; r++) ruleAt[r + 1] += ruleAt[r];
    const pred = new Int32Array(predAt[N]), pf = predAt.slice(0, N);
    const byRet = new Int32Array(2 * retAt[N]), rf = retAt.slice(0, N);
    const byRule = new Int32Array(2 * ruleAt[R]), uf = ruleAt.slice(0, R);
    for (let n = 0; n < N; n++) {
      const b = this.#bytes[n];
      for (let i = 0; i < b.length; i += 3) pred[pf[b[i + 2]]++] = n;
      for (const e of this.#eps[n]) pred[pf[e]++] = n;
      const c = this.#calls[n];
      for (let i = 0; i < c.length; i += 2) {
        const k = rf[c[i + 1]]++, j = uf[c[i]]++;
        byRet[2 * k] = n, byRet[2 * k + 1] = c[i];
        byRule[2 * j] = n, byRule[2 * j + 1] = c[i + 1];
      }
    }
    const startOf = new Int32Array(N).fill(-1);
    for (let r = 0; r < R; r++) startOf[this.#ruleStart[r]] = r;
    const live = new Uint8Array(N), productive = new Uint8Array(R);
    const queue: number[] = [];
    const mark = (n: number) => {
      if (!live[n]) live[n] = 1, queue.push(n);
    };
    for (let r = 0; r < R; r++) mark(this.#ruleEndNode[r]);
    while (queue.length) {
      const x = queue.pop()!;
      for (let i = predAt[x]; i < predAt[x + 1]; i++) mark(pred[i]);
      for (let i = retAt[x]; i < retAt[x + 1]; i++) {
        if (productive[byRet[2 * i + 1]]) mark(byRet[2 * i]);
      }
      const r = startOf[x];
      if (r >= 0 && !productive[r]) {
        productive[r] = 1;
        for (let i = ruleAt[r]; i < ruleAt[r + 1]; i++) {
          if (live[byRule[2 * i + 1]]) mark(byRule[2 * i]);
        }
      }
    }
    for (let n = 0; n < N; n++) {
      const b = this.#bytes[n];
      let dead = false;
      for (let i = 0; i < b.length && !dead; i += 3) dead = !live[b[i + 2]];
      if (dead) {
        const kept: number[] = [];
        for (let i = 0; i < b.length; i += 3) {
          if (live[b[i + 2]]) kept.push(b[i], b[i + 1], b[i + 2]);
        }
        this.#bytes[n] = kept;
      }
      const ep = this.#eps[n];
      if (ep.some((e) => !live[e])) this.#eps[n] = ep.filter((e) => live[e]);
      const c = this.#calls[n];
      dead = false;
      for (let i = 0; i < c.length && !dead; i += 2) dead = !productive[c[i]] || !live[c[i + 1]];
      if (dead) {
        const keptCalls: number[] = [];
        for (let i = 0; i < c.length; i += 2) {
          if (productive[c[i]] && live[c[i + 1]]) keptCalls.push(c[i], c[i + 1]);
        }
        this.#calls[n] = keptCalls;
      }
    }
    return productive;
  }

  // Builds e between fresh entry/exit nodes so loops never leak into neighbours.
  // Leaves that only consume (bytes, classes) or call are built in place: they add no ε edge.
  #sub(e: Expr, from: number, to: number, index: Map<string, number>, ir: GrammarIr): void {
    if (
      (e.k === "bytes" && e.b.length > 0) || e.k === "cls" ||
      (e.k === "ref" && !this.#inline.has(e.name))
    ) {
      this.#build(e, from, to, index, ir);
      return;
    }
    const a = this.#node(), b = this.#node();
    this.#own(this.#eps, from).push(a);
    this.#build(e, a, b, index, ir);
    this.#own(this.#eps, b).push(to);
  }

  // A return node is a tail position when only ε edges lead from it, and all to a rule end:
  // returning there and popping at once equals not pushing (tail-call elimination).
  // As a greatest fixed point (so ε cycles count as tail only when nothing on them can
  // consume): start from the nodes with neither bytes nor calls, drop a non-end node with an ε
  // edge out of the set (or none at all) and an end node with any ε edge, until stable.
  #computeTail(): void {
    const N = this.#nodeCount;
    const tail = new Uint8Array(N); // 1 tail, 2 not
    for (let n = 0; n < N; n++) {
      const ok = this.#bytes[n].length === 0 && this.#calls[n].length === 0 &&
        (this.#ruleEnd[n] >= 0 ? this.#eps[n].length === 0 : this.#eps[n].length > 0);
      tail[n] = ok ? 1 : 2;
    }
    for (let changed = true; changed;) {
      changed = false;
      for (let n = N - 1; n >= 0; n--) {
        if (tail[n] !== 1 || this.#ruleEnd[n] >= 0) continue;
        for (const e of this.#eps[n]) {
          if (tail[e] !== 1) {
            tail[n] = 2;
            changed = true;
            break;
          }
        }
      }
    }
    this.#tail = tail;
  }

  #push(ret: number, parent: number): number {
    if (this.#tail[ret] === 1) return parent;
    const key = ret + parent * this.#nodeCount;
    let id = this.#stackIds.get(key);
    if (id === undefined) {
      id = this.#retOf.length;
      const depth = this.#depthOf[parent] + 1;
      if (depth > MAX_STACK_DEPTH) {
        throw new TokenlabError(`grammar: the parse stack grew past ${MAX_STACK_DEPTH} frames`);
      }
      this.#retOf.push(ret);
      this.#parentOf.push(parent);
      this.#depthOf.push(depth);
      this.#stackIds.set(key, id);
    }
    return id;
  }

  // ε-closure of seed configurations (pairs node, stack); null when nothing lives.
  #closure(seeds: number[]): PdaState | null {
    const N = this.#nodeCount;
    const seen = new Set<number>();
    const kernel: number[] = [];
    let accepting = false, escaped = false;
    const work = seeds.slice();
    while (work.length > 0) {
      const s = work.pop()!, n = work.pop()!;
      const k = n + s * N;
      if (seen.has(k)) continue;
      seen.add(k);
      if (this.#bytes[n].length > 0) kernel.push(k);
      for (const e of this.#eps[n]) work.push(e, s);
      const calls = this.#calls[n];
      for (let i = 0; i < calls.length; i += 2) {
        work.push(this.#ruleStart[calls[i]], this.#push(calls[i + 1], s));
      }
      if (this.#ruleEnd[n] >= 0) {
        if (s === 0) accepting = true;
        else if (s === BOTTOM) escaped = true;
        else work.push(this.#retOf[s], this.#parentOf[s]);
      }
    }
    if (kernel.length === 0 && !accepting && !escaped) return null;
    kernel.sort((a, b) => a - b);
    return this.#intern(kernel, accepting, escaped);
  }

  #intern(kernel: number[], accepting: boolean, escaped: boolean): PdaState {
    const key = kernel.join(",") + (accepting ? "!" : "") + (escaped ? "^" : "");
    let st = this.#interned.get(key);
    if (!st) {
      if (this.#interned.size >= MAX_INTERNED) this.#interned = new Map();
      st = { kernel, accepting, escaped, next: new Array(256) };
      this.#interned.set(key, st);
    }
    return st;
  }

  /**
   * The state's kernel grouped by stack: for each stack id, the local state of its nodes over
   * the bottom marker (no closure: the kernel is already closed).
   */
  groups(st: PdaState): Array<{ stack: number; local: PdaState }> {
    if (st.groups) return st.groups;
    const N = this.#nodeCount;
    const by = new Map<number, number[]>();
    for (const k of st.kernel) {
      const n = k % N, s = (k - n) / N;
      let g = by.get(s);
      if (!g) by.set(s, g = []);
      g.push(n + BOTTOM * N);
    }
    const out: Array<{ stack: number; local: PdaState }> = [];
    for (const [stack, kernel] of by) out.push({ stack, local: this.localOf(kernel) });
    st.groups = out;
    return out;
  }

  /**
   * A key naming node n across grammars when its rule calls no other rule: the rule's body and
   * the node's place in the rule's construction (deterministic for a body), so a local walk
   * from it is the same in every grammar; null for other nodes.
   */
  leafKey(k: number): string | null {
    const n = k % this.#nodeCount;
    const memo = this.#leafKeys.get(n);
    if (memo !== undefined) return memo;
    const key = this.#leafKeyOf(n);
    this.#leafKeys.set(n, key);
    return key;
  }

  #leafKeyOf(n: number): string | null {
    const r = this.#nodeRule[n];
    if (r < 0) return null;
    const shape = this.#leafShape[r];
    if (shape === null) return null;
    const place = n === this.#ruleStart[r]
      ? "S"
      : n === this.#ruleEndNode[r]
      ? "E"
      : String(n - this.#built[r]);
    return `${place}\u0000${shape}`;
  }

  /** The bytes some kernel node of st has an edge for, as a 256-bit set (cached on st). */
  allowed(st: PdaState): Uint32Array {
    if (st.allowed) return st.allowed;
    const N = this.#nodeCount;
    const allowed = new Uint32Array(8);
    for (const k of st.kernel) {
      const ed = this.#bytes[k % N];
      for (let i = 0; i < ed.length; i += 3) {
        for (let x = ed[i]; x <= ed[i + 1]; x++) allowed[x >>> 5] |= 1 << (x & 31);
      }
    }
    st.allowed = allowed;
    return allowed;
  }

  /** The byte edges (lo, hi, to, …) of kernel entry k's node. */
  edgesOf(k: number): readonly number[] {
    return this.#bytes[k % this.#nodeCount];
  }

  /** `localOf([k])`, looked up by number (no key string). */
  singleOf(k: number): PdaState {
    let st = this.#singles.get(k);
    if (!st) this.#singles.set(k, st = this.localOf([k]));
    return st;
  }

  /** The interned local state of kernel entries over the bottom marker (sorted). */
  localOf(kernel: number[]): PdaState {
    const key = kernel.join(",");
    let local = this.#locals.get(key);
    if (!local) {
      local = { kernel, accepting: false, escaped: false, next: new Array(256) };
      this.#locals.set(key, local);
    }
    return local;
  }

  /** The state after popping stack s (s ≠ 0): where a finished rule returns to. */
  continuation(s: number): PdaState | null {
    let r = this.#cont.get(s);
    if (r === undefined) {
      r = this.#closure([this.#retOf[s], this.#parentOf[s]]);
      this.#cont.set(s, r);
    }
    return r;
  }

  /** The state after one byte (memoised), null when the byte is not allowed. */
  step(st: PdaState, b: number): PdaState | null {
    const m = st.next[b];
    if (m !== undefined) return m;
    const N = this.#nodeCount;
    // the bytes any kernel node has an edge for, once per state: others are dead at once
    const allowed = st.allowed ?? this.allowed(st);
    if (((allowed[b >>> 5] >>> (b & 31)) & 1) === 0) {
      st.next[b] = null;
      return null;
    }
    const seeds: number[] = [];
    for (const k of st.kernel) {
      const n = k % N, s = (k - n) / N;
      const ed = this.#bytes[n];
      for (let i = 0; i < ed.length; i += 3) {
        if (b >= ed[i] && b <= ed[i + 1]) seeds.push(ed[i + 2], s);
      }
    }
    let r: PdaState | null = null;
    if (seeds.length > 0) {
      // bytes of one range lead to the same seeds: their closure is computed once
      const key = seeds.join(",");
      const hit = this.#bySeeds.get(key);
      if (hit !== undefined) r = hit;
      else {
        r = this.#closure(seeds);
        if (this.#bySeeds.size >= MAX_INTERNED) this.#bySeeds = new Map();
        this.#bySeeds.set(key, r);
      }
    }
    st.next[b] = r;
    return r;
  }

  /** The state after the bytes, null when they are not allowed. */
  feed(st: PdaState, bytes: Uint8Array): PdaState | null {
    let cur: PdaState | null = st;
    for (let i = 0; i < bytes.length && cur; i++) cur = this.step(cur, bytes[i]);
    return cur;
  }
}

// Rule name → the first rule with the same body (refs compared through the mapping, to a fixed
// point: rules calling identical rules become identical).
function canonicalRules(
  ir: GrammarIr,
): { canon: Map<string, string>; shapes: Map<string, { shape: string; refs: string[] }> } {
  // each body serialised once with its calls as placeholders (shapes numbered, calls as rule
  // numbers); rounds only relabel the calls
  const names = [...ir.rules.keys()];
  const num = new Map(names.map((n, i) => [n, i]));
  const shapes = new Map<string, { shape: string; refs: string[] }>();
  const shapeIds = new Map<string, number>();
  const sid: number[] = [], refIdx: number[][] = [];
  const undef = new Map<string, number>(); // calls of undefined rules stay apart (an error later)
  for (const [n, e] of ir.rules) {
    const refs: string[] = [];
    const shape = exprShape(e, refs);
    shapes.set(n, { shape, refs });
    let id = shapeIds.get(shape);
    if (id === undefined) shapeIds.set(shape, id = shapeIds.size);
    sid.push(id);
    refIdx.push(
      refs.map((r) => num.get(r) ?? -1 - (undef.get(r) ?? undef.set(r, undef.size).get(r)!)),
    );
  }
  let canon = names.map((_, i) => i);
  const root = num.get(ir.root) ?? -1;
  for (let round = 0; round < 16; round++) {
    const byKey = new Map<string, number>();
    const next = new Array<number>(names.length);
    let changed = false;
    for (let i = 0; i < names.length; i++) {
      const rs = refIdx[i];
      const k = rs.length === 0
        ? String(sid[i])
        : `${sid[i]}|${rs.map((r) => r < 0 ? r : canon[r]).join(",")}`;
      let c = byKey.get(k);
      if (c === undefined || i === root) {
        if (c === undefined) byKey.set(k, i);
        c = i;
      }
      next[i] = c;
      if (canon[i] !== c) changed = true;
    }
    canon = next;
    if (!changed) break;
  }
  return { canon: new Map(names.map((n, i) => [n, names[canon[i]]])), shapes };
}

function exprShape(e: Expr, refs: string[]): string {
  switch (e.k) {
    case "bytes":
      return `b${e.b.join(".")}`;
    case "cls":
      return `c${e.r.map(([a, b]) => `${a}-${b}`).join(".")}`;
    case "seq":
      return `s(${e.items.map((x) => exprShape(x, refs)).join(",")})`;
    case "alt":
      return `a(${e.items.map((x) => exprShape(x, refs)).join(",")})`;
    case "rep":
      return `r${e.min}:${e.max}(${exprShape(e.item, refs)})`;
    case "ref":
      refs.push(e.name);
      return "@";
  }
}

// A rule is built inline at its call sites (no stack frame) when it calls no rule and can match
// the empty string, like JSON's whitespace: a call to it could end at once, so every token
// after the call site would be context-dependent; inline, it is decided once per state.
function inlinable(e: Expr): boolean {
  return !hasRef(e) && nullable(e);
}

function hasRef(e: Expr): boolean {
  switch (e.k) {
    case "ref":
      return true;
    case "seq":
    case "alt":
      return e.items.some(hasRef);
    case "rep":
      return hasRef(e.item);
    default:
      return false;
  }
}

function nullable(e: Expr): boolean {
  switch (e.k) {
    case "bytes":
      return e.b.length === 0;
    case "cls":
      return false;
    case "seq":
      return e.items.every(nullable);
    case "alt":
      return e.items.some(nullable);
    case "rep":
      return e.min === 0 || nullable(e.item);
    case "ref":
      return false;
  }
}

// Left recursion makes the ε-closure push frames forever: refuse it with the rule's name.
function checkLeftRecursion(pda: Pda, names: string[], ir: GrammarIr): void {
  const { eps, calls, start, end } = pda.structure();
  const R = names.length;
  // nullable rules (fixpoint): end reachable from start by ε and calls of nullable rules
  const nullable = new Uint8Array(R);
  const reach = (from: number, target: number): boolean => {
    const seen = new Set<number>([from]);
    const work = [from];
    while (work.length) {
      const n = work.pop()!;
      if (n === target) return true;
      for (const e of eps[n]) if (!seen.has(e)) seen.add(e), work.push(e);
      const c = calls[n];
      for (let i = 0; i < c.length; i += 2) {
        if (nullable[c[i]] && !seen.has(c[i + 1])) seen.add(c[i + 1]), work.push(c[i + 1]);
      }
    }
    return false;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let r = 0; r < R; r++) {
      if (!nullable[r] && reach(start[r], end[r])) nullable[r] = 1, changed = true;
    }
  }
  // left-call graph
  const left: number[][] = [];
  for (let r = 0; r < R; r++) {
    const out = new Set<number>();
    const seen = new Set<number>([start[r]]);
    const work = [start[r]];
    while (work.length) {
      const n = work.pop()!;
      for (const e of eps[n]) if (!seen.has(e)) seen.add(e), work.push(e);
      const c = calls[n];
      for (let i = 0; i < c.length; i += 2) {
        out.add(c[i]);
        if (nullable[c[i]] && !seen.has(c[i + 1])) seen.add(c[i + 1]), work.push(c[i + 1]);
      }
    }
    left.push([...out]);
  }
  const color = new Uint8Array(R);
  const dfs = (r: number, path: number[]): void => {
    color[r] = 1;
    path.push(r);
    for (const q of left[r]) {
      if (color[q] === 1) {
        const cyc = path.slice(path.indexOf(q)).map((i) => names[i]);
        const at = ir.where.get(names[q]);
        throw new TokenlabError(
          `grammar: left recursion ${[...cyc, names[q]].join(" → ")}${
            at ? ` (rule at ${at})` : ""
          }`,
          { hint: 'rewrite it with repetition, e.g. list ::= item ("," item)*' },
        );
      }
      if (color[q] === 0) dfs(q, path);
    }
    path.pop();
    color[r] = 2;
  };
  for (let r = 0; r < R; r++) if (color[r] === 0) dfs(r, []);
}
