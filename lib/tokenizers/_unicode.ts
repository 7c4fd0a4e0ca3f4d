// The peers' Unicode tables where V8's differ. tiktoken (Rust regex / fancy-regex) and HF
// `tokenizers` (Oniguruma, Rust std) take `\s` to be Unicode White_Space; V8's `\s` adds U+FEFF
// and lacks U+0085. HF's normalizers use an older Unicode version than String.prototype.normalize.
// Every other class the bundled patterns use (\p{L}, \p{Lu}, …, \p{M}, \p{N}, \p{P}, \p{S}) has
// the same members in V8 as in both peers (probed by tests/fixtures/make_unicode_parity.py).
import { TokenlabError } from "../util/errors.ts";
import { HF_NORMALIZER_OPAQUE } from "./_unicode_data.ts";

/** Unicode White_Space, as a character-class body valid in JS, Rust regex and Oniguruma. */
export const WHITE_SPACE_CLASS =
  "\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/** Rust regex's Unicode `\w` (HF's Whitespace pre-tokenizer), as a JS `u`-mode class body. */
export const WORD_CLASS = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";

function cannot(source: string, at: number, what: string): never {
  throw new TokenlabError(
    `cannot translate ${what} at offset ${at} of the pre-tokenizer pattern ${
      JSON.stringify(source)
    } to Unicode White_Space`,
    {
      hint: "write the whitespace set out as a character class (e.g. [\\t-\\r \\u0085\\u00A0…]) " +
        "instead of \\s / \\S there",
    },
  );
}

/**
 * Rewrites `\s` and `\S` in a regex source (JS syntax) so they mean Unicode White_Space, as in
 * tiktoken and HF, instead of JS's set. Idempotent: the result has no `\s` / `\S` left.
 * Inside a class, `[…\s…]` gets the ranges inlined; `[X\S]` becomes `(?:[^WS]|[X])` and
 * `[^X\S]` becomes `(?:(?![X])[WS])`. With the `v` flag nested classes do the same job.
 */
export function whiteSpaceSource(source: string, flags = "u"): string {
  if (!/\\[sS]/.test(source)) return source;
  const ws = `[${WHITE_SPACE_CLASS}]`;
  const nonWs = `[^${WHITE_SPACE_CLASS}]`;
  let out = "";
  let i = 0;
  const n = source.length;
  while (i < n) {
    const ch = source[i];
    if (ch === "\\") {
      const next = source[i + 1];
      if (next === undefined) cannot(source, i, "a trailing backslash");
      if (next === "s") out += ws;
      else if (next === "S") out += nonWs;
      else out += ch + next;
      i += 2;
      continue;
    }
    if (ch !== "[") {
      out += ch;
      i++;
      continue;
    }
    if (flags.includes("v")) {
      // v mode nests classes, so \s / \S can be replaced by a class wherever they stand
      out += ch;
      i++;
      continue;
    }
    // u mode: a flat class up to the first unescaped ]
    let j = i + 1;
    const negated = source[j] === "^";
    if (negated) j++;
    let body = "";
    let hasNonWs = false;
    for (;;) {
      if (j >= n) cannot(source, i, "an unterminated character class");
      const c = source[j];
      if (c === "]") break;
      if (c === "\\") {
        const e = source[j + 1];
        if (e === undefined) cannot(source, j, "a trailing backslash");
        if (e === "s" || e === "S") {
          if (source[j + 2] === "-" && source[j + 3] !== "]") {
            cannot(source, j, `a range from \\${e}`);
          }
          if (body.endsWith("-") && !body.endsWith("\\-") && body.length > 1) {
            cannot(source, j, `a range to \\${e}`);
          }
          if (e === "s") body += WHITE_SPACE_CLASS;
          else hasNonWs = true;
        } else body += c + e;
        j += 2;
        continue;
      }
      body += c;
      j++;
    }
    if (!hasNonWs) out += `[${negated ? "^" : ""}${body}]`;
    else if (!negated) out += body ? `(?:${nonWs}|[${body}])` : nonWs;
    else out += body ? `(?:(?![${body}])${ws})` : ws;
    i = j + 1;
  }
  return out;
}

/**
 * Compiles a pre-tokenizer regex with the peers' White_Space meaning of `\s` / `\S`.
 */
export function peerRegExp(source: string, flags = "gu"): RegExp {
  return new RegExp(whiteSpaceSource(source, flags), flags);
}

/**
 * Compiles a regex written for Oniguruma (the Split and Replace patterns of a tokenizer.json) as
 * HF `tokenizers` runs it: its anchors spelled in JavaScript — `\z` and `\A` (the end and the
 * start of the text) and `$` and `^` (Ruby syntax: the end and start of a line) — and `\s` as
 * White_Space.
 */
export function onigRegExp(source: string, flags = "gu"): RegExp {
  let out = "", inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      const e = source[i + 1] ?? "";
      i++;
      if (!inClass && e === "z") out += "(?![\\s\\S])";
      else if (!inClass && e === "A") out += "(?<![\\s\\S])";
      else out += c + e;
    } else if (inClass) {
      if (c === "]") inClass = false;
      out += c;
    } else if (c === "[") {
      inClass = true;
      out += c;
      if (source[i + 1] === "^") out += source[++i]; // a negated class, not an anchor
      if (source[i + 1] === "]") out += source[++i]; // a literal ] first in the class
    } else if (c === "$") out += "(?![^\\n])";
    else if (c === "^") out += "(?<![^\\n])";
    else out += c;
  }
  return peerRegExp(out, flags);
}

let opaqueRe: RegExp | null = null;

/**
 * Normalizes as HF `tokenizers` does (NFC, NFD, NFKC, NFKD). HF's tables are an older Unicode
 * version: characters it does not know are starters with no decomposition and compose with
 * nothing, so they split the text into spans that String.prototype.normalize handles alone
 * (the canonical data of characters both know is stable across versions).
 */
export function hfNormalize(text: string, form: "NFC" | "NFD" | "NFKC" | "NFKD"): string {
  const re = opaqueRe ??= new RegExp(`[${HF_NORMALIZER_OPAQUE}]`, "gu");
  re.lastIndex = 0;
  if (!re.test(text)) return text.normalize(form);
  let out = "";
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out += text.slice(last, m.index).normalize(form) + m[0];
    last = m.index + m[0].length;
  }
  return out + text.slice(last).normalize(form);
}
