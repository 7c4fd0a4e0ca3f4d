// Reading an HF tokenizer.json into tokenizer parts: the file (or parsed object), refused when
// bad (_tokenizer_json_validate.ts), then the BPE model's vocabulary and merges (byte-level
// symbols as binary strings), the added tokens, and the normalizer, pre-tokenizer and decoder
// steps (_hf_pipeline.ts).

import { TokenlabError } from "../util/errors.ts";
import { byteLevelToBinary } from "./_bytes.ts";
import { validateTokenizerJson } from "./_tokenizer_json_validate.ts";
import { buildDecoder, buildNormalizer, buildPreTokenizer, hasByteLevel } from "./_hf_pipeline.ts";
import type { AddedToken, TokenizerParts } from "./_tokenizer_parts.ts";

/** A parsed tokenizer.json and what to call it in messages (its path, when read from one). */
export interface TokenizerJsonInput {
  json: Record<string, unknown>;
  where: string;
}

/** Reads a tokenizer.json path, or takes a parsed object as it is. */
export async function readTokenizerJson(
  pathOrObject: string | Record<string, unknown>,
): Promise<TokenizerJsonInput> {
  if (typeof pathOrObject === "string") {
    let text: string;
    try {
      text = await Deno.readTextFile(pathOrObject);
    } catch (cause) {
      throw new TokenlabError(`cannot read ${pathOrObject}`, { cause });
    }
    try {
      return { json: JSON.parse(text), where: pathOrObject };
    } catch (cause) {
      throw new TokenlabError(`${pathOrObject} is not valid JSON (corrupt or truncated?)`, {
        hint: "re-download the tokenizer.json",
        cause,
      });
    }
  } else if (pathOrObject && typeof pathOrObject === "object") {
    return { json: pathOrObject, where: "tokenizer.json object" };
  }
  throw new TokenlabError("fromTokenizerJson needs a path or a parsed tokenizer.json object");
}

/** The parts of a tokenizer from a parsed tokenizer.json (`where` names it in errors). */
export function tokenizerJsonParts(json: Record<string, unknown>, where: string): TokenizerParts {
  validateTokenizerJson(json, where); // refuse a bad file before building anything from it
  // deno-lint-ignore no-explicit-any
  const model = json.model as any;
  if (!model || typeof model !== "object") {
    throw new TokenlabError(`${where} has no "model" section`, {
      hint: "is this a Hugging Face tokenizer.json?",
    });
  }
  if (model.type !== "BPE") {
    throw new TokenlabError(`unsupported model type ${JSON.stringify(model.type)} in ${where}`, {
      hint: "tokenlab loads BPE tokenizers (WordPiece, Unigram and WordLevel are not supported)",
    });
  }
  if (!model.vocab || typeof model.vocab !== "object" || !Array.isArray(model.merges)) {
    throw new TokenlabError(`${where}: the BPE model needs a vocab object and a merges list`);
  }
  const byteLevel = hasByteLevel(json.pre_tokenizer);
  const addedContents = new Set(
    ((json.added_tokens ?? []) as AddedToken[]).map((t) => t.content),
  );
  const symbols: string[] = [];
  for (const [tok, id] of Object.entries(model.vocab as Record<string, number>)) {
    if (!Number.isInteger(id) || id < 0) {
      throw new TokenlabError(`${where}: vocab entry ${JSON.stringify(tok)} has bad id ${id}`);
    }
    let sym = tok;
    if (byteLevel) {
      const bin = byteLevelToBinary(tok);
      if (bin === null && addedContents.has(tok)) {
        symbols[id] = ""; // an added token: matched in the raw text, never built by merges
        continue;
      }
      if (bin === null) {
        throw new TokenlabError(
          `${where}: vocab entry ${JSON.stringify(tok)} is not in the byte-level alphabet`,
        );
      }
      sym = bin;
    }
    symbols[id] = sym;
  }
  for (let i = 0; i < symbols.length; i++) symbols[i] ??= "";
  const toSym = (t: string) => (byteLevel ? byteLevelToBinary(t) ?? t : t);
  const merges = (model.merges as unknown[]).map((m, i): [string, string] => {
    let pair: string[];
    if (typeof m === "string") {
      const sp = m.indexOf(" ", 1);
      pair = [m.slice(0, sp), m.slice(sp + 1)];
    } else if (Array.isArray(m) && m.length === 2) pair = m as string[];
    else throw new TokenlabError(`${where}: merge ${i} is malformed: ${JSON.stringify(m)}`);
    return [toSym(pair[0]), toSym(pair[1])];
  });
  const added = ((json.added_tokens ?? []) as AddedToken[]).map((t) => ({
    id: t.id,
    content: t.content,
    special: !!t.special,
  }));
  for (const t of added) if (t.id >= symbols.length) symbols[t.id] = "";
  for (let i = 0; i < symbols.length; i++) symbols[i] ??= "";
  if (model.dropout) {
    throw new TokenlabError(`${where}: BPE dropout is not supported (encoding would be random)`);
  }
  const unkId = model.unk_token != null ? (model.vocab[model.unk_token] ?? null) : null;
  return {
    name: where.split("/").slice(-3).join("/"),
    level: byteLevel ? "byte" : "char",
    symbols,
    rankMode: "merges",
    merges,
    ignoreMerges: !!model.ignore_merges,
    byteFallback: !!model.byte_fallback,
    unkId,
    fuseUnk: !!model.fuse_unk,
    normalize: buildNormalizer(json.normalizer, where),
    preTokenize: buildPreTokenizer(json.pre_tokenizer, where),
    decodeSteps: buildDecoder(json.decoder, where),
    added,
    splitAdded: true,
    patternSource: null,
    json,
    source: { kind: "json", json },
  };
}
