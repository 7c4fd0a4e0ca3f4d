import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  AdamW,
  clipGradNorm,
  loadModel,
  lrAt,
  matmulNN,
  matmulNT,
  matmulTN,
  parseConfig,
  streamLoss,
  tinyConfig,
  TinyLM,
  tokenStream,
  trainTinyLM,
} from "../../lib/models/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { assertClose, relErr } from "../_compare.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;

function tiny(extra: Record<string, unknown> = {}) {
  return parseConfig(tinyConfig({
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 20,
    vocab_size: 23,
    rms_norm_eps: 1e-5,
    ...extra,
  }));
}

function randomBatch(seed: number, o: { B: number; S: number; V: number }) {
  const rng = new Rng(seed);
  const inputs = Int32Array.from({ length: o.B * o.S }, () => rng.int(o.V));
  const targets = Int32Array.from({ length: o.B * o.S }, () => rng.int(o.V));
  targets[1] = -1; // an ignored position
  return { inputs, targets, batchSize: o.B, seqLen: o.S };
}

/** Central finite differences on a sample of every tensor, in f64. */
function gradCheck(config: ReturnType<typeof tiny>, label: string) {
  const lm = new TinyLM(config, { seed: 3, precision: "f64", initStd: 0.3 });
  const rng = new Rng(11);
  // non-trivial norm gains so their gradients are exercised
  for (const s of lm.slots) {
    if (s.shape.length === 1) {
      for (let i = 0; i < s.size; i++) lm.params[s.offset + i] = 1 + 0.3 * rng.normal();
    }
  }
  const batch = randomBatch(5, { B: 2, S: 6, V: config.vocabSize });
  lm.lossAndGrad(batch);
  const analytic = Float64Array.from(lm.grads);
  const h = 1e-5;
  let worst = 0, worstName = "";
  for (const s of lm.slots) {
    for (let k = 0; k < 6; k++) {
      const i = s.offset + rng.int(s.size);
      const keep = lm.params[i];
      lm.params[i] = keep + h;
      const up = lm.loss(batch);
      lm.params[i] = keep - h;
      const down = lm.loss(batch);
      lm.params[i] = keep;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(numeric - analytic[i]) /
        Math.max(1e-4, Math.abs(numeric) + Math.abs(analytic[i]));
      if (err > worst) [worst, worstName] = [err, `${s.name}[${i - s.offset}]`];
    }
  }
  ok(worst < 1e-5, `${label}: worst relative gradient error ${worst} at ${worstName}`);
}

Deno.test("gradients match finite differences: untied head, GQA", () => {
  gradCheck(tiny({ tie_word_embeddings: false }), "untied");
});

Deno.test("gradients match finite differences: tied head, MHA, llama3 rope scaling", () => {
  gradCheck(
    tiny({
      num_key_value_heads: 4,
      tie_word_embeddings: true,
      rope_scaling: {
        rope_type: "llama3",
        factor: 4,
        original_max_position_embeddings: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
      },
    }),
    "tied",
  );
});

Deno.test("gradients match finite differences: one kv head, linear rope scaling; f64 stays f64", () => {
  const config = tiny({
    num_key_value_heads: 1,
    tie_word_embeddings: false,
    rope_scaling: { rope_type: "linear", factor: 3 },
  });
  gradCheck(config, "mqa");
  // the kernels' references keep the f64 twin in f64 all the way to the logits
  const lm = new TinyLM(config, { seed: 1, precision: "f64" });
  ok(lm.logits([1, 2, 3]) instanceof Float64Array, "f64 logits");
});

