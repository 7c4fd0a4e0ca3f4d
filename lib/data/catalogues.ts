/**
 * Translated messages from the machine's gettext catalogues (`/usr/share/locale/<lang>/
 * LC_MESSAGES/*.mo`): monolingual text in many languages, installed with Debian packages.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";

/** Options of {@linkcode loadTranslationCatalogues}. */
export interface LoadTranslationCataloguesOptions {
  /** Locale folder name, e.g. `"de"`, `"pt_BR"`. */
  language: string;
  /** Stop after this many UTF-8 bytes of text (default 2 MB). */
  maxBytes?: number;
  /** Root of the locale tree (default `/usr/share/locale`). */
  root?: string;
}

/**
 * Options of {@linkcode loadTranslationCatalogues}.
 *
 * @deprecated Use {@linkcode LoadTranslationCataloguesOptions} (named like the other loaders'
 * `Load…Options`).
 */
export type CatalogueOptions = LoadTranslationCataloguesOptions;

/**
 * Reads the translated strings (msgstr) of every catalogue of a language, in file-name order,
 * deduplicated; format strings stay as they are. Unreadable or malformed catalogues are
 * skipped.
 *
 * @example
 * ```ts
 * import { loadTranslationCatalogues } from "@tokenlab/tokenlab/data";
 * const german = loadTranslationCatalogues({ language: "de", maxBytes: 100_000 });
 * console.log(german.length, german[0]);
 * ```
 */
export function loadTranslationCatalogues(options: LoadTranslationCataloguesOptions): string[] {
  const language = options?.language;
  if (typeof language !== "string" || !/^[A-Za-z@_-]+$/.test(language)) {
    throw new TokenlabError(`loadTranslationCatalogues: bad language ${JSON.stringify(language)}`, {
      hint: 'use a locale folder name such as "de" or "pt_BR"',
    });
  }
  const dir = `${options.root ?? "/usr/share/locale"}/${language}/LC_MESSAGES`;
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".mo")).map((e) =>
      e.name
    ).sort();
  } catch {
    throw new TokenlabError(`no translation catalogues for "${language}" in ${dir}`, {
      hint: "catalogues come with installed Debian packages; pick a language that has them",
    });
  }
  const maxBytes = options.maxBytes ?? 2_000_000;
  const seen = new Set<string>();
  const out: string[] = [];
  let bytes = 0;
  for (const name of names) {
    let strings: string[];
    try {
      strings = parseMo(Deno.readFileSync(`${dir}/${name}`));
    } catch {
      continue;
    }
    for (const s of strings) {
      if (seen.has(s)) continue;
      seen.add(s);
      out.push(s);
      bytes += s.length;
      if (bytes >= maxBytes) return out;
    }
  }
  return out;
}

/**
 * Parses a GNU gettext `.mo` file and returns its translations (plural forms split, the header
 * entry skipped).
 */
export function parseMo(bytes: Uint8Array): string[] {
  if (bytes.length < 28) throw new TokenlabError("not a .mo file: too short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  const little = magic === 0x950412de;
  if (!little && view.getUint32(0, false) !== 0x950412de) {
    throw new TokenlabError("not a .mo file: bad magic");
  }
  const n = view.getUint32(8, little);
  const origTable = view.getUint32(12, little), transTable = view.getUint32(16, little);
  if (origTable + 8 * n > bytes.length || transTable + 8 * n > bytes.length) {
    throw new TokenlabError("truncated .mo file");
  }
  const dec = new TextDecoder("utf-8", { fatal: false });
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const origLen = view.getUint32(origTable + 8 * i, little);
    if (origLen === 0) continue; // the header entry
    const len = view.getUint32(transTable + 8 * i, little);
    const off = view.getUint32(transTable + 8 * i + 4, little);
    if (off + len > bytes.length) throw new TokenlabError("truncated .mo file");
    for (const s of dec.decode(bytes.subarray(off, off + len)).split("\0")) {
      if (s.trim()) out.push(s);
    }
  }
  return out;
}
