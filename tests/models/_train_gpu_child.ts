// Child process for the GPU training tests (WebGPU work stays out of the test process): reads
// case specs on stdin, prints one JSON line per case ({name, worst, maxAbsErr, elements};
// worst ≤ 1 passes) and a final {"done": true} line. With TOKENLAB_NO_GPU=1 it runs only the
// "fallback" cases (trainTinyLM backend "gpu" without an adapter).
import { getDevice } from "../../lib/gpu/mod.ts";
import {
  AdamW,
  clipGradNorm,
  GpuTrainer,
  loadModel,
  parseConfig,
  tinyConfig,
  TinyLM,
  trainTinyLM,
} from "../../lib/models/mod.ts";
import { toleranceRatio } from "../_compare.ts";
import { Rng } from "../../lib/util/rng.ts";

// deno-lint-ignore no-explicit-any
type Spec = { name: string; kind: string; config?: Record<string, unknown> } & any;

function config(extra: Record<string, unknown> = {}) {
  return parseConfig(tinyConfig({
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 20,
    vocab_size: 23,
    ...extra,
  }));
}

function batches(seed: number, o: { B: number; S: number; V: number; count: number }) {
  const rng = new Rng(seed);
  return Array.from({ length: o.count }, () => {
    const inputs = Int32Array.from({ length: o.B * o.S }, () => rng.int(o.V));
    const targets = Int32Array.from({ length: o.B * o.S }, () => rng.int(o.V));
    targets[1] = -1; // an ignored position
    return { inputs, targets, batchSize: o.B, seqLen: o.S };
  });
}

/** worst of |a−b| / (atol + rtol·|b|); arrays of different lengths throw. */
function compare(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number) {
  const r = toleranceRatio({ got: a, want: b }, { atol, rtol });
  return { worst: r.worst, maxAbs: r.maxAbsErr, n: r.elements };
}

const chars = "abcdefghij .";
const charTokenizer = {
  encode: (s: string) => Uint32Array.from(s, (c) => chars.indexOf(c)),
  decode: (ids: ArrayLike<number>) => Array.from(ids, (i) => chars[i]).join(""),
};

function trainOptions(backend: "cpu" | "gpu", steps: number) {
  const texts = Array.from({ length: 12 }, (_, i) => "abcdefghij. ".repeat(3 + (i % 4)));
  return {
    config: {
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 24,
      vocab_size: chars.length,
    },
    tokenizer: charTokenizer,
    texts,
    evalTexts: texts.slice(0, 2),
    evalEvery: 3,
    steps,
    batchSize: 3,
    seqLen: 10,
    lr: 1e-2,
    seed: 2,
    backend,
    onProgress: () => {},
  };
}

