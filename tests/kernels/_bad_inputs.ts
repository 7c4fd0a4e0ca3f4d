// Bad calls of the kernel wrappers, shared by input_checks_test.ts (CPU tensors) and its GPU
// child (_input_checks_child.ts, GPU tensors): each wrapper must refuse the input with the
// same message whichever device the tensors are on, before it picks the CPU or GPU path.
import { type GpuContext, Tensor } from "../../lib/gpu/mod.ts";
import * as K from "../../kernels/mod.ts";

type Dev = GpuContext | null;
const t = (shape: number[], gpu: Dev, dtype: "f32" | "i32" = "f32") =>
  Tensor.fromArray(new Array(shape.reduce((a, b) => a * b, 1)).fill(1), { shape, dtype, gpu });

/** One bad call: `run` makes its tensors on `gpu` (null: CPU tensors); `want` matches the error. */
export interface BadCall {
  name: string;
  run: (gpu: Dev) => Promise<unknown>;
  want: RegExp;
}

export const BAD_CALLS: BadCall[] = [
  {
    name: "softmax of an i32 tensor",
    run: (gpu) => K.softmax(t([2, 2], gpu, "i32")),
    want: /softmax input must be f32 or f16, got i32/,
  },
  {
    name: "matmul with inner dimensions 3 and 4",
    run: (gpu) => K.matmul({ a: t([2, 3], gpu), b: t([4, 2], gpu) }),
    want: /matmul inner dimensions differ/,
  },
  {
    name: "matmul with an unknown kernel",
    run: (gpu) =>
      K.matmul({ a: t([2, 2], gpu), b: t([2, 2], gpu) }, {
        kernel: "nope" as unknown as "tiled",
      }),
    want: /matmul kernel must be "tiled" or "registers"/,
  },
  {
    name: "rmsnorm with a weight of the wrong length",
    run: (gpu) => K.rmsnorm({ x: t([2, 4], gpu), weight: t([3], gpu) }),
    want: /rmsnorm weight must be f32 of shape \[4\]/,
  },
  {
    name: "swiglu with gate and up of different shapes",
    run: (gpu) => K.swiglu({ gate: t([2, 3], gpu), up: t([3, 2], gpu) }),
    want: /swiglu gate and up must have the same shape/,
  },
  {
    name: "rope of a rank-2 tensor",
    run: (gpu) => K.rope({ x: t([2, 4], gpu), positions: [0, 1] }),
    want: /rope input x must have rank 3/,
  },
  {
    name: "flash attention with seqIds of the wrong length",
    run: (gpu) =>
      K.flashAttention({ q: t([2, 1, 4], gpu), k: t([3, 1, 4], gpu), v: t([3, 1, 4], gpu) }, {
        seqIds: [0, 0],
      }),
    want: /seqIds must have one entry per key position \(3\), got 2/,
  },
  {
    name: "cross-entropy with one target for two rows",
    run: (gpu) => K.crossEntropy({ logits: t([2, 5], gpu), targets: [1] }),
    want: /crossEntropy needs one target per row \(2\), got 1/,
  },
  {
    name: "embedding of an id past the vocabulary",
    run: (gpu) => K.embedding({ table: t([3, 2], gpu), ids: [0, 3] }),
    want: /embedding: id 1 is 3, outside the vocabulary 0\.\.2/,
  },
  {
    name: "sample with topP 0",
    run: (gpu) => K.sample(t([1, 4], gpu), { temperature: 1, topP: 0 }),
    want: /topP must be in \(0, 1\], got 0/,
  },
  {
    name: "adamw with m of another shape",
    run: (gpu) =>
      K.adamw(
        { param: t([4], gpu), grad: t([4], gpu), m: t([3], gpu), v: t([4], gpu) },
        { lr: 0.1, step: 1 },
      ),
    want: /adamw param and m must have the same shape, got \[4\] and \[3\]/,
  },
];

/** The error message of a bad call, or a note that it did not throw. */
export async function errorOf(call: BadCall, gpu: Dev): Promise<string> {
  try {
    await call.run(gpu);
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return "(no error)";
}
