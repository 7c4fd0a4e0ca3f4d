// GPU training (GpuTrainer, trainTinyLM backend "gpu") against the CPU reference trainer, run
// in a child process (tests/models/_train_gpu_child.ts). Skips the GPU part without an adapter.
import { equal, ok } from "node:assert/strict";
import { gpuTest } from "../gpu/_child.ts";

const CHILD = "tests/models/_train_gpu_child.ts";

gpuTest("GPU training equals the CPU reference trainer (f32)", CHILD, [
  { name: "gradients: untied head, GQA", kind: "grads", config: { tie_word_embeddings: false } },
  {
    name: "gradients: tied head, MHA, S=1",
    kind: "grads",
    config: { num_key_value_heads: 4 },
    S: 1,
  },
  {
    name: "gradients: MQA, 1 layer, head_dim 6, batch 3 × 9",
    kind: "grads",
    config: {
      hidden_size: 12,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
    },
    B: 3,
    S: 9,
  },
  { name: "4 AdamW steps (clipped): losses, norms, weights", kind: "steps" },
  {
    name: "4 AdamW steps, tiled matmul kernel",
    kind: "steps",
    matmulKernel: "tiled",
    config: { num_key_value_heads: 1 },
  },
  {
    name: "gradients: registers matmul kernel, untied",
    kind: "grads",
    matmulKernel: "registers",
    config: { tie_word_embeddings: false },
  },
  {
    name: "4 AdamW steps, untied, no clipping",
    kind: "steps",
    config: { tie_word_embeddings: false },
    clip: "none",
  },
  {
    name: "trainTinyLM backend gpu = cpu (history, evals, weights, checkpoint)",
    kind: "trainTinyLM",
  },
  {
    name: "rope scaling is refused with a hint",
    kind: "rejects",
    config: { rope_scaling: { rope_type: "linear", factor: 2 } },
  },
]);

Deno.test('trainTinyLM backend "gpu" without an adapter trains on the CPU and says so', async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD],
    env: { TOKENLAB_NO_GPU: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(
    new TextEncoder().encode(JSON.stringify([{ name: "fallback", kind: "fallback" }])),
  );
  await w.close();
  const out = await child.output();
  const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith("{"));
  const r = JSON.parse(lines[0]);
  equal(r.error, undefined, r.error);
  equal(r.info.backend, "cpu");
  ok(r.worst === 0);
  ok(
    /no WebGPU adapter, training on the CPU/.test(new TextDecoder().decode(out.stderr)),
    "the notice is printed",
  );
});
