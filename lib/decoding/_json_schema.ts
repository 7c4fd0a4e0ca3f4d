// JSON Schema → grammar IR. Properties may come in any order (the set of properties seen so far
// is part of the grammar state), strings are exact JSON strings (valid UTF-8, escapes), and
// what cannot be enforced is listed, never silently dropped. Internal.

import { TokenlabError } from "../util/errors.ts";
import type { CharRanges, Expr, GrammarIr } from "./_grammar_ir.ts";
import {
  alt,
  cls,
  EMPTY,
  lit,
  MAX_CP,
  negateRanges,
  normalizeRanges,
  opt,
  ref,
  rep,
  seq,
} from "./_grammar_ir.ts";
import { parsePattern, type Rx, UnsupportedPattern } from "./_regex.ts";

/** Options of the lowering. */
export interface SchemaIrOptions {
  strict: boolean;
  maxWhitespace?: number;
}

type Schema = Record<string, unknown> | boolean;

const ANNOTATIONS = new Set([
  "$schema",
  "$id",
  "$comment",
  "$anchor",
  "$vocabulary",
  "$dynamicAnchor",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$defs",
  "definitions",
]);
const HANDLED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "prefixItems",
  "additionalItems",
  "minItems",
  "maxItems",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "allOf",
  "$ref",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minProperties",
  "maxProperties",
  "dependentRequired",
  "dependencies",
  "patternProperties",
]);
const NOT_ENFORCED = new Set([
  "multipleOf",
  "uniqueItems",
  "contains",
  "minContains",
  "maxContains",
  "dependentSchemas",
  "propertyNames",
  "if",
  "then",
  "else",
  "not",
  "unevaluatedProperties",
  "unevaluatedItems",
  "contentEncoding",
  "contentMediaType",
  "contentSchema",
  "$dynamicRef",
]);
const TYPES = ["null", "boolean", "object", "array", "string", "number", "integer"];
const MAX_TRACKED_PROPERTIES = 10;
const MAX_REPEAT = 5000;

const HEX: CharRanges = [[48, 57], [65, 70], [97, 102]];
const hex = cls(HEX);
const ch = (c: string): CharRanges => [[c.codePointAt(0)!, c.codePointAt(0)!]];
const SHORT: Record<number, string> = {
  34: '"',
  92: "\\",
  47: "/",
  8: "b",
  12: "f",
  10: "n",
  13: "r",
  9: "t",
};

// Raw characters a JSON string may hold: U+0020.. except " and \.
const RAW: CharRanges = [[0x20, 0x21], [0x23, 0x5b], [0x5d, MAX_CP]];

function intersect(a: CharRanges, b: CharRanges): CharRanges {
  const out: CharRanges = [];
  for (const [x, y] of a) {
    for (const [u, v] of b) {
      const lo = Math.max(x, u), hi = Math.min(y, v);
      if (lo <= hi) out.push([lo, hi]);
    }
  }
  return out;
}

function hexCase(v: number, digits: number): Expr {
  const s = v.toString(16).padStart(digits, "0");
  return seq(
    ...[...s].map((d) => (/[a-f]/.test(d) ? cls([...ch(d), ...ch(d.toUpperCase())]) : lit(d))),
  );
}

/** Every JSON spelling of one code point: raw, short escape, \u escape(s). */
function encodeChar(c: number): Expr {
  const forms: Expr[] = [];
  if (c >= 0x20 && c !== 34 && c !== 92) forms.push(cls([[c, c]]));
  if (SHORT[c]) forms.push(lit("\\" + SHORT[c]));
  if (c < 0x10000) forms.push(seq(lit("\\u"), hexCase(c, 4)));
  else {
    const u = c - 0x10000;
    forms.push(
      seq(lit("\\u"), hexCase(0xd800 + (u >> 10), 4), lit("\\u"), hexCase(0xdc00 + (u & 1023), 4)),
    );
  }
  return alt(...forms);
}

/** One character of a JSON string in the pattern subset: raw, a short escape or \\u escape(s). */
function encodeClass(r: CharRanges): Expr {
  const forms: Expr[] = [];
  const raw = intersect(r, RAW);
  if (raw.length) forms.push(cls(raw));
  for (const [c, e] of Object.entries(SHORT)) {
    const v = Number(c);
    if (r.some(([a, b]) => v >= a && v <= b)) forms.push(lit("\\" + e));
  }
  // \uXXXX for the BMP (surrogates excepted), a surrogate pair beyond it
  const none = new Set<number>();
  const u = lit("\\u");
  for (const [a, b] of r) {
    for (const [lo, hi] of [[a, Math.min(b, 0xd7ff)], [Math.max(a, 0xe000), Math.min(b, 0xffff)]]) {
      const h = lo <= hi ? hexExcept(none, lo, hi) : null;
      if (h) forms.push(seq(u, h));
    }
    const lo = Math.max(a, 0x10000);
    if (lo > b) continue;
    const hiOf = (c: number) => 0xd800 + ((c - 0x10000) >> 10);
    const loOf = (c: number) => 0xdc00 + ((c - 0x10000) & 1023);
    const h0 = hiOf(lo), h1 = hiOf(b);
    const pair = (h: number, l0: number, l1: number) =>
      forms.push(seq(u, hexCase(h, 4), u, hexExcept(none, l0, l1)!));
    if (h0 === h1) pair(h0, loOf(lo), loOf(b));
    else {
      pair(h0, loOf(lo), 0xdfff);
      if (h1 - h0 > 1) {
        forms.push(seq(u, hexExcept(none, h0 + 1, h1 - 1)!, u, hexExcept(none, 0xdc00, 0xdfff)!));
      }
      pair(h1, 0xdc00, loOf(b));
    }
  }
  return forms.length ? alt(...forms) : { k: "alt", items: [] };
}

/**
 * Four hex digits (either case) spelling a value in [lo, hi] outside `except`; null if none.
 */
function hexExcept(except: Set<number>, lo: number, hi: number): Expr | null {
  const ex = [...except].filter((v) => v >= lo && v <= hi);
  const any = (n: number): Expr => rep(hex, n, n);
  const digit = (d: number): Expr => {
    const c = d.toString(16);
    return /[a-f]/.test(c) ? cls([...ch(c), ...ch(c.toUpperCase())]) : lit(c);
  };
  const rec = (prefix: number, depth: number): Expr | null => {
    const span = 16 ** (4 - depth);
    const a = prefix * span, b = a + span - 1;
    if (b < lo || a > hi) return null;
    if (a >= lo && b <= hi && !ex.some((v) => v >= a && v <= b)) return any(4 - depth);
    if (depth === 4) return null;
    const out: Expr[] = [];
    for (let d = 0; d < 16; d++) {
      const sub = rec(prefix * 16 + d, depth + 1);
      if (sub) out.push(seq(digit(d), sub));
    }
    return out.length ? alt(...out) : null;
  };
  return rec(0, 0);
}

function rxToExpr(rx: Rx): Expr {
  switch (rx.k) {
    case "chars":
      return encodeClass(rx.r);
    case "seq":
      return seq(...rx.items.map(rxToExpr));
    case "alt":
      return alt(...rx.items.map(rxToExpr));
    case "rep":
      return rep(rxToExpr(rx.item), rx.min, rx.max);
  }
}

const D28 = "(0[1-9]|1[0-9]|2[0-8])";
const DATE = `([0-9]{4}-((0[13578]|1[02])-(${D28}|29|30|31)|(0[469]|11)-(${D28}|29|30)|02-${D28})` +
  `|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)`;
