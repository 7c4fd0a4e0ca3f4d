/**
 * Tokenizer training benchmark: tokenlab's trainBpe vs the native HF trainer (Rust, npm
 * `tokenizers`) on the Brown corpus to 30 000 tokens with the GPT-2 pre-tokenizer; SuperBPE to
 * 30 000 with the transition at 20 000; cost vs corpus size (1, 2, 4, 8×). Each run is a fresh
 * process so peak memory (VmHWM) is its own.
 *
 * Usage: deno task bench:tokenizers:train [--no-scaling]
 *
 * @module
 */
import { brownText } from "../lib/data/mod.ts";
import { trainBpe, trainSuperBpe } from "../lib/tokenizers/mod.ts";
import { BPE, byteLevelPreTokenizer, Tokenizer as HfTokenizer } from "tokenizers";

function peakMb(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function worker(mode: string, copies: number): Promise<void> {
  const docs = brownText().split("\n\n");
  const corpus = Array.from({ length: copies }, () => docs).flat();
  const t0 = performance.now();
  let vocab = 0;
  if (mode === "tokenlab") {
    vocab =
      trainBpe(corpus, { vocabSize: 30000, pretokenizer: "gpt2", onProgress: () => {} }).vocabSize;
  } else if (mode === "superbpe") {
    vocab = trainSuperBpe(corpus, { vocabSize: 30000, transition: 20000, onProgress: () => {} })
      .vocabSize;
  } else if (mode === "hf") {
    const path = await Deno.makeTempFile({ suffix: ".txt" });
    await Deno.writeTextFile(path, corpus.join("\n\n"));
    const start = performance.now();
    const tok = new HfTokenizer(BPE.empty());
    tok.setPreTokenizer(byteLevelPreTokenizer(false, true));
    tok.train([path]); // the default BPE trainer: vocab 30 000
    vocab = tok.getVocabSize();
    await Deno.remove(path);
    console.log(
      JSON.stringify({ seconds: (performance.now() - start) / 1000, peakMb: peakMb(), vocab }),
    );
    return;
  }
  console.log(
    JSON.stringify({ seconds: (performance.now() - t0) / 1000, peakMb: peakMb(), vocab }),
  );
}

async function run(
  mode: string,
  copies: number,
): Promise<{ seconds: number; peakMb: number; vocab: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--worker", mode, String(copies)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  return JSON.parse(text);
}

if (Deno.args[0] === "--worker") {
  await worker(Deno.args[1], Number(Deno.args[2]));
} else {
  const mb = new TextEncoder().encode(brownText()).length / 1e6;
  console.log(
    `Brown corpus ${
      mb.toFixed(2)
    } MB, target vocabulary 30 000, GPT-2 pre-tokenizer, one process each\n`,
  );
  console.log("| trainer | seconds | peak RSS (MB) | vocab | HF time ÷ this |");
  console.log("|---|---:|---:|---:|---:|");
  const hf = await run("hf", 1);
  const ours = await run("tokenlab", 1);
  const sup = await run("superbpe", 1);
  for (
    const [label, r] of [["HF tokenizers (Rust, native)", hf], ["tokenlab trainBpe", ours], [
      "tokenlab trainSuperBpe (t = 20 000)",
      sup,
    ]] as const
  ) {
    console.log(
      `| ${label} | ${r.seconds.toFixed(2)} | ${r.peakMb.toFixed(0)} | ${r.vocab} | ${
        (hf.seconds / r.seconds).toFixed(2)
      }× |`,
    );
  }
  if (!Deno.args.includes("--no-scaling")) {
    console.log("\nTraining cost vs corpus size (trainBpe to 30 000):\n");
    console.log("| copies | MB | seconds | seconds per MB |");
    console.log("|---:|---:|---:|---:|");
    for (const k of [1, 2, 4, 8]) {
      const r = k === 1 ? ours : await run("tokenlab", k);
      console.log(
        `| ${k} | ${(mb * k).toFixed(1)} | ${r.seconds.toFixed(2)} | ${
          (r.seconds / (mb * k)).toFixed(3)
        } |`,
      );
    }
  }
}