async function run(spec: Spec, gpu: Awaited<ReturnType<typeof getDevice>>) {
  if (spec.kind === "fallback") {
    const r = await trainTinyLM(trainOptions("gpu", 2));
    const ok = r.backend === "cpu" && r.history.length === 2;
    return { worst: ok ? 0 : Infinity, maxAbsErr: 0, elements: 1, info: { backend: r.backend } };
  }
  if (!gpu) throw new Error("no GPU");
  const cfg = config(spec.config);
  const V = cfg.vocabSize, B = spec.B ?? 2, S = spec.S ?? 6;
  if (spec.kind === "grads") {
    // same initial weights on both sides; analytic gradients of one batch
    const cpu = new TinyLM(cfg, { seed: 3, initStd: 0.3 });
    const trainer = new GpuTrainer(new TinyLM(cfg, { seed: 3, initStd: 0.3 }), {
      gpu,
      matmulKernel: spec.matmulKernel,
    });
    const [batch] = batches(5, { B, S, V, count: 1 });
    const loss = cpu.lossAndGrad(batch);
    const g = await trainer.lossAndGrad(batch);
    trainer.release();
    // gradients: f32 sums in another order; scale atol to the gradient's size
    let gmax = 0;
    for (const v of cpu.grads) gmax = Math.max(gmax, Math.abs(v));
    const c = compare(g.grads, cpu.grads, 1e-5 * gmax, 1e-3);
    const l = compare([g.loss], [loss], 0, 1e-5);
    return { worst: Math.max(c.worst, l.worst), maxAbsErr: c.maxAbs, elements: c.n + 1 };
  }
  if (spec.kind === "steps") {
    // `steps` AdamW steps with clipping and weight decay: losses, grad norms, final weights
    const steps = spec.steps ?? 4;
    const cpu = new TinyLM(cfg, { seed: 3, initStd: 0.3 });
    const trainer = new GpuTrainer(new TinyLM(cfg, { seed: 3, initStd: 0.3 }), {
      gpu,
      matmulKernel: spec.matmulKernel,
    });
    const opt = new AdamW(cpu);
    const clip = spec.clip === "none" ? Infinity : spec.clip ?? 1;
    const lossC: number[] = [], lossG: number[] = [], normC: number[] = [], normG: number[] = [];
    for (const batch of batches(7, { B, S, V, count: steps })) {
      lossC.push(cpu.lossAndGrad(batch));
      normC.push(clipGradNorm(cpu.grads, clip));
      opt.step({ lr: 1e-2, weightDecay: 0.1 });
      const r = await trainer.step(batch, { lr: 1e-2, weightDecay: 0.1, gradClip: clip });
      lossG.push(r.loss);
      normG.push(r.gradNorm);
    }
    await trainer.download();
    trainer.release();
    const l = compare(lossG, lossC, 0, 1e-5);
    const n = compare(normG, normC, 0, 1e-4);
    // weights: each AdamW step moves a weight by ≤ lr; allow 1e-5 (≈ f32 noise in ≤ 4 updates)
    const w = compare(trainer.lm.params, cpu.params, 1e-5, 0);
    return {
      worst: Math.max(l.worst, n.worst, w.worst),
      maxAbsErr: w.maxAbs,
      elements: l.n + n.n + w.n,
      info: { lossC, lossG, weightMaxAbs: w.maxAbs },
    };
  }
  if (spec.kind === "trainTinyLM") {
    const steps = 6;
    const c = await trainTinyLM(trainOptions("cpu", steps));
    const dir = await Deno.makeTempDir();
    const g = await trainTinyLM({ ...trainOptions("gpu", steps), checkpointDir: dir });
    // the checkpoint holds the GPU-trained weights
    const saved = await loadModel(dir);
    await Deno.remove(dir, { recursive: true });
    const ids = [0, 1, 2, 3];
    const ck = compare(await saved.logits(ids), await g.model.logits(ids), 1e-6, 0);
    if (ck.worst > 1) throw new Error(`checkpoint logits differ by ${ck.maxAbs}`);
    if (g.backend !== "gpu" || c.backend !== "cpu") throw new Error("wrong backend reported");
    const l = compare(g.history.map((h) => h.loss), c.history.map((h) => h.loss), 0, 1e-5);
    const e = compare(g.evals.map((h) => h.loss), c.evals.map((h) => h.loss), 0, 1e-5);
    const w = compare(g.lm.params, c.lm.params, 1e-5, 0);
    if (g.evals.length !== c.evals.length || g.evals.length < 2) throw new Error("evals differ");
    return {
      worst: Math.max(l.worst, e.worst, w.worst),
      maxAbsErr: w.maxAbs,
      elements: l.n + e.n + w.n,
    };
  }
  if (spec.kind === "rejects") {
    try {
      new GpuTrainer(new TinyLM(cfg), { gpu, matmulKernel: spec.matmulKernel });
    } catch (e) {
      const ok = /backend: "cpu"/.test(String(e));
      return { worst: ok ? 0 : Infinity, maxAbsErr: 0, elements: 0, info: { message: String(e) } };
    }
    return { worst: Infinity, maxAbsErr: 0, elements: 0, error: "no error was thrown" };
  }
  throw new Error(`unknown case kind ${spec.kind}`);
}

if (import.meta.main) {
  const specs: Spec[] = JSON.parse(await new Response(Deno.stdin.readable).text());
  const noGpu = Deno.env.get("TOKENLAB_NO_GPU") === "1";
  const gpu = await getDevice({ quiet: true });
  if (!gpu && !noGpu) {
    console.log(JSON.stringify({ skip: "no WebGPU adapter in this environment" }));
  } else {
    for (const spec of specs) {
      if (noGpu !== (spec.kind === "fallback")) continue;
      try {
        console.log(JSON.stringify({ name: spec.name, ...(await run(spec, gpu)) }));
      } catch (e) {
        console.log(
          JSON.stringify({
            name: spec.name,
            worst: null,
            maxAbsErr: null,
            elements: 0,
            error: String(e),
          }),
        );
      }
    }
    console.log(JSON.stringify({ done: true, adapter: gpu?.adapter.name ?? "none" }));
  }
}