// Formats as ajv-formats (full mode) checks them, so that an independent validator agrees:
// time and date-time need a time zone (Z, ±hh, ±hhmm or ±hh:mm), date-time's separator is T, t
// or a white-space character, a leap second (:60) is allowed at 23:59 UTC — here only with a
// whole-hour offset (±hh, ±hh00, ±hh:00, Z).
const TZ = "([zZ]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)";
const FRAC = "(\\.[0-9]+)?";
const pad2 = (v: number): string => String(v).padStart(2, "0");
const LEAP = Array.from(
  { length: 24 },
  (_, h) =>
    `${pad2(h)}:59:60${FRAC}([-]${pad2(23 - h)}|[+]${pad2(h === 23 ? 0 : h + 1)})(:?00)?` +
    (h === 23 ? `|23:59:60${FRAC}[zZ]` : ""),
);
const TIME = `(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]${FRAC}${TZ}|${LEAP.join("|")})`;
const EMAIL_ATOM = "[a-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = "[a-z0-9]([a-z0-9-]*[a-z0-9])?";
const H16 = "[0-9a-f]{1,4}";
const IPV4 =
  "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}";
// [pattern, case-insensitive] (ajv-formats' /i patterns)
const FORMATS: Record<string, [string, boolean]> = {
  date: [`^${DATE}$`, false],
  time: [`^${TIME}$`, false],
  "date-time": [`^${DATE}([tT]|\\s)${TIME}$`, false],
  uuid: ["^(urn:uuid:)?[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$", true],
  ipv4: [`^${IPV4}$`, false],
  ipv6: [
    `^((${H16}:){7}(${H16}|:)|(${H16}:){6}(:${H16}|${IPV4}|:)|(${H16}:){5}((:${H16}){1,2}|:${IPV4}|:)` +
    `|(${H16}:){4}((:${H16}){1,3}|(:${H16})?:${IPV4}|:)|(${H16}:){3}((:${H16}){1,4}|(:${H16}){0,2}:${IPV4}|:)` +
    `|(${H16}:){2}((:${H16}){1,5}|(:${H16}){0,3}:${IPV4}|:)|(${H16}:){1}((:${H16}){1,6}|(:${H16}){0,4}:${IPV4}|:)` +
    `|:((:${H16}){1,7}|(:${H16}){0,5}:${IPV4}|:))$`,
    true,
  ],
  email: [`^${EMAIL_ATOM}(\\.${EMAIL_ATOM})*@(${LABEL}\\.)+${LABEL}$`, true],
  "json-pointer": ["^(/([^~/]|~0|~1)*)*$", false],
};

