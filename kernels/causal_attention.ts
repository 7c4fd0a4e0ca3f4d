/**
 * Batched causal attention with grouped-query heads for training: a forward that keeps the
 * log-sum-exp of every (sequence, head, query) row, and the backward that recomputes the
 * probabilities from it (nothing of size S² is stored). Straightforward kernels — one thread
 * per query row, or per key row of a kv head — meant for training lengths (S ≤ ~512);
 * the grouped heads' key/value gradients are summed by the thread that owns the key, so no
 * float atomics are needed and the result is deterministic.
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  castLike,
  ceilDiv,
  cpuTensor,
  type FloatArray,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
  sameShape,
  zerosLike,
} from "./_common.ts";
import { flashAttentionReference } from "./flash_attention.ts";

const PARAMS_WGSL = `struct Params { B: u32, S: u32, H: u32, KH: u32, scale: f32, gridX: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

const WG = 64;

/**
 * WGSL sources of the training attention for head dimension `headDim` (f32; layouts
 * q/out [B, S, H, D], k/v [B, S, KH, D], lse/delta [B, H, S]):
 * - `forward`: one thread per (b, h, query): online softmax over keys 0..query, writes the
 *   output row and its log-sum-exp;
 * - `backwardQ`: one thread per (b, h, query): `delta = dO·O`, then
 *   `dq = scale · Σ_t p·(dO·v_t − delta)·k_t` with `p = exp(scale·q·k_t − lse)`;
 * - `backwardKV`: one thread per (b, kv head, key t): over the group's heads and the queries
 *   i ≥ t, `dv = Σ p·dO_i`, `dk = scale · Σ p·(dO_i·v_t − delta_i)·q_i`.
 */
