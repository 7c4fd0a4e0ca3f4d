// A subset of ECMAScript regular expressions (JSON Schema `pattern`) parsed into code-point
// expressions: literals, `.`, classes, \d \w \s (and negations), groups, `|`, `* + ? {m,n}`
// (lazy forms too: the language is the same), `^` / `$` at the ends of top-level alternatives.
// Anything else (backreferences, lookaround, \b, flags) is refused with a reason. Internal.

import type { CharRanges } from "./_grammar_ir.ts";
import { MAX_CP, negateRanges, normalizeRanges } from "./_grammar_ir.ts";

/** A regex over code points. */
export type Rx =
  | { k: "chars"; r: CharRanges }
  | { k: "seq"; items: Rx[] }
  | { k: "alt"; items: Rx[] }
  | { k: "rep"; item: Rx; min: number; max: number };

/** Thrown for syntax we do not support; the caller lists the pattern as unenforced. */
export class UnsupportedPattern extends Error {}

const DIGIT: CharRanges = [[48, 57]];
const WORD: CharRanges = [[48, 57], [65, 90], [95, 95], [97, 122]];
const SPACE: CharRanges = normalizeRanges([
  [9, 13],
  [32, 32],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
const DOT: CharRanges = negateRanges([[10, 10], [13, 13], [0x2028, 0x2029]]);
/** Any code point. */
export const ANY: CharRanges = [[0, MAX_CP]];

/**
 * Parses a pattern with JSON Schema's search semantics: unanchored ends match anything.
 * Throws SyntaxError when the pattern is not a valid JS regex, UnsupportedPattern for features
 * outside the subset.
 */
export function parsePattern(src: string): Rx {
  new RegExp(src, "u"); // SyntaxError on invalid patterns
  let i = 0;
  const unsupported = (what: string): never => {
    throw new UnsupportedPattern(`${what} at offset ${i}`);
  };
  const cp = (): number => {
    const c = src.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
    return c;
  };
  const hex = (n: number): number => {
    const h = src.slice(i, i + n);
    if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) unsupported("a bad hex escape");
    i += n;
    return parseInt(h, 16);
  };
  // an escape after the backslash; returns ranges
  const escape = (inClass: boolean): CharRanges => {
    const c = src[i++];
    switch (c) {
      case "d":
        return DIGIT;
      case "D":
        return negateRanges(DIGIT);
      case "w":
        return WORD;
      case "W":
        return negateRanges(WORD);
      case "s":
        return SPACE;
      case "S":
        return negateRanges(SPACE);
      case "n":
        return [[10, 10]];
      case "r":
        return [[13, 13]];
      case "t":
        return [[9, 9]];
      case "f":
        return [[12, 12]];
      case "v":
        return [[11, 11]];
      case "0":
        return [[0, 0]];
      case "x":
        return ((v) => [[v, v]] as CharRanges)(hex(2));
      case "u": {
        if (src[i] === "{") {
          const j = src.indexOf("}", i);
          const v = parseInt(src.slice(i + 1, j), 16);
          i = j + 1;
          return [[v, v]];
        }
        const v = hex(4);
        return [[v, v]];
      }
      case "b":
        if (inClass) return [[8, 8]];
        return unsupported("\\b (word boundary)");
      default:
        if (c === undefined) return unsupported("a trailing backslash");
        if (/[A-Za-z0-9]/.test(c)) return unsupported(`the escape \\${c}`);
        return [[c.codePointAt(0)!, c.codePointAt(0)!]];
    }
  };
  const classAtom = (): CharRanges => {
    if (src[i] === "\\") {
      i++;
      return escape(true);
    }
    const c = cp();
    return [[c, c]];
  };
  const charClass = (): CharRanges => {
    i++; // [
    let neg = false;
    if (src[i] === "^") neg = true, i++;
    const r: CharRanges = [];
    let first = true;
    while (i < src.length && (src[i] !== "]" || false)) {
      if (src[i] === "]" && !first) break;
      first = false;
      const a = classAtom();
      if (
        src[i] === "-" && src[i + 1] !== "]" && i + 1 < src.length && a.length === 1 &&
        a[0][0] === a[0][1]
      ) {
        i++;
        const b = classAtom();
        if (b.length !== 1 || b[0][0] !== b[0][1]) unsupported("a class range ending in a class");
        r.push([a[0][0], b[0][0]]);
      } else r.push(...a);
    }
    if (src[i] !== "]") unsupported("an unterminated class");
    i++;
    const n = normalizeRanges(r);
    return neg ? negateRanges(n) : n;
  };
  const atom = (): Rx => {
    const c = src[i];
    if (c === "(") {
      i++;
      if (src[i] === "?") {
        if (src[i + 1] === ":") i += 2;
        else unsupported("lookaround or named groups");
      }
      const e = alternation();
      if (src[i] !== ")") unsupported("an unbalanced group");
      i++;
      return e;
    }
    if (c === "[") return { k: "chars", r: charClass() };
    if (c === ".") {
      i++;
      return { k: "chars", r: DOT };
    }
    if (c === "\\") {
      i++;
      if (/[1-9]/.test(src[i] ?? "")) unsupported("backreferences");
      if (src[i] === "B") unsupported("\\B");
      if (src[i] === "k") unsupported("named backreferences");
      return { k: "chars", r: escape(false) };
    }
    if (c === "^" || c === "$") return unsupported(`an anchor ${c} inside the pattern`);
    const v = cp();
    return { k: "chars", r: [[v, v]] };
  };
  const quantified = (): Rx => {
    let e = atom();
    while (true) {
      const c = src[i];
      let min: number, max: number;
      if (c === "*") min = 0, max = Infinity, i++;
      else if (c === "+") min = 1, max = Infinity, i++;
      else if (c === "?") min = 0, max = 1, i++;
      else if (c === "{" && /^\{\d+(,\d*)?\}/.test(src.slice(i))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i))!;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        i += m[0].length;
      } else return e;
      if (src[i] === "?") i++; // lazy: same language
      e = { k: "rep", item: e, min, max };
    }
  };
  const sequence = (top: boolean): Rx => {
    const items: Rx[] = [];
    let start = false, end = false;
    if (top && src[i] === "^") start = true, i++;
    while (i < src.length && src[i] !== "|" && src[i] !== ")") {
      if (top && src[i] === "$" && (i + 1 === src.length || src[i + 1] === "|")) {
        end = true;
        i++;
        break;
      }
      items.push(quantified());
    }
    if (top) {
      if (!start) items.unshift({ k: "rep", item: { k: "chars", r: ANY }, min: 0, max: Infinity });
      if (!end) items.push({ k: "rep", item: { k: "chars", r: ANY }, min: 0, max: Infinity });
    }
    return { k: "seq", items };
  };
  let depth = 0;
  const alternation = (): Rx => {
    const top = depth === 0;
    depth++;
    const items = [sequence(top)];
    while (src[i] === "|") {
      i++;
      items.push(sequence(top));
    }
    depth--;
    return items.length === 1 ? items[0] : { k: "alt", items };
  };
  const r = alternation();
  if (i !== src.length) unsupported(`an unexpected ${JSON.stringify(src[i])}`);
  return r;
}
