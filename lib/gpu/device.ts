/**
 * WebGPU adapter and device acquisition, once per process, with a clear notice when the
 * adapter is a software rasteriser or when there is none (then callers take the CPU path).
 *
 * @module
 */

import { check } from "../util/errors.ts";
import { GPU_MASK_ENV, isSoftwareAdapter, maskedGpuFeatures } from "../util/_gpu_env.ts";
import { BufferPool } from "./pool.ts";
import { packUniforms, PipelineCache } from "./pipeline.ts";
import { markShaderF16Masked } from "./_features.ts";
import type { PassTimer } from "./pass_timer.ts";

/** What is known about the adapter behind a {@linkcode GpuContext}. */
export interface AdapterSummary {
  /** Human-readable name: description, else device, else vendor. */
  name: string;
  /** Vendor string. */
  vendor: string;
  /** Architecture string. */
  architecture: string;
  /** True for a software rasteriser (llvmpipe/lavapipe, SwiftShader, WARP) or fallback adapter. */
  software: boolean;
  /**
   * Features the adapter offers that were not requested because `TOKENLAB_GPU_MASK_FEATURES`
   * names them (the device then behaves like an adapter without them).
   */
  maskedFeatures?: readonly string[];
}

/** One buffer bound to a binding slot; `size` defaults to the whole buffer. */
export interface BufferBinding {
  /** The buffer. */
  buffer: GPUBuffer;
  /** Bytes bound from offset 0 (a multiple of 4). */
  size?: number;
}

/** One compute pass of a kernel: a pipeline, its bindings in slot order, and the grid. */
export interface KernelPass {
  /** Pipeline from {@linkcode PipelineCache.get}. */
  pipeline: GPUComputePipeline;
  /**
   * Buffers for `@group(0)`, indexed by binding slot; holes (slots the entry point does not
   * use) are skipped. Kernel wrappers get this from `dispatch` (dispatch.ts), which fills it by name.
   */
  bindings: BufferBinding[];
  /** Workgroup counts (x, y, z). */
  workgroups: [number, number?, number?];
  /** Name of the pass, used by the profiler. */
  label: string;
}

/** Options for {@linkcode GpuContext.run}. */
export interface RunOptions {
  /** Pass timer (a `Profiler`) recording the duration of each pass. */
  profiler?: PassTimer;
  /** Pooled buffers to give back once the passes are submitted. */
  release?: GPUBuffer[];
}

/**
 * A WebGPU device with what tokenlab keeps next to it: the adapter summary, feature flags,
 * a buffer pool and a pipeline cache. Get one with {@linkcode getDevice}.
 *
 * @example
 * ```ts
 * import { getDevice } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice();
 * console.log(gpu ? `${gpu.adapter.name}, f16: ${gpu.hasF16}` : "CPU path");
 * ```
 */
export class GpuContext {
  /** The WebGPU device. */
  readonly device: GPUDevice;
  /** The adapter it came from. */
  readonly adapter: AdapterSummary;
  /** Whether `shader-f16` is enabled (f16 storage and arithmetic in WGSL). */
  readonly hasF16: boolean;
  /** Whether `timestamp-query` is enabled (GPU-side pass timing). */
  readonly hasTimestamps: boolean;
  /** The features enabled on the device (masked ones excluded). */
  readonly features: ReadonlySet<string>;
  /** Pooled buffers. */
  readonly pool: BufferPool;
  /** Compiled pipelines. */
  readonly pipelines: PipelineCache;

  /** Wraps a device; normally called by {@linkcode getDevice}. */
  constructor(device: GPUDevice, adapter: AdapterSummary) {
    this.device = device;
    this.adapter = adapter;
    this.features = new Set(device.features);
    this.hasF16 = this.features.has("shader-f16");
    this.hasTimestamps = this.features.has("timestamp-query");
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
  }

