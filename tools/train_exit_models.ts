/**
 * Trains the exit-aware variants of the default target for notebooks 83-del and 31-skipdecode:
 * continued training of `data/models/tiny-target` (4 layers, d 128) on the Brown training
 * split, each written to `data/models/<name>/` with a `training_log.json` and a
 * `MODEL_CARD.md`, and the training recipe under `tokenlab_exit_training` in config.json
 * (what `speculativeGenerate` checks before running "del" or "skipdecode").
 *
 * - `tiny-target-exit`: LayerSkip's early-exit loss (every layer's exit through the final norm
 *   and the shared head, weights `EXIT_WEIGHTS`; no layer dropout, no curriculum).
 * - `tiny-target-skipdecode`: SkipDecode's schedule — per window a random prompt length, the
 *   prompt runs every layer, then the top k(t) layers with k falling from kMax to kMin.
 *
 * Scaled down against the papers: a 4-layer 1.8 M-parameter model continued for a few hundred
 * steps of 4 × 64 tokens from an ordinarily trained checkpoint (LayerSkip continues
 * pre-training Llama for billions of tokens; SkipDecode fine-tunes OPT-1.3B/6.7B).
 *
 * Usage: `deno run -A tools/train_exit_models.ts exit|skipdecode [--steps N] [--out DIR]`
 *
 * @module
 */
import { loadBrown, splitTrainTest } from "../lib/data/mod.ts";
import { Tokenizer } from "../lib/tokenizers/mod.ts";
import {
  createTrainer,
  loadModel,
  Model,
  saveModel,
  TinyLM,
  tokenStream,
  type TrainBatch,
} from "../lib/models/mod.ts";
import { skipDecodeSkips } from "../lib/decoding/skipdecode.ts";
import { Rng } from "../lib/util/rng.ts";

const args = [...Deno.args];
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const OUT = flag("--out") ?? "data/models";
const STEPS = Number(flag("--steps") ?? 120);
const what = args[0];
if (what !== "exit" && what !== "skipdecode") {
  throw new Error("usage: deno run -A tools/train_exit_models.ts exit|skipdecode [--steps N]");
}
const EXIT_WEIGHTS = [0.5, 0.5, 0.5, 1];
const SCHEDULE = { kMax: 4, kMin: 1, span: 32 };
const PROMPT = { min: 8, max: 40 };
const B = 4, S = 64, LR = 2e-3, WARMUP = 10, SEED = 7;

const base = await loadModel("data/models/tiny-target");
const tokenizer = await Tokenizer.fromTokenizerJson("data/models/brown-bpe-8k/tokenizer.json");
const { train, test } = splitTrainTest(loadBrown(), { testFraction: 0.1, seed: 0 });
const sep = tokenizer.specialTokens["<|endoftext|>"];
const stream = tokenStream(train.map((d) => d.text), { tokenizer, separatorId: sep });
const held = tokenStream(test.map((d) => d.text), { tokenizer, separatorId: sep });
const L = base.config.numLayers;
const lm = new TinyLM(base.config, { seed: SEED });
lm.loadWeights(base);
const trainer = await createTrainer(lm, { backend: "cpu" });
const rng = new Rng(SEED);

function fill(batch: TrainBatch, tokens: Int32Array, r: Rng): void {
  for (let b = 0; b < B; b++) {
    const o = r.int(tokens.length - S - 1);
    batch.inputs.set(tokens.subarray(o, o + S), b * S);
    batch.targets.set(tokens.subarray(o + 1, o + S + 1), b * S);
    if (batch.skipLayers) {
      const promptLength = PROMPT.min + r.int(PROMPT.max - PROMPT.min + 1);
      batch.skipLayers.set(
        skipDecodeSkips(S, { numLayers: L, ...SCHEDULE, promptLength }),
        b * S,
      );
    }
  }
}

const batch: TrainBatch = {
  inputs: new Int32Array(B * S),
  targets: new Int32Array(B * S),
  batchSize: B,
  seqLen: S,
};
if (what === "exit") batch.exitLossWeights = EXIT_WEIGHTS;
else batch.skipLayers = new Int32Array(B * S);

const history: number[][] = [];
const t0 = performance.now();
for (let step = 0; step < STEPS; step++) {
  fill(batch, stream, rng);
  const p = step < WARMUP ? (step + 1) / WARMUP : (step - WARMUP) / Math.max(1, STEPS - WARMUP);
  const lr = step < WARMUP ? LR * p : LR * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p)));
  const { loss } = await trainer.step(batch, { lr, weightDecay: 0.1, gradClip: 1 });
  history.push([step + 1, +loss.toFixed(4)]);
  if ((step + 1) % 20 === 0) {
    const s = (performance.now() - t0) / 1000;
    console.log(`${what} step ${step + 1}/${STEPS} loss ${loss.toFixed(3)} ${s.toFixed(0)} s`);
  }
}
const seconds = (performance.now() - t0) / 1000;

