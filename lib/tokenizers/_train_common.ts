/**
 * Helpers the tokenizer trainers share (corpus and vocabulary-size checks, pre-token counting,
 * the byte alphabet, progress reporting, building the result from merges). Internal: not
 * exported from the tokenizers entry point.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { isJupyter } from "../util/jupyter.ts";
import { progress } from "../util/progress.ts";
import { utf8Binary } from "./_bytes.ts";
import type { PretokenizerSpec } from "./pretokenizers.ts";
import { Tokenizer } from "./tokenizer.ts";

/** Checks the corpus and returns it as an array of strings. */
export function checkCorpus(texts: unknown, fn: string): string[] {
  if (typeof texts === "string") return [texts];
  if (!Array.isArray(texts)) {
    throw new TokenlabError(`${fn} needs a string or an array of strings, got ${typeof texts}`);
  }
  texts.forEach((t, i) => {
    if (typeof t !== "string") {
      throw new TokenlabError(`${fn}: texts[${i}] is a ${typeof t}, not a string`, {
        hint: "decode files to strings first (or use trainBinaryBpe for raw bytes)",
      });
    }
  });
  if (texts.every((t) => t.length === 0)) {
    throw new TokenlabError(`${fn}: the corpus is empty`, {
      hint: "pass at least one non-empty text",
    });
  }
  return texts as string[];
}

/** Counts pre-tokens (as UTF-8 binary strings). */
export function countPieces(texts: string[], re: RegExp | null): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (piece: string) => {
    const key = utf8Binary(piece);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  for (const text of texts) {
    if (re === null) {
      if (text) add(text);
      continue;
    }
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      if (m.index > last) add(text.slice(last, m.index));
      add(m[0]);
      last = m.index + m[0].length;
    }
    if (last < text.length) add(text.slice(last));
  }
  return counts;
}

/** The 256 byte symbols (id = byte value). */
export function byteSymbols(): string[] {
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));
}

/** A progress callback: the user's, or a bar when someone is watching. */
export function progressFor(
  label: string,
  onProgress?: (done: number, total: number) => void,
): { onMerge: (done: number, total: number) => void; finish: () => void } {
  if (onProgress) return { onMerge: onProgress, finish: () => {} };
  let watching = isJupyter();
  try {
    watching ||= Deno.stderr.isTerminal();
  } catch { /* no stderr */ }
  if (!watching) return { onMerge: () => {}, finish: () => {} };
  let bar: ReturnType<typeof progress> | null = null;
  return {
    onMerge: (done, total) => {
      bar ??= progress(total, { label, unit: "merges" });
      bar.set(done);
    },
    finish: () => bar?.finish(),
  };
}

/** Builds a Tokenizer from byte symbols + merges (+ specials at the end). */
export function tokenizerFromMerges(
  symbols: string[],
  merges: Array<[number, number]>,
  options: { pretokenizer: PretokenizerSpec; specialTokens?: string[]; name: string },
): Tokenizer {
  const vocab = symbols.map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0)));
  const specialTokens: Record<string, number> = {};
  (options.specialTokens ?? []).forEach((t, i) => (specialTokens[t] = symbols.length + i));
  const tok = Tokenizer.fromBpe({
    vocab: [...vocab, ...(options.specialTokens ?? []).map(() => new Uint8Array(0))],
    merges,
    pretokenizer: options.pretokenizer,
    specialTokens,
    name: options.name,
  });
  return tok;
}

/** Validates a vocabulary size against the base alphabet. */
export function checkVocabSize(vocabSize: unknown, minimum: number, fn: string): void {
  if (typeof vocabSize !== "number" || !Number.isInteger(vocabSize)) {
    throw new TokenlabError(`${fn}: vocabSize must be an integer, got ${vocabSize}`);
  }
  if (vocabSize < minimum) {
    throw new TokenlabError(
      `${fn}: vocabSize ${vocabSize} is below the base alphabet (${minimum})`,
      {
        hint:
          "byte-level BPE needs one token per byte (256) plus the special tokens before any merge",
      },
    );
  }
}
