// GPU child of input_checks_test.ts: runs every bad call on GPU tensors and prints its error.
import { getDevice } from "../../lib/gpu/mod.ts";
import { BAD_CALLS, errorOf } from "./_bad_inputs.ts";

await new Response(Deno.stdin.readable).text();
const gpu = await getDevice({ quiet: true });
if (!gpu) {
  console.log(JSON.stringify({ skip: "no WebGPU adapter in this environment" }));
} else {
  for (const call of BAD_CALLS) {
    const message = await errorOf(call, gpu);
    console.log(JSON.stringify({ name: call.name, worst: 0, info: { message } }));
  }
  console.log(JSON.stringify({ done: true, adapter: gpu.adapter.name }));
}
