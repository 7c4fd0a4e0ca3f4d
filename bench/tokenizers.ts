/**
 * Tokenizer encoding benchmark. First the cold single pass (what a user encoding a new corpus
 * once sees): each encoder in a fresh process, one pass, no warm-up, over held-out text (UDHR
 * in every language, SPDX license texts, source code) and over Brown, beside native tiktoken
 * (Python, Rust core) when it is installed. Then warm passes against gpt-tokenizer, tiktoken
 * (WASM) and js-tiktoken on Brown (ids checked equal), worker scaling, and cost vs corpus size.
 *
 * Usage: deno task bench:tokenizers [--repeats N] [--cold-runs N] [--scaling]
 *
 * @module
 */
import { brownText, loadCodeFiles, loadLicenses, loadUdhr } from "../lib/data/mod.ts";
import { Rng } from "../lib/util/mod.ts";
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

await coldPasses();

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

/** Python with tiktoken importable, or null (native tiktoken is an optional peer). */
async function findTiktokenPython(): Promise<string | null> {
  for (const py of [".venv/bin/python", "python3"]) {
    try {
      const out = await new Deno.Command(py, { args: ["-c", "import tiktoken"], stderr: "null" })
        .output();
      if (out.success) return py;
    } catch { /* not there */ }
  }
  return null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Cold single passes: every (corpus, encoding, encoder) in `runs` fresh processes, in a seeded
 * random order so drift in machine load spreads over all encoders; median and range of MB/s.
 */
async function coldPasses(): Promise<void> {
  const runsArg = Deno.args.indexOf("--cold-runs");
  const runs = runsArg >= 0 ? Number(Deno.args[runsArg + 1]) : 3;
  const dir = await Deno.makeTempDir({ prefix: "tokenlab-bench-" });
  const heldOut = [
    ...loadUdhr().map((t) => t.text),
    ...loadLicenses().map((t) => t.text),
    ...loadCodeFiles().slice(0, 2000).map((f) => f.text),
  ].join("\n\n");
  const corpora = [
    { name: "held-out (UDHR, licenses, code)", path: `${dir}/held_out.txt`, text: heldOut },
    { name: "Brown", path: `${dir}/brown.txt`, text },
  ];
  for (const c of corpora) await Deno.writeTextFile(c.path, c.text);
  const python = await findTiktokenPython();
  if (!python) {
    console.log(
      "notice: native tiktoken (Python) not found — the cold ratio against it is skipped " +
        "(python3 -m venv .venv && .venv/bin/pip install tiktoken)",
    );
  }
  const encoders = ["tokenlab", "gpt-tokenizer", ...(python ? ["tiktoken (native)"] : [])];
  const encodings = ["o200k_base", "cl100k_base"];
  for (const encoding of encodings) {
    // tiktoken's rank file, written from tokenlab's vocabulary (the same bytes js-tiktoken ships)
    const tok = await loadPretrained(encoding);
    const lines: string[] = [];
    for (let id = 0; id < tok.vocabSize; id++) {
      const bytes = tok.tokenBytes(id);
      if (bytes.length > 0) lines.push(`${btoa(String.fromCharCode(...bytes))} ${id}`);
    }
    await Deno.writeTextFile(`${dir}/${encoding}.tiktoken`, lines.join("\n") + "\n");
  }
  const jobs: { corpus: number; encoding: string; encoder: string }[] = [];
  for (let r = 0; r < runs; r++) {
    for (let corpus = 0; corpus < corpora.length; corpus++) {
      for (const encoding of encodings) {
        for (const encoder of encoders) jobs.push({ corpus, encoding, encoder });
      }
    }
  }
  const rng = new Rng(2026);
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [jobs[i], jobs[j]] = [jobs[j], jobs[i]];
  }
  const results = new Map<string, { seconds: number[]; tokens: number; hash: number }>();
  let done = 0;
  for (const job of jobs) {
    const c = corpora[job.corpus];
    const args = job.encoder === "tiktoken (native)"
      ? [
        "bench/peers/tiktoken_cold.py",
        job.encoding,
        `${dir}/${job.encoding}.tiktoken`,
        c.path,
      ]
      : ["run", "-A", "bench/_cold_pass.ts", job.encoder, job.encoding, c.path];
    const cmd = job.encoder === "tiktoken (native)" ? python! : Deno.execPath();
    const out = await new Deno.Command(cmd, { args, stderr: "inherit" }).output();
    if (!out.success) throw new Error(`cold pass failed: ${cmd} ${args.join(" ")}`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    const key = `${job.corpus}|${job.encoding}|${job.encoder}`;
    const entry = results.get(key) ?? { seconds: [] as number[], tokens: r.tokens, hash: r.hash };
    entry.seconds.push(r.seconds);
    results.set(key, entry);
    Deno.stderr.writeSync(new TextEncoder().encode(`\rcold passes ${++done}/${jobs.length}`));
  }
  console.error("");
  console.log(
    `\nCold single pass: a fresh process per run, one encode, no warm-up; ${runs} runs each in ` +
      "random order; MB/s as median (min–max)\n",
  );
  console.log("| corpus | MB | encoding | encoder | MB/s cold | ids = native | tokenlab ÷ this |");
  console.log("|---|---:|---|---|---:|---|---:|");
  for (let corpus = 0; corpus < corpora.length; corpus++) {
    const mbytes = new TextEncoder().encode(corpora[corpus].text).length / 1e6;
    for (const encoding of encodings) {
      const ours = results.get(`${corpus}|${encoding}|tokenlab`)!;
      const native = results.get(`${corpus}|${encoding}|tiktoken (native)`);
      for (const encoder of encoders) {
        const r = results.get(`${corpus}|${encoding}|${encoder}`)!;
        const speeds = r.seconds.map((s) => mbytes / s);
        const same = native
          ? (r.hash === native.hash && r.tokens === native.tokens ? "yes" : "NO")
          : "—";
        console.log(
          `| ${corpora[corpus].name} | ${mbytes.toFixed(1)} | ${encoding} | ${encoder} | ` +
            `${median(speeds).toFixed(2)} (${Math.min(...speeds).toFixed(2)}–${
              Math.max(...speeds).toFixed(2)
            }) | ${same} | ${(median(r.seconds) / median(ours.seconds)).toFixed(2)}× |`,
        );
      }
    }
  }
  await Deno.remove(dir, { recursive: true });
}
