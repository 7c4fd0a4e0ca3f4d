/**
 * GNU gettext catalogues on disk: listing a language's `.mo` files and reading a `.mo` file's
 * tables. The one reader behind `parseMo` (translations) and `parseMoPairs` (msgid beside msgstr).
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";

/** A `.mo` file's string tables, checked against its length. */
export interface MoTables {
  /** Entries in the file (the header entry included). */
  count: number;
  /** Byte length of entry `i`'s original string (0 for the header entry). */
  originalLength(i: number): number;
  /** Entry `i`'s original string (msgctxt EOT msgid NUL plural…). */
  original(i: number): string;
  /** Entry `i`'s translation (plural forms NUL-separated). */
  translation(i: number): string;
}

/** Reads the header of a `.mo` file; throws a TokenlabError on a short, foreign or truncated file. */
export function readMoTables(bytes: Uint8Array): MoTables {
  if (bytes.length < 28) throw new TokenlabError("not a .mo file: too short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = view.getUint32(0, true) === 0x950412de;
  if (!little && view.getUint32(0, false) !== 0x950412de) {
    throw new TokenlabError("not a .mo file: bad magic");
  }
  const count = view.getUint32(8, little);
  const origTable = view.getUint32(12, little), transTable = view.getUint32(16, little);
  if (origTable + 8 * count > bytes.length || transTable + 8 * count > bytes.length) {
    throw new TokenlabError("truncated .mo file");
  }
  const dec = new TextDecoder("utf-8", { fatal: false });
  const read = (table: number, i: number) => {
    const len = view.getUint32(table + 8 * i, little);
    const off = view.getUint32(table + 8 * i + 4, little);
    if (off + len > bytes.length) throw new TokenlabError("truncated .mo file");
    return dec.decode(bytes.subarray(off, off + len));
  };
  return {
    count,
    originalLength: (i) => view.getUint32(origTable + 8 * i, little),
    original: (i) => read(origTable, i),
    translation: (i) => read(transTable, i),
  };
}

/**
 * A language's catalogue folder and its `.mo` file names, sorted; `caller` names the public
 * function in the errors.
 */
export function catalogueFiles(
  language: unknown,
  options: { root?: string; caller: string },
): { dir: string; names: string[] } {
  if (typeof language !== "string" || !/^[A-Za-z@_-]+$/.test(language)) {
    throw new TokenlabError(`${options.caller}: bad language ${JSON.stringify(language)}`, {
      hint: 'use a locale folder name such as "de" or "pt_BR"',
    });
  }
  const dir = `${options.root ?? "/usr/share/locale"}/${language}/LC_MESSAGES`;
  try {
    const names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".mo"))
      .map((e) => e.name).sort();
    return { dir, names };
  } catch {
    throw new TokenlabError(`no translation catalogues for "${language}" in ${dir}`, {
      hint: "catalogues come with installed Debian packages; pick a language that has them",
    });
  }
}
