// The grammar intermediate form every front end (EBNF, JSON Schema, JSON) lowers to, and the
// code-point → UTF-8 byte-range conversion character classes need. Internal.

/** A sorted list of disjoint inclusive code point ranges. */
export type CharRanges = Array<[number, number]>;

/** One grammar expression over bytes. */
export type Expr =
  | { k: "bytes"; b: Uint8Array }
  | { k: "cls"; r: CharRanges }
  | { k: "seq"; items: Expr[] }
  | { k: "alt"; items: Expr[] }
  | { k: "rep"; item: Expr; min: number; max: number }
  | { k: "ref"; name: string; at?: string };

/** Rules by name; `root` names the start rule. */
export interface GrammarIr {
  rules: Map<string, Expr>;
  /** Where each rule was defined (for error messages). */
  where: Map<string, string>;
  root: string;
}

const enc = new TextEncoder();

/** A literal string (UTF-8). */
export function lit(s: string): Expr {
  return { k: "bytes", b: enc.encode(s) };
}
/** A sequence. */
export function seq(...items: Expr[]): Expr {
  return items.length === 1 ? items[0] : { k: "seq", items };
}
/** Alternatives. */
export function alt(...items: Expr[]): Expr {
  return items.length === 1 ? items[0] : { k: "alt", items };
}
/** Repetition between min and max (Infinity) times. */
export function rep(item: Expr, min: number, max: number): Expr {
  return { k: "rep", item, min, max };
}
/** Optional. */
export function opt(item: Expr): Expr {
  return rep(item, 0, 1);
}
/** A reference to a rule. */
export function ref(name: string, at?: string): Expr {
  return { k: "ref", name, at };
}
/** The empty sequence. */
export const EMPTY: Expr = { k: "seq", items: [] };
/** A class of code points. */
export function cls(r: CharRanges): Expr {
  return { k: "cls", r: normalizeRanges(r) };
}

/** The largest code point. */
export const MAX_CP = 0x10ffff;

/** Sorts and merges ranges. */
export function normalizeRanges(r: CharRanges): CharRanges {
  const s = r.filter(([a, b]) => a <= b).map(([a, b]) => [a, b] as [number, number]).sort((x, y) =>
    x[0] - y[0]
  );
  const out: CharRanges = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The complement within all Unicode scalar values (surrogates never included). */
export function negateRanges(r: CharRanges): CharRanges {
  const out: CharRanges = [];
  let next = 0;
  for (const [a, b] of normalizeRanges(r)) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

/** Removes the surrogate block U+D800–U+DFFF (not encodable in valid UTF-8). */
export function withoutSurrogates(r: CharRanges): CharRanges {
  const out: CharRanges = [];
  for (const [a, b] of r) {
    if (b < 0xd800 || a > 0xdfff) out.push([a, b]);
    else {
      if (a < 0xd800) out.push([a, 0xd7ff]);
      if (b > 0xdfff) out.push([0xe000, b]);
    }
  }
  return out;
}

function utf8Len(c: number): number {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

function utf8Encode(c: number): number[] {
  if (c < 0x80) return [c];
  if (c < 0x800) return [0xc0 | (c >> 6), 0x80 | (c & 63)];
  if (c < 0x10000) return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
  return [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
}

/**
 * The byte-range sequences whose concatenations are exactly the UTF-8 encodings of the code
 * points in [lo, hi] (surrogates must be excluded beforehand): each sequence is a list of
 * inclusive [lo, hi] byte ranges, one per byte.
 */
export function utf8Sequences(lo: number, hi: number, out: Array<Array<[number, number]>>): void {
  const bounds = [0x7f, 0x7ff, 0xffff];
  for (const m of bounds) {
    if (lo <= m && hi > m) {
      utf8Sequences(lo, m, out);
      utf8Sequences(m + 1, hi, out);
      return;
    }
  }
  const n = utf8Len(lo);
  for (let i = 1; i < n; i++) {
    const m = (1 << (6 * i)) - 1;
    if ((lo & ~m) !== (hi & ~m)) {
      if ((lo & m) !== 0) {
        utf8Sequences(lo, lo | m, out);
        utf8Sequences((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) !== m) {
        utf8Sequences(lo, (hi & ~m) - 1, out);
        utf8Sequences(hi & ~m, hi, out);
        return;
      }
    }
  }
  const a = utf8Encode(lo), b = utf8Encode(hi);
  out.push(a.map((x, i) => [x, b[i]]));
}
