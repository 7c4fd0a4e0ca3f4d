// GPU child for the packed-prefill tests (protocol of tests/gpu/_child.ts): packed and padded
// prefill on the gpu backend against each prompt prefilled alone on the CPU backend.
import { getDevice } from "../../lib/gpu/mod.ts";
import { loadModel } from "../../lib/models/mod.ts";
import { packedVsAlone } from "./_packed_cases.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;
type Spec = {
  name: string;
  fixture: string;
  mode: "packed" | "padded";
  capacity?: number;
  tol: number;
};

const specs: Spec[] = JSON.parse(await new Response(Deno.stdin.readable).text());
const gpu = await getDevice({ quiet: true });
if (!gpu) console.log(JSON.stringify({ skip: "no WebGPU adapter in this environment" }));
else {
  for (const spec of specs) {
    try {
      const g = await loadModel(FIX + spec.fixture, { backend: "gpu" });
      const c = await loadModel(FIX + spec.fixture);
      const err = await packedVsAlone(g, c, { mode: spec.mode, capacity: spec.capacity, seed: 3 });
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