export function causalAttentionWgsl(
  config: { headDim: number },
): { forward: string; backwardQ: string; backwardKV: string } {
  const D = config.headDim;
  check(Number.isInteger(D) && D > 0, `causalAttention headDim must be positive, got ${D}`);
  const rowIndex = `let gid = (wg.x + wg.y * params.gridX) * ${WG}u + tid;
  if (gid >= params.B * params.H * params.S) { return; }
  let i = gid % params.S;
  let h = (gid / params.S) % params.H;
  let b = gid / (params.S * params.H);
  let kh = h / (params.H / params.KH);
  let qo = ((b * params.S + i) * params.H + h) * ${D}u;
  let lo = (b * params.H + h) * params.S + i;`;
  const kvRow = `let ko = ((b * params.S + t) * params.KH + kh) * ${D}u;`;
  const forward = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${rowIndex}
  var qr: array<f32, ${D}>;
  var acc: array<f32, ${D}>;
  for (var d = 0u; d < ${D}u; d++) { qr[d] = q[qo + d] * params.scale; }
  var m = -3.0e38;
  var l = 0.0;
  for (var t = 0u; t <= i; t++) {
    ${kvRow}
    var s = 0.0;
    for (var d = 0u; d < ${D}u; d++) { s += qr[d] * k[ko + d]; }
    let mn = max(m, s);
    let c = exp(m - mn);
    let p = exp(s - mn);
    l = l * c + p;
    for (var d = 0u; d < ${D}u; d++) { acc[d] = acc[d] * c + p * v[ko + d]; }
    m = mn;
  }
  for (var d = 0u; d < ${D}u; d++) { out[qo + d] = acc[d] / l; }
  lse[lo] = m + log(l);
}
`;
  const backwardQ = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> o: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<storage, read_write> delta: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${rowIndex}
  var qr: array<f32, ${D}>;
  var dor: array<f32, ${D}>;
  var acc: array<f32, ${D}>;
  var dl = 0.0;
  for (var d = 0u; d < ${D}u; d++) {
    qr[d] = q[qo + d] * params.scale;
    dor[d] = dout[qo + d];
    dl += dor[d] * o[qo + d];
  }
  delta[lo] = dl;
  let L = lse[lo];
  for (var t = 0u; t <= i; t++) {
    ${kvRow}
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < ${D}u; d++) {
      s += qr[d] * k[ko + d];
      dp += dor[d] * v[ko + d];
    }
    let ds = exp(s - L) * (dp - dl);
    for (var d = 0u; d < ${D}u; d++) { acc[d] += ds * k[ko + d]; }
  }
  for (var d = 0u; d < ${D}u; d++) { dq[qo + d] = acc[d] * params.scale; }
}
`;
  const backwardKV = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> delta: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let gid = (wg.x + wg.y * params.gridX) * ${WG}u + tid;
  if (gid >= params.B * params.KH * params.S) { return; }
  let t = gid % params.S;
  let kh = (gid / params.S) % params.KH;
  let b = gid / (params.S * params.KH);
  ${kvRow}
  let group = params.H / params.KH;
  var kr: array<f32, ${D}>;
  var vr: array<f32, ${D}>;
  var dka: array<f32, ${D}>;
  var dva: array<f32, ${D}>;
  for (var d = 0u; d < ${D}u; d++) {
    kr[d] = k[ko + d] * params.scale;
    vr[d] = v[ko + d];
  }
  for (var h = kh * group; h < (kh + 1u) * group; h++) {
    for (var i = t; i < params.S; i++) {
      let qo = ((b * params.S + i) * params.H + h) * ${D}u;
      let lo = (b * params.H + h) * params.S + i;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < ${D}u; d++) {
        s += q[qo + d] * kr[d];
        dp += dout[qo + d] * vr[d];
      }
      let p = exp(s - lse[lo]);
      let ds = p * (dp - delta[lo]);
      for (var d = 0u; d < ${D}u; d++) {
        dva[d] += p * dout[qo + d];
        dka[d] += ds * q[qo + d];
      }
    }
  }
  for (var d = 0u; d < ${D}u; d++) {
    dk[ko + d] = dka[d] * params.scale;
    dv[ko + d] = dva[d];
  }
}
`;
  return { forward, backwardQ, backwardKV };
}

/** Inputs of {@linkcode causalAttention}: q [B, S, H, D] (or [S, H, D]), k and v [B, S, KH, D]. */
export interface CausalAttentionInputs<T> {
  /** Queries. */
  q: T;
  /** Keys (KH divides H). */
  k: T;
  /** Values, shaped like k. */
  v: T;
}

/** Options of the causal attention kernels. */
export interface CausalAttentionOptions extends KernelOptions {
  /** Score scale (default 1/√D). */
  scale?: number;
}

/** Outputs of {@linkcode causalAttention}. */
export interface CausalAttentionResult<T> {
  /** Attention output, shaped like q. */
  out: T;
  /** Log-sum-exp of the scaled scores of every row, [B, H, S] (the backward needs it). */
  lse: T;
}

/** Inputs of {@linkcode causalAttentionBackward}: the forward's tensors and the output gradient. */
export interface CausalAttentionBackwardInputs<T> extends CausalAttentionInputs<T> {
  /** The forward's output. */
  out: T;
  /** The forward's log-sum-exp, [B, H, S]. */
  lse: T;
  /** Gradient with respect to the output, shaped like q. */
  dout: T;
}

/** Outputs of {@linkcode causalAttentionBackward}. */
export interface CausalAttentionBackwardResult<T> {
  /** Gradient with respect to q. */
  dq: T;
  /** Gradient with respect to k (summed over each kv head's query heads). */
  dk: T;
  /** Gradient with respect to v. */
  dv: T;
}

interface AttnDims {
  B: number;
  S: number;
  H: number;
  KH: number;
  D: number;
}

function attnDims(i: CausalAttentionInputs<{ shape: readonly number[] }>): AttnDims {
  const qs = i.q.shape, ks = i.k.shape;
  check(
    (qs.length === 3 || qs.length === 4) && ks.length === qs.length,
    `causalAttention q and k must both be [B, S, heads, D] or [S, heads, D], got [${
      qs.join(", ")
    }] and [${ks.join(", ")}]`,
  );
  sameShape(ks, i.v.shape, "causalAttention k and v");
  const [B, S, H, D] = qs.length === 4 ? qs : [1, ...qs];
  const [Bk, Sk, KH, Dk] = ks.length === 4 ? ks : [1, ...ks];
  check(
    B === Bk && S === Sk && D === Dk,
    `causalAttention q [${qs.join(", ")}] and k [${ks.join(", ")}] differ in batch, length or D`,
  );
  check(
    KH > 0 && H % KH === 0,
    `causalAttention: ${H} query heads are not a multiple of ${KH} kv heads`,
    { hint: "grouped-query attention needs num_heads divisible by num_kv_heads" },
  );
  return { B, S, H, KH, D };
}

function f32Only(ts: Tensor[], what: string): void {
  for (const t of ts) {
    check(t.dtype === "f32", `${what} needs f32 tensors, got ${t.dtype}`, {
      hint: "training keeps activations and gradients in f32",
    });
  }
}

/**
 * Causal grouped-query attention for training on the GPU (f32), batched over sequences, with
 * the log-sum-exp per row for {@linkcode causalAttentionBackward}.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { causalAttention } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const q = Tensor.fromArray([1, 0, 0, 1], { shape: [1, 2, 1, 2], gpu });
 *   const { out, lse } = await causalAttention({ q, k: q, v: q });
 *   console.log(await out.toArray(), await lse.toArray());
 * }
 * ```
 */
