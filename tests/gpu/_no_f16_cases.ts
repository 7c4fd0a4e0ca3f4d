// Child for tests/gpu/no_shader_f16_test.ts, run with TOKENLAB_GPU_MASK_FEATURES=shader-f16:
// the kernel cases of tests/kernels/_gpu_cases.ts plus one that checks every way to reach f16 on
// the device is refused with a TokenlabError naming shader-f16 and the fix.
import { Tensor } from "../../lib/gpu/mod.ts";
import { matmul } from "../../kernels/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { registerCase, serve } from "../kernels/_gpu_cases.ts";

const fail = (msg: string): never => {
  throw new Error(msg);
};

// an adapter that has shader-f16 has it masked; one without it (GL llvmpipe) gets the driver hint
let fix = /unset TOKENLAB_GPU_MASK_FEATURES/;

async function refused(what: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof TokenlabError)) fail(`${what}: threw ${e}, not a TokenlabError`);
    const m = (e as Error).message;
    if (!/lacks the WebGPU feature shader-f16/.test(m) || !fix.test(m)) {
      fail(`${what}: the message does not name shader-f16 and ${fix}: ${m}`);
    }
    return;
  }
  fail(`${what} was not refused`);
}

registerCase("refusesF16", async (gpu) => {
  if (gpu.hasF16 || gpu.features.has("shader-f16")) fail("the device still has shader-f16");
  if (!gpu.adapter.maskedFeatures?.includes("shader-f16")) fix = /mesa-vulkan-drivers/;
  await refused(
    "Tensor.fromArray f16",
    () => Tensor.fromArray([1, 2], { shape: [2], dtype: "f16" }),
  );
  await refused("Tensor.empty f16", () => Tensor.empty([3], { dtype: "f16", gpu }));
  await refused("Tensor.zeros f16", () => Tensor.zeros([3], { dtype: "f16", gpu }));
  const a = Tensor.fromArray([1, 2, 3, 4], { shape: [2, 2], gpu });
  await refused("matmul f32 in, f16 out", () => matmul({ a, b: a }, { outDtype: "f16" }));
  await refused(
    "an `enable f16;` shader",
    () => gpu.pipelines.get("enable f16;\n@compute @workgroup_size(1) fn main() {}"),
  );
  // the f32 path on the same device still computes: [[1,2],[3,4]]² = [[7,10],[15,22]]
  const c = await matmul({ a, b: a });
  return [{ got: await c.toArray(), want: [7, 10, 15, 22] }];
});

if (import.meta.main) await serve();