// Case-insensitive over ASCII letters (the /i flag of ajv-formats' patterns).
function caseless(rx: Rx): Rx {
  switch (rx.k) {
    case "chars": {
      const extra: CharRanges = [];
      for (const [a, b] of rx.r) {
        for (let c = Math.max(a, 65); c <= Math.min(b, 90); c++) extra.push([c + 32, c + 32]);
        for (let c = Math.max(a, 97); c <= Math.min(b, 122); c++) extra.push([c - 32, c - 32]);
      }
      return extra.length ? { k: "chars", r: normalizeRanges([...rx.r, ...extra]) } : rx;
    }
    case "rep":
      return { ...rx, item: caseless(rx.item) };
    default:
      return { k: rx.k, items: rx.items.map(caseless) };
  }
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function esc(seg: string): string {
  return seg.replace(/~/g, "~0").replace(/\//g, "~1");
}

class Lowering {
  rules = new Map<string, Expr>();
  where = new Map<string, string>();
  unenforced: string[] = [];
  #refRules = new Map<string, string>();
  #n = 0;
  #root: Schema;
  #opts: SchemaIrOptions;

  constructor(root: Schema, opts: SchemaIrOptions) {
    this.#root = root;
    this.#opts = opts;
    const ws = rep(cls([[9, 10], [13, 13], [32, 32]]), 0, opts.maxWhitespace ?? Infinity);
    this.rules.set("ws", ws);
    const strChar = alt(
      cls(RAW),
      seq(
        lit("\\"),
        alt(
          cls([
            ...ch('"'),
            ...ch("\\"),
            ...ch("/"),
            ...ch("b"),
            ...ch("f"),
            ...ch("n"),
            ...ch("r"),
            ...ch("t"),
          ]),
          seq(lit("u"), hex, hex, hex, hex),
        ),
      ),
    );
    this.rules.set("string", seq(lit('"'), rep(strChar, 0, Infinity), lit('"')));
    const intPart = alt(lit("0"), seq(cls([[49, 57]]), rep(cls([[48, 57]]), 0, Infinity)));
    const digits = rep(cls([[48, 57]]), 1, Infinity);
    this.rules.set(
      "number",
      seq(
        opt(lit("-")),
        intPart,
        opt(seq(lit("."), digits)),
        opt(seq(cls([...ch("e"), ...ch("E")]), opt(cls([...ch("+"), ...ch("-")])), digits)),
      ),
    );
    // every integer-valued spelling (1.5e1, 10e-1, -0, …; see integerRange)
    this.rules.set("integer", integerRange(null, null)!);
    const W = ref("ws");
    const member = seq(ref("string"), W, lit(":"), W, ref("value"));
    this.rules.set(
      "object",
      seq(
        lit("{"),
        W,
        opt(seq(member, W, rep(seq(lit(","), W, member, W), 0, Infinity))),
        lit("}"),
      ),
    );
    this.rules.set(
      "array",
      seq(
        lit("["),
        W,
        opt(seq(ref("value"), W, rep(seq(lit(","), W, ref("value"), W), 0, Infinity))),
        lit("]"),
      ),
    );
    this.rules.set(
      "value",
      alt(
        ref("object"),
        ref("array"),
        ref("string"),
        ref("number"),
        lit("true"),
        lit("false"),
        lit("null"),
      ),
    );
    // length-counted string characters: one code point each (a surrogate pair escape is one)
    const notSur = alt(
      seq(cls([[48, 57], [65, 67], [69, 70], [97, 99], [101, 102]]), hex, hex, hex),
      seq(cls([...ch("d"), ...ch("D")]), cls([[48, 55]]), hex, hex),
    );
    const hi = seq(cls([...ch("d"), ...ch("D")]), cls([[56, 57], [65, 66], [97, 98]]), hex, hex);
    const lo = seq(cls([...ch("d"), ...ch("D")]), cls([[67, 70], [99, 102]]), hex, hex);
    this.rules.set(
      "char1",
      alt(
        cls(RAW),
        seq(
          lit("\\"),
          alt(
            cls([
              ...ch('"'),
              ...ch("\\"),
              ...ch("/"),
              ...ch("b"),
              ...ch("f"),
              ...ch("n"),
              ...ch("r"),
              ...ch("t"),
            ]),
            seq(lit("u"), notSur),
            seq(lit("u"), hi, lit("\\u"), lo),
          ),
        ),
      ),
    );
  }

  fail(ptr: string, msg: string): never {
    throw new TokenlabError(`jsonSchema at ${ptr.startsWith("#") ? ptr : "#" + ptr}: ${msg}`, {
      hint: "fix the schema there (see json-schema.org for the keyword)",
    });
  }

  note(ptr: string, what: string): void {
    const s = `${ptr.startsWith("#") ? ptr : "#" + ptr}: ${what}`;
    if (!this.unenforced.includes(s)) this.unenforced.push(s);
  }

  fresh(prefix: string, e: Expr, at: string): string {
    const name = `${prefix}#${this.#n++}`;
    this.rules.set(name, e);
    this.where.set(name, at);
    return name;
  }

  resolve(refStr: string, ptr: string): { schema: Schema; at: string } {
    if (!refStr.startsWith("#")) {
      this.fail(
        ptr,
        `$ref ${JSON.stringify(refStr)}: only references within the schema (#/…) are supported`,
      );
    }
    const path = decodeURIComponent(refStr.slice(1));
    let cur: unknown = this.#root;
    if (path !== "") {
      if (!path.startsWith("/")) {
        this.fail(
          ptr,
          `$ref ${JSON.stringify(refStr)} is not a JSON pointer (anchors are not supported)`,
        );
      }
      for (const raw of path.slice(1).split("/")) {
        const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
        if (isObj(cur) && seg in cur) cur = cur[seg];
        else if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) {
          cur = cur[Number(seg)];
        } else this.fail(ptr, `$ref ${JSON.stringify(refStr)} points at nothing`);
      }
    }
    if (typeof cur !== "boolean" && !isObj(cur)) {
      this.fail(ptr, `$ref ${JSON.stringify(refStr)} is not a schema`);
    }
    return { schema: cur as Schema, at: "#" + path };
  }

  refRule(refStr: string, ptr: string): Expr | null {
    const { schema, at } = this.resolve(refStr, ptr);
    let name = this.#refRules.get(at);
    if (name === undefined) {
      name = `ref:${at}`;
      this.#refRules.set(at, name);
      this.rules.set(name, EMPTY); // placeholder for recursion
      this.where.set(name, at);
      const e = this.gen(schema, at);
      if (e === null) {
        this.rules.set(name, { k: "alt", items: [] });
        return null;
      }
      this.rules.set(name, e);
    }
    return ref(name, at);
  }

  /** A rule holding e (so big expressions are not copied). */
  asRule(e: Expr, at: string): Expr {
    if (e.k === "ref") return e;
    return ref(this.fresh("s", e, at), at);
  }

  gen(s: Schema, ptr: string): Expr | null {
    if (s === true) return ref("value");
    if (s === false) return null;
    if (!isObj(s)) {
      return this.fail(ptr, `a schema must be an object or a boolean, got ${JSON.stringify(s)}`);
    }
    for (const k of Object.keys(s)) {
      if (HANDLED.has(k) || ANNOTATIONS.has(k)) continue;
      if (NOT_ENFORCED.has(k)) this.note(ptr, k);
      else if (this.#opts.strict) {
        this.fail(ptr, `unknown keyword ${JSON.stringify(k)}`);
      } else this.note(ptr, `${k} (unknown keyword)`);
    }
    if ("$ref" in s) {
      if (typeof s.$ref !== "string") this.fail(ptr, "$ref must be a string");
      const others = Object.keys(s).filter((k) => k !== "$ref" && HANDLED.has(k));
      if (others.length) this.note(ptr, `${others.join(", ")} beside $ref (only $ref applies)`);
      return this.refRule(s.$ref as string, ptr);
    }
    if ("allOf" in s) {
      const parts = s.allOf;
      if (!Array.isArray(parts) || parts.length === 0) {
        this.fail(ptr + "/allOf", "allOf must be a non-empty array");
      }
      let merged: Record<string, unknown> = { ...s };
      delete merged.allOf;
      (parts as unknown[]).forEach((p, i) => {
        let q = p;
        if (isObj(q) && typeof q.$ref === "string") {
          q = this.resolve(q.$ref, `${ptr}/allOf/${i}`).schema;
        }
        if (q === true) return;
        if (q === false) merged = { not: {} };
        if (!isObj(q)) this.fail(`${ptr}/allOf/${i}`, "not a schema");
        merged = this.merge(merged, q as Record<string, unknown>, `${ptr}/allOf/${i}`);
      });
      if ("not" in merged && isObj(merged.not) && Object.keys(merged.not).length === 0) return null;
      return this.gen(merged, ptr);
    }
    const branchKey = "anyOf" in s ? "anyOf" : "oneOf" in s ? "oneOf" : null;
    if (branchKey) {
      const branches = s[branchKey];
      if (!Array.isArray(branches) || branches.length === 0) {
        this.fail(`${ptr}/${branchKey}`, `${branchKey} must be a non-empty array`);
      }
      if ("anyOf" in s && "oneOf" in s) this.note(ptr, "oneOf beside anyOf (only anyOf applies)");
      if (branchKey === "oneOf" && (branches as unknown[]).length > 1 && !disjointTypes(branches)) {
        this.note(ptr, "oneOf exclusivity (applied as anyOf)");
      }
      const rest: Record<string, unknown> = { ...s };
      delete rest.anyOf;
      delete rest.oneOf;
      const hasRest = Object.keys(rest).some((k) => HANDLED.has(k));
      const out: Expr[] = [];
      (branches as unknown[]).forEach((b, i) => {
        const at = `${ptr}/${branchKey}/${i}`;
        let e: Expr | null;
        if (!hasRest) e = this.gen(b as Schema, at);
        else {
          let q = b;
          if (isObj(q) && typeof q.$ref === "string") q = this.resolve(q.$ref, at).schema;
          if (q === false) return;
          e = this.gen(q === true ? rest : this.merge(rest, q as Record<string, unknown>, at), at);
        }
        if (e) out.push(e);
      });
      return out.length ? alt(...out) : null;
    }
    if ("const" in s) return this.constExpr(s.const, ptr + "/const");
    if ("enum" in s) {
      if (!Array.isArray(s.enum)) this.fail(ptr + "/enum", "enum must be an array");
      const types = this.types(s, ptr);
      const vals = (s.enum as unknown[]).filter((v) => types.some((t) => typeMatches(t, v)));
      return vals.length ? alt(...vals.map((v, i) => this.constExpr(v, `${ptr}/enum/${i}`))) : null;
    }
    const types = this.types(s, ptr);
    const out: Expr[] = [];
    for (const t of types) {
      const e = this.typed(t, s, ptr);
      if (e) out.push(e);
    }
    return out.length ? alt(...out) : null;
  }

  types(s: Record<string, unknown>, ptr: string): string[] {
    if (!("type" in s)) return ["null", "boolean", "object", "array", "string", "number"];
    const t = s.type;
    const list = Array.isArray(t) ? t : [t];
    list.forEach((x, i) => {
      if (typeof x !== "string" || !TYPES.includes(x)) {
        this.fail(
          Array.isArray(t) ? `${ptr}/type/${i}` : `${ptr}/type`,
          `unknown type ${JSON.stringify(x)} (one of ${TYPES.join(", ")})`,
        );
      }
    });
    if (list.length === 0) this.fail(`${ptr}/type`, "type must not be an empty array");
    const set = list as string[];
    return set.includes("number") ? set.filter((x) => x !== "integer") : set;
  }

  merge(
    a: Record<string, unknown>,
    b: Record<string, unknown>,
    ptr: string,
  ): Record<string, unknown> {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) {
      if (!(k in out) || ANNOTATIONS.has(k)) {
        if (!ANNOTATIONS.has(k)) out[k] = v;
        continue;
      }
      const cur = out[k];
      if (JSON.stringify(cur) === JSON.stringify(v)) continue;
      if (k === "required" && Array.isArray(cur) && Array.isArray(v)) {
        out[k] = [...new Set([...cur, ...v])];
      } else if (k === "properties" && isObj(cur) && isObj(v)) {
        const p: Record<string, unknown> = { ...cur };
        for (const [pk, pv] of Object.entries(v)) p[pk] = pk in p ? { allOf: [p[pk], pv] } : pv;
        out[k] = p;
      } else if (k === "type") {
        const x = (Array.isArray(cur) ? cur : [cur]) as string[];
        const y = (Array.isArray(v) ? v : [v]) as string[];
        const both = x.filter((t) => y.includes(t) || (t === "integer" && y.includes("number")));
        for (const t of y) {
          if (t === "integer" && x.includes("number") && !both.includes(t)) both.push(t);
        }
        out[k] = both;
      } else if (
        (k === "maxLength" || k === "maxItems") && typeof cur === "number" && typeof v === "number"
      ) {
        out[k] = Math.min(cur, v);
      } else if (
        (k === "minLength" || k === "minItems") && typeof cur === "number" && typeof v === "number"
      ) {
        out[k] = Math.max(cur, v);
      } else this.note(ptr, `${k} conflicting with an allOf sibling (the first applies)`);
    }
    return out;
  }

  typed(t: string, s: Record<string, unknown>, ptr: string): Expr | null {
    switch (t) {
      case "null":
        return lit("null");
      case "boolean":
        return alt(lit("true"), lit("false"));
      case "number":
      case "integer":
        return this.numberExpr(t, s, ptr);
      case "string":
        return this.stringExpr(s, ptr);
      case "object":
        return this.objectExpr(s, ptr);
      case "array":
        return this.arrayExpr(s, ptr);
    }
    return null;
  }

  // Integer bounds become digit-range grammar (value = the integer part; a ".0…" tail keeps
  // the value, exponents are refused when bounded); bounds on non-integers are unenforced.
  numberExpr(t: string, s: Record<string, unknown>, ptr: string): Expr | null {
    let lo = -Infinity, hi = Infinity;
    let any = false;
    for (const k of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]) {
      if (!(k in s)) continue;
      const v = s[k];
      if (typeof v === "boolean" && (k === "exclusiveMinimum" || k === "exclusiveMaximum")) {
        continue; // draft 4
      }
      if (typeof v !== "number" || !Number.isFinite(v)) {
        this.fail(`${ptr}/${k}`, `${k} must be a finite number, got ${JSON.stringify(v)}`);
      }
      any = true;
    }
    if (!any) return ref(t);
    const num = (
      k: string,
    ): number | undefined => (typeof s[k] === "number" ? s[k] as number : undefined);
    const min = num("minimum"), max = num("maximum");
    const xmin = num("exclusiveMinimum"), xmax = num("exclusiveMaximum");
    if (t === "number") {
      // the tightest bound on each side; at equal values the strict one
      let lo: number | null = null, lox = false, hi: number | null = null, hix = false;
      const lower = (v: number | undefined, x: boolean) => {
        if (v !== undefined && (lo === null || v > lo || (v === lo && x))) lo = v, lox = x;
      };
      const upper = (v: number | undefined, x: boolean) => {
        if (v !== undefined && (hi === null || v < hi || (v === hi && x))) hi = v, hix = x;
      };
      lower(min, s.exclusiveMinimum === true);
      lower(xmin, true);
      upper(max, s.exclusiveMaximum === true);
      upper(xmax, true);
      const e = numberRange(lo, lox, hi, hix);
      return e && this.asRule(e, ptr);
    }
    if (min !== undefined) {
      lo = Math.max(lo, s.exclusiveMinimum === true ? Math.floor(min) + 1 : Math.ceil(min));
    }
    if (max !== undefined) {
      hi = Math.min(hi, s.exclusiveMaximum === true ? Math.ceil(max) - 1 : Math.floor(max));
    }
    if (xmin !== undefined) lo = Math.max(lo, Math.floor(xmin) + 1);
    if (xmax !== undefined) hi = Math.min(hi, Math.ceil(xmax) - 1);
    if (lo > hi) return null;
    const big = (v: number) => Number.isFinite(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER;
    if (big(lo) || big(hi)) {
      if (Number.isFinite(lo) && Math.abs(lo) > Number.MAX_SAFE_INTEGER) {
        this.note(ptr, "minimum beyond 2^53");
      }
      if (Number.isFinite(hi) && Math.abs(hi) > Number.MAX_SAFE_INTEGER) {
        this.note(ptr, "maximum beyond 2^53");
      }
      return ref("integer");
    }
    const e = integerRange(Number.isFinite(lo) ? lo : null, Number.isFinite(hi) ? hi : null);
    return e && this.asRule(e, ptr);
  }

  count(s: Record<string, unknown>, k: string, ptr: string): number | undefined {
    if (!(k in s)) return undefined;
    const v = s[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      this.fail(`${ptr}/${k}`, `${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    return v as number;
  }

  stringExpr(s: Record<string, unknown>, ptr: string): Expr | null {
    const minL = this.count(s, "minLength", ptr) ?? 0;
    let maxL = this.count(s, "maxLength", ptr) ?? Infinity;
    if (minL > maxL) return null;
    let pattern: string | undefined;
    let ci = false;
    if ("pattern" in s) {
      if (typeof s.pattern !== "string") this.fail(`${ptr}/pattern`, "pattern must be a string");
      pattern = s.pattern as string;
    }
    if ("format" in s) {
      if (typeof s.format !== "string") this.fail(`${ptr}/format`, "format must be a string");
      const f = Object.hasOwn(FORMATS, s.format as string) ? FORMATS[s.format as string] : null;
      if (!f) this.note(ptr, `format ${JSON.stringify(s.format)}`);
      else if (pattern !== undefined) {
        this.note(ptr, `format ${JSON.stringify(s.format)} beside pattern (the pattern applies)`);
      } else [pattern, ci] = f;
    }
    const W = '"';
    if (pattern !== undefined) {
      let rx: Rx;
      try {
        rx = parsePattern(pattern);
        if (ci) rx = caseless(rx);
      } catch (e) {
        if (e instanceof UnsupportedPattern) {
          this.note(`${ptr}/pattern`, `pattern ${JSON.stringify(pattern)} (${e.message})`);
          rx = null as never;
        } else {return this.fail(
            `${ptr}/pattern`,
            `invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`,
          );}
      }
      if (rx) {
        if (minL > 0 || maxL < Infinity) {
          this.note(ptr, "minLength/maxLength beside pattern (the pattern applies)");
        }
        return this.asRule(seq(lit(W), rxToExpr(rx), lit(W)), ptr);
      }
    }
    if (minL === 0 && maxL === Infinity) return ref("string");
    if (maxL !== Infinity && maxL > MAX_REPEAT) {
      this.note(`${ptr}/maxLength`, `maxLength above ${MAX_REPEAT}`);
      maxL = Infinity;
    }
    if (minL > MAX_REPEAT) {
      return this.fail(`${ptr}/minLength`, `minLength above ${MAX_REPEAT} is not supported`);
    }
    return this.asRule(seq(lit(W), rep(ref("char1"), minL, maxL), lit(W)), ptr);
  }

  constString(v: string): Expr {
    return seq(lit('"'), ...[...v].map((c) => encodeChar(c.codePointAt(0)!)), lit('"'));
  }

  constExpr(v: unknown, ptr: string): Expr {
    if (v === null) return lit("null");
    if (typeof v === "boolean") return lit(String(v));
    if (typeof v === "number") {
      if (!Number.isFinite(v)) this.fail(ptr, "a constant number must be finite");
      // every spelling of the value: 1, 1.0, 10e-1, -0 for 0, …
      return this.asRule(numberRange(v, false, v, false)!, ptr);
    }
    if (typeof v === "string") return this.constString(v);
    if (Array.isArray(v)) {
      const W = ref("ws");
      if (v.length === 0) return seq(lit("["), W, lit("]"));
      const items: Expr[] = [lit("["), W];
      v.forEach((x, i) => {
        if (i > 0) items.push(lit(","), W);
        items.push(this.constExpr(x, `${ptr}/${i}`), W);
      });
      items.push(lit("]"));
      return seq(...items);
    }
    if (isObj(v)) {
      const props: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) props[k] = { const: x };
      return this.objectExpr({
        properties: props,
        required: Object.keys(v),
        additionalProperties: false,
      }, ptr)!;
    }
    return this.fail(ptr, `not a JSON value: ${String(v)}`);
  }

  objectExpr(s: Record<string, unknown>, ptr: string): Expr | null {
    const props = s.properties ?? {};
    if (!isObj(props)) this.fail(`${ptr}/properties`, "properties must be an object");
    const req = s.required ?? [];
    if (!Array.isArray(req) || req.some((x) => typeof x !== "string")) {
      this.fail(`${ptr}/required`, "required must be an array of strings");
    }
    const required = [...new Set(req as string[])];
    const names = Object.keys(props as object);
    for (const r of required) if (!names.includes(r)) names.push(r); // required but undeclared: any value
    // patternProperties: [source, regex, schema, pointer]
    const pats: Array<[string, RegExp, Schema, string]> = [];
    if ("patternProperties" in s) {
      const pp = s.patternProperties;
      if (!isObj(pp)) this.fail(`${ptr}/patternProperties`, "patternProperties must be an object");
      for (const [src, sub] of Object.entries(pp as Record<string, unknown>)) {
        const at = `${ptr}/patternProperties/${esc(src)}`;
        let re: RegExp;
        try {
          re = new RegExp(src, "u");
        } catch (e) {
          return this.fail(at, `invalid regular expression: ${(e as Error).message}`);
        }
        pats.push([src, re, sub as Schema, at]);
      }
    }
    const matching = (n: string) => pats.filter(([, re]) => re.test(n));
    const valueOf = new Map<string, Expr | null>();
    for (const n of names) {
      const at = `${ptr}/properties/${esc(n)}`;
      const sub = (props as Record<string, unknown>)[n];
      const both = matching(n).map(([, , sch]) => sch);
      // a declared name a pattern matches must satisfy both schemas
      if (sub !== undefined) both.unshift(sub as Schema);
      if (both.length === 0) valueOf.set(n, this.additionalValue(s, ptr));
      else valueOf.set(n, this.gen(both.length === 1 ? both[0] : { allOf: both }, at));
    }
    for (const r of required) if (valueOf.get(r) === null) return null;
    const live = names.filter((n) => valueOf.get(n) !== null);
    const addl = this.additionalValue(s, ptr);
    const W = ref("ws");
    // which properties the state tracks: all when few; else the required ones (up to the cap)
    let tracked = live;
    if (live.length > MAX_TRACKED_PROPERTIES) {
      tracked = live.filter((n) => required.includes(n)).slice(0, MAX_TRACKED_PROPERTIES);
      this.note(
        ptr,
        `at most once for optional properties (more than ${MAX_TRACKED_PROPERTIES} properties)`,
      );
      if (required.length > MAX_TRACKED_PROPERTIES) {
        this.note(ptr, `required beyond the first ${MAX_TRACKED_PROPERTIES}`);
      }
    }
    const untracked = live.filter((n) => !tracked.includes(n));
    const reqMask = tracked.reduce((m, n, i) => (required.includes(n) ? m | (1 << i) : m), 0);
    const keyRule = new Map<string, Expr>();
    const valRule = new Map<string, Expr>();
    for (const n of live) {
      keyRule.set(n, ref(this.fresh("key", this.constString(n), `${ptr}/properties/${esc(n)}`)));
      valRule.set(n, this.asRule(valueOf.get(n)!, `${ptr}/properties/${esc(n)}`));
    }
    let addlMember: Expr | null = null;
    if (addl !== null) {
      const keyE = this.otherKey(names);
      addlMember = seq(
        ref(this.fresh("okey", keyE, ptr)),
        W,
        lit(":"),
        W,
        this.asRule(addl, `${ptr}/additionalProperties`),
        W,
      );
    }
    // keys a pattern matches (other than the declared names): exact with
    // additionalProperties false, one pattern (or disjoint ones) and no declared name matching
    // one; otherwise listed (a pattern key may then also take the additional value)
    if (pats.length) {
      const members: Expr[] = [];
      for (const [src, , sch, at] of pats) {
        const v = this.gen(sch, at);
        if (v === null) continue;
        let key: Expr;
        try {
          key = seq(lit('"'), rxToExpr(parsePattern(src)), lit('"'));
        } catch (e) {
          if (!(e instanceof UnsupportedPattern)) throw e;
          this.note(at, `pattern key ${JSON.stringify(src)} (${e.message})`);
          key = ref("string");
        }
        members.push(seq(ref(this.fresh("pkey", key, at)), W, lit(":"), W, this.asRule(v, at), W));
      }
      if (s.additionalProperties !== false) {
        this.note(ptr, "patternProperties beside additionalProperties other than false");
      } else if (names.some((n) => matching(n).length > 0)) {
        this.note(
          ptr,
          "patternProperties matching a declared name (applied to it; its key may repeat)",
        );
      } else if (pats.length > 1) {
        this.note(ptr, "patternProperties with several patterns (a key matching two takes one)");
      }
      if (members.length) addlMember = addlMember ? alt(addlMember, ...members) : alt(...members);
    }
    // property counts and dependencies, exact when every property present is tracked
    const exact = untracked.length === 0 && addlMember === null;
    const minP = this.count(s, "minProperties", ptr) ?? 0;
    const maxP = this.count(s, "maxProperties", ptr) ?? Infinity;
    if ((minP > 0 || maxP < Infinity) && !exact) {
      this.note(ptr, "minProperties/maxProperties (with additional or untracked properties)");
    }
    const deps: Array<[number, number]> = []; // [bit of the key, bits it requires]
    const bitOf = (n: string): number => (tracked.includes(n) ? 1 << tracked.indexOf(n) : -1);
    for (const kw of ["dependentRequired", "dependencies"]) {
      if (!(kw in s)) continue;
      const d = s[kw];
      if (!isObj(d)) this.fail(`${ptr}/${kw}`, `${kw} must be an object`);
      for (const [k, v] of Object.entries(d as Record<string, unknown>)) {
        if (!Array.isArray(v)) {
          if (kw === "dependentRequired") {
            this.fail(`${ptr}/${kw}/${esc(k)}`, "must be an array of names");
          }
          this.note(`${ptr}/${kw}/${esc(k)}`, "dependencies (schema form)");
          continue;
        }
        if (v.some((x) => typeof x !== "string")) {
          this.fail(`${ptr}/${kw}/${esc(k)}`, "must be an array of names");
        }
        const kb = bitOf(k);
        const needs = (v as string[]).map(bitOf);
        if (kb === -1 && addlMember === null && !untracked.includes(k)) continue; // k never appears
        if (kb === -1 || needs.includes(-1)) {
          this.note(`${ptr}/${kw}/${esc(k)}`, `${kw} (names not tracked)`);
          continue;
        }
        deps.push([kb, needs.reduce((a, b) => a | b, 0)]);
      }
    }
    const pop = (m: number): number => {
      let c = 0;
      for (let x = m; x; x &= x - 1) c++;
      return c;
    };
    const canClose = (m: number): boolean =>
      (m & reqMask) === reqMask && deps.every(([k, need]) => !(m & k) || (m & need) === need) &&
      (!exact || (pop(m) >= minP && pop(m) <= maxP));
    // a subset is live when the object can still be closed from it: never enter a dead end
    const full = (1 << tracked.length) - 1;
    const alive = new Uint8Array(full + 1);
    for (let m = full; m >= 0; m--) {
      if (canClose(m)) alive[m] = 1;
      else if (!exact || pop(m) < maxP) {
        for (let i = 0; i < tracked.length && !alive[m]; i++) {
          if (!(m & (1 << i)) && alive[m | (1 << i)]) alive[m] = 1;
        }
      }
    }
    const base = this.#n++;
    const contName = (m: number): string => `obj${base}:${m}`;
    const nextAlts = (m: number): Expr[] => {
      const out: Expr[] = [];
      tracked.forEach((n, i) => {
        if (m & (1 << i)) return;
        if (exact && pop(m) + 1 > maxP) return;
        if (!alive[m | (1 << i)]) return;
        out.push(
          seq(keyRule.get(n)!, W, lit(":"), W, valRule.get(n)!, W, ref(contName(m | (1 << i)))),
        );
      });
      for (const n of untracked) {
        out.push(seq(keyRule.get(n)!, W, lit(":"), W, valRule.get(n)!, W, ref(contName(m))));
      }
      if (addlMember) out.push(seq(addlMember, ref(contName(m))));
      return out;
    };
    if (!alive[0]) return null;
    for (let m = 0; m <= full; m++) {
      const alts: Expr[] = [];
      const nx = nextAlts(m);
      if (nx.length) alts.push(seq(lit(","), W, alt(...nx)));
      if (canClose(m)) alts.push(lit("}"));
      this.rules.set(contName(m), alts.length ? alt(...alts) : { k: "alt", items: [] });
      this.where.set(contName(m), ptr);
    }
    const first: Expr[] = [];
    const nx0 = nextAlts(0);
    if (nx0.length) first.push(alt(...nx0));
    if (canClose(0)) first.push(lit("}"));
    if (!first.length) return null;
    return this.asRule(seq(lit("{"), W, alt(...first)), ptr);
  }

  additionalValue(s: Record<string, unknown>, ptr: string): Expr | null {
    if (!("additionalProperties" in s)) return ref("value");
    const a = s.additionalProperties;
    if (typeof a !== "boolean" && !isObj(a)) {
      this.fail(`${ptr}/additionalProperties`, "must be a schema or a boolean");
    }
    return this.gen(a as Schema, `${ptr}/additionalProperties`);
  }

  // A JSON string whose raw spelling is none of the names: a trie over the names' code points,
  // leaving it for "free" on any other character.
  otherKey(names: string[]): Expr {
    if (names.length === 0) return ref("string");
    type Node = { kids: Map<number, Node>; end: boolean; id: number };
    let ids = 0;
    const mk = (): Node => ({ kids: new Map(), end: false, id: ids++ });
    const root = mk();
    for (const n of names) {
      let cur = root;
      for (const c of n) {
        const v = c.codePointAt(0)!;
        if (!cur.kids.has(v)) cur.kids.set(v, mk());
        cur = cur.kids.get(v)!;
      }
      cur.end = true;
    }
    const strChar = alt(
      cls(RAW),
      seq(
        lit("\\"),
        alt(
          cls([
            ...ch('"'),
            ...ch("\\"),
            ...ch("/"),
            ...ch("b"),
            ...ch("f"),
            ...ch("n"),
            ...ch("r"),
            ...ch("t"),
          ]),
          seq(lit("u"), hex, hex, hex, hex),
        ),
      ),
    );
    const freeName = this.fresh("free", seq(rep(strChar, 0, Infinity), lit('"')), "otherKey");
    const base = this.#n++;
    const nodeName = (n: Node): string => `ok${base}:${n.id}`;
    const build = (n: Node): void => {
      const alts: Expr[] = [];
      if (!n.end) alts.push(lit('"'));
      const kidRanges: CharRanges = [...n.kids.keys()].map((v) => [v, v]);
      for (const [v, k] of n.kids) {
        alts.push(seq(encodeChar(v), ref(nodeName(k)))); // every spelling of the character
        build(k);
      }
      const free = ref(freeName);
      const other = intersect(negateRanges(kidRanges), RAW);
      if (other.length) alts.push(seq(cls(other), free));
      // escapes that decode to a character that is not a child
      for (const [c, e] of Object.entries(SHORT)) {
        if (!n.kids.has(Number(c))) alts.push(seq(lit("\\" + e), free));
      }
      const bmpKids = new Set([...n.kids.keys()].filter((v) => v < 0x10000));
      const bmp = alt(
        ...[hexExcept(bmpKids, 0, 0xd7ff), hexExcept(bmpKids, 0xdc00, 0xffff)].filter((x) =>
          x !== null
        ) as Expr[],
      );
      alts.push(seq(lit("\\u"), bmp, free));
      // surrogate pairs: a high half no astral child starts with is free; one that some child
      // starts with must be followed by a low half (a lone high surrogate there is refused)
      const highs = new Map<number, Set<number>>();
      for (const v of n.kids.keys()) {
        if (v < 0x10000) continue;
        const h = 0xd800 + ((v - 0x10000) >> 10), l = 0xdc00 + ((v - 0x10000) & 1023);
        if (!highs.has(h)) highs.set(h, new Set());
        highs.get(h)!.add(l);
      }
      const freeHigh = hexExcept(new Set(highs.keys()), 0xd800, 0xdbff);
      if (freeHigh) alts.push(seq(lit("\\u"), freeHigh, free));
      for (const [h, lows] of highs) {
        const rest = hexExcept(lows, 0xdc00, 0xdfff);
        if (rest) alts.push(seq(lit("\\u"), hexCase(h, 4), lit("\\u"), rest, free));
      }
      this.rules.set(nodeName(n), alt(...alts));
      this.where.set(nodeName(n), "otherKey");
    };
    build(root);
    return seq(lit('"'), ref(nodeName(root)));
  }

  arrayExpr(s: Record<string, unknown>, ptr: string): Expr | null {
    const minI = this.count(s, "minItems", ptr) ?? 0;
    let maxI = this.count(s, "maxItems", ptr) ?? Infinity;
    if (minI > maxI) return null;
    let prefix: unknown[] = [];
    let rest: unknown = true;
    let restAt = `${ptr}/items`;
    if ("prefixItems" in s) {
      if (!Array.isArray(s.prefixItems)) {
        this.fail(`${ptr}/prefixItems`, "prefixItems must be an array");
      }
      prefix = s.prefixItems as unknown[];
      if ("items" in s) rest = s.items;
    } else if (Array.isArray(s.items)) {
      prefix = s.items;
      rest = s.additionalItems ?? true;
      restAt = `${ptr}/additionalItems`;
    } else if ("items" in s) rest = s.items;
    const prefE = prefix.map((p, i) => {
      const e = this.gen(p as Schema, `${ptr}/prefixItems/${i}`);
      return e && this.asRule(e, `${ptr}/prefixItems/${i}`);
    });
    const restE0 = this.gen(rest as Schema, restAt);
    const restE = restE0 && this.asRule(restE0, restAt);
    // a null prefix element caps the length before it
    const firstNull = prefE.findIndex((e) => e === null);
    if (firstNull >= 0) maxI = Math.min(maxI, firstNull);
    if (restE === null) maxI = Math.min(maxI, prefix.length);
    if (minI > maxI) return null;
    if (maxI !== Infinity && maxI > MAX_REPEAT) {
      this.note(`${ptr}/maxItems`, `maxItems above ${MAX_REPEAT}`);
      maxI = Infinity;
    }
    if (minI > MAX_REPEAT) {
      this.fail(`${ptr}/minItems`, `minItems above ${MAX_REPEAT} is not supported`);
    }
    const W = ref("ws");
    const el = (i: number): Expr => (i < prefix.length ? prefE[i]! : restE!);
    // tail(i): the elements from index i on, each preceded by a comma
    const tail = (i: number): Expr => {
      if (i >= maxI) return EMPTY;
      if (i >= prefix.length) {
        return rep(
          seq(lit(","), W, restE!, W),
          Math.max(0, minI - i),
          maxI === Infinity ? Infinity : maxI - i,
        );
      }
      const one = seq(lit(","), W, el(i), W, tail(i + 1));
      return i < minI ? one : opt(one);
    };
    if (maxI === 0) return seq(lit("["), W, lit("]"));
    const body = seq(el(0), W, tail(1));
    return this.asRule(seq(lit("["), W, minI > 0 ? body : opt(body), lit("]")), ptr);
  }
}

const DIG = (a: number, b: number): Expr => cls([[48 + a, 48 + b]]);

// Digit strings without leading zeros for the integers in [a, b], given as decimal digit
// strings (0 ≤ a ≤ b; b null: no upper bound).
function natRangeS(a: string, b: string | null): Expr {
  const out: Expr[] = [];
  const la = a.length;
  if (b === null) {
    out.push(sameLen(a, "9".repeat(la)));
    out.push(seq(DIG(1, 9), rep(DIG(0, 9), la, Infinity)));
    return alt(...out);
  }
  const lb = b.length;
  for (let len = la; len <= lb; len++) {
    const x = len === la ? a : "1" + "0".repeat(len - 1);
    const y = len === lb ? b : "9".repeat(len);
    out.push(sameLen(x, y));
  }
  return alt(...out);
}

// Exact decimal magnitudes: integer digits without leading zeros ("0" for zero), fraction
// digits without trailing zeros.
interface Dec {
  i: string;
  f: string;
}

function decOf(v: number): { neg: boolean; d: Dec } {
  // the shortest round-trip spelling is the decimal the schema's author wrote
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(Math.abs(v)))!;
  return { neg: v < 0, d: shiftDec({ i: m[1], f: m[2] ?? "" }, Number(m[3] ?? 0)) };
}

function normDec(i: string, f: string): Dec {
  return { i: i.replace(/^0+(?=.)/, ""), f: f.replace(/0+$/, "") };
}

/** d × 10^k. */
function shiftDec(d: Dec, k: number): Dec {
  if (k >= 0) {
    const f = d.f.padEnd(k, "0");
    return normDec(d.i + f.slice(0, k), f.slice(k));
  }
  const i = d.i.padStart(-k + 1, "0");
  return normDec(i.slice(0, i.length + k), i.slice(i.length + k) + d.f);
}

function cmpDec(a: Dec, b: Dec): number {
  if (a.i.length !== b.i.length) return a.i.length - b.i.length;
  if (a.i !== b.i) return a.i < b.i ? -1 : 1;
  const n = Math.max(a.f.length, b.f.length);
  const x = a.f.padEnd(n, "0"), y = b.f.padEnd(n, "0");
  return x === y ? 0 : x < y ? -1 : 1;
}

const ZERO: Dec = { i: "0", f: "" };
const isZero = (d: Dec): boolean => d.i === "0" && d.f === "";
// the largest exponent magnitude a bounded number may be written with
const MAX_BOUNDED_EXP = 8;
const DIGITS = rep(DIG(0, 9), 1, Infinity);
const EXP_ANY = seq(cls([[69, 69], [101, 101]]), opt(cls([[43, 43], [45, 45]])), DIGITS);
const EXP_POS = seq(cls([[69, 69], [101, 101]]), opt(lit("+")), DIGITS);

// Fraction digit strings F (empty: no fraction) with x ≤ 0.F ≤ y (< where strict); x, y are
// digit strings after the point, null when unbounded; only zeros after the first k digits.
// eps: F may be empty; ne: the non-empty Fs.
function fracSet(
  x: string | null,
  xs: boolean,
  y: string | null,
  ys: boolean,
  k = Infinity,
): { eps: boolean; ne: Expr | null } {
  if (x === "" && !xs) x = null;
  const zeros = rep(lit("0"), 1, Infinity);
  if (k === 0) {
    // F is zeros: value 0
    const ok = x === null && !(y === "" && ys);
    return { eps: ok, ne: ok ? zeros : null };
  }
  if (x === null && y === null) {
    return { eps: true, ne: k === Infinity ? DIGITS : seq(rep(DIG(0, 9), 1, k), opt(zeros)) };
  }
  if (y === "") {
    return ys || x !== null ? { eps: false, ne: null } : { eps: true, ne: zeros };
  }
  if (x === "" && y === null && k === Infinity) {
    return {
      eps: false,
      ne: seq(rep(lit("0"), 0, Infinity), DIG(1, 9), rep(DIG(0, 9), 0, Infinity)),
    };
  }
  const groups: Array<{ lo: number; hi: number; key: string; rest: Expr }> = [];
  const dx = x === null ? 0 : x === "" ? 0 : Number(x[0]);
  const dy = y === null ? 9 : Number(y[0]);
  for (let c = dx; c <= dy; c++) {
    const nx = x !== null && c === dx ? x.slice(1) : null;
    const ny = y !== null && c === dy ? y.slice(1) : null;
    const r = fracSet(nx, xs, ny, ys, k - 1);
    if (!r.eps && !r.ne) continue;
    const key = `${nx}|${ny}`;
    const last = groups[groups.length - 1];
    if (last && last.key === key && last.hi === c - 1) last.hi = c;
    else {
      const rest = r.ne ? (r.eps ? opt(r.ne) : r.ne) : EMPTY;
      groups.push({ lo: c, hi: c, key, rest });
    }
  }
  const ne = groups.length ? alt(...groups.map((g) => seq(DIG(g.lo, g.hi), g.rest))) : null;
  return { eps: x === null, ne };
}

// "int(.frac)?" spellings (no sign, no exponent) of the magnitudes in [a, b] (b null: ∞) whose
// fraction has only zeros after its first k digits.
function magnitudes(a: Dec, ax: boolean, b: Dec | null, bx: boolean, k = Infinity): Expr | null {
  if (b) {
    const c = cmpDec(a, b);
    if (c > 0 || (c === 0 && (ax || bx))) return null;
  }
  const fr = (x: string | null, xs: boolean, y: string | null, ys: boolean): Expr | null => {
    const r = fracSet(x, xs, y, ys, k);
    const dot = r.ne && seq(lit("."), r.ne);
    return r.eps ? (dot ? opt(dot) : EMPTY) : dot;
  };
  const out: Expr[] = [];
  const push = (head: Expr, tail: Expr | null) => tail && out.push(seq(head, tail));
  if (b && a.i === b.i) push(lit(a.i), fr(a.f, ax, b.f, bx));
  else {
    push(lit(a.i), fr(a.f, ax, null, false));
    const lo = (BigInt(a.i) + 1n).toString();
    const hi = b && (BigInt(b.i) - 1n).toString();
    if (hi === null || BigInt(lo) <= BigInt(hi)) {
      push(natRangeS(lo, hi), fr(null, false, null, false));
    }
    if (b) push(lit(b.i), fr(null, false, b.f, bx));
  }
  return out.length ? alt(...out) : null;
}

// An exponent spelling [eE][+-]?digits whose value is e.
function expSpelling(e: number): Expr {
  const E = cls([[69, 69], [101, 101]]);
  const zeros = rep(lit("0"), 0, Infinity);
  if (e === 0) return seq(E, opt(cls([[43, 43], [45, 45]])), rep(lit("0"), 1, Infinity));
  return seq(E, e > 0 ? opt(lit("+")) : lit("-"), zeros, lit(String(Math.abs(e))));
}

// Magnitudes in [a, b] with every exponent spelling: exact for exponents up to
// ±MAX_BOUNDED_EXP (beyond, only when the bounds do not depend on it: [0, ∞), (0, ∞), zero).
function magnitudesExp(a: Dec, ax: boolean, b: Dec | null, bx: boolean): Expr | null {
  if (b === null && isZero(a)) {
    const m = magnitudes(a, ax, null, false);
    return m && seq(m, opt(EXP_ANY));
  }
  const out: Expr[] = [];
  const m0 = magnitudes(a, ax, b, bx);
  if (m0) out.push(m0);
  for (let e = -MAX_BOUNDED_EXP; e <= MAX_BOUNDED_EXP; e++) {
    const m = magnitudes(shiftDec(a, -e), ax, b && shiftDec(b, -e), bx);
    if (m) out.push(seq(m, expSpelling(e)));
  }
  if (isZero(a) && !ax) {
    out.push(seq(lit("0"), opt(seq(lit("."), rep(lit("0"), 1, Infinity))), EXP_ANY));
  }
  return out.length ? alt(...out) : null;
}

// Integer-valued magnitudes in [a, b] (integers; b null: ∞) in every spelling: m×10^e with at
// most e significant fraction digits, or an integer part ending in -e zeros; exact for
// exponents up to ±MAX_BOUNDED_EXP, and for any exponent on an integer mantissa when b is ∞.
function intMagnitudes(a: Dec, b: Dec | null): Expr | null {
  const out: Expr[] = [];
  const base = magnitudes(a, false, b, false, 0);
  if (!base) return null;
  out.push(base);
  if (b === null) out.push(seq(base, expSpelling(0)), seq(base, EXP_POS));
  else out.push(seq(base, expSpelling(0)));
  for (let e = 1; e <= MAX_BOUNDED_EXP; e++) {
    const m = magnitudes(shiftDec(a, -e), false, b && shiftDec(b, -e), false, e);
    if (m) out.push(seq(m, expSpelling(e)));
    // an integer part ending in e zeros: value = its digits without them
    const lo = isZero(a) ? { i: "1", f: "" } : a;
    if (!b || cmpDec(lo, b) <= 0) {
      out.push(
        seq(
          natRangeS(lo.i, b && b.i),
          lit("0".repeat(e)),
          opt(seq(lit("."), rep(lit("0"), 1, Infinity))),
          expSpelling(-e),
        ),
      );
    }
  }
  if (isZero(a)) out.push(seq(lit("0"), opt(seq(lit("."), rep(lit("0"), 1, Infinity))), EXP_ANY));
  return alt(...out);
}

/** Every JSON spelling of the integers in [lo, hi] (safe integers; null: unbounded). */
function integerRange(lo: number | null, hi: number | null): Expr | null {
  if (lo !== null && hi !== null && lo > hi) return null;
  const out: Expr[] = [];
  const dec = (v: number): Dec => ({ i: String(Math.abs(v)), f: "" });
  if (hi === null || hi >= 0) {
    const m = intMagnitudes(lo === null || lo <= 0 ? ZERO : dec(lo), hi === null ? null : dec(hi));
    if (m) out.push(m);
  }
  if (lo === null || lo <= 0) {
    const a = hi !== null && hi < 0 ? dec(hi) : ZERO;
    const m = intMagnitudes(a, lo === null ? null : dec(lo));
    if (m) out.push(seq(lit("-"), m));
  }
  return out.length ? alt(...out) : null;
}

/**
 * Every JSON number spelling whose value lies between the bounds (null: unbounded; x: strict),
 * exact for exponents up to ±MAX_BOUNDED_EXP.
 */
function numberRange(
  lo: number | null,
  lox: boolean,
  hi: number | null,
  hix: boolean,
): Expr | null {
  const L = lo === null ? null : decOf(lo), H = hi === null ? null : decOf(hi);
  const out: Expr[] = [];
  // values ≥ 0 written without a sign: magnitudes in [max(lo, 0), hi]
  if (!(H && (H.neg || (isZero(H.d) && hix)))) {
    const pos = L === null || L.neg ? magnitudesExp(ZERO, false, H && H.d, hix) : magnitudesExp(
      L.d,
      lox,
      H && H.d,
      hix,
    );
    if (pos) out.push(pos);
  }
  // values ≤ 0 written with "-": magnitudes in [max(-hi, 0), -lo]
  if (!(L && !L.neg && (!isZero(L.d) || lox))) {
    const a = H && H.neg ? H.d : ZERO;
    const ax = H !== null && (H.neg || isZero(H.d)) && hix;
    const neg = magnitudesExp(a, ax, L && L.d, L !== null && lox);
    if (neg) out.push(seq(lit("-"), neg));
  }
  return out.length ? alt(...out) : null;
}

// Equal-length digit strings x ≤ y: every digit string between them.
function sameLen(x: string, y: string): Expr {
  if (x.length === 0) return EMPTY;
  const x0 = Number(x[0]), y0 = Number(y[0]);
  if (x.length === 1) return DIG(x0, y0);
  if (x0 === y0) return seq(lit(x[0]), sameLen(x.slice(1), y.slice(1)));
  const n = x.length - 1;
  // first digits whose every continuation is in range share one branch (linear size)
  const lowFull = /^0*$/.test(x.slice(1)), highFull = /^9*$/.test(y.slice(1));
  const out: Expr[] = [];
  if (!lowFull) out.push(seq(lit(x[0]), sameLen(x.slice(1), "9".repeat(n))));
  const a = lowFull ? x0 : x0 + 1, b = highFull ? y0 : y0 - 1;
  if (a <= b) out.push(seq(DIG(a, b), rep(DIG(0, 9), n, n)));
  if (!highFull) out.push(seq(lit(y[0]), sameLen("0".repeat(n), y.slice(1))));
  return alt(...out);
}

// Whether oneOf branches are exclusive by their types alone (then oneOf is anyOf).
function disjointTypes(branches: unknown[]): boolean {
  const seen = new Set<string>();
  for (const b of branches) {
    if (!isObj(b) || "$ref" in b || !("type" in b)) return false;
    const ts = (Array.isArray(b.type) ? b.type : [b.type]) as string[];
    const all = new Set(ts.includes("number") ? [...ts, "integer"] : ts);
    if (all.has("integer")) all.add("number");
    for (const t of all) if (seen.has(t)) return false;
    for (const t of all) seen.add(t);
  }
  return true;
}

function typeMatches(t: string, v: unknown): boolean {
  switch (t) {
    case "null":
      return v === null;
    case "boolean":
      return typeof v === "boolean";
    case "number":
      return typeof v === "number";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "string":
      return typeof v === "string";
    case "array":
      return Array.isArray(v);
    case "object":
      return isObj(v);
  }
  return false;
}

/** Lowers a schema: the root rule is `ws value ws` for the schema's value. */
export function schemaToIr(
  schema: unknown,
  opts: SchemaIrOptions,
): { ir: GrammarIr; unenforced: string[] } {
  if (typeof schema !== "boolean" && !isObj(schema)) {
    throw new TokenlabError(
      `jsonSchema at #: a schema must be an object or a boolean, got ${JSON.stringify(schema)}`,
    );
  }
  const L = new Lowering(schema as Schema, opts);
  const e = L.gen(schema as Schema, "");
  if (e === null) {
    throw new TokenlabError("jsonSchema at #: no JSON value satisfies this schema", {
      hint: "check for false schemas, empty enums or impossible bounds",
    });
  }
  L.rules.set("root", seq(ref("ws"), e, ref("ws")));
  return { ir: { rules: L.rules, where: L.where, root: "root" }, unenforced: L.unenforced };
}
