/**
 * Cross-entropy of a linear classifier head without materialising the logits (the "cut
 * cross-entropy" of Chronicals and Wijmans et al.): the vocabulary is processed in chunks of
 * `chunk` rows of the weight; each chunk's logits `hidden · W_chunkᵀ` [N, chunk] are made
 * with the tiled matmul, folded into a running max and sum per row (online softmax), and
 * dropped. The gradient pass recomputes each chunk's logits, turns them into
 * `scale · (softmax − onehot)` in place and accumulates `∂hidden` and writes `∂W` for the
 * chunk. Peak scratch is O(N · chunk) instead of O(N · V).
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, Tensor } from "../lib/gpu/mod.ts";
import {
  ceilDiv,
  dims,
  grid,
  type HostTensor,
  type KernelOptions,
  ROW_STATS_WGSL,
  rowMaxSumWgsl,
  sameDevice,
} from "./_common.ts";
import { matmul, matmulReference } from "./matmul.ts";
import { crossEntropyReference } from "./cross_entropy.ts";
import { binary } from "./elementwise.ts";

const STATS_PARAMS =
  `struct Params { rows: u32, C: u32, c0: u32, gridX: u32, first: u32, last: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

const GRAD_PARAMS = `struct Params { n: u32, C: u32, c0: u32, gridX: u32, scale: f32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of the per-chunk statistics pass: one 256-thread workgroup per row folds the
 * chunk's logits into the row's running (max, sum), records the target's logit when the
 * target falls in the chunk, and on the last chunk writes the loss and the log-sum-exp.
 */
export function linearCrossEntropyStatsWgsl(): string {
  return `${STATS_PARAMS}
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
${ROW_STATS_WGSL}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * params.gridX;
  if (row >= params.rows) { return; }
  let base = row * params.C;
${rowMaxSumWgsl("params.C", "logits[base + i]")}
  if (tid != 0u) { return; }
  // state per row: (max, sum, target logit, lse)
  var m0 = -3.0e38;
  var s0 = 0.0;
  if (params.first == 0u) {
    m0 = state[4u * row];
    s0 = state[4u * row + 1u];
  }
  let mn = max(m0, wm[0]);
  let sn = s0 * exp(m0 - mn) + ws[0] * exp(wm[0] - mn);
  state[4u * row] = mn;
  state[4u * row + 1u] = sn;
  let t = targets[row];
  if (t >= i32(params.c0) && t < i32(params.c0 + params.C)) {
    state[4u * row + 2u] = logits[base + u32(t) - params.c0];
  }
  if (params.last != 0u) {
    let lse = mn + log(sn);
    state[4u * row + 3u] = lse;
    loss[row] = select(0.0, lse - state[4u * row + 2u], t >= 0);
  }
}
`;
}

/**
 * WGSL source of the per-chunk gradient pass: one thread per chunk logit, replaced in place
 * by `scale · (exp(logit − lse) − [column is the target])` (0 for ignored rows).
 */
export function linearCrossEntropyGradWgsl(): string {
  return `${GRAD_PARAMS}
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> state: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * params.gridX) * 256u + tid;
  if (i >= params.n) { return; }
  let row = i / params.C;
  let col = params.c0 + i % params.C;
  let t = targets[row];
  let p = exp(g[i] - state[4u * row + 3u]) - select(0.0, 1.0, i32(col) == t);
  g[i] = select(0.0, p * params.scale, t >= 0);
}
`;
}

/** Inputs of {@linkcode linearCrossEntropy}: hidden [N, H], weight [V, H], one target per row. */
export interface LinearCrossEntropyInputs<T> {
  /** Final hidden states (after the last norm), f32. */
  hidden: T;
  /** Classifier (LM head) weight, one row per vocabulary entry, f32. */
  weight: T;
  /** Target id per row; a negative id ignores the row (loss 0, gradient 0). */
  targets: ArrayLike<number>;
}

