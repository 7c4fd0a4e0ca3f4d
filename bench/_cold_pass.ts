/**
 * One cold encode in a fresh process, for bench/tokenizers.ts: load the tokenizer, encode the
 * corpus file once (no warm-up: the piece cache and the JIT start empty), print one JSON line
 * with the seconds of that pass, the token count and a hash of the ids.
 *
 * Usage: deno run -A bench/_cold_pass.ts ENCODER ENCODING CORPUS_FILE
 *
 * @module
 */
import { loadPretrained } from "../lib/tokenizers/mod.ts";

const [encoder, encoding, corpusPath] = Deno.args;
const text = await Deno.readTextFile(corpusPath);
let encode: (t: string) => ArrayLike<number>;
if (encoder === "tokenlab") {
  const tok = await loadPretrained(encoding);
  encode = (t) => tok.encode(t);
} else if (encoder === "gpt-tokenizer") {
  const gpt = encoding === "o200k_base"
    ? await import("gpt-tokenizer/encoding/o200k_base")
    : await import("gpt-tokenizer/encoding/cl100k_base");
  encode = (t) => gpt.encode(t, { allowedSpecial: new Set(), disallowedSpecial: new Set() });
} else throw new Error(`unknown encoder ${encoder}`);
const t0 = performance.now();
const ids = encode(text);
const seconds = (performance.now() - t0) / 1000;
let h = 0x811c9dc5;
for (let i = 0; i < ids.length; i++) h = Math.imul(h ^ ids[i], 16777619) >>> 0;
console.log(JSON.stringify({ seconds, tokens: ids.length, hash: h }));
