// GPU child for the speculative-decoding tests (protocol of tests/gpu/_child.ts): on the gpu
// backend, tree verification must give single-row decoding's logits bit for bit, and every
// method's greedy ids must equal generate's on the same backend (issue 16's rounding trap).
import { getDevice } from "../../lib/gpu/mod.ts";
import { bundledModelPath, generate, loadModel, type Model } from "../../lib/models/mod.ts";
import { speculativeGenerate, type SpeculativeMethod } from "../../lib/decoding/speculative.ts";

type Spec = { name: string; kind: string; method?: SpeculativeMethod };

/** Elements of tree rows that differ from single-row decoding (0 = identical). */
async function rowsDiffer(m: Model): Promise<number> {
  const V = m.config.vocabSize;
  const prefix = Array.from(m.tokenizer!.encode("The jury said it did find that"));
  const tree = { ids: [11, 12, 13, 14, 15, 16, 17, 18], parents: [-1, 0, 1, 2, 1, 4, -1, 6] };
  const c = m.newCache();
  await m.forward(prefix, c);
  const rows = await m.forwardTree(tree, c);
  let differ = 0;
  for (const leaf of [3, 5, 7]) {
    const path = [leaf];
    while (tree.parents[path[0]] >= 0) path.unshift(tree.parents[path[0]]);
    const p = m.newCache();
    await m.forward(prefix, p);
    for (const i of path) {
      const one = await m.forward([tree.ids[i]], p);
      for (let j = 0; j < V; j++) if (one[j] !== rows[i * V + j]) differ++;
    }
  }
  return differ;
}

async function run(spec: Spec, m: Model, draft: Model): Promise<number> {
  if (spec.kind === "rows") return await rowsDiffer(m);
  const prompt = Array.from(m.tokenizer!.encode("1. apples 2. pears 3. plums 4. apples 5."));
  const plain = await generate(m, prompt, { maxNewTokens: 24 });
  const r = await speculativeGenerate(m, prompt, {
    method: spec.method!,
    draft,
    maxNewTokens: 24,
  });
  return r.ids.join() === plain.join() ? 0 : 1;
}

const specs: Spec[] = JSON.parse(await new Response(Deno.stdin.readable).text());
const gpu = await getDevice({ quiet: true });
if (!gpu) console.log(JSON.stringify({ skip: "no WebGPU adapter in this environment" }));
else {
  const m = await loadModel(bundledModelPath("tiny-target"), { backend: "gpu" });
  const draft = await loadModel(bundledModelPath("tiny-draft"), { backend: "gpu" });
  for (const spec of specs) {
    try {
      const bad = await run(spec, m, draft);
      // worst ≤ 1 passes: any differing element or token fails
      console.log(
        JSON.stringify({ name: spec.name, worst: bad ? 2 : 0, maxAbsErr: bad, elements: 1 }),
      );
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
  console.log(JSON.stringify({ done: true, adapter: gpu.adapter.name }));
}
