/**
 * What happens when a kernel or tensor needs a WebGPU feature the device lacks: one error with
 * the feature named and the fix, shared by tensors and the pipeline cache.
 *
 * @module
 */

import { TokenlabError } from "../util/errors.ts";
import { GPU_MASK_ENV } from "../util/_gpu_env.ts";

/** Matches a WGSL `enable f16;` directive. */
const ENABLE_F16 = /\benable\s+f16\s*;/;

/** Whether a WGSL source needs `shader-f16`. */
export function needsShaderF16(source: string): boolean {
  return ENABLE_F16.test(source);
}

/** Devices whose adapter has shader-f16 but were requested without it (masked). */
const f16Masked = new WeakSet<GPUDevice>();

/** Records that `device` was requested without the adapter's shader-f16 because it is masked. */
export function markShaderF16Masked(device: GPUDevice): void {
  f16Masked.add(device);
}

/**
 * Throws unless `device` has `shader-f16`. `what` names the thing that needs it ("an f16
 * tensor", "the shader matmul"). The hint says how to get the feature or avoid needing it.
 */
export function requireShaderF16(device: GPUDevice, what: string): void {
  if (device.features.has("shader-f16")) return;
  const masked = f16Masked.has(device);
  throw new TokenlabError(
    `this device lacks the WebGPU feature shader-f16` +
      (masked ? ` (masked by ${GPU_MASK_ENV})` : "") + `, which ${what} needs`,
    {
      hint: masked
        ? `unset ${GPU_MASK_ENV} to use the adapter's shader-f16, or use dtype f32`
        : "use dtype f32, or an adapter with shader-f16: on Linux without a GPU, Mesa's Vulkan " +
          "driver has it (apt-get install mesa-vulkan-drivers, or run `deno task setup`); " +
          "Mesa's OpenGL llvmpipe does not",
    },
  );
}
