/**
 * Tensors: a GPU buffer with a shape and an element type.
 *
 * @module
 */

import { check } from "../util/errors.ts";
import { currentDevice, type GpuContext } from "./device.ts";
import { fromFloat16Bits, toFloat16Bits } from "./f16.ts";

/** Element types of a {@linkcode Tensor}. */
export type DType = "f32" | "f16" | "u32" | "i32";

/** Bytes per element of each {@linkcode DType}. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = { f32: 4, f16: 2, u32: 4, i32: 4 };

/** What {@linkcode Tensor.toArray} returns: f16 tensors are decoded to f32. */
export type TensorArray = Float32Array | Uint32Array | Int32Array;

/**
 * Number of elements of a shape, checking that every dimension is a non-negative integer.
 *
 * @example
 * ```ts
 * import { shapeSize } from "@tokenlab/tokenlab/gpu";
 * console.log(shapeSize([2, 3, 4])); // 24
 * ```
 */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    check(
      Number.isInteger(d) && d >= 0,
      `tensor dimensions must be non-negative integers, got [${shape.join(", ")}]`,
    );
    n *= d;
  }
  return n;
}

/** Options for {@linkcode Tensor.fromArray}. */
export interface FromArrayOptions {
  /** Dimensions, outermost first; their product must equal the data length. */
  shape: readonly number[];
  /**
   * Element type. Defaults to `i32` for an `Int32Array`, `u32` for a `Uint32Array`, otherwise
   * `f32`. With `f16`, numbers are rounded to half precision and a `Uint16Array` is taken as raw
   * half-precision bits.
   */
  dtype?: DType;
  /** Device to upload to; defaults to {@linkcode currentDevice} (await `getDevice()` first). */
  gpu?: GpuContext;
}

/** Options for {@linkcode Tensor.empty} and {@linkcode Tensor.zeros}. */
export interface NewTensorOptions {
  /** Element type; defaults to `f32`. */
  dtype?: DType;
  /** Device to allocate on; defaults to {@linkcode currentDevice} (await `getDevice()` first). */
  gpu?: GpuContext;
}

/** What a {@linkcode Tensor} is built from: a buffer on a device, a shape and an element type. */
export interface TensorInit {
  /** The context owning the buffer. */
  gpu: GpuContext;
  /** The storage buffer, at least as large as the data. */
  buffer: GPUBuffer;
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** Element type. */
  dtype: DType;
}

function defaultGpu(gpu: GpuContext | undefined): GpuContext {
  if (gpu) return gpu;
  const current = currentDevice();
  check(current, "there is no WebGPU device to put the tensor on", {
    hint: "run on a machine with a WebGPU adapter, or use the kernels' CPU references",
  });
  return current;
}

function inferDType(data: ArrayLike<number>): DType {
  if (data instanceof Int32Array) return "i32";
  if (data instanceof Uint32Array) return "u32";
  return "f32";
}

/**
 * A dense row-major tensor in a pooled GPU buffer. The buffer may be larger than the data
 * (pool size classes); `byteLength` is what the data occupies.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], { shape: [2, 3], dtype: "f16" });
 *   console.log(t.shape, await t.toArray());
 *   t.release();
 * }
 * ```
 */
export class Tensor {
  /** The context owning the buffer. */
  readonly gpu: GpuContext;
  /** The storage buffer. */
  readonly buffer: GPUBuffer;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  #released = false;

  /** Wraps an existing buffer; prefer {@linkcode Tensor.fromArray} and {@linkcode Tensor.empty}. */
  constructor(init: TensorInit) {
    const { gpu, buffer, shape, dtype } = init;
    const bytes = shapeSize(shape) * DTYPE_BYTES[dtype];
    check(
      buffer.size >= bytes,
      `a ${buffer.size}-byte buffer cannot hold a ${dtype} tensor of shape [${shape.join(", ")}]`,
    );
    this.gpu = gpu;
    this.buffer = buffer;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
  }

  /** Number of elements. */
  get size(): number {
    return shapeSize(this.shape);
  }

  /** Bytes the data occupies. */
  get byteLength(): number {
    return this.size * DTYPE_BYTES[this.dtype];
  }

  /** Bytes to bind (the data rounded up to a multiple of 4, at least 4). */
  get bindingSize(): number {
    return Math.max(4, Math.ceil(this.byteLength / 4) * 4);
  }

