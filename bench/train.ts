/**
 * Training throughput: tokens/s of one training step (forward, backward, gradient clipping,
 * AdamW) of a TinyLM on the CPU reference trainer and on the GPU trainer (`GpuTrainer`, what
 * `trainTinyLM({ backend: "gpu" })` runs), on the default draft model's config
 * (data/models/tiny-draft/config.json) by default. Steps use seeded random tokens; the first
 * step of each backend is a warm-up (shader compilation) and is not timed. The GPU step
 * includes reading back its loss and gradient norm, as in training.
 *
 * Run: `deno task bench:train [--config path/config.json] [--batch 4] [--seq 128] [--steps 3]
 * [--no-cpu] [--no-gpu] [--matmul tiled|registers] [--json out.json]` (`--matmul` picks the GPU
 * trainer's matmul shader; by default "registers" on a software adapter, "tiled" otherwise).
 *
 * @module
 */
import { getDevice } from "../lib/gpu/mod.ts";
import {
  AdamW,
  clipGradNorm,
  GpuTrainer,
  parseConfig,
  TinyLM,
  type TrainBatch,
} from "../lib/models/mod.ts";
import { Rng } from "../lib/util/rng.ts";

const args = Deno.args;
const flag = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const configPath = flag(
  "--config",
  new URL("../data/models/tiny-draft/config.json", import.meta.url).pathname,
);
const B = Number(flag("--batch", "4")), S = Number(flag("--seq", "128"));
const steps = Number(flag("--steps", "3"));
const config = parseConfig(JSON.parse(await Deno.readTextFile(configPath)), configPath);
const rng = new Rng(1);
const batches: TrainBatch[] = Array.from({ length: steps + 1 }, () => {
  const ids = Int32Array.from({ length: B * S + 1 }, () => rng.int(config.vocabSize));
  return { inputs: ids.slice(0, -1), targets: ids.slice(1), batchSize: B, seqLen: S };
});
const results: Record<string, unknown>[] = [];
const lm0 = new TinyLM(config, { seed: 0 });
console.log(
  `config ${configPath}: ${config.numLayers} layers, d=${config.hiddenSize}, ${config.numHeads}/${config.numKvHeads} heads, MLP ${config.intermediateSize}, vocab ${config.vocabSize} (${
    (lm0.parameterCount / 1e6).toFixed(2)
  }M params); batch ${B}×${S}, ${steps} timed steps after 1 warm-up`,
);

function report(backend: string, device: string, seconds: number[], losses: number[]) {
  const total = seconds.reduce((a, b) => a + b, 0);
  const tps = (steps * B * S) / total;
  results.push({ backend, device, tokensPerSecond: tps, stepSeconds: seconds, losses });
  console.log(
    `${backend.padEnd(4)} ${device.padEnd(52)} ${tps.toFixed(0).padStart(7)} tok/s  ` +
      `(${(total / steps).toFixed(2)} s/step; losses ${losses.map((l) => l.toFixed(4)).join(" ")})`,
  );
}

if (!args.includes("--no-cpu")) {
  const lm = new TinyLM(config, { seed: 0 });
  const opt = new AdamW(lm);
  const seconds: number[] = [], losses: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    const loss = lm.lossAndGrad(batches[i]);
    clipGradNorm(lm.grads, 1);
    opt.step({ lr: 1e-3 });
    if (i > 0) seconds.push((performance.now() - t0) / 1000);
    losses.push(loss);
  }
  report("cpu", "JS reference (1 thread)", seconds, losses);
}

if (!args.includes("--no-gpu")) {
  const gpu = await getDevice();
  if (!gpu) console.log("gpu: no WebGPU adapter, skipped");
  else {
    const mm = args.includes("--matmul")
      ? flag("--matmul", "") as "tiled" | "registers"
      : undefined;
    const trainer = new GpuTrainer(new TinyLM(config, { seed: 0 }), { gpu, matmulKernel: mm });
    const seconds: number[] = [], losses: number[] = [];
    for (let i = 0; i <= steps; i++) {
      const t0 = performance.now();
      const r = await trainer.step(batches[i], { lr: 1e-3, gradClip: 1 });
      if (i > 0) seconds.push((performance.now() - t0) / 1000);
      losses.push(r.loss);
    }
    trainer.release();
    report("gpu", `${gpu.adapter.name}, ${mm ?? "default"} matmul`, seconds, losses);
  }
}

const jsonAt = args.indexOf("--json");
if (jsonAt >= 0) await Deno.writeTextFile(args[jsonAt + 1], JSON.stringify(results, null, 1));
