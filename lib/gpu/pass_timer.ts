/**
 * What {@linkcode GpuContext.run} needs of a pass timer: a compute pass descriptor per labelled
 * pass. {@linkcode Profiler} is the implementation; this leaf lets `device.ts` take one without
 * importing `profiler.ts` (which itself imports `device.ts`).
 *
 * @module
 */

/**
 * Something that times compute passes: it hands out the descriptor each pass begins with (a
 * label, plus timestamp writes when it records them).
 *
 * @example
 * ```ts
 * import type { PassTimer } from "@tokenlab/tokenlab/gpu";
 * // a timer that only labels passes (what a Profiler does once its query set is full)
 * const labelsOnly: PassTimer = { passDescriptor: (label) => ({ label }) };
 * console.log(labelsOnly.passDescriptor("matmul"));
 * ```
 */
export interface PassTimer {
  /** The descriptor of the compute pass named `label`. */
  passDescriptor(label: string): GPUComputePassDescriptor;
}