// held-out loss of every exit (and of the schedule), before and after, on the same windows
function heldOut(m: TinyLM): Record<string, number> {
  const r = new Rng(99);
  const out: Record<string, number> = {};
  const evalBatch: TrainBatch = {
    inputs: new Int32Array(B * S),
    targets: new Int32Array(B * S),
    batchSize: B,
    seqLen: S,
  };
  const windows = 4;
  for (let w = 0; w < windows; w++) {
    fill(evalBatch, held, r);
    for (let l = 0; l < L; l++) {
      const weights = Array(L).fill(0);
      weights[l] = 1;
      out[`exit${l}`] = (out[`exit${l}`] ?? 0) +
        m.loss({ ...evalBatch, exitLossWeights: weights }) / windows;
    }
    const promptLength = 24;
    const skipLayers = new Int32Array(B * S);
    for (let b = 0; b < B; b++) {
      skipLayers.set(skipDecodeSkips(S, { numLayers: L, ...SCHEDULE, promptLength }), b * S);
    }
    out.schedule = (out.schedule ?? 0) + m.loss({ ...evalBatch, skipLayers }) / windows;
  }
  for (const k of Object.keys(out)) out[k] = +out[k].toFixed(4);
  return out;
}
const baseLm = new TinyLM(base.config);
baseLm.loadWeights(base);
const before = heldOut(baseLm), after = heldOut(lm);

const name = what === "exit" ? "tiny-target-exit" : "tiny-target-skipdecode";
const recipe = what === "exit"
  ? { method: "layerskip", exitLossWeights: EXIT_WEIGHTS, layerDropout: 0 }
  : { method: "skipdecode", schedule: SCHEDULE, promptLength: PROMPT };
const trained = lm.toModel();
const model = new Model(
  {
    ...trained.config,
    raw: {
      ...trained.config.raw,
      tokenlab_exit_training: {
        ...recipe,
        from: "tiny-target",
        steps: STEPS,
        batchSize: B,
        seqLen: S,
      },
    },
  },
  trained.weights,
);
model.tokenizer = tokenizer;
const dir = `${OUT}/${name}`;
await saveModel(model, dir);
const log = {
  name,
  from: "tiny-target",
  recipe,
  steps: STEPS,
  batchSize: B,
  seqLen: S,
  lr: LR,
  seconds: +seconds.toFixed(1),
  heldOutLossBefore: before,
  heldOutLossAfter: after,
  history,
};
await Deno.writeTextFile(`${dir}/training_log.json`, JSON.stringify(log) + "\n");
const rows = Object.keys(before).map((k) =>
  `| ${k} | ${Math.exp(before[k]).toFixed(1)} | ${Math.exp(after[k]).toFixed(1)} |`
);
await Deno.writeTextFile(
  `${dir}/MODEL_CARD.md`,
  `# ${name}

Exit-aware variant of \`tiny-target\` (${lm.parameterCount} parameters, ${L} layers), made by
\`deno run -A tools/train_exit_models.ts ${what}\`: ${STEPS} steps of ${B} × ${S} tokens from
tiny-target's weights (AdamW, lr ${LR}, cosine, ${seconds.toFixed(0)} s on the CPU).
${
    what === "exit"
      ? `Loss: LayerSkip's early-exit loss, Σ_ℓ w_ℓ · CE(exit ℓ) with w = [${EXIT_WEIGHTS}] (no layer dropout).`
      : `Loss: ordinary cross-entropy under SkipDecode's schedule: per window a prompt of ${PROMPT.min}–${PROMPT.max} tokens runs every layer, then the top k(t) layers run, k falling from ${SCHEDULE.kMax} to ${SCHEDULE.kMin} over ${SCHEDULE.span} positions.`
  }

Held-out perplexity (4 windows of ${B} × ${S} Brown test tokens; "schedule": SkipDecode's
schedule after a 24-token prompt):

| exit | tiny-target | ${name} |
|---|---|---|
${rows.join("\n")}

Scaled down: LayerSkip continues pre-training for billions of tokens and SkipDecode fine-tunes
OPT-1.3B/6.7B; this is ${STEPS * B * S} tokens on a ${L}-layer model.
`,
);
console.log(`${name}: ${seconds.toFixed(0)} s`, { before, after });
