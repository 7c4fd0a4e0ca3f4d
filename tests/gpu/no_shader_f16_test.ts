// Proof that the code and the tests are right on an adapter without shader-f16 (Mesa's OpenGL
// llvmpipe, many laptops and browsers): the device is made to look like one by masking the
// feature (TOKENLAB_GPU_MASK_FEATURES=shader-f16). f16 tensors, shaders and kernels are refused
// with an error naming the feature, f32 kernels still agree with their references, and the GPU
// test files report their f16 cases as ignored, never as passed or failed.
import { equal, match, ok } from "node:assert/strict";
import { GPU, runChild } from "./_child.ts";

const MASK = { TOKENLAB_GPU_MASK_FEATURES: "shader-f16" };
const requireGpu = Deno.env.get("TOKENLAB_REQUIRE_GPU") === "1";
const ignore = !GPU && !requireGpu;
const why = GPU ? "" : " (ignored: no WebGPU adapter)";

Deno.test({
  name: `masked shader-f16: f16 refused with the feature named, f32 kernels still right${why}`,
  ignore,
  async fn() {
    ok(GPU, "no WebGPU adapter, and TOKENLAB_REQUIRE_GPU=1 says GPU tests must run");
    const F32 = { atol: 2e-3, rtol: 1e-4 };
    const run = await runChild("tests/gpu/_no_f16_cases.ts", {
      env: MASK,
      cases: [
        { name: "refusals", kind: "refusesF16", atol: 0, rtol: 0 },
        { name: "f32 matmul", kind: "matmul", m: 37, n: 53, k: 29, ...F32 },
        { name: "f32 softmax", kind: "softmax", rows: 5, cols: 77, ...F32 },
        { name: "f16 matmul", kind: "matmul", dtype: "f16", m: 8, n: 8, k: 8, ...F32 },
        { name: "f16 rmsnorm", kind: "rmsnorm", dtype: "f16", rows: 3, d: 64, eps: 1e-6, ...F32 },
      ],
    });
    equal(run.results.length, 5, run.stderr);
    for (const r of run.results.slice(0, 3)) {
      equal(r.error, undefined, `${r.name}: ${r.error}`);
      ok(r.worst <= 1, `${r.name}: ${r.worst}× the tolerance`);
      ok(r.elements > 0, `${r.name} compared nothing`);
    }
    for (const r of run.results.slice(3)) {
      match(
        r.error ?? "",
        /TokenlabError: this device lacks the WebGPU feature shader-f16/,
        r.name,
      );
      match(r.error ?? "", /unset TOKENLAB_GPU_MASK_FEATURES|mesa-vulkan-drivers/, r.name);
    }
  },
});

Deno.test({
  name: `masked shader-f16: GPU test files report every f16 case ignored, nothing failed${why}`,
  ignore,
  async fn() {
    ok(GPU, "no WebGPU adapter, and TOKENLAB_REQUIRE_GPU=1 says GPU tests must run");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", "tests/gpu/gpu_test.ts", "tests/kernels/matmul_test.ts"],
      env: { ...MASK, NO_COLOR: "1", TOKENLAB_REQUIRE_GPU_FEATURES: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    equal(out.code, 0, text.slice(-3000));
    // the f16 cases, by hand: gpu_test.ts has 2 (f16 round trip, device f32→f16 rounding),
    // matmul_test.ts 3 (f16 in f16 out; f16 in f32 out; the registers kernel with f16 in)
    const ignored = text.split("\n").filter((l) =>
      /\(ignored: adapter lacks shader-f16\) \.\.\. ignored/.test(l)
    );
    equal(ignored.length, 5, ignored.join("\n"));
    ok(ignored.every((l) => /f16/.test(l)), ignored.join("\n"));
    match(text, /\| 0 failed \| 0 ignored \(5 steps\)/);
    // and the f32 cases ran: e.g. the big-tile matmul passed
    match(text, /big-tile path 600x520x48 \.\.\. ok/);
  },
});
