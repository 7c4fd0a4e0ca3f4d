// Hand-written pre-tokenizer scanners for tiktoken's patterns (o200k, cl100k, GPT-2), over
// tiktoken's own character classes (_unicode_classes.ts, read from its regex engine). Each
// scanner returns where the piece starting at `start` ends, exactly as the leftmost-first
// regex would; the comments give the alternative each branch implements. They replace V8's
// regex on the encode fast path: on text outside ASCII, Unicode property classes made the
// regex the slowest part of a first pass.
import { CLASS_RUNS } from "./_unicode_classes.ts";

const L = 1, UPPER = 2, LOWER = 4, N = 8, WS = 16;

/** Class flags of every code point. */
const FLAGS: Uint8Array = (() => {
  const flags = new Uint8Array(0x110000);
  const runs = CLASS_RUNS.split(",");
  let start = 0;
  for (let i = 0; i < runs.length; i++) {
    start += parseInt(runs[i].slice(0, -1), 36);
    const nextStart = i + 1 < runs.length
      ? start + parseInt(runs[i + 1].slice(0, -1), 36)
      : 0x110000;
    flags.fill(parseInt(runs[i].slice(-1), 36), start, nextStart);
  }
  return flags;
})();

/** Code point at i (text is well formed: a high surrogate is followed by a low one). */
function cpAt(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff) return c;
  return 0x10000 + ((c - 0xd800) << 10) + (t.charCodeAt(i + 1) - 0xdc00);
}

