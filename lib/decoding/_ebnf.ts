// The GBNF/EBNF dialect XGrammar and llama.cpp accept → grammar IR. Internal.
//   rule ::= alternatives        (a rule starts at `name ::=`; `#` comments to the end of line)
//   "literal" 'literal'  [a-z0-9_] [^"\\]  .  name  ( group )  x*  x+  x?  x{m}  x{m,}  x{m,n}
// Escapes: \n \r \t \\ \" \' \[ \] \- \^ \/ \xHH \uHHHH \UHHHHHHHH. Errors name line:column.

import { TokenlabError } from "../util/errors.ts";
import type { CharRanges, Expr, GrammarIr } from "./_grammar_ir.ts";
import { alt, cls, EMPTY, MAX_CP, negateRanges, ref, rep, seq } from "./_grammar_ir.ts";

const enc = new TextEncoder();

/** Parses EBNF text into the IR. */
export function parseEbnf(src: string, root = "root"): GrammarIr {
  if (typeof src !== "string") throw new TokenlabError("compileGrammar: ebnf must be a string");
  let i = 0;
  const pos = (at = i): string => {
    let line = 1, col = 1;
    for (let j = 0; j < at && j < src.length; j++) {
      if (src[j] === "\n") line++, col = 1;
      else col++;
    }
    return `${line}:${col}`;
  };
  const fail = (msg: string, at = i): never => {
    throw new TokenlabError(`ebnf ${pos(at)}: ${msg}`, {
      hint: 'rules look like root ::= "a" [0-9]+ (x | y)*',
    });
  };
  const skip = (): void => {
    while (i < src.length) {
      const c = src[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
      else if (c === "#") { while (i < src.length && src[i] !== "\n") i++; }
      else break;
    }
  };
  const isNameStart = (c: string): boolean => /[A-Za-z_]/.test(c);
  const isName = (c: string): boolean => /[A-Za-z0-9_\-.]/.test(c) && c !== ".";
  const readName = (): string => {
    const s = i;
    while (i < src.length && (isName(src[i]) || src[i] === "-")) i++;
    return src.slice(s, i);
  };
  const atRuleStart = (): boolean => {
    if (!isNameStart(src[i] ?? "")) return false;
    const save = i;
    readName();
    skip();
    const r = src.startsWith("::=", i);
    i = save;
    return r;
  };
  const escape = (): number => {
    // at backslash
    const start = i;
    i++;
    const c = src[i++];
    const hex = (n: number): number => {
      const h = src.slice(i, i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) fail(`bad escape \\${c}${h}`, start);
      i += n;
      const v = parseInt(h, 16);
      if (v > MAX_CP || (v >= 0xd800 && v <= 0xdfff)) {
        fail(`escape \\${c}${h} is not a scalar value`, start);
      }
      return v;
    };
    switch (c) {
      case "n":
        return 10;
      case "r":
        return 13;
      case "t":
        return 9;
      case "x":
        return hex(2);
      case "u":
        return hex(4);
      case "U":
        return hex(8);
      case "\\":
      case '"':
      case "'":
      case "[":
      case "]":
      case "-":
      case "^":
      case "/":
        return c.codePointAt(0)!;
      default:
        return fail(`unknown escape \\${c ?? ""}`, start);
    }
  };
  const readChar = (): number => {
    if (src[i] === "\\") return escape();
    const cp = src.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    return cp;
  };
  const literal = (): Expr => {
    const q = src[i], start = i;
    i++;
    const cps: number[] = [];
    while (true) {
      if (i >= src.length || src[i] === "\n") fail("unterminated string literal", start);
      if (src[i] === q) break;
      cps.push(readChar());
    }
    i++;
    return { k: "bytes", b: enc.encode(String.fromCodePoint(...cps)) };
  };
  const charClass = (): Expr => {
    const start = i;
    i++;
    let neg = false;
    if (src[i] === "^") neg = true, i++;
    const r: CharRanges = [];
    while (true) {
      if (i >= src.length || src[i] === "\n") fail("unterminated character class", start);
      if (src[i] === "]") break;
      const a = readChar();
      if (src[i] === "-" && src[i + 1] !== "]") {
        i++;
        const b = readChar();
        if (b < a) fail(`empty range in character class`, start);
        r.push([a, b]);
      } else r.push([a, a]);
    }
    i++;
    return cls(neg ? negateRanges(r) : r);
  };
  const int = (): number => {
    const s = i;
    while (/[0-9]/.test(src[i] ?? "")) i++;
    if (s === i) fail("expected a number");
    return Number(src.slice(s, i));
  };
  const postfix = (e: Expr): Expr => {
    while (true) {
      const c = src[i];
      if (c === "*") i++, e = rep(e, 0, Infinity);
      else if (c === "+") i++, e = rep(e, 1, Infinity);
      else if (c === "?") i++, e = rep(e, 0, 1);
      else if (c === "{") {
        const start = i;
        i++;
        skip();
        const m = int();
        skip();
        let n = m;
        if (src[i] === ",") {
          i++;
          skip();
          n = src[i] === "}" ? Infinity : int();
          skip();
        }
        if (src[i] !== "}") fail("expected } closing the repetition", i);
        i++;
        if (n < m) fail(`repetition {${m},${n}} has max below min`, start);
        e = rep(e, m, n);
      } else return e;
    }
  };
  const sequence = (): Expr => {
    const items: Expr[] = [];
    while (true) {
      skip();
      const c = src[i];
      if (c === undefined || c === "|" || c === ")" || atRuleStart()) break;
      let e: Expr;
      if (c === '"' || c === "'") e = literal();
      else if (c === "[") e = charClass();
      else if (c === ".") i++, e = cls([[0, MAX_CP]]);
      else if (c === "(") {
        const start = i;
        i++;
        e = alternatives();
        skip();
        if (src[i] !== ")") fail("expected ) closing the group opened here", start);
        i++;
      } else if (isNameStart(c)) {
        const at = pos();
        e = ref(readName(), at);
      } else return fail(`unexpected ${JSON.stringify(c)}`);
      items.push(postfix(e));
    }
    return items.length === 0 ? EMPTY : seq(...items);
  };
  const alternatives = (): Expr => {
    const items = [sequence()];
    skip();
    while (src[i] === "|") {
      i++;
      items.push(sequence());
      skip();
    }
    return alt(...items);
  };
  const rules = new Map<string, Expr>();
  const where = new Map<string, string>();
  skip();
  if (i >= src.length) fail("the grammar is empty");
  while (i < src.length) {
    const at = i;
    if (!isNameStart(src[i])) fail("expected a rule name");
    const name = readName();
    skip();
    if (!src.startsWith("::=", i)) fail(`expected ::= after rule name ${name}`);
    i += 3;
    if (rules.has(name)) fail(`rule ${name} is defined twice (first at ${where.get(name)})`, at);
    where.set(name, pos(at));
    rules.set(name, alternatives());
    skip();
    if (i < src.length && !atRuleStart()) fail(`unexpected ${JSON.stringify(src[i])}`);
  }
  if (!rules.has(root)) {
    throw new TokenlabError(`ebnf: the root rule ${JSON.stringify(root)} is not defined`, {
      hint: `define ${root} ::= … or pass { root } naming one of ${[...rules.keys()].join(", ")}`,
    });
  }
  return { rules, where, root };
}
