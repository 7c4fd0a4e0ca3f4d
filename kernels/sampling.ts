/**
 * Top-k selection and seeded sampling from rows of logits — the one sampler of tokenlab:
 * {@linkcode sample} on a GPU tensor, its CPU reference {@linkcode sampleReference}, and
 * `generate` in `@tokenlab/tokenlab/models` all draw through the contract below.
 *
 * Both kernels find the k-th largest logit of a row exactly by bisection over the
 * order-preserving 32-bit key of each f32 value (one counting pass per bit), so no sort of the
 * vocabulary is needed. Rows are ordered by value, larger first, ties by lower index first; the
 * first k elements of that order are the top-k set. NaN logits have no defined place in it.
 *
 * **The sampling contract** (options temperature, topK, topP, seed, counter):
 * 1. `temperature` defaults to 0, which is greedy: the first element of the order (the largest
 *    logit, lowest index on ties); no random number is used.
 * 2. Otherwise each logit gets the weight `exp((x − max) / temperature)`; the kept set is the
 *    first `topK` elements of the order (all when 0), cut to its shortest prefix whose weights
 *    reach `topP ×` their sum (ties at the cut are kept by lower index).
 * 3. One uniform per draw: `u = samplingUniform({ seed, row, counter })`, a counter-based hash
 *    (PCG) of the seed, the row of the logits and the draw counter — no generator state, so any
 *    draw can be recomputed alone. `generate` draws its i-th new token (i = 0, 1, …) from row 0
 *    with `counter: i`.
 * 4. The token is the first kept index, in index order, whose running weight exceeds
 *    `u ×` the kept total.
 *
 * The GPU and the CPU reference draw identical tokens whenever the arithmetic is exact (ties,
 * equal logits, any greedy draw); otherwise they differ only where `u ×` total or `topP ×` mass
 * falls within float32 rounding of a boundary (of order 1e-7 per draw).
 *
 * @example
 * ```ts
 * import { sampleReference, samplingUniform } from "@tokenlab/tokenlab/kernels";
 * const logits = { data: new Float32Array([0, 1, 1, -2]), shape: [1, 4] };
 * const greedy = sampleReference(logits); // temperature 0: Int32Array [1]
 * const drawn = sampleReference(logits, { temperature: 0.8, topP: 0.9, seed: 7, counter: 3 });
 * console.log(greedy, drawn, samplingUniform({ seed: 7, row: 0, counter: 3 }));
 * ```
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type Tensor } from "../lib/gpu/mod.ts";
import {
  cpuTensor,
  enables,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
} from "./_common.ts";

const PARAMS_WGSL = `struct Params {
  rows: u32, cols: u32, k: u32, padK: u32, topP: f32, invT: f32, greedy: u32, seed: u32,
  counter: u32, gridX: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
`;

/** Largest k of {@linkcode topK} (the selected elements are sorted in workgroup memory). */
export const TOPK_MAX = 1024;

/** Threads per row: fewer for short rows, where barriers dominate. */
function threadsFor(cols: number): number {
  return cols <= 2048 ? 64 : 256;
}

