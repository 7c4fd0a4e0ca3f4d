import { ok } from "node:assert/strict";
import { loadModel } from "../../lib/models/mod.ts";
import { gpuTest } from "../gpu/_child.ts";
import { packedVsAlone } from "./_packed_cases.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;

for (const fixture of ["llama_gqa", "qwen2_bias"]) {
  Deno.test(`${fixture} CPU: packed and padded prefill give each prompt's logits alone`, async () => {
    const m = await loadModel(FIX + fixture);
    for (
      const [mode, capacity] of [["packed", undefined], ["packed", 20], [
        "padded",
        undefined,
      ]] as const
    ) {
      const err = await packedVsAlone(m, m, { mode, capacity, seed: 1 });
      ok(err < 1e-5, `${mode} capacity ${capacity}: relative error ${err}`);
    }
  });
}

Deno.test("forwardPacked refuses a malformed batch with a hint", async () => {
  const m = await loadModel(FIX + "llama_gqa");
  let msg = "";
  try {
    await m.forwardPacked({
      ids: [1, 2],
      positions: [0],
      seqIds: [0, 0],
      lastIndex: [1],
      rows: 1,
      rowLength: 2,
      padTokens: 0,
    });
  } catch (e) {
    msg = String(e);
  }
  ok(msg.includes("ids, positions and seqIds of equal length"), msg);
  msg = "";
  try {
    await m.forwardPacked({
      ids: [1, 2],
      positions: [0, 1],
      seqIds: [0, 0],
      lastIndex: [2],
      rows: 1,
      rowLength: 2,
      padTokens: 0,
    });
  } catch (e) {
    msg = String(e);
  }
  ok(msg.includes("lastIndex 2 is outside the 2 tokens"), msg);
});

// GPU packed prefill vs CPU prefill of each prompt alone: f32 kernels with different summation
// order across 2 layers: relative 1e-4 of the largest logit.
gpuTest("models gpu backend: packed prefill", "tests/models/_packed_child.ts", [
  { name: "llama_gqa packed", kind: "packed", fixture: "llama_gqa", mode: "packed", tol: 1e-4 },
  {
    name: "llama_gqa packed, capacity 20",
    kind: "packed",
    fixture: "llama_gqa",
    mode: "packed",
    capacity: 20,
    tol: 1e-4,
  },
  { name: "llama_gqa padded", kind: "packed", fixture: "llama_gqa", mode: "padded", tol: 1e-4 },
  { name: "qwen2_bias packed", kind: "packed", fixture: "qwen2_bias", mode: "packed", tol: 1e-4 },
]);
