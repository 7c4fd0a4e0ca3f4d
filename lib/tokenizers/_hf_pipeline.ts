// The pieces of HF tokenizer.json pipelines that the bundled tokenizers use: normalizers,
// pre-tokenizers and decoders, each built from its JSON config. Unsupported types are named.
import { TokenlabError } from "../util/errors.ts";
import { splitKeepAll } from "./_split.ts";
import { hfNormalize, onigRegExp, peerRegExp, WHITE_SPACE_CLASS, WORD_CLASS } from "./_unicode.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** A text → text step. */
export type Normalize = (text: string) => string;
/** A piece → pieces step. */
export type PreTokenize = (pieces: string[]) => string[];

/** GPT-2's pattern, which ByteLevel applies when `use_regex` is true. */
const GPT2_RE =
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`;

const WHITESPACE_WORDS = new RegExp(
  `[${WORD_CLASS}]+|[^${WORD_CLASS}${WHITE_SPACE_CLASS}]+`,
  "gu",
);
const WHITE_SPACE_RUN = new RegExp(`[${WHITE_SPACE_CLASS}]+`, "u");

function unsupported(kind: string, type: unknown, where: string): never {
  throw new TokenlabError(`unsupported ${kind} type ${JSON.stringify(type)} in ${where}`, {
    hint: "tokenlab reads the pipeline pieces of byte-level BPE and SentencePiece-style BPE " +
      "tokenizers; open an issue with the file if you need this one",
  });
}

function patternOf(p: Json, where: string): RegExp {
  if (p && typeof p.String === "string") {
    return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  }
  if (p && typeof p.Regex === "string") {
    try {
      return onigRegExp(p.Regex, "gu"); // Oniguruma's anchors and White_Space \s
    } catch (cause) {
      throw new TokenlabError(`regex ${JSON.stringify(p.Regex)} in ${where} is not valid here`, {
        cause,
      });
    }
  }
  throw new TokenlabError(`pattern ${JSON.stringify(p)} in ${where} has neither String nor Regex`);
}

/** Builds a normalizer (identity for null). */
export function buildNormalizer(cfg: Json, where: string): Normalize {
  if (cfg === null || cfg === undefined) return (t) => t;
  switch (cfg.type) {
    case "Sequence": {
      const steps = (cfg.normalizers ?? []).map((c: Json) => buildNormalizer(c, where));
      return (t) => steps.reduce((acc: string, f: Normalize) => f(acc), t);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return (t) => hfNormalize(t, cfg.type);
    case "Lowercase":
      return (t) => t.toLowerCase();
    case "Prepend":
      return (t) => (t.length ? cfg.prepend + t : t);
    case "Replace": {
      const re = patternOf(cfg.pattern, where);
      return (t) => t.replace(re, () => cfg.content);
    }
    default:
      return unsupported("normalizer", cfg.type, where);
  }
}

/** Splits one piece by a Split pre-tokenizer behaviour. */
function splitBy(piece: string, re: RegExp, behavior: string): string[] {
  const parts: { text: string; match: boolean }[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(piece); m !== null; m = re.exec(piece)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) parts.push({ text: piece.slice(last, m.index), match: false });
    parts.push({ text: m[0], match: true });
    last = m.index + m[0].length;
  }
  if (last < piece.length) parts.push({ text: piece.slice(last), match: false });
  switch (behavior) {
    case "Isolated":
      return parts.map((p) => p.text);
    case "Removed":
      return parts.filter((p) => !p.match).map((p) => p.text);
    case "MergedWithPrevious": {
      const out: string[] = [];
      for (const p of parts) {
        if (p.match && out.length > 0) out[out.length - 1] += p.text;
        else out.push(p.text);
      }
      return out;
    }
    case "MergedWithNext": {
      const out: string[] = [];
      let pending = "";
      for (const p of parts) {
        if (p.match) pending += p.text;
        else {
          out.push(pending + p.text);
          pending = "";
        }
      }
      if (pending) out.push(pending);
      return out;
    }
    case "Contiguous": {
      const out: string[] = [];
      for (const p of parts) {
        const prev = out.length ? parts[parts.indexOf(p) - 1] : undefined;
        if (prev && prev.match === p.match) out[out.length - 1] += p.text;
        else out.push(p.text);
      }
      return out;
    }
    default:
      throw new TokenlabError(`unsupported Split behavior ${JSON.stringify(behavior)}`);
  }
}

/** Whether a pre-tokenizer config (or one of its steps) is ByteLevel. */
export function hasByteLevel(cfg: Json): boolean {
  if (!cfg) return false;
  if (cfg.type === "ByteLevel") return true;
  if (cfg.type === "Sequence") return (cfg.pretokenizers ?? []).some(hasByteLevel);
  return false;
}

/** Builds a pre-tokenizer (one piece per input when null). ByteLevel's byte mapping is done by the model. */
export function buildPreTokenizer(cfg: Json, where: string): PreTokenize {
  if (cfg === null || cfg === undefined) return (p) => p;
  switch (cfg.type) {
    case "Sequence": {
      const steps = (cfg.pretokenizers ?? []).map((c: Json) => buildPreTokenizer(c, where));
      return (p) => steps.reduce((acc: string[], f: PreTokenize) => f(acc), p);
    }
    case "Split": {
      if (cfg.invert) unsupported("Split (invert: true)", "Split", where);
      const re = patternOf(cfg.pattern, where);
      return (pieces) => pieces.flatMap((p) => splitBy(p, re, cfg.behavior ?? "Isolated"));
    }
    case "ByteLevel": {
      const re = cfg.use_regex === false ? null : peerRegExp(GPT2_RE, "gu");
      return (pieces) =>
        pieces.flatMap((p, i) => {
          const text = cfg.add_prefix_space && i === 0 && !p.startsWith(" ") ? " " + p : p;
          return re ? splitKeepAll(text, re) : [text];
        });
    }
    case "Digits": {
      // char::is_numeric: Nd, Nl and No, i.e. \p{N}
      const re = cfg.individual_digits ? /\p{N}/gu : /\p{N}+/gu;
      return (pieces) => pieces.flatMap((p) => splitBy(p, re, "Isolated"));
    }
    case "Whitespace":
      // Rust regex \w+|[^\w\s]+ with Unicode \w and White_Space
      return (pieces) => pieces.flatMap((p) => p.match(WHITESPACE_WORDS) ?? []);
    case "WhitespaceSplit":
      // char::is_whitespace is White_Space
      return (pieces) =>
        pieces.flatMap((p) => p.split(WHITE_SPACE_RUN).filter((s) => s.length > 0));
    case "Metaspace": {
      const rep: string = cfg.replacement ?? "\u2581";
      const scheme: string = cfg.prepend_scheme ??
        (cfg.add_prefix_space === false ? "never" : "always");
      const split = cfg.split !== false;
      return (pieces) =>
        pieces.flatMap((p, i) => {
          let t = p.replaceAll(" ", rep);
          if ((scheme === "always" || (scheme === "first" && i === 0)) && !t.startsWith(rep)) {
            t = rep + t;
          }
          if (!split) return [t];
          return splitBy(t, new RegExp(rep, "gu"), "MergedWithNext");
        });
    }
    default:
      return unsupported("pre-tokenizer", cfg.type, where);
  }
}

/** A decoding step over token strings. */
export type DecodeStep = (tokens: string[]) => string[];

/** Builds a decoder over token strings for char-level models (byte-level models decode bytes). */
export function buildDecoder(cfg: Json, where: string): DecodeStep {
  if (cfg === null || cfg === undefined) return (t) => t;
  switch (cfg.type) {
    case "Sequence": {
      const steps = (cfg.decoders ?? []).map((c: Json) => buildDecoder(c, where));
      return (t) => steps.reduce((acc: string[], f: DecodeStep) => f(acc), t);
    }
    case "Replace": {
      const re = patternOf(cfg.pattern, where);
      return (tokens) => tokens.map((t) => t.replace(re, () => cfg.content));
    }
    case "ByteFallback":
      return byteFallbackDecode;
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip":
      return (tokens) =>
        tokens.map((t, i) => {
          let s = t;
          if (i === 0) {
            for (let k = 0; k < (cfg.start ?? 0) && s.startsWith(cfg.content); k++) {
              s = s.slice(cfg.content.length);
            }
          }
          if (i === tokens.length - 1) {
            for (let k = 0; k < (cfg.stop ?? 0) && s.endsWith(cfg.content); k++) {
              s = s.slice(0, -cfg.content.length);
            }
          }
          return s;
        });
    case "Metaspace": {
      const rep: string = cfg.replacement ?? "\u2581";
      const scheme: string = cfg.prepend_scheme ??
        (cfg.add_prefix_space === false ? "never" : "always");
      return (tokens) =>
        tokens.map((t, i) => {
          const s = t.replaceAll(rep, " ");
          return i === 0 && scheme !== "never" && s.startsWith(" ") ? s.slice(1) : s;
        });
    }
    case "ByteLevel":
      return (t) => t; // handled on bytes by the tokenizer
    default:
      return unsupported("decoder", cfg.type, where);
  }
}

// ignoreBOM: a leading U+FEFF is text here, not a byte-order mark to drop
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Turns runs of `<0xNN>` tokens into the text their bytes spell (U+FFFD for invalid UTF-8). */
function byteFallbackDecode(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length === 0) return;
    const text = decoder.decode(new Uint8Array(bytes));
    // HF emits one U+FFFD per byte when the run is not valid UTF-8
    out.push(text.includes("\uFFFD") ? "\uFFFD".repeat(bytes.length) : text);
    bytes = [];
  };
  for (const t of tokens) {
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
    if (m) bytes.push(parseInt(m[1], 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}