/** Options of {@linkcode linearCrossEntropy}. */
export interface LinearCrossEntropyOptions extends KernelOptions {
  /** Vocabulary rows per chunk (default 4096). */
  chunk?: number;
  /** Also return the gradients of `gradScale · Σ loss` for hidden and weight. */
  grad?: boolean;
  /** Gradient scale (default 1 / number of non-ignored rows: the gradient of the mean loss). */
  gradScale?: number;
}

/** Outputs of {@linkcode linearCrossEntropy}. */
export interface LinearCrossEntropyResult<T> {
  /** Per-row loss [N]. */
  loss: T;
  /** ∂/∂hidden [N, H] (with `grad`). */
  gradHidden?: T;
  /** ∂/∂weight [V, H] (with `grad`). */
  gradWeight?: T;
  /**
   * Most bytes of temporaries (chunk logits and gradients, weight chunk, row statistics,
   * partial sums) alive at once during the call, summed from the tensors it allocated;
   * outputs and inputs are not counted.
   */
  scratchBytes: number;
}

/** Copies rows [r0, r0 + n) of a [rows, H] f32 tensor into a new [n, H] tensor (or back). */
function copyRows(
  src: Tensor,
  dst: Tensor,
  at: { srcRow: number; dstRow: number; rows: number; H: number },
): void {
  const { srcRow, dstRow, rows, H } = at;
  if (src.isCpu) {
    (dst.host as Float32Array).set(
      (src.host as Float32Array).subarray(srcRow * H, (srcRow + rows) * H),
      dstRow * H,
    );
    return;
  }
  const gpu = src.gpu;
  const enc = gpu.device.createCommandEncoder();
  enc.copyBufferToBuffer(src.buffer, srcRow * H * 4, dst.buffer, dstRow * H * 4, rows * H * 4);
  gpu.device.queue.submit([enc.finish()]);
}

/**
 * Cross-entropy of `hidden · weightᵀ` against `targets`, and optionally its gradients, without
 * ever holding more than one chunk of logits. Runs on the GPU, or on CPU tensors with the same
 * chunked algorithm (matmul's CPU reference and host loops).
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { linearCrossEntropy } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * const hidden = Tensor.fromArray([1, 0], { shape: [1, 2], gpu });
 * const weight = Tensor.fromArray([0, 0, 0, 0, 0, 0], { shape: [3, 2], gpu });
 * const r = await linearCrossEntropy({ hidden, weight, targets: [2] }, { chunk: 2 });
 * console.log(await r.loss.toArray()); // ln 3
 * ```
 */
