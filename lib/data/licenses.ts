/**
 * Full texts of the SPDX license list: the legal-domain corpus.
 *
 * @module
 */
import { packageDir } from "./_packages.ts";
import { TokenlabError } from "../util/errors.ts";

const PACKAGE = "spdx-license-list";
const VERSION = "6.12.0";

/** One license text. */
export interface LicenseText {
  /** SPDX id, e.g. `"MIT"`. */
  id: string;
  /** Full name. */
  name: string;
  /** Whether the OSI approved it. */
  osiApproved: boolean;
  /** Full license text. */
  text: string;
}

/** Options for {@linkcode loadLicenses}. */
export interface LoadLicensesOptions {
  /** Keep only these SPDX ids. */
  ids?: string[];
  /** Drop texts shorter than this many characters (default 1). */
  minChars?: number;
}

let memo: LicenseText[] | null = null;

/**
 * Loads the SPDX license texts, sorted by id.
 *
 * @example
 * ```ts
 * import { loadLicenses } from "@tokenlab/tokenlab/data";
 * const [mit] = loadLicenses({ ids: ["MIT"] });
 * console.log(mit.text.slice(0, 40));
 * ```
 */
export function loadLicenses(options: LoadLicensesOptions = {}): LicenseText[] {
  if (!memo) {
    const path = `${packageDir(PACKAGE, VERSION)}/spdx-full.json`;
    let raw: Record<string, { name: string; osiApproved: unknown; licenseText: string }>;
    try {
      raw = JSON.parse(Deno.readTextFileSync(path));
    } catch (cause) {
      throw new TokenlabError(`cannot read the SPDX license texts at ${path}`, {
        hint: "reinstall the spdx-license-list package (`deno install`)",
        cause,
      });
    }
    memo = Object.entries(raw)
      .map(([id, v]) => ({
        id,
        name: v.name,
        osiApproved: v.osiApproved === true || v.osiApproved === "True",
        text: v.licenseText ?? "",
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  const minChars = options.minChars ?? 1;
  let out = memo.filter((l) => l.text.length >= minChars);
  if (options.ids) {
    const missing = options.ids.filter((id) => !memo!.some((l) => l.id === id));
    if (missing.length > 0) {
      throw new TokenlabError(`unknown SPDX id(s): ${missing.join(", ")}`, {
        hint: "ids are case-sensitive SPDX identifiers such as MIT, Apache-2.0, GPL-3.0-only",
      });
    }
    const wanted = new Set(options.ids);
    out = out.filter((l) => wanted.has(l.id));
  }
  return out;
}
