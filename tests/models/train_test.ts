import { equal, ok, throws } from "node:assert/strict";
import {
  loadModel,
  parseConfig,
  streamLoss,
  tinyConfig,
  TinyLM,
  tokenStream,
  trainTinyLM,
} from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

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