export async function linearCrossEntropy(
  inputs: LinearCrossEntropyInputs<Tensor>,
  options: LinearCrossEntropyOptions = {},
): Promise<LinearCrossEntropyResult<Tensor>> {
  const { hidden, weight, targets } = inputs;
  const [N, H] = dims(hidden, "linearCrossEntropy hidden", [2]);
  const [V, Hw] = dims(weight, "linearCrossEntropy weight", [2]);
  check(
    hidden.dtype === "f32" && weight.dtype === "f32",
    `linearCrossEntropy needs f32 hidden and weight, got ${hidden.dtype} and ${weight.dtype}`,
  );
  check(H === Hw, `linearCrossEntropy: hidden has ${H} features but weight rows have ${Hw}`, {
    hint: "weight is [vocab, hidden] (the HF lm_head layout)",
  });
  sameDevice(hidden, weight, "linearCrossEntropy hidden and weight");
  check(
    targets.length === N,
    `linearCrossEntropy needs one target per row (${N}), got ${targets.length}`,
  );
  let kept = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    check(Number.isInteger(t) && t < V, `target ${i} is ${t}, not an id below the vocab ${V}`);
    if (t >= 0) kept++;
  }
  const C = Math.min(options.chunk ?? 4096, Math.max(V, 1));
  check(
    Number.isInteger(C) && C >= 1,
    `linearCrossEntropy chunk must be a positive integer, got ${C}`,
  );
  const gpu = hidden.isCpu ? null : hidden.gpu;
  const prof = options.profiler;
  let live = 0, peak = 0;
  const alloc = (shape: number[], dtype: "f32" | "i32" = "f32") => {
    const t = Tensor.empty(shape, { dtype, gpu });
    live += t.byteLength;
    peak = Math.max(peak, live);
    return t;
  };
  const track = (t: Tensor) => {
    live += t.byteLength;
    peak = Math.max(peak, live);
    return t;
  };
  const free = (t: Tensor) => {
    live -= t.byteLength;
    t.release();
  };
  const tgt = track(Tensor.fromArray(Int32Array.from(targets), { shape: [N], dtype: "i32", gpu }));
  const state = alloc([N, 4]);
  const loss = Tensor.empty([N], { gpu });
  const chunks: [number, number][] = [];
  for (let c0 = 0; c0 < V; c0 += C) chunks.push([c0, Math.min(C, V - c0)]);
  const chunkLogits = async (c0: number, n: number): Promise<[Tensor, Tensor]> => {
    const w = alloc([n, H]);
    copyRows(weight, w, { srcRow: c0, dstRow: 0, rows: n, H });
    const l = track(await matmul({ a: hidden, b: w }, { transposeB: true, profiler: prof }));
    return [w, l];
  };
  for (let k = 0; k < chunks.length; k++) {
    const [c0, n] = chunks[k];
    const [w, l] = await chunkLogits(c0, n);
    free(w);
    await statsPass(l, {
      tgt,
      state,
      loss,
      c0,
      first: k === 0,
      last: k === chunks.length - 1,
      prof,
    });
    free(l);
  }
  const out: LinearCrossEntropyResult<Tensor> = { loss, scratchBytes: 0 };
  if (options.grad) {
    const scale = options.gradScale ?? 1 / Math.max(kept, 1);
    let dH: Tensor | null = null;
    const dW = Tensor.empty([V, H], { gpu });
    for (const [c0, n] of chunks) {
      const [w, g] = await chunkLogits(c0, n);
      await gradPass(g, { tgt, state, c0, scale, prof });
      const part = track(await matmul({ a: g, b: w }, { profiler: prof }));
      free(w);
      if (dH) {
        const sum = track(await binary({ a: dH, b: part }, { op: "add", profiler: prof }));
        free(dH);
        free(part);
        dH = sum;
      } else dH = part;
      const dw = track(await matmul({ a: g, b: hidden }, { transposeA: true, profiler: prof }));
      free(g);
      copyRows(dw, dW, { srcRow: 0, dstRow: c0, rows: n, H });
      free(dw);
    }
    // dH is the output: not scratch once returned
    live -= dH!.byteLength;
    out.gradHidden = dH!;
    out.gradWeight = dW;
  }
  free(state);
  free(tgt);
  out.scratchBytes = peak;
  return out;
}

async function statsPass(
  l: Tensor,
  o: {
    tgt: Tensor;
    state: Tensor;
    loss: Tensor;
    c0: number;
    first: boolean;
    last: boolean;
    prof?: KernelOptions["profiler"];
  },
): Promise<void> {
  const [N, C] = l.shape;
  if (l.isCpu) {
    const x = l.host as Float32Array, st = o.state.host as Float32Array;
    const t = o.tgt.host as Int32Array, loss = o.loss.host as Float32Array;
    for (let r = 0; r < N; r++) {
      let m = -Infinity;
      for (let i = 0; i < C; i++) m = Math.max(m, x[r * C + i]);
      let s = 0;
      for (let i = 0; i < C; i++) s += Math.exp(x[r * C + i] - m);
      const m0 = o.first ? -Infinity : st[4 * r], s0 = o.first ? 0 : st[4 * r + 1];
      const mn = Math.max(m0, m);
      const sn = (s0 ? s0 * Math.exp(m0 - mn) : 0) + s * Math.exp(m - mn);
      st[4 * r] = mn;
      st[4 * r + 1] = sn;
      if (t[r] >= o.c0 && t[r] < o.c0 + C) st[4 * r + 2] = x[r * C + t[r] - o.c0];
      if (o.last) {
        st[4 * r + 3] = mn + Math.log(sn);
        loss[r] = t[r] >= 0 ? st[4 * r + 3] - st[4 * r + 2] : 0;
      }
    }
    return;
  }
  const [gx, gy] = grid(N);
  await dispatch(l.gpu, {
    label: "lce_stats",
    source: linearCrossEntropyStatsWgsl(),
    uniforms: { rows: N, C, c0: o.c0, gridX: gx, first: o.first ? 1 : 0, last: o.last ? 1 : 0 },
    bindings: { logits: l, targets: o.tgt, state: o.state, loss: o.loss },
    workgroups: [N ? gx : 0, gy],
    profiler: o.prof,
  });
}

