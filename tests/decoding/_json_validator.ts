// A small JSON Schema validator written for the grammar tests, independent of the grammar
// compiler: it walks the parsed value against the keywords the test schemas use.

type S = Record<string, unknown> | boolean;

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function deepEq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEq(x, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && deepEq(a[k], b[k]));
  }
  return false;
}

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case "null":
      return v === null;
    case "boolean":
      return typeof v === "boolean";
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "string":
      return typeof v === "string";
    case "array":
      return Array.isArray(v);
    case "object":
      return isObj(v);
  }
  throw new Error(`validator: type ${t}`);
}

function formatOk(f: string, v: string): boolean {
  const date = (s: string): boolean => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return false;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const dt = new Date(Date.UTC(2000, 0, 1));
    dt.setUTCFullYear(y, mo - 1, d);
    return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
  };
  switch (f) {
    case "date":
      return date(v);
    case "date-time": {
      // RFC 3339: full-date "T" hh:mm:ss[.frac] (Z | ±hh:mm); a leap second allowed as :60
      const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/
        .exec(v);
      if (!m || !date(m[1])) return false;
      const [h, mi, s] = [Number(m[2]), Number(m[3]), Number(m[4])];
      if (h > 23 || mi > 59 || s > 60) return false;
      return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
    }
    case "uuid":
      return v.length === 36 &&
        [...v].every((c, i) =>
          [8, 13, 18, 23].includes(i) ? c === "-" : "0123456789abcdefABCDEF".includes(c)
        );
  }
  throw new Error(`validator: format ${f}`);
}

/** Errors of v against schema s (empty when valid). */
export function validate(root: S, v: unknown): string[] {
  const errs: string[] = [];
  const resolve = (ref: string): S => {
    let cur: unknown = root;
    for (const seg of ref.slice(2).split("/")) cur = (cur as Record<string, unknown>)[seg];
    return cur as S;
  };
  const go = (s: S, v: unknown, at: string): boolean => {
    const before = errs.length;
    const bad = (m: string) => errs.push(`${at}: ${m}`);
    if (s === true) return true;
    if (s === false) return bad("false schema"), false;
    if (typeof s.$ref === "string") return go(resolve(s.$ref), v, at);
    if ("type" in s) {
      const ts = Array.isArray(s.type) ? s.type as string[] : [s.type as string];
      if (!ts.some((t) => typeOk(t, v))) bad(`type ${ts}`);
    }
    if ("const" in s && !deepEq(s.const, v)) bad("const");
    if (Array.isArray(s.enum) && !s.enum.some((e) => deepEq(e, v))) bad("enum");
    if (Array.isArray(s.anyOf)) {
      const save = errs.length;
      const okAny = s.anyOf.some((b) => go(b as S, v, at));
      errs.length = save;
      if (!okAny) bad("anyOf");
    }
    if (Array.isArray(s.oneOf)) {
      const save = errs.length;
      const n = s.oneOf.filter((b) => go(b as S, v, at)).length;
      errs.length = save;
      if (n !== 1) bad(`oneOf matched ${n}`);
    }
    if (typeof v === "string") {
      const len = [...v].length;
      if (typeof s.minLength === "number" && len < s.minLength) bad("minLength");
      if (typeof s.maxLength === "number" && len > s.maxLength) bad("maxLength");
      if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v)) bad("pattern");
      if (typeof s.format === "string" && !formatOk(s.format, v)) bad("format");
    }
    if (typeof v === "number") {
      if (typeof s.minimum === "number" && v < s.minimum) bad("minimum");
      if (typeof s.maximum === "number" && v > s.maximum) bad("maximum");
      if (typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum) {
        bad("exclusiveMinimum");
      }
      if (typeof s.exclusiveMaximum === "number" && v >= s.exclusiveMaximum) {
        bad("exclusiveMaximum");
      }
    }
    if (Array.isArray(v)) {
      if (typeof s.minItems === "number" && v.length < s.minItems) bad("minItems");
      if (typeof s.maxItems === "number" && v.length > s.maxItems) bad("maxItems");
      const pre = Array.isArray(s.prefixItems) ? s.prefixItems as S[] : [];
      v.forEach((x, i) => {
        if (i < pre.length) go(pre[i], x, `${at}/${i}`);
        else if ("items" in s) go(s.items as S, x, `${at}/${i}`);
      });
    }
    if (isObj(v)) {
      const props = (s.properties ?? {}) as Record<string, S>;
      for (const r of (s.required ?? []) as string[]) if (!(r in v)) bad(`required ${r}`);
      for (const [k, x] of Object.entries(v)) {
        if (k in props) go(props[k], x, `${at}/${k}`);
        else if ("additionalProperties" in s) go(s.additionalProperties as S, x, `${at}/${k}`);
      }
    }
    return errs.length === before;
  };
  go(root, v, "#");
  return errs;
}
