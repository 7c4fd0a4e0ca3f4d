/**
 * Timing of GPU passes: timestamp queries when the device has them, otherwise wall-clock time
 * around submitted work (waiting on `onSubmittedWorkDone`).
 *
 * @module
 */

import type { GpuContext } from "./device.ts";
import type { PassTimer } from "./pass_timer.ts";

/** Accumulated time of one label. */
export interface ProfileEntry {
  /** Pass or region label. */
  label: string;
  /** Number of passes or regions measured. */
  count: number;
  /** Total milliseconds. */
  totalMs: number;
}

/** Options for {@linkcode Profiler}. */
export interface ProfilerOptions {
  /** Use wall-clock timing even when timestamp queries exist. */
  wallClock?: boolean;
  /** Passes recorded between two {@linkcode Profiler.read} calls (default 512). */
  capacity?: number;
}

/**
 * Records how long kernel passes take. Hand it to a kernel as `options.profiler`; each pass
 * then writes begin/end timestamps (mode "timestamp"). Without timestamp queries, wrap the
 * calls in {@linkcode Profiler.measure} (mode "wall-clock"), which waits for the queue to drain
 * before and after.
 *
 * @example
 * ```ts
 * import { getDevice, Profiler } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const prof = new Profiler(gpu);
 *   await prof.measure("nothing", () => {});
 *   console.log(prof.mode, await prof.read());
 * }
 * ```
 */
export class Profiler implements PassTimer {
  /** The context whose queue is timed. */
  readonly gpu: GpuContext;
  /** "timestamp" when passes are timed on the GPU, else "wall-clock". */
  readonly mode: "timestamp" | "wall-clock";
  #capacity: number;
  #querySet: GPUQuerySet | null = null;
  #labels: string[] = [];
  #totals = new Map<string, ProfileEntry>();

  /** Creates a profiler for `gpu`'s queue. */
  constructor(gpu: GpuContext, options: ProfilerOptions = {}) {
    this.gpu = gpu;
    this.mode = gpu.hasTimestamps && !options.wallClock ? "timestamp" : "wall-clock";
    this.#capacity = options.capacity ?? 512;
    if (this.mode === "timestamp") {
      this.#querySet = gpu.device.createQuerySet({ type: "timestamp", count: 2 * this.#capacity });
    }
  }

  /**
   * A compute pass descriptor for a pass named `label`: with timestamp writes in "timestamp"
   * mode while there is room, else just the label.
   */
  passDescriptor(label: string): GPUComputePassDescriptor {
    if (!this.#querySet || this.#labels.length >= this.#capacity) return { label };
    const i = this.#labels.length;
    this.#labels.push(label);
    return {
      label,
      timestampWrites: {
        querySet: this.#querySet,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i + 1,
      },
    };
  }

  /**
   * Wall-clock time of `fn` plus the GPU work it submits, in ms: waits for the queue before
   * and after. Recorded under `label` in both modes.
   */
  async measure(label: string, fn: () => unknown): Promise<number> {
    const queue = this.gpu.device.queue;
    await queue.onSubmittedWorkDone();
    const t0 = performance.now();
    await fn();
    await queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    this.#add(label, ms);
    return ms;
  }

  #add(label: string, ms: number): void {
    const e = this.#totals.get(label) ?? { label, count: 0, totalMs: 0 };
    e.count++;
    e.totalMs += ms;
    this.#totals.set(label, e);
  }

  /**
   * Resolves the timestamps written since the last call, adds them to the totals, and
   * returns all totals (per label).
   */
  async read(): Promise<ProfileEntry[]> {
    const n = this.#labels.length;
    if (this.#querySet && n > 0) {
      const bytes = 16 * n;
      const device = this.gpu.device;
      const resolve = device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      const staging = device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const enc = device.createCommandEncoder();
      enc.resolveQuerySet(this.#querySet, 0, 2 * n, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, staging, 0, bytes);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      resolve.destroy();
      for (let i = 0; i < n; i++) {
        const ns = t[2 * i + 1] > t[2 * i] ? Number(t[2 * i + 1] - t[2 * i]) : 0;
        this.#add(this.#labels[i], ns / 1e6);
      }
      this.#labels = [];
    }
    return [...this.#totals.values()].map((e) => ({ ...e }));
  }

  /** Forgets all totals and pending timestamps. */
  reset(): void {
    this.#labels = [];
    this.#totals.clear();
  }

  /** Frees the query set. */
  destroy(): void {
    this.#querySet?.destroy();
    this.#querySet = null;
  }
}