async function gradPass(
  g: Tensor,
  o: { tgt: Tensor; state: Tensor; c0: number; scale: number; prof?: KernelOptions["profiler"] },
): Promise<void> {
  const [N, C] = g.shape;
  if (g.isCpu) {
    const x = g.host as Float32Array, st = o.state.host as Float32Array;
    const t = o.tgt.host as Int32Array;
    for (let r = 0; r < N; r++) {
      for (let i = 0; i < C; i++) {
        const p = Math.exp(x[r * C + i] - st[4 * r + 3]) - (o.c0 + i === t[r] ? 1 : 0);
        x[r * C + i] = t[r] >= 0 ? p * o.scale : 0;
      }
    }
    return;
  }
  const [gx, gy] = grid(ceilDiv(N * C, 256));
  await dispatch(g.gpu, {
    label: "lce_grad",
    source: linearCrossEntropyGradWgsl(),
    uniforms: { n: N * C, C, c0: o.c0, gridX: gx, scale: o.scale },
    bindings: { g, targets: o.tgt, state: o.state },
    workgroups: [N * C ? gx : 0, gy],
    profiler: o.prof,
  });
}

/**
 * CPU reference of {@linkcode linearCrossEntropy} the plain way: materialise the logits
 * [N, V], take {@linkcode crossEntropyReference} (with its gradient), then
 * `∂hidden = G · W` and `∂W = Gᵀ · hidden`. `scratchBytes` counts the logits and the
 * logits gradient, the two [N, V] temporaries of that path.
 *
 * @example
 * ```ts
 * import { linearCrossEntropyReference } from "@tokenlab/tokenlab/kernels";
 * const r = linearCrossEntropyReference({
 *   hidden: { data: new Float32Array([1, 0]), shape: [1, 2] },
 *   weight: { data: new Float32Array(6), shape: [3, 2] },
 *   targets: [2],
 * });
 * console.log(r.loss.data, r.scratchBytes); // [ln 3] 12
 * ```
 */
export function linearCrossEntropyReference(
  inputs: LinearCrossEntropyInputs<HostTensor>,
  options: LinearCrossEntropyOptions = {},
): LinearCrossEntropyResult<HostTensor> {
  const { hidden, weight, targets } = inputs;
  const [N, H] = hidden.shape, [V, Hw] = weight.shape;
  check(
    hidden.shape.length === 2 && weight.shape.length === 2 && H === Hw,
    `linearCrossEntropyReference needs hidden [N, H] and weight [V, H], got [${hidden.shape}] and [${weight.shape}]`,
  );
  const logits = matmulReference({ a: hidden, b: weight }, { transposeB: true });
  const ce = crossEntropyReference({ logits, targets }, {
    grad: options.grad,
    gradScale: options.gradScale,
  });
  const out: LinearCrossEntropyResult<HostTensor> = {
    loss: ce.loss,
    scratchBytes: N * V * 4 * (options.grad ? 2 : 1),
  };
  if (ce.grad) {
    out.gradHidden = matmulReference({ a: ce.grad, b: weight });
    out.gradWeight = matmulReference({ a: ce.grad, b: hidden }, { transposeA: true });
  }
  return out;
}