export async function causalAttention(
  inputs: CausalAttentionInputs<Tensor>,
  options: CausalAttentionOptions = {},
): Promise<CausalAttentionResult<Tensor>> {
  const { q, k, v } = inputs;
  const d = attnDims(inputs);
  f32Only([q, k, v], "causalAttention");
  sameDevice(q, k, "causalAttention q and k");
  sameDevice(k, v, "causalAttention k and v");
  const scale = options.scale ?? 1 / Math.sqrt(d.D);
  if (q.isCpu) {
    const r = causalAttentionReference({ q: hostOf(q), k: hostOf(k), v: hostOf(v) }, { scale });
    return { out: cpuTensor(r.out, "f32"), lse: cpuTensor(r.lse, "f32") };
  }
  const rows = d.B * d.H * d.S;
  const [gx, gy] = grid(ceilDiv(rows, WG));
  return await dispatch(q.gpu, {
    label: "causal_attention",
    source: causalAttentionWgsl({ headDim: d.D }).forward,
    uniforms: { ...dimsOnly(d), scale, gridX: gx },
    bindings: { q, k, v },
    outputs: { out: { shape: q.shape }, lse: { shape: [d.B, d.H, d.S] } },
    workgroups: [rows ? gx : 0, gy],
    profiler: options.profiler,
  });
}

function dimsOnly(d: AttnDims) {
  return { B: d.B, S: d.S, H: d.H, KH: d.KH };
}

/**
 * Gradients of {@linkcode causalAttention} with respect to q, k and v on the GPU (f32): two
 * passes, one over query rows (dq and `delta = dO·O`), one over key rows (dk, dv), both
 * recomputing the probabilities from the saved log-sum-exp.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { causalAttention, causalAttentionBackward } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const q = Tensor.fromArray([1, 0, 0, 1], { shape: [1, 2, 1, 2], gpu });
 *   const { out, lse } = await causalAttention({ q, k: q, v: q });
 *   const dout = Tensor.fromArray([1, 1, 1, 1], { shape: [1, 2, 1, 2], gpu });
 *   const g = await causalAttentionBackward({ q, k: q, v: q, out, lse, dout });
 *   console.log(await g.dv.toArray());
 * }
 * ```
 */
export async function causalAttentionBackward(
  inputs: CausalAttentionBackwardInputs<Tensor>,
  options: CausalAttentionOptions = {},
): Promise<CausalAttentionBackwardResult<Tensor>> {
  const { q, k, v, out, lse, dout } = inputs;
  const d = attnDims(inputs);
  sameShape(out.shape, q.shape, "causalAttentionBackward out and q");
  sameShape(dout.shape, q.shape, "causalAttentionBackward dout and q");
  check(
    lse.size === d.B * d.H * d.S,
    `causalAttentionBackward lse must have ${d.B}×${d.H}×${d.S} values, got ${lse.size}`,
    { hint: "pass the lse returned by causalAttention" },
  );
  f32Only([q, k, v, out, lse, dout], "causalAttentionBackward");
  for (const [t, n] of [[k, "k"], [v, "v"], [out, "out"], [lse, "lse"], [dout, "dout"]] as const) {
    sameDevice(q, t, `causalAttentionBackward q and ${n}`);
  }
  const scale = options.scale ?? 1 / Math.sqrt(d.D);
  if (q.isCpu) {
    const r = causalAttentionBackwardReference({
      q: hostOf(q),
      k: hostOf(k),
      v: hostOf(v),
      out: hostOf(out),
      lse: hostOf(lse),
      dout: hostOf(dout),
    }, { scale });
    return { dq: cpuTensor(r.dq, "f32"), dk: cpuTensor(r.dk, "f32"), dv: cpuTensor(r.dv, "f32") };
  }
  const src = causalAttentionWgsl({ headDim: d.D });
  const qRows = d.B * d.H * d.S, kRows = d.B * d.KH * d.S;
  const [qx, qy] = grid(ceilDiv(qRows, WG)), [kx, ky] = grid(ceilDiv(kRows, WG));
  return await dispatch(q.gpu, {
    label: "causal_attention_backward",
    // the query-row pass reads the forward output as `o`
    bindings: { q, k, v, o: out, lse, dout },
    outputs: { dq: { shape: q.shape }, dk: { shape: k.shape }, dv: { shape: k.shape } },
    scratch: { delta: qRows * 4 },
    profiler: options.profiler,
    passes: [
      {
        label: "causal_attention_backward_q",
        source: src.backwardQ,
        uniforms: { ...dimsOnly(d), scale, gridX: qx },
        workgroups: [qRows ? qx : 0, qy],
      },
      {
        label: "causal_attention_backward_kv",
        source: src.backwardKV,
        uniforms: { ...dimsOnly(d), scale, gridX: kx },
        workgroups: [kRows ? kx : 0, ky],
      },
    ],
  });
}

