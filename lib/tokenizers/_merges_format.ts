// Reading a trainer's output (id → token bytes, ordered merges of ids) into tokenizer parts:
// a byte-level model whose merges apply by priority, HF `tokenizers` style, one pre-tokenizer
// pattern, special tokens.

import { TokenlabError } from "../util/errors.ts";
import { bytesToBinary } from "./_bytes.ts";
import { singlePattern } from "./_single_pattern.ts";
import { specialAdded, type TokenizerParts } from "./_tokenizer_parts.ts";
import type { PretokenizerSpec } from "./pretokenizers.ts";

/** Options of `Tokenizer.fromBpe`. */
export interface FromBpeOptions {
  /** id → token bytes. */
  vocab: Uint8Array[];
  /** Ordered merges: merge i joins the tokens with ids `a` and `b`. */
  merges: Array<[number, number]>;
  /** Pre-tokenizer. */
  pretokenizer: PretokenizerSpec;
  /** Special tokens (content → id), ids beyond the vocab. */
  specialTokens?: Record<string, number>;
  /** A name to show. */
  name?: string;
}

/** The parts of a byte-level tokenizer from a vocabulary and ordered merges. */
export function mergesParts(options: FromBpeOptions): TokenizerParts {
  if (!options || !Array.isArray(options.vocab) || !Array.isArray(options.merges)) {
    throw new TokenlabError("fromBpe needs { vocab: Uint8Array[], merges: [a, b][] }");
  }
  const symbols = options.vocab.map((b, i) => {
    if (!(b instanceof Uint8Array)) throw new TokenlabError(`fromBpe: vocab[${i}] is not bytes`);
    return bytesToBinary(b);
  });
  const merges = options.merges.map(([a, b], i): [string, string] => {
    if (symbols[a] === undefined || symbols[b] === undefined) {
      throw new TokenlabError(`fromBpe: merge ${i} refers to unknown ids ${a}, ${b}`);
    }
    return [symbols[a], symbols[b]];
  });
  const pre = singlePattern(options.pretokenizer);
  return {
    name: options.name ?? "bpe",
    level: "byte",
    symbols,
    rankMode: "merges",
    merges,
    ignoreMerges: false,
    byteFallback: false,
    unkId: null,
    fuseUnk: false,
    normalize: (t) => t,
    preTokenize: pre.preTokenize,
    decodeSteps: (t) => t,
    added: specialAdded(options.specialTokens),
    splitAdded: true,
    splitRe: pre.splitRe,
    scanner: pre.scanner,
    patternSource: pre.patternSource,
    json: null,
    source: {
      kind: "bpe",
      vocab: options.vocab,
      merges: options.merges,
      pattern: pre.patternSource,
      specialTokens: options.specialTokens ?? {},
      name: options.name ?? "bpe",
    },
  };
}
