/**
 * Cross-entropy over a large vocabulary with an online softmax (running max and sum over
 * vocabulary chunks, merged across threads), per-row loss, and optionally the gradient with
 * respect to the logits in the same kernel.
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  cpuTensor,
  dims,
  enables,
  type FloatArray,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  ROW_STATS_WGSL,
  rowMaxSumWgsl,
  zerosLike,
} from "./_common.ts";
import { rowMaxSumExp } from "./_row_softmax.ts";

const PARAMS_WGSL = `struct Params { rows: u32, V: u32, gradScale: f32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of cross-entropy: one 256-thread workgroup per row; each thread folds its
 * strided slice of the vocabulary into a running (max, sum), the pairs are merged in a tree,
 * and the loss is `lse − logit[target]` (0 for a negative target). With `grad`, the same
 * workgroup writes `gradScale · (softmax − onehot)` for the row.
 */
export function crossEntropyWgsl(config: { dtype?: "f32" | "f16"; grad?: boolean } = {}): string {
  const T = config.dtype ?? "f32";
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> logits: array<${T}>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
${config.grad ? "@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;" : ""}
${ROW_STATS_WGSL}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * params.gridX;
  if (row >= params.rows) { return; }
  let base = row * params.V;
${rowMaxSumWgsl("params.V", "f32(logits[base + i])")}
  let lse = wm[0] + log(ws[0]);
  let tgt = targets[row];
  if (tid == 0u) {
    loss[row] = select(0.0, lse - f32(logits[base + u32(max(tgt, 0))]), tgt >= 0);
  }
  ${
    config.grad
      ? `for (var i = tid; i < params.V; i += 256u) {
    var g = 0.0;
    if (tgt >= 0) {
      g = exp(f32(logits[base + i]) - lse) - select(0.0, 1.0, i == u32(tgt));
    }
    dlogits[base + i] = g * params.gradScale;
  }`
      : ""
  }
}
`;
}

/** The default f32 cross-entropy source without gradient. */
export const CROSS_ENTROPY_WGSL: string = crossEntropyWgsl();

/** Inputs of {@linkcode crossEntropy}: logits [N, V] and one target id per row. */
export interface CrossEntropyInputs<T> {
  /** Unnormalised scores. */
  logits: T;
  /** Target id per row; a negative id ignores the row (loss 0, gradient 0). */
  targets: ArrayLike<number>;
}

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions extends KernelOptions {
  /** Also return the gradient of `gradScale · Σ loss` with respect to the logits. */
  grad?: boolean;
  /** Gradient scale (default 1 / number of non-ignored rows: the gradient of the mean loss). */
  gradScale?: number;
}

/** Outputs of {@linkcode crossEntropy}. */
export interface CrossEntropyResult<T> {
  /** Per-row loss [N], f32. */
  loss: T;
  /** Gradient [N, V], f32 (with `grad`). */
  grad?: T;
}

function ceCheck(shape: readonly number[], targets: ArrayLike<number>): [number, number, number] {
  const [N, V] = shape;
  check(
    targets.length === N,
    `crossEntropy needs one target per row (${N}), got ${targets.length}`,
  );
  let kept = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    check(Number.isInteger(t) && t < V, `target ${i} is ${t}, not an id below the vocab ${V}`);
    if (t >= 0) kept++;
  }
  return [N, V, kept];
}

/**
 * Cross-entropy (and its gradient) on the GPU.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { crossEntropy } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const logits = Tensor.fromArray([0, 0, 0, 0], { shape: [1, 4], gpu });
 *   const { loss } = await crossEntropy({ logits, targets: [2] });
 *   console.log(await loss.toArray()); // ln 4
 * }
 * ```
 */
export async function crossEntropy(
  inputs: CrossEntropyInputs<Tensor>,
  options: CrossEntropyOptions = {},
): Promise<CrossEntropyResult<Tensor>> {
  const { logits } = inputs;
  const dtype = floatType(logits.dtype, "crossEntropy logits");
  const [N, V, kept] = ceCheck(dims(logits, "crossEntropy logits", [2]), inputs.targets);
  if (logits.isCpu) {
    const r = crossEntropyReference({ logits: hostOf(logits), targets: inputs.targets }, options);
    return { loss: cpuTensor(r.loss, "f32"), grad: r.grad && cpuTensor(r.grad, "f32") };
  }
  const [gx, gy] = grid(N);
  const kernel = {
    label: "cross_entropy",
    source: crossEntropyWgsl({ dtype, grad: options.grad }),
    uniforms: { rows: N, V, gradScale: options.gradScale ?? 1 / Math.max(kept, 1), gridX: gx },
    bindings: { logits, targets: Int32Array.from(inputs.targets) },
    workgroups: [N ? gx : 0, gy] as [number, number],
    profiler: options.profiler,
  };
  if (!options.grad) {
    return await dispatch(logits.gpu, { ...kernel, outputs: { loss: { shape: [N] } } });
  }
  const r = await dispatch(logits.gpu, {
    ...kernel,
    outputs: { loss: { shape: [N] }, dlogits: { shape: [N, V] } },
  });
  return { loss: r.loss, grad: r.dlogits };
}

/**
 * CPU reference of {@linkcode crossEntropy} (f64, two passes; outputs in the float type of the
 * logits) — the tiny-LM trainer's loss and its gradient.
 *
 * @example
 * ```ts
 * import { crossEntropyReference } from "@tokenlab/tokenlab/kernels";
 * const r = crossEntropyReference({
 *   logits: { data: new Float32Array([0, 0]), shape: [1, 2] },
 *   targets: [1],
 * }, { grad: true });
 * console.log(r.loss.data, r.grad!.data); // [ln 2], [0.5, -0.5]
 * ```
 */
export function crossEntropyReference<A extends FloatArray = Float32Array>(
  inputs: CrossEntropyInputs<HostTensor<A>>,
  options: CrossEntropyOptions = {},
): CrossEntropyResult<HostTensor<A>> {
  const { logits, targets } = inputs;
  const [N, V, kept] = ceCheck(logits.shape, targets);
  const scale = options.gradScale ?? 1 / Math.max(kept, 1);
  const loss = zerosLike(logits.data, N);
  const grad = options.grad ? zerosLike(logits.data, N * V) : null;
  for (let r = 0; r < N; r++) {
    if (targets[r] < 0) continue;
    const { max: m, sum: s } = rowMaxSumExp(logits.data, { start: r * V, n: V });
    const lse = m + Math.log(s);
    loss[r] = lse - logits.data[r * V + targets[r]];
    if (!grad) continue;
    for (let i = 0; i < V; i++) {
      grad[r * V + i] = (Math.exp(logits.data[r * V + i] - lse) - (i === targets[r] ? 1 : 0)) *
        scale;
    }
  }
  const out: CrossEntropyResult<HostTensor<A>> = { loss: { data: loss, shape: [N] } };
  if (grad) out.grad = { data: grad, shape: [N, V] };
  return out;
}