/**
 * CPU reference of {@linkcode causalAttention}: {@linkcode flashAttentionReference} (the one CPU
 * attention) with the causal mask, on each sequence of the batch. Outputs have the float type
 * of q (the tiny-LM trainer runs it in f32, and in f64 for gradient checks).
 *
 * @example
 * ```ts
 * import { causalAttentionReference } from "@tokenlab/tokenlab/kernels";
 * const t = { data: new Float32Array([1, 0, 0, 1]), shape: [1, 2, 1, 2] };
 * const r = causalAttentionReference({ q: t, k: t, v: t });
 * console.log(r.out.data); // first row attends only to itself: [1, 0, …]
 * ```
 */
export function causalAttentionReference<A extends FloatArray = Float32Array>(
  inputs: CausalAttentionInputs<HostTensor<A>>,
  options: CausalAttentionOptions = {},
): CausalAttentionResult<HostTensor<A>> {
  const { q, k, v } = inputs;
  const { B, S, H, KH, D } = attnDims(inputs);
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const out = zerosLike(q.data, q.data.length), lse = zerosLike(q.data, B * H * S);
  const nq = S * H * D, nk = S * KH * D;
  for (let b = 0; b < B; b++) {
    const r = flashAttentionReference({
      q: { data: q.data.subarray(b * nq, (b + 1) * nq) as A, shape: [S, H, D] },
      k: { data: k.data.subarray(b * nk, (b + 1) * nk) as A, shape: [S, KH, D] },
      v: { data: v.data.subarray(b * nk, (b + 1) * nk) as A, shape: [S, KH, D] },
    }, { causal: true, scale });
    out.set(r.out.data, b * nq);
    lse.set(r.lse.data, b * H * S); // [H, S] per sequence: [B, H, S] in all
  }
  return { out: { data: out, shape: [...q.shape] }, lse: { data: lse, shape: [B, H, S] } };
}

/**
 * CPU reference of {@linkcode causalAttentionBackward} (f64 sums; probabilities recomputed
 * from q, k and the scale, so `out` and `lse` only serve `delta = dO·O`; outputs in the float
 * type of q) — the tiny-LM trainer's attention backward.
 *
 * @example
 * ```ts
 * import { causalAttentionBackwardReference, causalAttentionReference } from "@tokenlab/tokenlab/kernels";
 * const t = { data: new Float32Array([1, 0, 0, 1]), shape: [1, 2, 1, 2] };
 * const f = causalAttentionReference({ q: t, k: t, v: t });
 * const g = causalAttentionBackwardReference({ q: t, k: t, v: t, ...f, dout: t });
 * console.log(g.dq.data, g.dk.data, g.dv.data);
 * ```
 */
export function causalAttentionBackwardReference<A extends FloatArray = Float32Array>(
  inputs: CausalAttentionBackwardInputs<HostTensor<A>>,
  options: CausalAttentionOptions = {},
): CausalAttentionBackwardResult<HostTensor<A>> {
  const { q, k, v, out, dout } = inputs;
  const { B, S, H, KH, D } = attnDims(inputs);
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const group = H / KH;
  const dq = new Float64Array(q.data.length), dk = new Float64Array(k.data.length);
  const dv = new Float64Array(k.data.length);
  const p = new Float64Array(S), dp = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let i = 0; i < S; i++) {
        const qo = ((b * S + i) * H + h) * D;
        let m = -Infinity;
        for (let t = 0; t <= i; t++) {
          const ko = ((b * S + t) * KH + kh) * D;
          let dot = 0, dpt = 0;
          for (let d = 0; d < D; d++) {
            dot += q.data[qo + d] * k.data[ko + d];
            dpt += dout.data[qo + d] * v.data[ko + d];
          }
          p[t] = dot * scale;
          dp[t] = dpt;
          if (p[t] > m) m = p[t];
        }
        let l = 0;
        for (let t = 0; t <= i; t++) l += p[t] = Math.exp(p[t] - m);
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dout.data[qo + d] * out.data[qo + d];
        for (let t = 0; t <= i; t++) {
          const pt = p[t] / l, ko = ((b * S + t) * KH + kh) * D;
          const ds = pt * (dp[t] - delta) * scale;
          for (let d = 0; d < D; d++) {
            dq[qo + d] += ds * k.data[ko + d];
            dk[ko + d] += ds * q.data[qo + d];
            dv[ko + d] += pt * dout.data[qo + d];
          }
        }
      }
    }
  }
  const f = (a: Float64Array, shape: readonly number[]) => ({
    data: castLike(q.data, a),
    shape: [...shape],
  });
  return { dq: f(dq, q.shape), dk: f(dk, k.shape), dv: f(dv, k.shape) };
}
