// GPU backend of lib/models against the transformers fixtures, run in a child process
// (tests/models/_gpu_child.ts). Skips when there is no WebGPU adapter.
import { gpuTest } from "../gpu/_child.ts";

const PARITY = [
  "llama_gqa",
  "mistral",
  "qwen2_bias",
  "llama_tied",
  "llama_rope_params",
  "llama_bf16",
  "qwen2_f16",
  "llama_sharded",
];

gpuTest(
  "models gpu backend vs transformers fixtures (1e-3 relative)",
  "tests/models/_gpu_child.ts",
  [
    ...PARITY.map((fixture) => ({ name: `${fixture} logits`, kind: "logits", fixture })),
    ...["llama_gqa", "qwen2_bias", "llama_tied"].map((fixture) => ({
      name: `${fixture} greedy continuation identical`,
      kind: "greedy",
      fixture,
    })),
    {
      name: "llama_gqa cache: incremental and after keep() equal",
      kind: "cache",
      fixture: "llama_gqa",
    },
    {
      name: "llama_gqa cache: 150 decode steps (device copy grows), evict, tree accept equal CPU",
      kind: "cache-growth",
      fixture: "llama_gqa",
    },
    { name: "llama3 rope scaling is refused with a hint", kind: "rejects", fixture: "llama3_rope" },
    {
      name: "mistral_window beyond its window is refused with a hint",
      kind: "rejects",
      fixture: "mistral_window",
    },
  ],
);