Deno.test("TinyLM forward equals the runtime Model's logits; checkpoint loads back", async () => {
  const config = tiny({ tie_word_embeddings: false });
  const lm = new TinyLM(config, { seed: 9, initStd: 0.2 });
  const ids = [3, 1, 4, 1, 5, 9, 2, 6];
  const a = lm.logits(ids);
  const model = lm.toModel();
  const b = await model.logits(ids);
  assertClose(a, b, { atol: 1e-5, what: "TinyLM vs Model logits" });
  const dir = await Deno.makeTempDir();
  try {
    const { writeCheckpoint } = await import("../../lib/models/mod.ts");
    await writeCheckpoint(lm, { dir });
    const again = await loadModel(dir);
    deepEqual(await again.logits(ids), b);
    const lm2 = new TinyLM(config, { seed: 1 });
    lm2.loadWeights(again);
    deepEqual(lm2.params, lm.params);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TinyLM forward reproduces a transformers fixture's logits (llama_tied)", async () => {
  const ref = JSON.parse(await Deno.readTextFile(`${FIX}llama_tied/reference.json`));
  const model = await loadModel(FIX + "llama_tied");
  const lm = new TinyLM(model.config);
  lm.loadWeights(model);
  const err = relErr([[lm.logits(ref.ids), ref.logits]]);
  ok(err < 1e-4, `relative error ${err}`);
});

Deno.test("blocked matmuls equal naive loops", () => {
  const rng = new Rng(2);
  for (const [R, K, O] of [[1, 3, 1], [5, 7, 3], [8, 16, 9], [4, 4, 4]]) {
    const x = Float32Array.from({ length: R * K }, () => rng.normal());
    const w = Float32Array.from({ length: O * K }, () => rng.normal());
    const dy = Float32Array.from({ length: R * O }, () => rng.normal());
    const y = matmulNT(new Float32Array(R * O), { x, w, rows: R, inDim: K, outDim: O });
    const dx = matmulNN(new Float32Array(R * K), { dy, w, rows: R, inDim: K, outDim: O });
    const dw = matmulTN(new Float32Array(O * K), { dy, x, rows: R, inDim: K, outDim: O });
    for (let r = 0; r < R; r++) {
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let i = 0; i < K; i++) s += x[r * K + i] * w[o * K + i];
        equal(y[r * O + o], Math.fround(s));
      }
    }
    for (let r = 0; r < R; r++) {
      for (let i = 0; i < K; i++) {
        let s = 0;
        for (let o = 0; o < O; o++) s += dy[r * O + o] * w[o * K + i];
        ok(Math.abs(dx[r * K + i] - s) < 1e-5 * (1 + Math.abs(s)));
      }
    }
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < K; i++) {
        let s = 0;
        for (let r = 0; r < R; r++) s += dy[r * O + o] * x[r * K + i];
        ok(Math.abs(dw[o * K + i] - s) < 1e-5 * (1 + Math.abs(s)));
      }
    }
  }
});

Deno.test("lr schedules: warmup, cosine and linear end at minLr, constant stays", () => {
  const o = { lr: 1, steps: 101, warmupSteps: 10, minLrRatio: 0.1 };
  equal(lrAt(0, o), 0.1);
  equal(lrAt(9, o), 1);
  equal(lrAt(10, o), 1);
  ok(Math.abs(lrAt(100, o) - 0.1) < 1e-12);
  ok(Math.abs(lrAt(55, o) - 0.55) < 1e-12); // cosine midpoint
  ok(Math.abs(lrAt(55, { ...o, schedule: "linear" }) - 0.55) < 1e-12);
  ok(Math.abs(lrAt(32.5, { ...o, schedule: "linear" }) - 0.775) < 1e-12);
  equal(lrAt(70, { ...o, schedule: "constant" }), 1);
});

Deno.test("clipGradNorm and AdamW (first step moves each weight by ≈ lr)", () => {
  const g = new Float32Array([3, 4]);
  equal(clipGradNorm(g, 10), 5);
  deepEqual([...g], [3, 4]);
  equal(clipGradNorm(g, 1), 5);
  ok(Math.abs(g[0] - 0.6) < 1e-6 && Math.abs(g[1] - 0.8) < 1e-6);
  const lm = new TinyLM(tiny(), { seed: 1 });
  const before = Float32Array.from(lm.params);
  lm.lossAndGrad(randomBatch(1, { B: 1, S: 4, V: 23 }));
  new AdamW(lm).step({ lr: 1e-3, weightDecay: 0 });
  for (let i = 0; i < before.length; i += 97) {
    const d = Math.abs(lm.params[i] - before[i]);
    ok(lm.grads[i] === 0 ? d === 0 : Math.abs(d - 1e-3) < 1e-4, `param ${i} moved ${d}`);
  }
});

