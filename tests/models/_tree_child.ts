// GPU child for the tree-verification tests (protocol of tests/gpu/_child.ts): the same cases
// as the CPU test on the gpu backend, plus GPU tree logits against CPU tree logits.
import { getDevice } from "../../lib/gpu/mod.ts";
import { loadModel } from "../../lib/models/mod.ts";
import {
  acceptedPathContinues,
  chainEqualsForward,
  PREFIX,
  TREE,
  treeVsPaths,
} from "./_tree_cases.ts";
import { relErr } from "../_compare.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;
type Spec = { name: string; kind: string; fixture: string; tol: number };

async function run(spec: Spec): Promise<number> {
  const g = await loadModel(FIX + spec.fixture, { backend: "gpu" });
  if (g.backend !== "gpu") throw new Error("not on the gpu backend");
  if (spec.kind === "paths") return await treeVsPaths(g);
  if (spec.kind === "accept") return await acceptedPathContinues(g);
  if (spec.kind === "chain") return await chainEqualsForward(g);
  if (spec.kind === "cpu") {
    const c = await loadModel(FIX + spec.fixture);
    const gc = g.newCache(), cc = c.newCache();
    await g.forward(PREFIX, gc);
    await c.forward(PREFIX, cc);
    const a = await g.forwardTree(TREE, gc), b = await c.forwardTree(TREE, cc);
    return relErr([[a, b]]);
  }
  throw new Error(`unknown case kind ${spec.kind}`);
}

const specs: Spec[] = JSON.parse(await new Response(Deno.stdin.readable).text());
const gpu = await getDevice({ quiet: true });
if (!gpu) console.log(JSON.stringify({ skip: "no WebGPU adapter in this environment" }));
else {
  for (const spec of specs) {
    try {
      const err = await run(spec);
      console.log(
        JSON.stringify({ name: spec.name, worst: err / spec.tol, maxAbsErr: err, elements: 1 }),
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