  /**
   * Uploads `data` as a new tensor of `options.shape`. For `f16`, numbers are rounded to half
   * precision; a `Uint16Array` is taken as raw half-precision bits.
   *
   * @example
   * ```ts
   * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
   * if (await getDevice()) {
   *   const ids = Tensor.fromArray(Int32Array.of(3, 1, 2), { shape: [3] }); // i32
   *   console.log(ids.dtype, await ids.toArray());
   * }
   * ```
   */
  static fromArray(data: ArrayLike<number>, options: FromArrayOptions): Tensor {
    const { shape } = options;
    const dtype = options.dtype ?? inferDType(data);
    const gpu = defaultGpu(options.gpu);
    const n = shapeSize(shape);
    check(
      data.length === n,
      `data has ${data.length} elements but shape [${shape.join(", ")}] needs ${n}`,
    );
    if (dtype === "f16") {
      check(gpu.hasF16, "this device has no shader-f16 feature, so f16 tensors are unavailable", {
        hint: "use dtype f32",
      });
    }
    const t = Tensor.empty(shape, { dtype, gpu });
    let bytes: ArrayBufferView;
    if (dtype === "f32") bytes = data instanceof Float32Array ? data : Float32Array.from(data);
    else if (dtype === "u32") bytes = data instanceof Uint32Array ? data : Uint32Array.from(data);
    else if (dtype === "i32") bytes = data instanceof Int32Array ? data : Int32Array.from(data);
    else bytes = data instanceof Uint16Array ? data : toFloat16Bits(data);
    // writeBuffer needs a multiple of 4 bytes
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      bytes = padded;
    }
    if (bytes.byteLength) {
      gpu.device.queue.writeBuffer(
        t.buffer,
        0,
        bytes.buffer as ArrayBuffer,
        bytes.byteOffset,
        bytes.byteLength,
      );
    }
    return t;
  }

  /**
   * A new tensor with uninitialised contents from the pool.
   *
   * @example
   * ```ts
   * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
   * if (await getDevice()) console.log(Tensor.empty([2, 8], { dtype: "u32" }).byteLength); // 64
   * ```
   */
  static empty(shape: readonly number[], options: NewTensorOptions = {}): Tensor {
    const dtype = options.dtype ?? "f32";
    const gpu = defaultGpu(options.gpu);
    const bytes = Math.max(4, Math.ceil((shapeSize(shape) * DTYPE_BYTES[dtype]) / 4) * 4);
    return new Tensor({ gpu, buffer: gpu.scratch(bytes), shape, dtype });
  }

  /**
   * A new tensor of zeros.
   *
   * @example
   * ```ts
   * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
   * if (await getDevice()) console.log(await Tensor.zeros([3]).toArray()); // Float32Array [0, 0, 0]
   * ```
   */
  static zeros(shape: readonly number[], options: NewTensorOptions = {}): Tensor {
    const t = Tensor.empty(shape, options);
    const gpu = t.gpu;
    const enc = gpu.device.createCommandEncoder();
    enc.clearBuffer(t.buffer, 0, t.bindingSize);
    gpu.device.queue.submit([enc.finish()]);
    return t;
  }

  /** The same buffer seen with another shape of the same size. */
  reshape(shape: readonly number[]): Tensor {
    check(
      shapeSize(shape) === this.size,
      `cannot reshape [${this.shape.join(", ")}] to [${shape.join(", ")}]: sizes differ`,
    );
    return new Tensor({ gpu: this.gpu, buffer: this.buffer, shape, dtype: this.dtype });
  }

  /** Reads the data back (waits for queued GPU work); f16 is decoded to Float32Array. */
  async toArray(): Promise<TensorArray> {
    check(!this.#released, "this tensor was released; its buffer may hold other data now");
    const raw = await this.readBytes();
    if (this.dtype === "f32") return new Float32Array(raw);
    if (this.dtype === "u32") return new Uint32Array(raw);
    if (this.dtype === "i32") return new Int32Array(raw);
    return fromFloat16Bits(new Uint16Array(raw, 0, this.size));
  }

  /** Reads the raw bytes of the data back (waits for queued GPU work). */
  async readBytes(): Promise<ArrayBuffer> {
    const size = this.bindingSize;
    const gpu = this.gpu;
    const staging = gpu.pool.acquire(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const enc = gpu.device.createCommandEncoder();
    enc.copyBufferToBuffer(this.buffer, 0, staging, 0, size);
    gpu.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ, 0, size);
    const out = staging.getMappedRange(0, size).slice(0, this.byteLength);
    staging.unmap();
    gpu.pool.release(staging);
    return out;
  }

  /** Gives the buffer back to the pool; the tensor must not be used afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.gpu.pool.release(this.buffer);
  }
}