  /** A pooled uniform buffer holding `values` laid out as the `params` variable of `wgsl`. */
  uniformBuffer(wgsl: string, values: Record<string, unknown>): GPUBuffer {
    const data = packUniforms(wgsl, { values });
    const buf = this.pool.acquire(
      data.byteLength,
      GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    );
    this.device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  /** A pooled storage buffer of at least `byteLength` bytes (uninitialised). */
  scratch(byteLength: number): GPUBuffer {
    return this.pool.acquire(
      Math.max(4, byteLength),
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    );
  }

  /** Encodes the passes in order, submits them, then releases `options.release`. */
  run(passes: KernelPass[], options: RunOptions = {}): void {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    const encoder = this.device.createCommandEncoder();
    for (const p of passes) {
      const [x, y = 1, z = 1] = p.workgroups;
      check(
        x <= max && y <= max && z <= max,
        `pass ${p.label} needs ${x}×${y}×${z} workgroups, more than ${max} in one dimension`,
        { hint: "split the call into smaller batches" },
      );
      if (x === 0 || y === 0 || z === 0) continue;
      const group = this.device.createBindGroup({
        layout: p.pipeline.getBindGroupLayout(0),
        entries: p.bindings.flatMap((b, i) =>
          b ? [{ binding: i, resource: { buffer: b.buffer, size: b.size } }] : []
        ),
      });
      const pass = encoder.beginComputePass(options.profiler?.passDescriptor(p.label));
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    }
    this.device.queue.submit([encoder.finish()]);
    for (const b of options.release ?? []) this.pool.release(b);
  }
}

/** Options for {@linkcode getDevice}. */
export interface GetDeviceOptions {
  /** Do not print the software-adapter / no-adapter notice. */
  quiet?: boolean;
}

let cached: Promise<GpuContext | null> | null = null;
let settled: { gpu: GpuContext | null } | null = null;
let noticePrinted = false;

/** Re-exported here: the GPU layer's public name for the software-rasteriser check. */
export { isSoftwareAdapter } from "../util/_gpu_env.ts";

/**
 * The process-wide WebGPU device, created on first call with the adapter's limits and the
 * `shader-f16` and `timestamp-query` features when offered, less those named in
 * `TOKENLAB_GPU_MASK_FEATURES` (comma-separated; e.g. `shader-f16` makes the device look like an
 * adapter without f16, whose f16 tensors and kernels are refused). Returns null when there is no
 * adapter (or `TOKENLAB_NO_GPU=1`): tensors made afterwards without an explicit `gpu` are CPU
 * tensors, on which the kernel wrappers run their CPU references. Prints one notice
 * per process when the adapter is a software fallback or missing.
 *
 * @example
 * ```ts
 * import { getDevice } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice();
 * console.log(gpu?.adapter.name ?? "no adapter: CPU reference path");
 * ```
 */
export function getDevice(options: GetDeviceOptions = {}): Promise<GpuContext | null> {
  cached ??= acquire(options.quiet ?? false).then((gpu) => {
    settled = { gpu };
    return gpu;
  });
  return cached;
}

/**
 * The context an awaited {@linkcode getDevice} settled on, synchronously: the default device of
 * {@linkcode Tensor.fromArray} and friends. Null means there is no adapter (the CPU path).
 * Throws when `getDevice()` has not finished yet.
 *
 * @example
 * ```ts
 * import { currentDevice, getDevice } from "@tokenlab/tokenlab/gpu";
 * await getDevice();
 * console.log(currentDevice()?.adapter.name ?? "CPU path");
 * ```
 */
export function currentDevice(): GpuContext | null {
  check(settled, "no device has been acquired yet", {
    hint: "call `await getDevice()` once before creating tensors without `gpu`",
  });
  return settled.gpu;
}

function notice(text: string, quiet: boolean): void {
  if (quiet || noticePrinted) return;
  noticePrinted = true;
  console.error(`tokenlab: ${text}`);
}

const LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
] as const;

async function acquire(quiet: boolean): Promise<GpuContext | null> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  let adapter: GPUAdapter | null = null;
  if (Deno.env.get("TOKENLAB_NO_GPU") !== "1" && gpu) {
    try {
      adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    } catch {
      adapter = null;
    }
  }
  if (!adapter) {
    notice(
      "no WebGPU adapter found; kernels fall back to their CPU references (slow). " +
        "Install a Vulkan driver (Debian: apt-get install mesa-vulkan-drivers) or run on a GPU.",
      quiet,
    );
    return null;
  }
  const info = adapter.info;
  const name = info.description || info.device || info.vendor || "unknown adapter";
  const software = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    isSoftwareAdapter(name);
  const mask = maskedGpuFeatures();
  const requiredFeatures: GPUFeatureName[] = [];
  const maskedFeatures: string[] = [];
  for (const f of ["shader-f16", "timestamp-query"] as GPUFeatureName[]) {
    if (!adapter.features.has(f)) continue;
    if (mask.includes(f)) maskedFeatures.push(f);
    else requiredFeatures.push(f);
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  if (maskedFeatures.includes("shader-f16")) markShaderF16Masked(device);
  device.lost.then(() => {
    cached = null;
    settled = null;
  });
  const f16 = device.features.has("shader-f16")
    ? ""
    : maskedFeatures.includes("shader-f16")
    ? ` shader-f16 is masked by ${GPU_MASK_ENV}: f16 tensors and kernels are refused.`
    : " It lacks shader-f16: f16 tensors and kernels are refused (use f32, or Mesa's Vulkan " +
      "driver: apt-get install mesa-vulkan-drivers).";
  if (software) {
    notice(
      `WebGPU adapter "${name}" is a software rasteriser: kernels are correct but run on the ` +
        `CPU, far slower than a GPU; keep shapes small.${f16}`,
      quiet,
    );
  } else if (maskedFeatures.length) {
    notice(`WebGPU features masked by ${GPU_MASK_ENV}: ${maskedFeatures.join(", ")}.${f16}`, quiet);
  }
  return new GpuContext(device, {
    name,
    vendor: info.vendor,
    architecture: info.architecture,
    software,
    maskedFeatures,
  });
}
