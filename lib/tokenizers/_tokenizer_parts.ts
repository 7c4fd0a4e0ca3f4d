// The parts a `Tokenizer` is built from, whatever format it was read from: the vocabulary and
// merges of the BPE model, the normalizer / pre-tokenizer / decoder steps of the pipeline, the
// added tokens, and how to rebuild it (for saving and for workers). The format readers
// (_tiktoken_format.ts, _merges_format.ts, _tokenizer_json_format.ts) produce these; the
// stages (_bpe_model.ts, _encode_loop.ts, _decode.ts, _serialize.ts) consume them.

import type { Scanner } from "./_scanner.ts";
import type { DecodeStep, Normalize, PreTokenize } from "./_hf_pipeline.ts";

/** An added (special or user) token. */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** Everything a tokenizer is made of. */
export interface TokenizerParts {
  /** A short name (changed by `markPretrained`; error messages read it when they throw). */
  name: string;
  /** byte: symbols are binary-string bytes; char: Unicode characters with byte fallback. */
  level: "byte" | "char";
  /** id → symbol string (binary string for byte-level, piece for char-level); "" for holes. */
  symbols: string[];
  rankMode: "ranks" | "merges";
  merges: [string, string][];
  ignoreMerges: boolean;
  byteFallback: boolean;
  unkId: number | null;
  fuseUnk: boolean;
  normalize: Normalize;
  preTokenize: PreTokenize;
  decodeSteps: DecodeStep;
  added: AddedToken[];
  splitAdded: boolean;
  /** The pattern source for tiktoken / trained tokenizers (for saving). */
  patternSource: string | null;
  /** When the whole pre-tokenizer is one regex (tiktoken, trained): the fast path uses it. */
  splitRe?: RegExp | null;
  /** A hand-written scanner for the named pattern, when it has one (used instead of splitRe). */
  scanner?: Scanner | null;
  /** The tokenizer.json this came from, if any. */
  json: unknown;
  /** How to rebuild this tokenizer in a worker. */
  source?: WorkerSource;
}

/** What a worker needs to rebuild a tokenizer. */
export type WorkerSource =
  | { kind: "pretrained"; name: string }
  | { kind: "json"; json: unknown }
  | {
    kind: "tiktoken";
    ranks: Uint8Array[];
    pattern: string | null;
    specialTokens: Record<string, number>;
    name: string;
  }
  | {
    kind: "bpe";
    vocab: Uint8Array[];
    merges: Array<[number, number]>;
    pattern: string | null;
    specialTokens: Record<string, number>;
    name: string;
  };

/** Special tokens given as content → id, as added tokens. */
export function specialAdded(specialTokens: Record<string, number> | undefined): AddedToken[] {
  return Object.entries(specialTokens ?? {}).map(([content, id]) => ({
    content,
    id,
    special: true,
  }));
}