/** WGSL shared by both kernels: keys, workgroup reductions and scans, counting passes. */
function helpers(WG: number): string {
  return `const WG = ${WG}u;
var<workgroup> red_u: array<u32, ${WG}>;
var<workgroup> red_v: array<u32, ${WG}>;
var<workgroup> red_f: array<f32, ${WG}>;

// order-preserving key: a < b as f32 exactly when key(a) < key(b) as u32 (−0 below +0)
fn key_of(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
fn value_of(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}
fn key_at(i: u32) -> u32 { return key_of(f32(x[i])); }

fn sum_u(tid: u32, v: u32) -> u32 {
  red_u[tid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) { red_u[tid] += red_u[tid + s]; }
    workgroupBarrier();
  }
  let r = red_u[0];
  workgroupBarrier();
  return r;
}
fn sum_f(tid: u32, v: f32) -> f32 {
  red_f[tid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) { red_f[tid] += red_f[tid + s]; }
    workgroupBarrier();
  }
  let r = red_f[0];
  workgroupBarrier();
  return r;
}
// exclusive prefix sums over the threads, in thread order
fn scan_u(tid: u32, v: u32) -> u32 {
  red_u[tid] = v;
  workgroupBarrier();
  var s = 0u;
  for (var j = 0u; j < tid; j++) { s += red_u[j]; }
  workgroupBarrier();
  return s;
}
fn scan_f(tid: u32, v: f32) -> f32 {
  red_f[tid] = v;
  workgroupBarrier();
  var s = 0.0;
  for (var j = 0u; j < tid; j++) { s += red_f[j]; }
  workgroupBarrier();
  return s;
}
// (key, index) of the first element of the row in the order: largest key, then lowest index
fn best(tid: u32, base: u32, n: u32) -> vec2u {
  var bk = 0u;
  var bi = 0xffffffffu;
  for (var i = tid; i < n; i += WG) {
    let k = key_at(base + i);
    if (k > bk || (k == bk && i < bi)) { bk = k; bi = i; }
  }
  red_u[tid] = bk;
  red_v[tid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) {
      let k2 = red_u[tid + s];
      let i2 = red_v[tid + s];
      if (k2 > red_u[tid] || (k2 == red_u[tid] && i2 < red_v[tid])) {
        red_u[tid] = k2;
        red_v[tid] = i2;
      }
    }
    workgroupBarrier();
  }
  let r = vec2u(red_u[0], red_v[0]);
  workgroupBarrier();
  return r;
}
fn count_ge(tid: u32, base: u32, n: u32, t: u32) -> u32 {
  var c = 0u;
  for (var i = tid; i < n; i += WG) { c += select(0u, 1u, key_at(base + i) >= t); }
  return sum_u(tid, c);
}
fn count_gt(tid: u32, base: u32, n: u32, t: u32) -> u32 {
  var c = 0u;
  for (var i = tid; i < n; i += WG) { c += select(0u, 1u, key_at(base + i) > t); }
  return sum_u(tid, c);
}
// largest key t with at least k elements ≥ t: the key of the k-th element in the order
fn kth_key(tid: u32, base: u32, n: u32, k: u32) -> u32 {
  var t = 0u;
  for (var b = 31i; b >= 0i; b--) {
    let cand = t | (1u << u32(b));
    t = select(t, cand, count_ge(tid, base, n, cand) >= k);
  }
  return t;
}
`;
}

/**
 * WGSL source of top-k: one workgroup per row finds the k-th key by bisection, gathers the
 * selected elements (ties at the threshold by lower index) into workgroup memory, sorts them
 * with a bitonic network and writes values (f32) and indices (i32), best first.
 */
