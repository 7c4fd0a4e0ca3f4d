/**
 * Parallel text from the machine's gettext catalogues: each message's English source (msgid)
 * beside its translation (msgstr), so that several languages can be given the *same* messages
 * — matched training corpora for crosslingual comparisons — and so that a batch can be drawn
 * from many different packages (domains) at once.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { catalogueFiles, readMoTables } from "./_mo.ts";

/** One translated message of a gettext catalogue. */
export interface CatalogueMessage {
  /** The catalogue (text domain): the `.mo` file name without `.mo`, e.g. `"coreutils"`. */
  domain: string;
  /** The English source string (msgid; for plural entries the singular form). */
  source: string;
  /** The translation (msgstr; for plural entries the first form). */
  translation: string;
}

/** Options of {@linkcode loadParallelCatalogues}. */
export interface LoadParallelCataloguesOptions {
  /** Locale folder name, e.g. `"de"`, `"pt_BR"`. */
  language: string;
  /** Root of the locale tree (default `/usr/share/locale`). */
  root?: string;
}

/**
 * Reads every catalogue of a language as (domain, English source, translation) triples, in
 * file-name order and, inside a file, in the catalogue's (msgid-sorted) order. The header
 * entry and empty translations are skipped; a message repeated within one domain is kept
 * once. Unreadable or malformed catalogues are skipped.
 *
 * @example
 * ```ts
 * import { loadParallelCatalogues } from "@tokenlab/tokenlab/data";
 * const german = loadParallelCatalogues({ language: "de" });
 * console.log(german.length, german[0]); // { domain, source, translation }
 * ```
 */
export function loadParallelCatalogues(options: LoadParallelCataloguesOptions): CatalogueMessage[] {
  const { dir, names } = catalogueFiles(options?.language, {
    root: options?.root,
    caller: "loadParallelCatalogues",
  });
  const out: CatalogueMessage[] = [];
  for (const name of names) {
    let pairs: [string, string][];
    try {
      pairs = parseMoPairs(Deno.readFileSync(`${dir}/${name}`));
    } catch {
      continue;
    }
    const domain = name.slice(0, -3);
    const seen = new Set<string>();
    for (const [source, translation] of pairs) {
      if (seen.has(source)) continue;
      seen.add(source);
      out.push({ domain, source, translation });
    }
  }
  return out;
}

/** Options of {@linkcode alignCatalogues}. */
export interface AlignCataloguesOptions {
  /** Locale folder names; a message is kept only when every one of them translates it. */
  languages: readonly string[];
  /** Root of the locale tree (default `/usr/share/locale`). */
  root?: string;
}

/** One message translated into every requested language (see {@linkcode alignCatalogues}). */
export interface AlignedMessage {
  /** The catalogue (text domain). */
  domain: string;
  /** The English source string (msgid). */
  source: string;
  /** Language → translation. */
  translations: Record<string, string>;
}

/**
 * The messages that every one of `languages` translates (matched by domain and msgid), in the
 * first language's order: a parallel corpus whose English side is the msgids, for training
 * tokenizers on the same content in every language.
 *
 * @example
 * ```ts
 * import { alignCatalogues } from "@tokenlab/tokenlab/data";
 * const rows = alignCatalogues({ languages: ["de", "fr"] });
 * console.log(rows.length, rows[0]?.source, rows[0]?.translations.de, rows[0]?.translations.fr);
 * ```
 */
export function alignCatalogues(options: AlignCataloguesOptions): AlignedMessage[] {
  const languages = options?.languages;
  if (!Array.isArray(languages) || languages.length === 0) {
    throw new TokenlabError("alignCatalogues needs a non-empty array of languages", {
      hint: 'e.g. alignCatalogues({ languages: ["de", "fr"] })',
    });
  }
  const key = (m: CatalogueMessage) => `${m.domain}\u0000${m.source}`;
  const maps = languages.map((language) =>
    new Map(loadParallelCatalogues({ language, root: options.root }).map((m) => [key(m), m]))
  );
  const out: AlignedMessage[] = [];
  for (const [k, first] of maps[0]) {
    const translations: Record<string, string> = {};
    let all = true;
    for (let i = 0; i < languages.length; i++) {
      const m = maps[i].get(k);
      if (!m) {
        all = false;
        break;
      }
      translations[languages[i]] = m.translation;
    }
    if (all) out.push({ domain: first.domain, source: first.source, translations });
  }
  return out;
}

/**
 * Parses a GNU gettext `.mo` file into (msgid, msgstr) pairs: the header entry and empty
 * translations skipped; for plural entries the singular msgid with the first translated form.
 */
export function parseMoPairs(bytes: Uint8Array): [string, string][] {
  const mo = readMoTables(bytes);
  const out: [string, string][] = [];
  for (let i = 0; i < mo.count; i++) {
    // a msgctxt, when present, precedes the msgid with an EOT separator
    const orig = mo.original(i);
    if (orig.length === 0) continue; // the header entry
    const source = orig.slice(orig.indexOf("\u0004") + 1).split("\0")[0];
    const translation = mo.translation(i).split("\0")[0];
    if (!source.trim() || !translation.trim()) continue;
    out.push([source, translation]);
  }
  return out;
}
