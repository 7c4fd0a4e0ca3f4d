/**
 * A pool of GPU buffers, so that kernels which allocate scratch and output buffers on every
 * call reuse them instead of asking the driver each time.
 *
 * @module
 */

import { check } from "../util/errors.ts";

/** Options for {@linkcode BufferPool}. */
export interface BufferPoolOptions {
  /** Free buffers kept for reuse, in bytes, before the oldest are destroyed (default 1 GiB). */
  maxFreeBytes?: number;
}

/** Counters of a {@linkcode BufferPool}. */
export interface BufferPoolStats {
  /** Buffers created by the driver. */
  created: number;
  /** Requests served from a free buffer. */
  reused: number;
  /** Bytes held in free buffers. */
  freeBytes: number;
  /** Buffers handed out and not yet released. */
  inUse: number;
  /** Bytes of the buffers handed out and not yet released (pooled sizes). */
  inUseBytes: number;
  /** Most bytes in use at once since creation or the last {@linkcode BufferPool.resetPeak}. */
  peakInUseBytes: number;
}

/**
 * The size class a request of `byteLength` bytes is served from: powers of two up to 64 KiB
 * (at least 256 bytes), then multiples of an eighth of the power of two below, so a pooled
 * buffer is at most 12.5 % larger than asked for.
 */
export function bucketSize(byteLength: number): number {
  check(
    Number.isFinite(byteLength) && byteLength >= 0,
    `buffer size must be a non-negative number of bytes, got ${byteLength}`,
  );
  if (byteLength <= 256) return 256;
  if (byteLength <= 65536) return 2 ** Math.ceil(Math.log2(byteLength));
  const step = 2 ** (Math.floor(Math.log2(byteLength)) - 3);
  return Math.ceil(byteLength / step) * step;
}

/**
 * Hands out GPU buffers by size class and usage and takes them back for reuse.
 * Release a buffer only once the commands that use it have been submitted: queue order then
 * guarantees that a later user sees it only after those commands.
 *
 * @example
 * ```ts
 * import { BufferPool, getDevice } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const pool = new BufferPool(gpu.device);
 *   const buf = pool.acquire(1000, GPUBufferUsage.STORAGE);
 *   pool.release(buf);
 *   console.log(pool.stats);
 * }
 * ```
 */
export class BufferPool {
  /** The device buffers are created on. */
  readonly device: GPUDevice;
  #free = new Map<string, GPUBuffer[]>();
  #order: GPUBuffer[] = [];
  #maxFree: number;
  #created = 0;
  #reused = 0;
  #freeBytes = 0;
  #inUse = new Set<GPUBuffer>();
  #inUseBytes = 0;
  #peak = 0;

  /** Creates an empty pool for `device`. */
  constructor(device: GPUDevice, options: BufferPoolOptions = {}) {
    this.device = device;
    this.#maxFree = options.maxFreeBytes ?? 2 ** 30;
  }

  /** A buffer of at least `byteLength` bytes with exactly the `usage` flags given. */
  acquire(byteLength: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const size = bucketSize(byteLength);
    const key = `${usage}:${size}`;
    const list = this.#free.get(key);
    const reused = list?.pop();
    if (reused) {
      this.#reused++;
      this.#freeBytes -= size;
      this.#order.splice(this.#order.indexOf(reused), 1);
      this.#take(reused);
      return reused;
    }
    const maxSize = this.device.limits.maxBufferSize;
    check(size <= maxSize, `a ${size}-byte buffer exceeds this device's maxBufferSize ${maxSize}`, {
      hint: "use smaller shapes or split the work into several calls",
    });
    const buffer = this.device.createBuffer({ size, usage });
    this.#created++;
    this.#take(buffer);
    return buffer;
  }

  #take(buffer: GPUBuffer): void {
    this.#inUse.add(buffer);
    this.#inUseBytes += buffer.size;
    if (this.#inUseBytes > this.#peak) this.#peak = this.#inUseBytes;
  }

  /** Returns a buffer obtained from {@linkcode BufferPool.acquire} for reuse. */
  release(buffer: GPUBuffer): void {
    if (!this.#inUse.delete(buffer)) return; // not ours, or released twice
    this.#inUseBytes -= buffer.size;
    const key = `${buffer.usage}:${buffer.size}`;
    let list = this.#free.get(key);
    if (!list) this.#free.set(key, list = []);
    list.push(buffer);
    this.#order.push(buffer);
    this.#freeBytes += buffer.size;
    while (this.#freeBytes > this.#maxFree && this.#order.length) {
      const old = this.#order.shift()!;
      const l = this.#free.get(`${old.usage}:${old.size}`)!;
      l.splice(l.indexOf(old), 1);
      this.#freeBytes -= old.size;
      old.destroy();
    }
  }

  /** Destroys every free buffer. */
  clear(): void {
    for (const b of this.#order) b.destroy();
    this.#free.clear();
    this.#order = [];
    this.#freeBytes = 0;
  }

  /**
   * Starts a new peak measurement: {@linkcode BufferPoolStats.peakInUseBytes} becomes the
   * bytes in use now, and grows from there. Use it to measure the memory one piece of work
   * holds at most (uniform, storage and staging buffers alike).
   */
  resetPeak(): void {
    this.#peak = this.#inUseBytes;
  }

  /** Counters: buffers created, requests reused, bytes free, buffers and bytes in use, peak. */
  get stats(): BufferPoolStats {
    return {
      created: this.#created,
      reused: this.#reused,
      freeBytes: this.#freeBytes,
      inUse: this.#inUse.size,
      inUseBytes: this.#inUseBytes,
      peakInUseBytes: this.#peak,
    };
  }
}
