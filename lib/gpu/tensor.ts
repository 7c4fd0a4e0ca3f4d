/**
 * Tensors: a GPU buffer with a shape and an element type.
 *
 * @module
 */

import { check } from "../util/errors.ts";
import { currentDevice, type GpuContext } from "./device.ts";
import { fromFloat16Bits, roundToFloat16, toFloat16Bits } from "./f16.ts";
import { requireShaderF16 } from "./_features.ts";

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
  /**
   * Device to upload to; defaults to {@linkcode currentDevice} (await `getDevice()` first).
   * `null`, or no adapter, gives a CPU tensor (see {@linkcode Tensor.isCpu}).
   */
  gpu?: GpuContext | null;
}

/** Options for {@linkcode Tensor.empty} and {@linkcode Tensor.zeros}. */
export interface NewTensorOptions {
  /** Element type; defaults to `f32`. */
  dtype?: DType;
  /**
   * Device to allocate on; defaults to {@linkcode currentDevice} (await `getDevice()` first).
   * `null`, or no adapter, gives a CPU tensor.
   */
  gpu?: GpuContext | null;
}

/**
 * What a {@linkcode Tensor} is built from: a buffer on a device, or (CPU tensors) a typed array
 * of the data; plus a shape and an element type.
 */
export type TensorInit =
  & {
    /** Dimensions, outermost first. */
    shape: readonly number[];
    /** Element type. */
    dtype: DType;
  }
  & (
    | {
      /** The context owning the buffer. */
      gpu: GpuContext;
      /** The storage buffer, at least as large as the data. */
      buffer: GPUBuffer;
    }
    | {
      /**
       * The elements, row-major, kept as given (not copied): Float32Array for f32 and f16
       * (f16 values already rounded to half precision), Uint32Array for u32, Int32Array for i32.
       */
      host: TensorArray;
    }
  );

function defaultGpu(gpu: GpuContext | null | undefined): GpuContext | null {
  return gpu === undefined ? currentDevice() : gpu;
}

/** A zeroed CPU array of `n` elements of `dtype`. */
function hostArray(dtype: DType, n: number): TensorArray {
  if (dtype === "u32") return new Uint32Array(n);
  if (dtype === "i32") return new Int32Array(n);
  return new Float32Array(n);
}

function inferDType(data: ArrayLike<number>): DType {
  if (data instanceof Int32Array) return "i32";
  if (data instanceof Uint32Array) return "u32";
  return "f32";
}

/**
 * A dense row-major tensor: normally in a pooled GPU buffer (which may be larger than the data;
 * `byteLength` is what the data occupies), or, when there is no WebGPU adapter, a typed array
 * on the CPU. Kernel wrappers accept both and run their CPU reference on CPU tensors, so code
 * written against tensors runs unchanged without a GPU.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * await getDevice(); // null without an adapter: tensors are then CPU tensors
 * const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
 * console.log(t.isCpu ? "CPU" : "GPU", t.shape, await t.toArray());
 * t.release();
 * ```
 */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  #gpu: GpuContext | null = null;
  #buffer: GPUBuffer | null = null;
  #host: TensorArray | null = null;
  #released = false;

  /** Wraps a buffer or a CPU array; prefer {@linkcode Tensor.fromArray} and {@linkcode Tensor.empty}. */
  constructor(init: TensorInit) {
    const { shape, dtype } = init;
    const n = shapeSize(shape);
    if ("host" in init) {
      check(
        init.host.length >= n,
        `a ${init.host.length}-element array cannot hold a tensor of shape [${shape.join(", ")}]`,
      );
      this.#host = init.host;
    } else {
      const bytes = n * DTYPE_BYTES[dtype];
      check(
        init.buffer.size >= bytes,
        `a ${init.buffer.size}-byte buffer cannot hold a ${dtype} tensor of shape [${
          shape.join(", ")
        }]`,
      );
      // f16 GPU storage needs shader-f16; refused here, the one way every GPU tensor is made
      if (dtype === "f16") requireShaderF16(init.gpu.device, "an f16 tensor");
      this.#gpu = init.gpu;
      this.#buffer = init.buffer;
    }
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
  }

  /** Whether the data lives on the CPU (no WebGPU device) rather than in a GPU buffer. */
  get isCpu(): boolean {
    return this.#host !== null;
  }

  /** The context owning the buffer (GPU tensors only). */
  get gpu(): GpuContext {
    check(this.#gpu, "this tensor lives on the CPU and has no GPU device", {
      hint: "check tensor.isCpu, or create it with a GPU context",
    });
    return this.#gpu;
  }

  /** The storage buffer (GPU tensors only). */
  get buffer(): GPUBuffer {
    check(this.#buffer, "this tensor lives on the CPU and has no GPU buffer", {
      hint: "check tensor.isCpu, or create it with a GPU context",
    });
    return this.#buffer;
  }

  /**
   * The elements of a CPU tensor, without copying (f16 as f32 values); throws for GPU tensors,
   * whose data is read with {@linkcode Tensor.toArray}.
   */
  get host(): TensorArray {
    check(this.#host, "this tensor lives on the GPU; read it with await tensor.toArray()");
    check(!this.#released, "this tensor was released");
    return this.#host;
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
    if (!gpu) {
      let host: TensorArray;
      if (dtype === "u32") host = Uint32Array.from(data);
      else if (dtype === "i32") host = Int32Array.from(data);
      else if (dtype === "f16") {
        host = data instanceof Uint16Array ? fromFloat16Bits(data) : roundToFloat16(data);
      } else host = Float32Array.from(data);
      return new Tensor({ host, shape, dtype });
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
    if (!gpu) return new Tensor({ host: hostArray(dtype, shapeSize(shape)), shape, dtype });
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
    if (t.isCpu) return t; // CPU arrays start zeroed
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
    if (this.#host) return new Tensor({ host: this.#host, shape, dtype: this.dtype });
    return new Tensor({ gpu: this.gpu, buffer: this.buffer, shape, dtype: this.dtype });
  }

  /** Reads the data back (waits for queued GPU work); f16 is decoded to Float32Array. */
  async toArray(): Promise<TensorArray> {
    check(!this.#released, "this tensor was released; its buffer may hold other data now");
    if (this.#host) return this.#host.slice(0, this.size);
    const raw = await this.readBytes();
    if (this.dtype === "f32") return new Float32Array(raw);
    if (this.dtype === "u32") return new Uint32Array(raw);
    if (this.dtype === "i32") return new Int32Array(raw);
    return fromFloat16Bits(new Uint16Array(raw, 0, this.size));
  }

  /** Reads the raw bytes of the data back (waits for queued GPU work). */
  async readBytes(): Promise<ArrayBuffer> {
    if (this.#host) {
      const n = this.size;
      if (this.dtype === "f16") {
        return toFloat16Bits(this.#host.subarray(0, n)).buffer as ArrayBuffer;
      }
      return this.#host.slice(0, n).buffer as ArrayBuffer;
    }
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
    if (this.#gpu && this.#buffer) this.#gpu.pool.release(this.#buffer);
  }
}
