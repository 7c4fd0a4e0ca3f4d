/**
 * Seeded train/test splits and corpus statistics.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { check } from "../util/errors.ts";

/** Options for {@linkcode splitTrainTest}. */
export interface SplitOptions {
  /** Share of items in the test split, in (0, 1) (default 0.1). */
  testFraction?: number;
  /** Seed of the shuffle (default 0). */
  seed?: number;
}

/** A train/test split. */
export interface Split<T> {
  /** Training items, in their original order. */
  train: T[];
  /** Held-out items, in their original order. */
  test: T[];
}

/**
 * Splits items into disjoint train and test sets by a seeded shuffle (each set keeps the
 * original order). At least one item goes to each side when there are two or more.
 *
 * @example
 * ```ts
 * import { splitTrainTest } from "@tokenlab/tokenlab/data";
 * const { train, test } = splitTrainTest([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { testFraction: 0.2 });
 * console.log(train.length, test.length); // 8 2
 * ```
 */
export function splitTrainTest<T>(items: readonly T[], options: SplitOptions = {}): Split<T> {
  const fraction = options.testFraction ?? 0.1;
  check(Array.isArray(items), "splitTrainTest needs an array of items");
  check(
    fraction > 0 && fraction < 1,
    `testFraction must be in (0, 1), got ${fraction}`,
  );
  const order = new Rng(options.seed ?? 0).shuffle([...items.keys()]);
  let nTest = Math.round(items.length * fraction);
  if (items.length >= 2) nTest = Math.min(Math.max(nTest, 1), items.length - 1);
  const isTest = new Set(order.slice(0, nTest));
  const train: T[] = [], test: T[] = [];
  items.forEach((item, i) => (isTest.has(i) ? test : train).push(item));
  return { train, test };
}

/** Sizes of a list of texts. */
export interface CorpusStats {
  /** Number of texts. */
  docs: number;
  /** UTF-16 code units. */
  chars: number;
  /** Unicode code points. */
  codePoints: number;
  /** UTF-8 bytes. */
  bytes: number;
  /** Whitespace-separated words. */
  words: number;
}

/**
 * Counts documents, characters, UTF-8 bytes and whitespace words.
 *
 * @example
 * ```ts
 * import { corpusStats } from "@tokenlab/tokenlab/data";
 * console.log(corpusStats(["héllo world"])); // { docs: 1, chars: 11, codePoints: 11, bytes: 12, words: 2 }
 * ```
 */
export function corpusStats(texts: readonly string[]): CorpusStats {
  check(Array.isArray(texts), "corpusStats needs an array of strings");
  const enc = new TextEncoder();
  let chars = 0, codePoints = 0, bytes = 0, words = 0;
  for (const t of texts) {
    check(typeof t === "string", `corpusStats: every item must be a string, got ${typeof t}`);
    chars += t.length;
    for (const _ of t) codePoints++;
    bytes += enc.encode(t).length;
    words += t.split(/\s+/).filter((w) => w.length > 0).length;
  }
  return { docs: texts.length, chars, codePoints, bytes, words };
}
