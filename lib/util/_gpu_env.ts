/**
 * The environment variable that hides WebGPU features from tokenlab's device wrapper, read in
 * one place for the GPU layer and the environment report.
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
