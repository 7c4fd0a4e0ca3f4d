/**
 * Deterministic, cached loaders for the bundled corpora: the Brown corpus (English), the UDHR
 * (parallel text in several hundred languages), the SPDX license texts (legal), source code
 * and ELF executables of the machine; seeded splits and corpus statistics.
 *
 * @example
 * ```ts
 * import { corpusStats, loadBrown, loadUdhr } from "@tokenlab/tokenlab/data";
 * console.log(corpusStats(loadBrown().map((d) => d.text)));
 * console.log(loadUdhr().length, "UDHR translations");
 * ```
 *
 * @module
 */
export {
  BROWN_CATEGORIES,
  type BrownDocument,
  brownText,
  loadBrown,
  type LoadBrownOptions,
} from "./brown.ts";
export { dominantScript, loadUdhr, type LoadUdhrOptions, type UdhrText } from "./udhr.ts";
export * from "./licenses.ts";
export * from "./files.ts";
export * from "./split.ts";
export {
  type CatalogueOptions,
  loadTranslationCatalogues,
  type LoadTranslationCataloguesOptions,
} from "./catalogues.ts";
export {
  alignCatalogues,
  type AlignCataloguesOptions,
  type AlignedMessage,
  type CatalogueMessage,
  loadParallelCatalogues,
  type LoadParallelCataloguesOptions,
} from "./parallel_catalogues.ts";
export * from "./hunspell.ts";
export * from "./packing.ts";
