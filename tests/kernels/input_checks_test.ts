// Every wrapper checks its input before it picks the CPU reference or the GPU kernel, so a bad
// input gives the same TokenlabError on CPU tensors as on GPU tensors.
import { equal, match } from "node:assert/strict";
import { GPU, runChild } from "../gpu/_child.ts";
import { BAD_CALLS, errorOf } from "./_bad_inputs.ts";

Deno.test("kernel wrappers refuse bad input on CPU tensors with a TokenlabError naming it", async (t) => {
  for (const call of BAD_CALLS) {
    await t.step(call.name, async () => {
      const message = await errorOf(call, null);
      match(message, /^TokenlabError: /);
      match(message, call.want);
    });
  }
});

Deno.test({
  name: GPU
    ? "kernel wrappers give the same error on GPU tensors as on CPU tensors"
    : "kernel wrappers give the same error on GPU tensors (ignored: no WebGPU adapter)",
  ignore: !GPU,
  async fn(t) {
    const run = await runChild("tests/kernels/_input_checks_child.ts", { cases: [] });
    equal(run.results.length, BAD_CALLS.length, run.stderr.slice(-2000));
    for (const [i, call] of BAD_CALLS.entries()) {
      await t.step(call.name, async () => {
        equal(run.results[i].name, call.name);
        equal(run.results[i].info?.message, await errorOf(call, null));
      });
    }
  },
});
