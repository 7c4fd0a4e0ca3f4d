// GPU child of tests/models/quantized_test.ts: a model loaded with { quant } on the gpu backend
// (the fused quantised kernels) against the dequantised-f32 model on the CPU; for DFloat11,
// against the bf16-cast f32 model on the GPU, which it must equal bit for bit.
import { bundledModelPath, GpuForward, loadModel, Model } from "../../lib/models/mod.ts";
import { registerCase, serve } from "../kernels/_gpu_cases.ts";
import { codec, mapLinears } from "./_quant_helpers.ts";

registerCase("quantModel", async (gpu, s) => {
  const dir = bundledModelPath(s.fixture);
  const m = await loadModel(dir, { backend: "gpu", quant: s.quant });
  if (m.backend !== "gpu" || !m.quantized) throw new Error("not a quantised gpu model");
  const base = await loadModel(dir);
  const weights = mapLinears(base, codec(s.quant));
  const ref = s.quant === "dfloat11"
    ? new Model(base.config, weights, new GpuForward(base.config, { weights, gpu }))
    : new Model(base.config, weights);
  // a 12-token prefill (the tiled shader) then two decode steps (the matvec) through the cache
  const prompt = [1, 50, 400, 7, 8191, 3, 99, 1000, 2, 5, 6, 4096];
  const outs = [];
  const cq = m.newCache(), cr = ref.newCache();
  outs.push({ got: await m.forward(prompt, cq), want: await ref.forward(prompt, cr) });
  for (const id of [17, 4000]) {
    outs.push({ got: await m.forward([id], cq), want: await ref.forward([id], cr) });
  }
  // a 3-token step (matvec with 3 rows)
  outs.push({ got: await m.forward([9, 10, 11], cq), want: await ref.forward([9, 10, 11], cr) });
  return outs;
});

if (import.meta.main) await serve();
