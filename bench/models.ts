/**
 * Model runtime benchmark (CPU backend): parity with the transformers fixtures
 * (max|a-b|/max|b|), prefill and decode tokens/s on the fixtures, on the default models in
 * data/models/ and on a random-weight model of realistic shape (24 layers, d=896, like
 * SmolLM2-360M); training tokens/s of `trainTinyLM`'s step on the default models' shapes.
 * With `--peer` it also runs bench/peers/models_torch.py (PyTorch eager, same shapes, same
 * device) through `.venv/bin/python` or `python3` and prints our ratio.
 *
 * With `--kv` it runs only the KV-cache benchmark instead: greedy generation of 4096 tokens
 * (`--kv-tokens N`) from an 8-token prompt with `generate` on the tiny-target default model
 * (`--kv-model DIR`), CPU backend (`--kv-backend gpu` for the GPU one), printing tokens/s
 * overall and per 1024-token window (a cache that copies itself on every append slows down
 * window after window; one that grows geometrically holds its pace up to attention's own
 * linear cost), best of `--kv-reps` runs (default 1).
 *
 * Run: `deno task bench:models [--peer] [--no-large] [--json out.json]`, or
 * `deno task bench:models --kv [--kv-tokens 4096] [--kv-reps 3] [--kv-backend cpu|gpu]`.
 *
 * @module
 */
import {
  AdamW,
  generate,
  generateStream,
  loadModel,
  type Model,
  Model as ModelClass,
  parseConfig,
  tinyConfig,
  TinyLM,
} from "../lib/models/mod.ts";

const FIX = new URL("../tests/fixtures/models/", import.meta.url).pathname;
const MODELS = new URL("../data/models/", import.meta.url).pathname;
const NAMES = [
  "llama_gqa",
  "mistral",
  "qwen2_bias",
  "llama_tied",
  "llama_rope_params",
  "mistral_window",
  "llama_bf16",
  "qwen2_f16",
  "llama_sharded",
  "llama3_rope",
  "llama_linear_rope",
];
const args = Deno.args;
const jsonAt = args.indexOf("--json");
const results: Record<string, unknown>[] = [];

async function speed(model: Model, o: { prompt: number; decode: number; reps: number }) {
  const V = model.config.vocabSize;
  const prompt = Array.from({ length: o.prompt }, (_, i) => (i * 37 + 1) % V);
  await model.logits(prompt.slice(0, 4)); // warm-up
  let t0 = performance.now();
  for (let r = 0; r < o.reps; r++) await model.logits(prompt);
  const prefill = (o.reps * prompt.length) / ((performance.now() - t0) / 1000);
  // decode: time only the new tokens (prefill of an 8-token prompt subtracted)
  const cache = model.newCache();
  await model.forward(prompt.slice(0, 8), cache);
  t0 = performance.now();
  let next = prompt[8];
  for (let i = 0; i < o.decode; i++) {
    const z = await model.forward([next], cache);
    let best = 0;
    for (let j = 1; j < V; j++) if (z[j] > z[best]) best = j;
    next = best;
  }
  const decode = o.decode / ((performance.now() - t0) / 1000);
  return { prefill, decode };
}

