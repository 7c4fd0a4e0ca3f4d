/**
 * Translated messages from the machine's gettext catalogues (`/usr/share/locale/<lang>/
 * LC_MESSAGES/*.mo`): monolingual text in many languages, installed with Debian packages.
 *
 * @module
 */
import { catalogueFiles, readMoTables } from "./_mo.ts";

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
  const { dir, names } = catalogueFiles(options?.language, {
    root: options?.root,
    caller: "loadTranslationCatalogues",
  });
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
  const mo = readMoTables(bytes);
  const out: string[] = [];
  for (let i = 0; i < mo.count; i++) {
    if (mo.originalLength(i) === 0) continue; // the header entry
    for (const s of mo.translation(i).split("\0")) if (s.trim()) out.push(s);
  }
  return out;
}