Deno.test("trainTinyLM learns a repetitive corpus; progress, evals and checkpoint", async () => {
  const chars = "abcdefghij .";
  const tokenizer = {
    encode: (s: string) => Uint32Array.from(s, (c) => chars.indexOf(c)),
    decode: (ids: ArrayLike<number>) => Array.from(ids, (i) => chars[i]).join(""),
  };
  const texts = Array.from({ length: 20 }, (_, i) => "abcdefghij. ".repeat(3 + (i % 4)));
  const seen: number[] = [];
  const dir = await Deno.makeTempDir();
  try {
    const res = await trainTinyLM({
      config: {
        hidden_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 32,
        vocab_size: chars.length,
      },
      tokenizer,
      texts,
      evalTexts: texts.slice(0, 3),
      steps: 60,
      batchSize: 4,
      seqLen: 16,
      lr: 1e-2,
      seed: 4,
      checkpointDir: dir,
      onProgress: (p) => {
        seen.push(p.step);
        ok(p.tokensPerSecond > 0 && p.etaSeconds >= 0);
      },
    });
    equal(seen.length, 60);
    const first = res.history[0].loss, last = res.history.at(-1)!.loss;
    ok(Math.abs(first - Math.log(chars.length)) < 0.3, `initial loss ${first}`);
    ok(last < 0.5, `final loss ${last}`);
    ok(res.evals.length >= 2 && res.evals.at(-1)!.perplexity < 2);
    const loaded = await loadModel(dir);
    const z = await loaded.logits([0, 1, 2]);
    let best = 0;
    for (let j = 1; j < chars.length; j++) {
      if (z[2 * chars.length + j] > z[2 * chars.length + best]) best = j;
    }
    equal(chars[best], "d");
    const tokens = tokenStream(texts.slice(0, 2), { tokenizer });
    ok(streamLoss(res.lm, { tokens, seqLen: 16 }) < 0.6);
    // continuing from the trained weights starts where training ended
    const more = await trainTinyLM({
      config: res.model.config,
      tokenizer,
      texts,
      init: res.model,
      steps: 2,
      batchSize: 4,
      seqLen: 16,
      lr: 1e-3,
      onProgress: () => {},
    });
    ok(more.history[0].loss < 0.6, `continued loss ${more.history[0].loss}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("training inputs are validated with clear errors", async () => {
  const tok = { encode: () => new Uint32Array([1, 2]), decode: () => "" };
  const base = {
    config: {
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 16,
      vocab_size: 5,
    },
    tokenizer: tok,
    texts: ["x"],
    steps: 1,
    batchSize: 1,
    seqLen: 4,
    lr: 1e-3,
  };
  const err = await trainTinyLM(base).catch((e) => e);
  ok(err instanceof TokenlabError && /fewer than seqLen/.test(err.message));
  const err2 = await trainTinyLM({ ...base, steps: 0 }).catch((e) => e);
  ok(err2 instanceof TokenlabError && /steps must be a positive integer/.test(err2.message));
  throws(
    () => new TinyLM(parseConfig({ ...tinyConfig(base.config), model_type: "qwen2" })),
    /biases/,
  );
  const lm = new TinyLM(parseConfig(tinyConfig(base.config)));
  throws(
    () =>
      lm.loss({
        inputs: new Int32Array([7]),
        targets: new Int32Array([1]),
        batchSize: 1,
        seqLen: 1,
      }),
    /outside the vocabulary/,
  );
});

const PY = new URL("../../.venv/bin/python", import.meta.url).pathname;
// the check needs torch and transformers in the venv, not only the venv
const hasVenv = (() => {
  try {
    const args = ["-c", "import torch, transformers"];
    return new Deno.Command(PY, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "a trained checkpoint loads in HF transformers with the same logits" +
    (hasVenv ? "" : " (ignored: .venv lacks torch or transformers)"),
  ignore: !hasVenv,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const tokenizer = {
        encode: (s: string) => Uint32Array.from(s, (c) => c.charCodeAt(0) % 64),
        decode: () => "",
      };
      const res = await trainTinyLM({
        config: {
          hidden_size: 32,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          intermediate_size: 48,
          vocab_size: 64,
          tie_word_embeddings: false,
        },
        tokenizer,
        texts: ["a small corpus for a small model. ".repeat(20)],
        steps: 5,
        batchSize: 2,
        seqLen: 16,
        lr: 1e-2,
        checkpointDir: dir,
        onProgress: () => {},
      });
      const ids = [1, 5, 9, 33, 2, 40, 7];
      const logits = await res.model.logits(ids);
      await Deno.writeTextFile(`${dir}/ref.json`, JSON.stringify({ ids, logits: [...logits] }));
      const script = new URL("../fixtures/check_saved_model.py", import.meta.url).pathname;
      const out = await new Deno.Command(PY, { args: [script, dir, `${dir}/ref.json`] }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      ok(out.success, text.slice(-500));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