export function topKWgsl(config: { dtype?: "f32" | "f16"; threads?: number } = {}): string {
  const T = config.dtype ?? "f32", WG = config.threads ?? 256;
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;
${helpers(WG)}
var<workgroup> sk: array<u32, ${TOPK_MAX}>;
var<workgroup> si: array<u32, ${TOPK_MAX}>;

fn before(a: u32, b: u32) -> bool {
  return sk[a] > sk[b] || (sk[a] == sk[b] && si[a] < si[b]);
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * params.gridX;
  if (row >= params.rows) { return; }
  let n = params.cols;
  let k = params.k;
  let base = row * n;
  var t = 0u;
  if (k < n) { t = kth_key(tid, base, n, k); }
  let ties = k - count_gt(tid, base, n, t);
  // contiguous chunks keep index order for the ties and the gather
  let chunk = (n + WG - 1u) / WG;
  let lo = min(tid * chunk, n);
  let hi = min(lo + chunk, n);
  var eq = 0u;
  var gt = 0u;
  for (var i = lo; i < hi; i++) {
    let kk = key_at(base + i);
    eq += select(0u, 1u, kk == t);
    gt += select(0u, 1u, kk > t);
  }
  let tiesBefore = scan_u(tid, eq);
  let mine = gt + min(eq, ties - min(ties, tiesBefore));
  var o = scan_u(tid, mine);
  var r = tiesBefore;
  for (var i = lo; i < hi; i++) {
    let kk = key_at(base + i);
    var keep = kk > t;
    if (kk == t) {
      keep = r < ties;
      r++;
    }
    if (keep) {
      sk[o] = kk;
      si[o] = i;
      o++;
    }
  }
  for (var j = k + tid; j < params.padK; j += WG) {
    sk[j] = 0u;
    si[j] = 0xffffffffu;
  }
  workgroupBarrier();
  for (var size = 2u; size <= params.padK; size <<= 1u) {
    for (var stride = size >> 1u; stride > 0u; stride >>= 1u) {
      for (var j = tid; j < params.padK; j += WG) {
        let l = j ^ stride;
        if (l > j) {
          let swap = select(before(j, l), before(l, j), (j & size) == 0u);
          if (swap) {
            let a = sk[j];
            sk[j] = sk[l];
            sk[l] = a;
            let b = si[j];
            si[j] = si[l];
            si[l] = b;
          }
        }
      }
      workgroupBarrier();
    }
  }
  for (var j = tid; j < k; j += WG) {
    values[row * k + j] = f32(x[base + si[j]]);
    indices[row * k + j] = i32(si[j]);
  }
}
`;
}

/** WGSL of the PCG hash and the uniform draw, shared with {@linkcode samplingUniform}. */
const HASH_WGSL = `fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}
fn uniform01(seed: u32, row: u32, counter: u32) -> f32 {
  let h = pcg(pcg(pcg(seed) ^ row) ^ counter);
  return f32(h >> 8u) * (1.0 / 16777216.0);
}
`;

/**
 * WGSL source of sampling: one workgroup per row. Greedy rows take the first element of the
 * order. Otherwise the kept set is the longest top-k prefix of the order cut to the shortest
 * prefix holding `topP` of its probability mass (both found by key bisection), and the token is
 * the first kept index, in index order, whose running weight exceeds `u ×` the kept total.
 */
export function sampleWgsl(config: { dtype?: "f32" | "f16"; threads?: number } = {}): string {
  const T = config.dtype ?? "f32", WG = config.threads ?? 256;
  return `${enables(T)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read_write> tokens: array<i32>;
${helpers(WG)}
${HASH_WGSL}
var<workgroup> pick: atomic<u32>;
var<workgroup> lastKept: atomic<u32>;

fn weight(v: f32, m: f32) -> f32 { return exp((v - m) * params.invT); }
fn mass_ge(tid: u32, base: u32, n: u32, t: u32, m: f32) -> f32 {
  var s = 0.0;
  for (var i = tid; i < n; i += WG) {
    let v = f32(x[base + i]);
    if (key_of(v) >= t) { s += weight(v, m); }
  }
  return sum_f(tid, s);
}
fn mass_gt(tid: u32, base: u32, n: u32, t: u32, m: f32) -> f32 {
  var s = 0.0;
  for (var i = tid; i < n; i += WG) {
    let v = f32(x[base + i]);
    if (key_of(v) > t) { s += weight(v, m); }
  }
  return sum_f(tid, s);
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * params.gridX;
  if (row >= params.rows) { return; }
  let n = params.cols;
  let base = row * n;
  if (tid == 0u) {
    atomicStore(&pick, 0xffffffffu);
    atomicStore(&lastKept, 0u);
  }
  let top = best(tid, base, n);
  if (params.greedy != 0u) {
    if (tid == 0u) { tokens[row] = i32(top.y); }
    return;
  }
  let m = value_of(top.x);
  let k = min(params.k, n);
  var tk = 0u;
  if (k < n) { tk = kth_key(tid, base, n, k); }
  let ck = k - count_gt(tid, base, n, tk);
  let zk = mass_gt(tid, base, n, tk, m) + select(0.0, f32(ck) * weight(value_of(tk), m), ck > 0u);
  var tf = tk;
  var cf = ck;
  if (params.topP < 1.0) {
    let goal = params.topP * zk;
    var tp = 0u;
    for (var b = 31i; b >= 0i; b--) {
      let cand = tp | (1u << u32(b));
      let ms = mass_ge(tid, base, n, cand, m);
      tp = select(tp, cand, cand <= tk || ms >= goal);
    }
    let above = mass_gt(tid, base, n, tp, m);
    let eqn = count_ge(tid, base, n, tp) - count_gt(tid, base, n, tp);
    let cap = select(eqn, ck, tp == tk);
    let need = ceil((goal - above) / weight(value_of(tp), m));
    tf = tp;
    cf = u32(clamp(need, 1.0, f32(cap)));
  }
  let chunk = (n + WG - 1u) / WG;
  let lo = min(tid * chunk, n);
  let hi = min(lo + chunk, n);
  var eq = 0u;
  for (var i = lo; i < hi; i++) { eq += select(0u, 1u, key_at(base + i) == tf); }
  let tiesBefore = scan_u(tid, eq);
  var s = 0.0;
  var r = tiesBefore;
  for (var i = lo; i < hi; i++) {
    let v = f32(x[base + i]);
    let kk = key_of(v);
    var keep = kk > tf;
    if (kk == tf) {
      keep = r < cf;
      r++;
    }
    if (keep) { s += weight(v, m); }
  }
  let pre = scan_f(tid, s);
  let total = sum_f(tid, s);
  let goalW = uniform01(params.seed, row, params.counter) * total;
  var cum = pre;
  var found = 0xffffffffu;
  var last = 0u;
  r = tiesBefore;
  for (var i = lo; i < hi; i++) {
    let v = f32(x[base + i]);
    let kk = key_of(v);
    var keep = kk > tf;
    if (kk == tf) {
      keep = r < cf;
      r++;
    }
    if (keep) {
      cum += weight(v, m);
      last = i + 1u;
      if (cum > goalW && found == 0xffffffffu) { found = i; }
    }
  }
  atomicMin(&pick, found);
  atomicMax(&lastKept, last);
  workgroupBarrier();
  if (tid == 0u) {
    let p = atomicLoad(&pick);
    tokens[row] = i32(select(p, atomicLoad(&lastKept) - 1u, p == 0xffffffffu));
  }
}
`;
}

/** Options of {@linkcode topK} and {@linkcode topKReference}. */
export interface TopKOptions extends KernelOptions {
  /** Elements to keep per row, 1..min(row length, {@linkcode TOPK_MAX}). */
  k: number;
}

/** Result of {@linkcode topK}: per row, the k largest values and their indices, best first. */
export interface TopKResult<T> {
  /** Values [rows…, k] (f32 on the GPU). */
  values: T;
  /** Indices into the last dimension [rows…, k] (i32 on the GPU). */
  indices: T;
}

/** Options of {@linkcode sample} and {@linkcode sampleReference}. */
export interface SampleOptions extends KernelOptions {
  /**
   * Divides the logits (default 0, greedy: the largest logit, lowest index on ties — the one
   * default of the library's sampler, also `generate`'s).
   */
  temperature?: number;
  /** Keep only the k largest logits (0 or absent: all). */
  topK?: number;
  /** Keep the shortest best-first prefix holding this share of the probability (default 1). */
  topP?: number;
  /** Seed of the hash (an unsigned 32-bit integer, default 0). */
  seed?: number;
  /**
   * Draw number mixed into the hash (default 0): the decoding step, as `generate` uses it
   * (its i-th new token is drawn with counter i).
   */
  counter?: number;
}

function rowsCols(shape: readonly number[], what: string): [number, number] {
  check(shape.length >= 1, `${what} must have at least one dimension`);
  const cols = shape[shape.length - 1];
  check(cols >= 1, `${what} rows must not be empty, got shape [${shape.join(", ")}]`);
  return [shape.reduce((a, b) => a * b, 1) / cols, cols];
}

function checkK(k: number, cols: number): void {
  check(
    Number.isInteger(k) && k >= 1 && k <= Math.min(cols, TOPK_MAX),
    `topK k must be an integer in 1..${Math.min(cols, TOPK_MAX)}, got ${k}`,
    { hint: `k is at most the row length (${cols}) and ${TOPK_MAX}` },
  );
}

interface SampleParams {
  greedy: boolean;
  invT: number;
  k: number;
  topP: number;
  seed: number;
  counter: number;
}

function sampleParams(cols: number, o: SampleOptions): SampleParams {
  const temperature = o.temperature ?? 0;
  check(
    Number.isFinite(temperature) && temperature >= 0,
    `temperature must be a finite number ≥ 0, got ${temperature}`,
  );
  const topK = o.topK ?? 0;
  check(
    Number.isInteger(topK) && topK >= 0,
    `topK must be a non-negative integer (0 = off), got ${topK}`,
  );
  const topP = o.topP ?? 1;
  check(topP > 0 && topP <= 1, `topP must be in (0, 1], got ${topP}`);
  const u32 = (v: number, name: string) => {
    check(
      Number.isInteger(v) && v >= 0 && v <= 0xffffffff,
      `${name} must be an unsigned 32-bit integer, got ${v}`,
    );
    return v;
  };
  return {
    greedy: temperature === 0,
    invT: temperature === 0 ? 0 : Math.fround(1 / temperature),
    k: topK === 0 ? cols : Math.min(topK, cols),
    topP,
    seed: u32(o.seed ?? 0, "seed"),
    counter: u32(o.counter ?? 0, "counter"),
  };
}

/**
 * The k largest elements of each row (last dimension) on the GPU, best first; equal values are
 * ordered by lower index.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { topK } from "@tokenlab/tokenlab/kernels";
 * if (await getDevice()) {
 *   const x = Tensor.fromArray([1, 5, 3, 5], { shape: [1, 4] });
 *   const { values, indices } = await topK(x, { k: 3 });
 *   console.log(await values.toArray(), await indices.toArray()); // [5, 5, 3] [1, 3, 2]
 * }
 * ```
 */
export async function topK(x: Tensor, options: TopKOptions): Promise<TopKResult<Tensor>> {
  const dtype = floatType(x.dtype, "topK input");
  const [rows, cols] = rowsCols(x.shape, "topK input");
  checkK(options.k, cols);
  if (x.isCpu) {
    const r = topKReference(hostOf(x), options);
    return {
      values: cpuTensor(r.values, "f32"),
      indices: cpuTensor({ data: r.indices, shape: r.values.shape }, "i32"),
    };
  }
  const k = options.k;
  const threads = threadsFor(cols);
  const [gx, gy] = grid(rows);
  const shape = [...x.shape.slice(0, -1), k];
  return await dispatch(x.gpu, {
    label: "top_k",
    source: topKWgsl({ dtype, threads }),
    // the params struct is shared with sample: its sampling fields are unused here
    uniforms: {
      rows,
      cols,
      k,
      padK: 2 ** Math.ceil(Math.log2(k)),
      topP: 0,
      invT: 0,
      greedy: 0,
      seed: 0,
      counter: 0,
      gridX: gx,
    },
    bindings: { x },
    outputs: { values: { shape }, indices: { shape, dtype: "i32" } },
    workgroups: [rows ? gx : 0, gy],
    profiler: options.profiler,
  });
}

/**
 * Draws one token per row of logits on the GPU: greedy at temperature 0 (the default), else
 * from the softmax of `logits / temperature` restricted to the top-k / top-p set, with the
 * uniform of row r from `samplingUniform({ seed, row: r, counter })` (the contract in the
 * module doc). A CPU tensor is sampled by {@linkcode sampleReference}. Returns i32 token ids, one per
 * row (shape: the logits' shape without the last dimension, or [1] for a single row).
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { sample } from "@tokenlab/tokenlab/kernels";
 * if (await getDevice()) {
 *   const logits = Tensor.fromArray([0, 2, 1, 0], { shape: [2, 2] });
 *   const greedy = await sample(logits, { temperature: 0 });
 *   console.log(await greedy.toArray()); // [1, 0]
 *   const drawn = await sample(logits, { temperature: 0.8, topP: 0.9, seed: 7 });
 *   console.log(await drawn.toArray());
 * }
 * ```
 */
export async function sample(logits: Tensor, options: SampleOptions = {}): Promise<Tensor> {
  const dtype = floatType(logits.dtype, "sample logits");
  const [rows, cols] = rowsCols(logits.shape, "sample logits");
  const p = sampleParams(cols, options);
  const shape = logits.shape.length > 1 ? logits.shape.slice(0, -1) : [1];
  if (logits.isCpu) {
    return cpuTensor({ data: sampleReference(hostOf(logits), options), shape }, "i32");
  }
  const threads = threadsFor(cols);
  const [gx, gy] = grid(rows);
  const { tokens } = await dispatch(logits.gpu, {
    label: "sample",
    source: sampleWgsl({ dtype, threads }),
    uniforms: {
      rows,
      cols,
      k: p.k,
      padK: 0, // top-k's sort width, unused by sample
      topP: p.topP,
      invT: p.invT,
      greedy: p.greedy ? 1 : 0,
      seed: p.seed,
      counter: p.counter,
      gridX: gx,
    },
    bindings: { x: logits },
    outputs: { tokens: { shape, dtype: "i32" } },
    workgroups: [rows ? gx : 0, gy],
    profiler: options.profiler,
  });
  return tokens;
}

function pcg(v: number): number {
  const s = (Math.imul(v, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/**
 * The uniform number in [0, 1) that {@linkcode sample} draws for one row:
 * `pcg(pcg(pcg(seed) ^ row) ^ counter) >> 8`, divided by 2^24 (exact in f32), where `pcg` is
 * the PCG-RXS-M-XS 32-bit hash.
 *
 * @example
 * ```ts
 * import { samplingUniform } from "@tokenlab/tokenlab/kernels";
 * const u = samplingUniform({ seed: 1, row: 0, counter: 0 });
 * console.log(u >= 0 && u < 1); // true
 * ```
 */
export function samplingUniform(at: { seed: number; row: number; counter?: number }): number {
  const h = pcg((pcg((pcg(at.seed >>> 0) ^ at.row) >>> 0) ^ (at.counter ?? 0)) >>> 0);
  return (h >>> 8) / 16777216;
}

const keyView = new Float32Array(1);
const keyBits = new Uint32Array(keyView.buffer);

/** The kernels' order-preserving u32 key of an f32 value. */
function keyOf(v: number): number {
  keyView[0] = v;
  const b = keyBits[0];
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}

/** Indices of one row in the kernels' order: larger key first, then lower index. */
function orderOf(row: Float32Array): number[] {
  const keys = Array.from(row, keyOf);
  return Array.from(row, (_, i) => i).sort((a, b) => keys[b] - keys[a] || a - b);
}

/**
 * CPU reference of {@linkcode topK}: values as f32, indices as an Int32Array, both [rows, k].
 *
 * @example
 * ```ts
 * import { topKReference } from "@tokenlab/tokenlab/kernels";
 * const r = topKReference({ data: new Float32Array([1, 5, 3, 5]), shape: [1, 4] }, { k: 3 });
 * console.log(r.values.data, r.indices); // [5, 5, 3] [1, 3, 2]
 * ```
 */
export function topKReference(
  x: HostTensor,
  options: TopKOptions,
): { values: HostTensor; indices: Int32Array } {
  const [rows, cols] = rowsCols(x.shape, "topK input");
  const k = options.k;
  checkK(k, cols);
  const values = new Float32Array(rows * k), indices = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const row = x.data.subarray(r * cols, (r + 1) * cols);
    orderOf(row).slice(0, k).forEach((i, j) => {
      values[r * k + j] = row[i];
      indices[r * k + j] = i;
    });
  }
  return { values: { data: values, shape: [...x.shape.slice(0, -1), k] }, indices };
}

/**
 * CPU reference of {@linkcode sample}, in float64: sort each row best first, keep the first
 * `topK`, cut to the shortest prefix whose weights reach `topP` of theirs, then return the
 * first kept index (in index order) whose running weight exceeds `u ×` the kept total, with
 * `u` from {@linkcode samplingUniform} (row r of the logits uses `row: r`). Matches the GPU
 * except when `u` or `topP` falls within float32 rounding of a boundary. `generate` draws
 * every token through this function.
 *
 * @example
 * ```ts
 * import { sampleReference } from "@tokenlab/tokenlab/kernels";
 * const logits = { data: new Float32Array([0, 3, 1]), shape: [1, 3] };
 * console.log(sampleReference(logits, { temperature: 0 })); // Int32Array [1]
 * console.log(sampleReference(logits, { temperature: 1, topK: 2, seed: 3 }));
 * ```
 */
export function sampleReference(logits: HostTensor, options: SampleOptions = {}): Int32Array {
  const [rows, cols] = rowsCols(logits.shape, "sample logits");
  const p = sampleParams(cols, options);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = logits.data.subarray(r * cols, (r + 1) * cols);
    if (p.greedy) {
      out[r] = firstOf(row);
      continue;
    }
    const { w, kept } = keptWeights(row, p);
    out[r] = drawIndex(w, kept, samplingUniform({ seed: p.seed, row: r, counter: p.counter }));
  }
  return out;
}

/**
 * The distribution {@linkcode sampleReference} draws each row from, as probabilities in
 * float64 [rows × cols]: the kept tokens' weights `exp((x − max) / temperature)` divided by
 * their sum, 0 for tokens cut by `topK` / `topP`; at temperature 0 all mass on the greedy
 * token. Speculative sampling needs it whole (acceptance ratios and residuals p − q).
 * `seed` and `counter` are ignored.
 *
 * @example
 * ```ts
 * import { samplingProbabilities } from "@tokenlab/tokenlab/kernels";
 * const logits = { data: new Float32Array([0, 1, 1, -2]), shape: [1, 4] };
 * console.log(samplingProbabilities(logits, { temperature: 1, topK: 2 })); // [0, 0.5, 0.5, 0]
 * ```
 */
export function samplingProbabilities(
  logits: HostTensor,
  options: SampleOptions = {},
): Float64Array {
  const [rows, cols] = rowsCols(logits.shape, "sample logits");
  const p = sampleParams(cols, options);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = logits.data.subarray(r * cols, (r + 1) * cols);
    if (p.greedy) {
      out[r * cols + firstOf(row)] = 1;
      continue;
    }
    const { w, kept } = keptWeights(row, p);
    let total = 0;
    for (let i = 0; i < cols; i++) if (!kept || kept[i]) total += w[i];
    for (let i = 0; i < cols; i++) if (!kept || kept[i]) out[r * cols + i] = w[i] / total;
  }
  return out;
}

/** Weights of a row at temperature > 0 and the kept set (null: all kept), by the contract. */
function keptWeights(row: Float32Array, p: SampleParams): { w: number[]; kept: Uint8Array | null } {
  const m = row[firstOf(row)];
  const w = Array.from(row, (v) => Math.exp((v - m) * p.invT));
  const cols = row.length;
  if (p.k === cols && p.topP === 1) return { w, kept: null };
  const order = orderOf(row);
  let keep = p.k;
  if (p.topP < 1) {
    let zk = 0;
    for (let j = 0; j < keep; j++) zk += w[order[j]];
    let cum = 0;
    for (let j = 0; j < keep; j++) {
      cum += w[order[j]];
      if (cum >= p.topP * zk) {
        keep = j + 1;
        break;
      }
    }
  }
  const kept = new Uint8Array(cols);
  for (let j = 0; j < keep; j++) kept[order[j]] = 1;
  return { w, kept };
}

/** The first index of a row in the kernels' order (largest key, then lowest index). */
function firstOf(row: Float32Array): number {
  let best = 0, bestKey = keyOf(row[0]);
  for (let i = 1; i < row.length; i++) {
    const k = keyOf(row[i]);
    if (k > bestKey) [best, bestKey] = [i, k];
  }
  return best;
}

/** The first kept index (in index order) whose running weight exceeds `u ×` the kept total. */
function drawIndex(w: number[], kept: Uint8Array | null, u: number): number {
  let total = 0;
  for (let i = 0; i < w.length; i++) if (!kept || kept[i]) total += w[i];
  const target = u * total;
  let cum = 0, last = -1;
  for (let i = 0; i < w.length; i++) {
    if (kept && !kept[i]) continue;
    cum += w[i];
    last = i;
    if (cum > target) return i;
  }
  return last;
}
