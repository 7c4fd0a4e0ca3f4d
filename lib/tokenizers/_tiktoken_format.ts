// Reading tiktoken ranks (a `.tiktoken` file's text, token bytes by rank, or base64 → rank)
// into tokenizer parts: a byte-level model whose ranks are its merge priorities, one
// pre-tokenizer pattern, special tokens.

import { TokenlabError } from "../util/errors.ts";
import { binaryToBytes, bytesToBinary } from "./_bytes.ts";
import { singlePattern } from "./_single_pattern.ts";
import { specialAdded, type TokenizerParts } from "./_tokenizer_parts.ts";
import { PATTERNS, type PretokenizerSpec } from "./pretokenizers.ts";

/** Options of `Tokenizer.fromTiktoken`. */
export interface FromTiktokenOptions {
  /** Pre-tokenizer: a named pattern, a RegExp, or a pattern source string. */
  pattern: PretokenizerSpec | string;
  /** Special tokens (content → id). */
  specialTokens?: Record<string, number>;
  /** A name to show. */
  name?: string;
}

/** The parts of a tokenizer from tiktoken ranks. */
export function tiktokenParts(
  ranks: string | Uint8Array[] | Map<string, number>,
  options: FromTiktokenOptions,
): TokenizerParts {
  if (!options || options.pattern === undefined) {
    throw new TokenlabError("fromTiktoken needs options.pattern", {
      hint: 'pass a named pattern ("o200k", "cl100k", "gpt2"), a RegExp or a pattern string',
    });
  }
  const symbols = rankSymbols(ranks);
  const pattern = typeof options.pattern === "string" && !(options.pattern in PATTERNS)
    ? new RegExp(options.pattern, "gu")
    : options.pattern as PretokenizerSpec;
  const pre = singlePattern(pattern);
  return {
    name: options.name ?? "tiktoken",
    level: "byte",
    symbols,
    rankMode: "ranks",
    merges: [],
    ignoreMerges: true,
    byteFallback: false,
    unkId: null,
    fuseUnk: false,
    normalize: (t) => t,
    preTokenize: pre.preTokenize,
    decodeSteps: (t) => t,
    added: specialAdded(options.specialTokens),
    splitAdded: false,
    splitRe: pre.splitRe,
    scanner: pre.scanner,
    patternSource: pre.patternSource,
    json: null,
    source: {
      kind: "tiktoken",
      ranks: symbols.map(binaryToBytes),
      pattern: pre.patternSource,
      specialTokens: options.specialTokens ?? {},
      name: options.name ?? "tiktoken",
    },
  };
}

/** rank → token bytes as a binary string ("" for ranks not given). */
function rankSymbols(ranks: string | Uint8Array[] | Map<string, number>): string[] {
  const symbols: string[] = [];
  const setRank = (b64: string, rank: number, where: string) => {
    if (!Number.isInteger(rank) || rank < 0) {
      throw new TokenlabError(`tiktoken ranks: bad rank ${rank} at ${where}`);
    }
    let bin: string;
    try {
      bin = atob(b64);
    } catch {
      throw new TokenlabError(`tiktoken ranks: ${JSON.stringify(b64)} at ${where} is not base64`);
    }
    symbols[rank] = bin;
  };
  if (typeof ranks === "string") {
    ranks.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      const [b64, r] = line.trim().split(/\s+/);
      setRank(b64, Number(r), `line ${i + 1}`);
    });
  } else if (ranks instanceof Map) {
    for (const [b64, r] of ranks) setRank(b64, r, b64);
  } else if (Array.isArray(ranks)) {
    ranks.forEach((bytes, r) => {
      if (!(bytes instanceof Uint8Array)) {
        throw new TokenlabError(`tiktoken ranks: entry ${r} is not a Uint8Array`);
      }
      symbols[r] = bytesToBinary(bytes);
    });
  } else {
    throw new TokenlabError("fromTiktoken needs ranks as file text, Uint8Array[] or Map");
  }
  if (symbols.length === 0) throw new TokenlabError("tiktoken ranks are empty");
  for (let i = 0; i < symbols.length; i++) symbols[i] ??= "";
  return symbols;
}
