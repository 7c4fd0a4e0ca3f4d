/**
 * Tokenizer encoding benchmark: tokenlab vs gpt-tokenizer, tiktoken (WASM) and js-tiktoken on
 * the Brown corpus, one thread, o200k and cl100k; ids are checked equal before timing counts.
 * Also cost vs corpus size (1, 2, 4, 8×).
 *
 * Usage: deno task bench:tokenizers [--repeats N] [--scaling]
 *
 * @module
 */
import { brownText } from "../lib/data/mod.ts";
import { EncoderPool, loadPretrained } from "../lib/tokenizers/mod.ts";
import { get_encoding } from "tiktoken";
import { Tiktoken as JsTiktoken } from "js-tiktoken/lite";
import o200kRanks from "js-tiktoken/ranks/o200k_base";
import cl100kRanks from "js-tiktoken/ranks/cl100k_base";
import * as gptO200k from "gpt-tokenizer/encoding/o200k_base";
import * as gptCl100k from "gpt-tokenizer/encoding/cl100k_base";

const repeats = Number(Deno.args[Deno.args.indexOf("--repeats") + 1]) || 3;
const text = brownText();
const mb = new TextEncoder().encode(text).length / 1e6;

interface Row {
  encoding: string;
  encoder: string;
  firstMBs: number;
  bestMBs: number;
  tokens: number;
  sameIds: boolean;
}

function time(
  fn: () => ArrayLike<number>,
): { first: number; best: number; ids: ArrayLike<number> } {
  let first = 0, best = Infinity, ids: ArrayLike<number> = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    ids = fn();
    const dt = (performance.now() - t0) / 1000;
    if (r === 0) first = dt;
    best = Math.min(best, dt);
  }
  return { first, best, ids };
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const rows: Row[] = [];
for (const name of ["o200k_base", "cl100k_base"] as const) {
  const ours = await loadPretrained(name);
  const wasm = get_encoding(name);
  const js = new JsTiktoken(name === "o200k_base" ? o200kRanks : cl100kRanks);
  const gpt = name === "o200k_base" ? gptO200k : gptCl100k;
  const reference = wasm.encode_ordinary(text);
  const encoders: [string, () => ArrayLike<number>][] = [
    ["tokenlab", () => ours.encode(text)],
    [
      "gpt-tokenizer",
      () => gpt.encode(text, { allowedSpecial: new Set(), disallowedSpecial: new Set() }),
    ],
    ["tiktoken (WASM)", () => wasm.encode_ordinary(text)],
    ["js-tiktoken", () => js.encode(text, [], [])],
  ];
  for (const [label, fn] of encoders) {
    const { first, best, ids } = time(fn);
    rows.push({
      encoding: name,
      encoder: label,
      firstMBs: mb / first,
      bestMBs: mb / best,
      tokens: ids.length,
      sameIds: same(ids, reference),
    });
    console.error(`${name} ${label}: ${(mb / best).toFixed(2)} MB/s`);
  }
  wasm.free();
}

console.log(
  `\nBrown corpus ${mb.toFixed(2)} MB, one thread, best of ${repeats} (first run beside it)\n`,
);
console.log(
  "| encoding | encoder | MB/s (best) | MB/s (first) | tokens | ids = tiktoken | tokenlab ÷ this |",
);
console.log("|---|---|---:|---:|---:|---|---:|");
for (const r of rows) {
  const ours = rows.find((x) => x.encoding === r.encoding && x.encoder === "tokenlab")!;
  console.log(
    `| ${r.encoding} | ${r.encoder} | ${r.bestMBs.toFixed(2)} | ${
      r.firstMBs.toFixed(2)
    } | ${r.tokens} | ${r.sameIds ? "yes" : "NO"} | ${(ours.bestMBs / r.bestMBs).toFixed(2)}× |`,
  );
}

{
  console.log("\nencodeBatch over the 500 Brown documents (o200k_base), warm workers:\n");
  console.log("| workers | seconds | MB/s | speed-up |");
  console.log("|---:|---:|---:|---:|");
  const docs = text.split("\n\n");
  const tok = await loadPretrained("o200k_base");
  tok.encodeBatch(docs);
  const t0 = performance.now();
  tok.encodeBatch(docs);
  const serial = (performance.now() - t0) / 1000;
  console.log(`| 0 (this thread) | ${serial.toFixed(2)} | ${(mb / serial).toFixed(2)} | 1.00× |`);
  for (let n = 1; n <= (navigator.hardwareConcurrency ?? 1); n *= 2) {
    const pool = await EncoderPool.create(tok, { workers: n });
    await pool.encodeBatch(docs); // warm the workers' caches and JIT
    const t1 = performance.now();
    await pool.encodeBatch(docs);
    const dt = (performance.now() - t1) / 1000;
    pool.close();
    console.log(
      `| ${n} | ${dt.toFixed(2)} | ${(mb / dt).toFixed(2)} | ${(serial / dt).toFixed(2)}× |`,
    );
  }
}

if (Deno.args.includes("--scaling")) {
  console.log(
    "\nEncoding cost vs corpus size (o200k_base; the piece cache carries over between sizes, as in a long run):\n",
  );
  console.log("| copies | MB | seconds | MB/s |");
  console.log("|---:|---:|---:|---:|");
  for (const k of [1, 2, 4, 8]) {
    const big = Array(k).fill(text).join("\n");
    const tok = await loadPretrained("o200k_base");
    const t0 = performance.now();
    tok.encode(big);
    const dt = (performance.now() - t0) / 1000;
    console.log(
      `| ${k} | ${(mb * k).toFixed(1)} | ${dt.toFixed(2)} | ${(mb * k / dt).toFixed(2)} |`,
    );
  }
}
