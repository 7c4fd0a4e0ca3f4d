/**
 * Hunspell dictionaries from the machine (`/usr/share/hunspell/<lang>.dic` and `.aff`, installed
 * by Debian's `hunspell-<lang>` packages): the root list with its affix flags, the suffix rules,
 * and a word check covering roots and single-suffix forms — enough for lexicon-based tokenizer
 * metrics (Turkish %TR / %Pure) without the hunspell library.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";

/** One suffix rule: strip `strip` from the root's end, add `add`, if the root matches `condition`. */
export interface SuffixRule {
  /** Flag that allows the rule on a root. */
  flag: string;
  /** Characters removed from the root's end ("" for none). */
  strip: string;
  /** The suffix added. */
  add: string;
  /** Condition on the root's end, as a RegExp anchored at the end (null: any root). */
  condition: RegExp | null;
}

/** A loaded hunspell dictionary. */
export interface HunspellDictionary {
  /** Dictionary name, e.g. `"tr_TR"`. */
  name: string;
  /** Roots (as written in the .dic file) → their affix flags. */
  roots: Map<string, string[]>;
  /** Suffix rules, in file order. */
  suffixes: SuffixRule[];
  /** Whether `word` is a root or a root with one suffix rule applied (case as given). */
  isWord(word: string): boolean;
  /** The (root, suffix) analyses of `word`; a bare root gives `{ root, suffix: "" }`. */
  analyse(word: string): Array<{ root: string; suffix: string }>;
}

/** Options of {@linkcode loadHunspell}. */
export interface LoadHunspellOptions {
  /** Folder holding `<name>.dic` and `<name>.aff` (default `/usr/share/hunspell`). */
  dir?: string;
}

/**
 * Loads a hunspell dictionary (flag types: single characters, `long`, `num`; `AF` aliases).
 * Prefixes and compounding are not modelled.
 *
 * @example
 * ```ts
 * import { loadHunspell } from "@tokenlab/tokenlab/data";
 * const tr = loadHunspell("tr_TR"); // needs Debian's hunspell-tr (deno task setup installs it)
 * console.log(tr.isWord("evler"), tr.analyse("evler"));
 * ```
 */
export function loadHunspell(name: string, options: LoadHunspellOptions = {}): HunspellDictionary {
  if (typeof name !== "string" || !/^[A-Za-z_-]+$/.test(name)) {
    throw new TokenlabError(`loadHunspell: bad dictionary name ${JSON.stringify(name)}`, {
      hint: 'use a name such as "tr_TR" (the file stem under /usr/share/hunspell)',
    });
  }
  const dir = options.dir ?? "/usr/share/hunspell";
  const read = (ext: string) => {
    const path = `${dir}/${name}.${ext}`;
    try {
      return Deno.readTextFileSync(path);
    } catch (e) {
      throw new TokenlabError(`loadHunspell: cannot read ${path} (${(e as Error).name})`, {
        hint: `install the dictionary package (e.g. apt-get install hunspell-${
          name.split("_")[0].toLowerCase()
        }), or run \`deno task setup\` as root`,
      });
    }
  };
  const aff = read("aff"), dic = read("dic");

  let flagType = "char";
  const aliases: string[][] = [];
  const suffixes: SuffixRule[] = [];
  const rawFlags = (s: string): string[] => {
    if (!s) return [];
    if (flagType === "num") return s.split(",").filter(Boolean);
    if (flagType === "long") return s.match(/../g) ?? [];
    return Array.from(s);
  };
  const splitFlags = (s: string): string[] =>
    aliases.length > 0 && /^\d+$/.test(s) ? aliases[Number(s) - 1] ?? [] : rawFlags(s);
  const affLines = aff.split(/\r?\n/);
  for (const line of affLines) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "FLAG") {
      flagType = f[1]?.toLowerCase() === "utf-8" ? "char" : (f[1] ?? "char").toLowerCase();
    }
  }
  let aliasHeader = false;
  for (const line of affLines) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "AF" && f.length >= 2) {
      if (aliasHeader) aliases.push(rawFlags(f[1]));
      aliasHeader = true; // the first AF line gives the count
    } else if (f[0] === "SFX" && f.length >= 5) {
      const [, flag, stripRaw, addRaw, cond] = f;
      const add = addRaw.split("/")[0];
      suffixes.push({
        flag,
        strip: stripRaw === "0" ? "" : stripRaw,
        add: add === "0" ? "" : add,
        condition: cond === "." ? null : conditionRegExp(cond),
      });
    }
  }
  const roots = new Map<string, string[]>();
  const dicLines = dic.split(/\r?\n/);
  if (!/^\d+\s*$/.test(dicLines[0] ?? "")) {
    throw new TokenlabError(`loadHunspell: ${dir}/${name}.dic does not start with a word count`, {
      hint: "the file is not a hunspell .dic (or it is damaged); reinstall the package",
    });
  }
  for (let i = 1; i < dicLines.length; i++) {
    const line = dicLines[i];
    if (!line || line.startsWith("\t")) continue;
    const entry = line.split(/\s/)[0];
    const slash = entry.search(/(?<!\\)\//);
    const word = (slash < 0 ? entry : entry.slice(0, slash)).replaceAll("\\/", "/");
    const flags = slash < 0 ? [] : splitFlags(entry.slice(slash + 1));
    const prev = roots.get(word);
    roots.set(word, prev ? [...prev, ...flags] : flags);
  }
  const byAdd = new Map<string, SuffixRule[]>();
  for (const r of suffixes) {
    const list = byAdd.get(r.add);
    if (list) list.push(r);
    else byAdd.set(r.add, [r]);
  }
  const flagSets = new Map<string, Set<string>>();
  const hasFlag = (root: string, flag: string) => {
    let s = flagSets.get(root);
    if (!s) flagSets.set(root, s = new Set(roots.get(root) ?? []));
    return s.has(flag);
  };
  const analyse = (word: string) => {
    const out: Array<{ root: string; suffix: string }> = [];
    if (typeof word !== "string" || word.length === 0) return out;
    if (roots.has(word)) out.push({ root: word, suffix: "" });
    for (let k = 1; k <= word.length; k++) {
      const add = word.slice(word.length - k);
      const rules = byAdd.get(add);
      if (!rules) continue;
      const stem = word.slice(0, word.length - k);
      for (const r of rules) {
        const root = stem + r.strip;
        if (!roots.has(root) || !hasFlag(root, r.flag)) continue;
        if (r.condition && !r.condition.test(root)) continue;
        out.push({ root, suffix: add });
      }
    }
    return out;
  };
  return {
    name,
    roots,
    suffixes,
    analyse,
    isWord: (word: string) => analyse(word).length > 0,
  };
}

/** A hunspell condition ("[^aeı]k", "ğ", …) as a RegExp matching the end of a root. */
function conditionRegExp(cond: string): RegExp | null {
  try {
    return new RegExp(
      `${cond.replace(/[.*+?(){}|\\$]/g, (c) => (c === "." ? "." : `\\${c}`))}$`,
      "u",
    );
  } catch {
    return null;
  }
}