function argValue(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Greedy generation of `tokens` new tokens: overall and per-window tokens/s, best of `reps`. */
async function kvGeneration(model: Model, o: { tokens: number; reps: number; window: number }) {
  const V = model.config.vocabSize;
  const prompt = Array.from({ length: 8 }, (_, i) => (i * 37 + 1) % V);
  let best: { total: number; windows: number[]; ids: number[] } | null = null;
  for (let r = 0; r < o.reps; r++) {
    const ids: number[] = [];
    const marks = [performance.now()];
    const t0 = marks[0];
    for await (const id of generateStream(model, prompt, { maxNewTokens: o.tokens })) {
      ids.push(id);
      if (ids.length % o.window === 0) marks.push(performance.now());
    }
    const total = ids.length / ((performance.now() - t0) / 1000);
    const windows = marks.slice(1).map((t, i) => o.window / ((t - marks[i]) / 1000));
    if (!best || total > best.total) best = { total, windows, ids };
  }
  return best!;
}

if (args.includes("--kv")) {
  const tokens = Number(argValue("--kv-tokens") ?? 4096);
  const reps = Number(argValue("--kv-reps") ?? 1);
  const backend = (argValue("--kv-backend") ?? "cpu") as "cpu" | "gpu";
  const dir = argValue("--kv-model") ?? MODELS + "tiny-target";
  const model = await loadModel(dir, { backend });
  const c = model.config;
  console.log(
    `## KV cache: greedy generation of ${tokens} tokens, ${dir.split("/").filter(Boolean).pop()} ` +
      `(${c.numLayers} layers, d=${c.hiddenSize}, ${c.numKvHeads} kv heads × ${c.headDim}), ` +
      `${backend} backend, best of ${reps}`,
  );
  await generate(model, [1, 2, 3], { maxNewTokens: 8 }); // warm-up
  const window = 1024;
  const r = await kvGeneration(model, { tokens, reps, window });
  // a fingerprint of the generated ids: the same before and after a change of the cache
  let h = 0;
  for (const id of r.ids) h = (Math.imul(h, 31) + id) >>> 0;
  console.log(
    `greedy ${tokens} tokens: ${r.total.toFixed(1)} tok/s; per ${window}-token window: ${
      r.windows.map((w) => w.toFixed(1)).join(", ")
    } tok/s; ids hash ${h.toString(16)}`,
  );
  results.push({ kind: "kv", backend, tokens, tokPerS: r.total, windows: r.windows, idsHash: h });
  // the cache alone: one-token appends to every layer, as a decode makes them (no model)
  const row = c.numKvHeads * c.headDim;
  const k = new Float32Array(row).fill(0.5), v = new Float32Array(row).fill(0.25);
  let appendsPerS = 0;
  for (let rep = 0; rep < reps; rep++) {
    const cache = model.newCache();
    const t0 = performance.now();
    for (let t = 0; t < tokens; t++) {
      for (let l = 0; l < c.numLayers; l++) cache.append(l, { k, v, positions: [t] });
    }
    appendsPerS = Math.max(appendsPerS, tokens / ((performance.now() - t0) / 1000));
  }
  console.log(
    `cache alone: ${tokens} one-token appends to each of ${c.numLayers} layers: ${
      appendsPerS.toFixed(0)
    } tokens/s`,
  );
  results.push({ kind: "kv-append", tokens, tokPerS: appendsPerS });
  if (jsonAt >= 0) await Deno.writeTextFile(args[jsonAt + 1], JSON.stringify(results, null, 1));
  Deno.exit(0);
}

console.log("## parity with transformers and speed on the fixtures (CPU backend)");
for (const name of NAMES) {
  const ref = JSON.parse(await Deno.readTextFile(`${FIX}${name}/reference.json`));
  const model = await loadModel(FIX + name);
  const logits = await model.logits(ref.ids);
  let num = 0, den = 0;
  for (let i = 0; i < ref.logits.length; i++) {
    num = Math.max(num, Math.abs(logits[i] - ref.logits[i]));
    den = Math.max(den, Math.abs(ref.logits[i]));
  }
  const greedy = await generate(model, ref.ids, {
    maxNewTokens: ref.greedy.length - ref.ids.length,
  });
  const s = await speed(model, { prompt: 64, decode: 64, reps: 10 });
  results.push({ kind: "fixture", name, relErr: num / den, ...s });
  console.log(
    `${name.padEnd(18)} rel err ${(num / den).toExponential(2)}  greedy ${
      greedy.join() === ref.greedy.join() ? "same" : "DIFFERS"
    }  prefill ${s.prefill.toFixed(0)} tok/s  decode ${s.decode.toFixed(0)} tok/s`,
  );
}

console.log("\n## default models (data/models)");
for (const name of ["tiny-target", "tiny-draft"]) {
  let model: Model;
  try {
    model = await loadModel(MODELS + name);
  } catch {
    console.log(`${name}: not found (run tools/train_default_models.ts)`);
    continue;
  }
  const s = await speed(model, { prompt: 128, decode: 64, reps: 4 });
  const lm = new TinyLM(model.config);
  lm.loadWeights(model);
  const opt = new AdamW(lm);
  const B = 4, S = 128;
  const inputs = Int32Array.from({ length: B * S }, (_, i) => (i * 31) % model.config.vocabSize);
  const batch = { inputs, targets: inputs, batchSize: B, seqLen: S };
  lm.lossAndGrad(batch);
  const t0 = performance.now();
  const steps = 2;
  for (let i = 0; i < steps; i++) {
    lm.lossAndGrad(batch);
    opt.step({ lr: 0 });
  }
  const train = (steps * B * S) / ((performance.now() - t0) / 1000);
  results.push({ kind: "default", name, ...s, train });
  console.log(
    `${name.padEnd(12)} prefill ${s.prefill.toFixed(0)} tok/s  decode ${
      s.decode.toFixed(0)
    } tok/s  training ${train.toFixed(0)} tok/s (batch ${B}×${S})`,
  );
}

if (!args.includes("--no-large")) {
  console.log("\n## realistic shape: 24 layers, d=896, 14/2 heads, MLP 4864, vocab 49152 (random)");
  const config = parseConfig(tinyConfig({
    hidden_size: 896,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    intermediate_size: 4864,
    vocab_size: 49152,
    rope_theta: 100000,
  }));
  // Cheap deterministic fill (the values do not matter for speed).
  const fill = (n: number) => {
    const a = new Float32Array(n);
    let x = 12345;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      a[i] = ((x >>> 8) / 16777216 - 0.5) * 0.04;
    }
    return a;
  };
  const c = config, Dm = c.hiddenSize, QD = c.numHeads * c.headDim, KD = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const ones = () => new Float32Array(Dm).fill(1);
  const embed = fill(c.vocabSize * Dm);
  const model = new ModelClass(config, {
    embed,
    lmHead: embed,
    norm: ones(),
    layers: Array.from({ length: c.numLayers }, () => ({
      inputNorm: ones(),
      postNorm: ones(),
      q: fill(QD * Dm),
      k: fill(KD * Dm),
      v: fill(KD * Dm),
      o: fill(Dm * QD),
      gate: fill(I * Dm),
      up: fill(I * Dm),
      down: fill(Dm * I),
    })),
  });
  const params = embed.length + c.numLayers * (2 * QD * Dm + 2 * KD * Dm + 3 * I * Dm);
  const s = await speed(model, { prompt: 32, decode: 8, reps: 1 });
  results.push({ kind: "large", name: "smollm2-360m-shape", params, ...s });
  console.log(
    `${(params / 1e6).toFixed(0)}M params  prefill ${
      s.prefill.toFixed(1)
    } tok/s (32 tokens)  decode ${s.decode.toFixed(2)} tok/s`,
  );
}

