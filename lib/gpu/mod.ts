/**
 * GPU layer: WebGPU adapter acquisition with software/CPU fallback, tensors, buffer pool,
 * pipeline cache, uniform layouts (via `webgpu-utils`), profiling, half-precision helpers.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice(); // null without an adapter: tensors then live on the CPU
 * const t = Tensor.fromArray([1, 2, 3], { shape: [3] });
 * console.log(gpu?.adapter.name ?? "CPU", t.isCpu, await t.toArray());
 * ```
 *
 * @module
 */
export * from "./device.ts";
export * from "./tensor.ts";
export * from "./f16.ts";
export { BufferPool, type BufferPoolOptions, type BufferPoolStats } from "./pool.ts";
export * from "./pipeline.ts";
export * from "./dispatch.ts";
export * from "./profiler.ts";
export * from "./pass_timer.ts";
export {
  type KernelCost,
  type KernelTiming,
  measureRoofline,
  type Roofline,
  type RooflineOptions,
  type RooflinePoint,
  rooflinePoint,
  timeKernel,
  type TimeKernelOptions,
} from "./roofline.ts";