function widthOf(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/** [^\s\p{L}\p{N}]: punctuation, symbols, marks, unassigned. */
function isOther(cp: number): boolean {
  return (FLAGS[cp] & (WS | L | N)) === 0;
}

/** End of a run of code points whose flags intersect `mask`, from i. */
function runEnd(t: string, i: number, mask: number): number {
  const n = t.length;
  while (i < n) {
    const cp = cpAt(t, i);
    if ((FLAGS[cp] & mask) === 0) break;
    i += widthOf(cp);
  }
  return i;
}

/** `'s|'t|'re|'ve|'m|'ll|'d` at i, case-insensitive (simple folding: ſ is s) or not. */
function contractionEnd(t: string, i: number, caseless: boolean): number {
  if (t.charCodeAt(i) !== 0x27 || i + 1 >= t.length) return -1;
  let a = t.charCodeAt(i + 1), b = i + 2 < t.length ? t.charCodeAt(i + 2) : 0;
  if (caseless) {
    if (a === 0x17f) a = 0x73;
    else if (a >= 0x41 && a <= 0x5a) a += 32;
    if (b >= 0x41 && b <= 0x5a) b += 32;
  }
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return i + 2; // s t m d
  if ((a === 0x72 || a === 0x76) && b === 0x65) return i + 3; // re ve
  if (a === 0x6c && b === 0x6c) return i + 3; // ll
  return -1;
}

/**
 * Whitespace alternatives shared by the three patterns, on the run [s, end):
 * `\s++$` (cl100k/GPT-2) or nothing (o200k), then `\s*[\r\n]+` (o200k/cl100k: up to the
 * run's last line break), `\s+(?!\S)` (all but the run's last character) and `\s+` / `\s`.
 */
function whitespaceEnd(t: string, s: number, lineBreaks: boolean, wholeRunAtEnd: boolean): number {
  const n = t.length;
  let end = s, lastBreak = -1;
  while (end < n) {
    const c = t.charCodeAt(end); // every White_Space character is in the BMP
    if ((FLAGS[c] & WS) === 0 || (c >= 0xd800 && c <= 0xdfff)) break;
    if (c === 10 || c === 13) lastBreak = end;
    end++;
  }
  if (end === s) return -1;
  if (wholeRunAtEnd && end === n) return n;
  if (lineBreaks && lastBreak >= 0) return lastBreak + 1;
  if (end === n) return n; // \s+(?!\S) at the end of the text
  if (end - s >= 2) return end - 1; // \s+(?!\S): leave the last one to the next piece
  return end; // \s+ / \s
}

/** o200k's `[UPPER]*[LOWER]+` from i with the regex's backtracking, or -1. */
function upperLowerEnd(t: string, i: number): number {
  const n = t.length;
  let u = i, lastLower = -1, lastWidth = 0;
  while (u < n) {
    const cp = cpAt(t, u);
    const f = FLAGS[cp];
    if ((f & UPPER) === 0) break;
    if (f & LOWER) {
      lastLower = u;
      lastWidth = widthOf(cp);
    }
    u += widthOf(cp);
  }
  // the greedy upper run is followed by a lowercase letter: [LOWER]+ runs on from there
  if (u < n && (FLAGS[cpAt(t, u)] & LOWER) !== 0) return runEnd(t, u, LOWER);
  // otherwise the upper run gives back characters until its last one that is also LOWER,
  // which alone matches [LOWER]+ (everything after it in the run is Lu/Lt only)
  return lastLower >= 0 ? lastLower + lastWidth : -1;
}

/** o200k's `[UPPER]+[LOWER]*` from i, or -1. */
function upperThenLowerEnd(t: string, i: number): number {
  if (i >= t.length || (FLAGS[cpAt(t, i)] & UPPER) === 0) return -1;
  return runEnd(t, runEnd(t, i, UPPER), LOWER);
}

/**
 * o200k_base: `[^\r\n\p{L}\p{N}]?[UPPER]*[LOWER]+(?i:'s|…)?` | `[^\r\n\p{L}\p{N}]?[UPPER]+
 * [LOWER]*(?i:'s|…)?` | `\p{N}{1,3}` | ` ?[^\s\p{L}\p{N}]+[\r\n/]*` | `\s*[\r\n]+` |
 * `\s+(?!\S)` | `\s+`, with UPPER = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and LOWER =
 * [\p{Ll}\p{Lm}\p{Lo}\p{M}].
 */
export function scanO200k(t: string, s: number): number {
  const n = t.length;
  const c0 = cpAt(t, s), f0 = FLAGS[c0], w0 = widthOf(c0);
  const prefix = c0 !== 10 && c0 !== 13 && (f0 & (L | N)) === 0;
  if (f0 & (UPPER | LOWER) || prefix) {
    let e = prefix ? upperLowerEnd(t, s + w0) : -1;
    if (e < 0) e = upperLowerEnd(t, s);
    if (e < 0 && prefix) e = upperThenLowerEnd(t, s + w0);
    if (e < 0) e = upperThenLowerEnd(t, s);
    if (e >= 0) {
      const c = contractionEnd(t, e, true);
      return c >= 0 ? c : e;
    }
  }
  if (f0 & N) {
    let e = s + w0;
    for (let k = 1; k < 3 && e < n; k++) {
      const cp = cpAt(t, e);
      if ((FLAGS[cp] & N) === 0) break;
      e += widthOf(cp);
    }
    return e;
  }
  const p = c0 === 0x20 && s + 1 < n && isOther(cpAt(t, s + 1)) ? s + 1 : s;
  if (isOther(cpAt(t, p))) {
    let e = p;
    while (e < n) {
      const cp = cpAt(t, e);
      if (!isOther(cp)) break;
      e += widthOf(cp);
    }
    while (e < n) {
      const c = t.charCodeAt(e);
      if (c !== 10 && c !== 13 && c !== 0x2f) break;
      e++;
    }
    return e;
  }
  const e = whitespaceEnd(t, s, true, false);
  return e >= 0 ? e : s + w0;
}

/**
 * cl100k_base as tiktoken states it: `'(?i:[sdmt]|ll|ve|re)` | `[^\r\n\p{L}\p{N}]?+\p{L}++` |
 * `\p{N}{1,3}+` | ` ?[^\s\p{L}\p{N}]++[\r\n]*+` | `\s++$` | `\s*[\r\n]` | `\s+(?!\S)` | `\s`.
 */
export function scanCl100k(t: string, s: number): number {
  const n = t.length;
  const contraction = contractionEnd(t, s, true);
  if (contraction >= 0) return contraction;
  const c0 = cpAt(t, s), f0 = FLAGS[c0], w0 = widthOf(c0);
  if (f0 & L) return runEnd(t, s, L);
  if (c0 !== 10 && c0 !== 13 && (f0 & N) === 0 && s + w0 < n && FLAGS[cpAt(t, s + w0)] & L) {
    return runEnd(t, s + w0, L); // the possessive prefix, then letters
  }
  if (f0 & N) {
    let e = s + w0;
    for (let k = 1; k < 3 && e < n; k++) {
      const cp = cpAt(t, e);
      if ((FLAGS[cp] & N) === 0) break;
      e += widthOf(cp);
    }
    return e;
  }
  const p = c0 === 0x20 && s + 1 < n && isOther(cpAt(t, s + 1)) ? s + 1 : s;
  if (isOther(cpAt(t, p))) {
    let e = p;
    while (e < n) {
      const cp = cpAt(t, e);
      if (!isOther(cp)) break;
      e += widthOf(cp);
    }
    while (e < n) {
      const c = t.charCodeAt(e);
      if (c !== 10 && c !== 13) break;
      e++;
    }
    return e;
  }
  const e = whitespaceEnd(t, s, true, true);
  return e >= 0 ? e : s + w0;
}

/**
 * GPT-2 (r50k, p50k) as tiktoken states it: `'(?:[sdmt]|ll|ve|re)` | ` ?\p{L}++` |
 * ` ?\p{N}++` | ` ?[^\s\p{L}\p{N}]++` | `\s++$` | `\s+(?!\S)` | `\s`.
 */
export function scanGpt2(t: string, s: number): number {
  const n = t.length;
  const contraction = contractionEnd(t, s, false);
  if (contraction >= 0) return contraction;
  const c0 = cpAt(t, s);
  const p = c0 === 0x20 && s + 1 < n ? s + 1 : s;
  const cp = cpAt(t, p), f = FLAGS[cp];
  if (f & L) return runEnd(t, p, L);
  if (f & N) return runEnd(t, p, N);
  if (isOther(cp)) {
    let e = p;
    while (e < n) {
      const c = cpAt(t, e);
      if (!isOther(c)) break;
      e += widthOf(c);
    }
    return e;
  }
  const e = whitespaceEnd(t, s, false, true);
  return e >= 0 ? e : s + widthOf(c0);
}

/** A scanner: the end of the piece that starts at `start` (start < text.length). */
export type Scanner = (text: string, start: number) => number;

/** The scanner of a named pattern, if it has one. */
export function scannerFor(name: string): Scanner | null {
  switch (name) {
    case "o200k":
      return scanO200k;
    case "cl100k":
      return scanCl100k;
    case "gpt2":
      return scanGpt2;
  }
  return null;
}
