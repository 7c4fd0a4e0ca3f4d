// The pre-tokenizer stage of tokenizers whose whole pre-tokenizer is one pattern (tiktoken
// ranks, trained vocabularies): the regex, the hand-written scanner where the named pattern
// has one (_scanner.ts), and the pipeline step built from them.

import { type Scanner, scannerFor } from "./_scanner.ts";
import type { PreTokenize } from "./_hf_pipeline.ts";
import { splitKeepAll } from "./_split.ts";
import { type PretokenizerSpec, resolvePretokenizer } from "./pretokenizers.ts";

/** A single-pattern pre-tokenizer. */
export interface SinglePattern {
  /** The compiled pattern (null for "none"); the encode loop's regex path uses it. */
  splitRe: RegExp | null;
  /** The scanner of a named pattern, when there is one (the encode loop prefers it). */
  scanner: Scanner | null;
  /** The pipeline step: the scanner's pieces, else the regex's (gaps kept), else the text. */
  preTokenize: PreTokenize;
  /** The pattern source, for saving. */
  patternSource: string | null;
}

/** The single-pattern pre-tokenizer for `spec`. */
export function singlePattern(spec: PretokenizerSpec): SinglePattern {
  const re = resolvePretokenizer(spec);
  const scanner = typeof spec === "string" ? scannerFor(spec) : null;
  return {
    splitRe: re,
    scanner,
    preTokenize: splitterOf(scanner, re),
    patternSource: re ? re.source : null,
  };
}

/** The pre-tokenizer step of a single-pattern tokenizer: its scanner, else its regex. */
function splitterOf(scanner: Scanner | null, re: RegExp | null): PreTokenize {
  if (scanner) {
    return (pieces) => {
      const out: string[] = [];
      for (const p of pieces) {
        for (let s = 0; s < p.length;) {
          const e = scanner(p, s);
          out.push(p.slice(s, e));
          s = e;
        }
      }
      return out;
    };
  }
  return re ? (pieces) => pieces.flatMap((p) => splitKeepAll(p, re)) : (p) => p;
}
