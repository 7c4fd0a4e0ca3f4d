/**
 * What the GPU layer and the environment report both need to know about the WebGPU
 * environment, in one place: the variable that hides WebGPU features from tokenlab's device
 * wrapper, and which adapter names are software rasterisers.
 *
 * @module
 */

/** Name of the variable: a comma-separated list of WebGPU feature names, e.g. `shader-f16`. */
export const GPU_MASK_ENV = "TOKENLAB_GPU_MASK_FEATURES";

/**
 * Features named in `TOKENLAB_GPU_MASK_FEATURES`: the device is requested without them, so it
 * behaves like an adapter that lacks them (used to test the paths such adapters take).
 */
export function maskedGpuFeatures(): string[] {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(GPU_MASK_ENV);
  } catch {
    return []; // no env permission: nothing masked
  }
  return (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/**
 * Whether an adapter name is a software rasteriser (llvmpipe, lavapipe, SwiftShader, softpipe,
 * Microsoft Basic Render Driver, WARP). Published from the gpu entry point.
 *
 * @example
 * ```ts
 * import { isSoftwareAdapter } from "@tokenlab/tokenlab/gpu";
 * console.log(isSoftwareAdapter("llvmpipe (LLVM 15.0.6, 256 bits)")); // true
 * ```
 */
export function isSoftwareAdapter(name: string): boolean {
  return /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|\bwarp\b/i.test(name);
}
