/**
 * XGrammar's WebAssembly build (`@mlc-ai/web-xgrammar`, pinned in deno.json) as a peer for
 * `deno task bench:grammar` and notebooks/78-xgrammar: loading it in Deno, and its tokenizer
 * info built from a tokenlab tokenizer (ids without bytes, specials included, as empty
 * strings, so they are never allowed inside a grammar; stop ids given).
 *
 * The package is a UMD bundle declared as an ES module: it needs `require` and `__filename`
 * before it is imported, and then puts its API on `globalThis.xgrammar`.
 *
 * @module
 */
import { createRequire } from "node:module";
import type { Tokenizer } from "../../lib/tokenizers/mod.ts";
import { BYTE_TO_UNICODE } from "../../lib/tokenizers/_bytes.ts";

/** The parts of web-xgrammar's API the benchmark uses (its own typings are incomplete). */
export interface XgMatcher {
  getNextTokenBitmask(): Promise<Int32Array>;
  acceptToken(id: number): boolean;
  rollBack(n: number): void;
  reset(): void;
  isTerminated(): boolean;
  dispose(): void;
}
/** A compiled grammar (opaque). */
export interface XgCompiled {
  dispose(): void;
}
/** A grammar compiler bound to one tokenizer info. */
export interface XgCompiler {
  compileJSONSchema(
    schema: string,
    anyWhitespace?: boolean,
    indent?: number,
    separators?: [string, string],
    strictMode?: boolean,
    maxWhitespaceCnt?: number,
  ): Promise<XgCompiled>;
  compileBuiltinJSONGrammar(): Promise<XgCompiled>;
  compileGrammar(grammar: unknown, root?: string): Promise<XgCompiled>;
  dispose(): void;
}
/** Tokenizer info (opaque). */
export interface XgTokenizerInfo {
  dispose(): void;
}
/** The module object. */
export interface XGrammar {
  TokenizerInfo: {
    createTokenizerInfo(
      vocab: string[],
      vocabType: string,
      prependSpace: boolean,
      vocabSize: number,
      stopTokenIds: number[],
    ): Promise<XgTokenizerInfo>;
  };
  GrammarCompiler: {
    createGrammarCompiler(info: XgTokenizerInfo, cacheEnabled?: boolean): Promise<XgCompiler>;
  };
  GrammarMatcher: {
    createGrammarMatcher(
      compiled: XgCompiled,
      overrideStopTokens?: number[],
      terminateWithoutStopToken?: boolean,
      maxRollbackTokens?: number,
    ): Promise<XgMatcher>;
  };
  Grammar: { fromEBNF(ebnf: string, root?: string): Promise<unknown> };
}

let loaded: Promise<XGrammar> | undefined;

/** Loads web-xgrammar once per process. */
export function loadXGrammar(): Promise<XGrammar> {
  loaded ??= (async () => {
    const g = globalThis as Record<string, unknown>;
    g.require ??= createRequire(import.meta.url);
    g.__filename ??= new URL(import.meta.url).pathname;
    await import("@mlc-ai/web-xgrammar");
    const xg = g.xgrammar as XGrammar | undefined;
    if (!xg) throw new Error("web-xgrammar loaded but globalThis.xgrammar is missing");
    return xg;
  })();
  return loaded;
}

/** A token's bytes in the byte-level spelling XGrammar's "byte_level" vocab type decodes. */
export function byteLevel(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_UNICODE[b];
  return s;
}

/**
 * The tokenizer's vocabulary for XGrammar: one entry per id of the id space; specials and
 * ids without bytes are empty strings (never allowed inside a grammar).
 */
export function xgVocab(tok: Tokenizer): string[] {
  const specials = new Set(Object.values(tok.specialTokens));
  const out: string[] = new Array(tok.idSpace);
  for (let id = 0; id < tok.idSpace; id++) {
    if (specials.has(id)) {
      out[id] = "";
      continue;
    }
    try {
      out[id] = byteLevel(tok.tokenBytes(id));
    } catch {
      out[id] = "";
    }
  }
  return out;
}

/** Tokenizer info for a tokenlab tokenizer with the given stop ids. */
export async function xgTokenizerInfo(
  xg: XGrammar,
  tok: Tokenizer,
  stopTokens: readonly number[],
): Promise<XgTokenizerInfo> {
  return await xg.TokenizerInfo.createTokenizerInfo(
    xgVocab(tok),
    "byte_level",
    false,
    tok.idSpace,
    [...stopTokens],
  );
}