if (args.includes("--peer")) {
  console.log("\n## PyTorch eager on the same device (bench/peers/models_torch.py)");
  const py = await Deno.stat(".venv/bin/python").then(() => ".venv/bin/python").catch(() =>
    "python3"
  );
  const script = new URL("./peers/models_torch.py", import.meta.url).pathname;
  const peerArgs = [script, ...(args.includes("--no-large") ? ["--no-large"] : [])];
  const out = await new Deno.Command(py, { args: peerArgs, stderr: "inherit" }).output();
  if (!out.success) console.log("peer failed (needs torch and transformers)");
  else {
    const peer = JSON.parse(new TextDecoder().decode(out.stdout)) as Record<
      string,
      { prefill: number; decode: number; threads: number }
    >;
    for (const r of results) {
      const p = peer[r.name as string];
      if (!p) continue;
      const ours = r as { prefill: number; decode: number };
      console.log(
        `${String(r.name).padEnd(20)} torch (${p.threads} threads) prefill ${
          p.prefill.toFixed(1)
        } decode ${p.decode.toFixed(1)} tok/s; ours/torch prefill ${
          (ours.prefill / p.prefill).toFixed(3)
        } decode ${(ours.decode / p.decode).toFixed(3)}`,
      );
      r.torch = p;
    }
  }
}

if (jsonAt >= 0) await Deno.writeTextFile(args[jsonAt + 1], JSON.stringify(results, null, 1));
