/**
 * Batched matrix multiply `C = alpha · op(A) · op(B)` with f32 or f16 storage and f32
 * accumulation, register-blocked shared-memory tiles, optional transposes.
 *
 * @module
 */

import { check } from "../lib/util/errors.ts";
import { dispatch, type DType, type Tensor } from "../lib/gpu/mod.ts";
import {
  ceilDiv,
  cpuTensor,
  dims,
  enables,
  floatType,
  grid,
  hostOf,
  type HostTensor,
  type KernelOptions,
  sameDevice,
} from "./_common.ts";
import { matmulNT } from "./_matmul_cpu.ts";

/** Compile-time configuration of the matmul shader. */
export interface MatmulShaderConfig {
  /** Storage type of A (default f32). */
  aType?: "f32" | "f16";
  /** Storage type of B (default f32). */
  bType?: "f32" | "f16";
  /** Storage type of C (default f32). */
  cType?: "f32" | "f16";
  /** A is stored as [K, M] (default false). */
  transposeA?: boolean;
  /** B is stored as [N, K] (default false). */
  transposeB?: boolean;
  /** Output rows per workgroup tile (default 64). */
  tileM?: number;
  /** Output columns per workgroup tile (default 64). */
  tileN?: number;
  /** Rows and columns each thread accumulates (default 4: a 4×4 register block). */
  perThread?: number;
  /** Add the product to what C holds instead of overwriting it (default false). */
  accumulate?: boolean;
}

const PARAMS_WGSL = `struct Params {
  M: u32, N: u32, K: u32, batchA: u32, batchB: u32,
  strideA: u32, strideB: u32, strideC: u32, alpha: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
`;

/**
 * WGSL source of the matmul kernel for a configuration. Each workgroup computes a
 * `tileM × tileN` block of one batch entry, staging 16-deep slices of A and B in workgroup
 * memory (converted to f32); each thread holds a `perThread × perThread` block of accumulators
 * in registers. Edges are zero-padded on load and masked on store, so any M, N, K work.
 */
export function matmulWgsl(config: MatmulShaderConfig = {}): string {
  const at = config.aType ?? "f32", bt = config.bType ?? "f32", ct = config.cType ?? "f32";
  const BM = config.tileM ?? 64, BN = config.tileN ?? 64, T = config.perThread ?? 4, BK = 16;
  check(BM % T === 0 && BN % T === 0, `tile ${BM}×${BN} must be a multiple of ${T}`);
  const TX = BN / T, TY = BM / T, THREADS = TX * TY;
  check(
    THREADS <= 256,
    `tile ${BM}×${BN} with ${T}×${T} per thread needs ${THREADS} > 256 threads`,
  );
  const loadsA = ceilDiv(BK * BM, THREADS), loadsB = ceilDiv(BK * BN, THREADS);
  const aIdx = config.transposeA ? "k * params.M + m" : "m * params.K + k";
  const bIdx = config.transposeB ? "n * params.K + k" : "k * params.N + n";
  // coalesce global loads along the contiguous dimension of each operand
  const aSplit = config.transposeA
    ? `let m = e % ${BM}u; let k = e / ${BM}u;`
    : `let k = e % ${BK}u; let m = e / ${BK}u;`;
  const bSplit = config.transposeB
    ? `let k = e % ${BK}u; let n = e / ${BK}u;`
    : `let n = e % ${BN}u; let k = e / ${BN}u;`;
  return `${enables(at, bt, ct)}${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> a: array<${at}>;
@group(0) @binding(2) var<storage, read> b: array<${bt}>;
@group(0) @binding(3) var<storage, read_write> c: array<${ct}>;

var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;

@compute @workgroup_size(${TX}, ${TY})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let batch = wg.z;
  let offA = select(batch, 0u, params.batchA == 1u) * params.strideA;
  let offB = select(batch, 0u, params.batchB == 1u) * params.strideB;
  let row0 = wg.y * ${BM}u;
  let col0 = wg.x * ${BN}u;
  let tid = lid.y * ${TX}u + lid.x;
  var acc: array<f32, ${T * T}>;
  for (var k0 = 0u; k0 < params.K; k0 += ${BK}u) {
    for (var i = 0u; i < ${loadsA}u; i++) {
      let e = tid + i * ${THREADS}u;
      if (e < ${BK * BM}u) {
        ${aSplit}
        let gm = row0 + m;
        let gk = k0 + k;
        var v = 0.0;
        if (gm < params.M && gk < params.K) {
          let m = gm; let k = gk;
          v = f32(a[offA + ${aIdx}]);
        }
        As[k * ${BM}u + (gm - row0)] = v;
      }
    }
    for (var i = 0u; i < ${loadsB}u; i++) {
      let e = tid + i * ${THREADS}u;
      if (e < ${BK * BN}u) {
        ${bSplit}
        let gn = col0 + n;
        let gk = k0 + k;
        var v = 0.0;
        if (gn < params.N && gk < params.K) {
          let n = gn; let k = gk;
          v = f32(b[offB + ${bIdx}]);
        }
        Bs[k * ${BN}u + (gn - col0)] = v;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      var ar: array<f32, ${T}>;
      var br: array<f32, ${T}>;
      for (var i = 0u; i < ${T}u; i++) {
        ar[i] = As[kk * ${BM}u + lid.y + i * ${TY}u];
        br[i] = Bs[kk * ${BN}u + lid.x + i * ${TX}u];
      }
      for (var i = 0u; i < ${T}u; i++) {
        for (var j = 0u; j < ${T}u; j++) {
          acc[i * ${T}u + j] = fma(ar[i], br[j], acc[i * ${T}u + j]);
        }
      }
    }
    workgroupBarrier();
  }
  let offC = batch * params.strideC;
  for (var i = 0u; i < ${T}u; i++) {
    let r = row0 + lid.y + i * ${TY}u;
    if (r >= params.M) { continue; }
    for (var j = 0u; j < ${T}u; j++) {
      let cc = col0 + lid.x + j * ${TX}u;
      if (cc < params.N) {
        let idx = offC + r * params.N + cc;
        c[idx] = ${ct}(acc[i * ${T}u + j] * params.alpha${
    config.accumulate ? " + f32(c[idx])" : ""
  });
      }
    }
  }
}
`;
}

const REG_PARAMS_WGSL = `struct Params {
  M: u32, N: u32, K: u32, batchA: u32, batchB: u32,
  strideA: u32, strideB: u32, strideC: u32, alpha: f32, gridX: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
`;

/** Rows × columns of C each thread of the register kernel computes. */
const REG_ROWS = 4, REG_COLS = 4;

/**
 * WGSL source of the register-blocked matmul (`kernel: "registers"`): no workgroup memory and
 * no barriers; each thread keeps a 4×4 block of C in scalar registers (4 consecutive rows,
 * 4 columns strided by ⌈N/4⌉ so that neighbouring threads read neighbouring B elements) and
 * streams A and B from storage. On software adapters (llvmpipe), where barriers and
 * workgroup memory are expensive, it runs several times faster than the tiled kernel; on GPUs
 * the tiled one is the better choice.
 */
export function matmulRegistersWgsl(
  config: Omit<MatmulShaderConfig, "tileM" | "tileN" | "perThread"> = {},
): string {
  const at = config.aType ?? "f32", bt = config.bType ?? "f32", ct = config.cType ?? "f32";
  const TR = REG_ROWS, TC = REG_COLS;
  const rows = [...Array(TR).keys()], cols = [...Array(TC).keys()];
  const aAt = (i: number) =>
    config.transposeA ? `a[offA + k * params.M + m${i}]` : `a[offA + m${i} * params.K + k]`;
  const bAt = (j: number) =>
    config.transposeB ? `b[offB + n${j} * params.K + k]` : `b[offB + k * params.N + n${j}]`;
  return `${enables(at, bt, ct)}${REG_PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> a: array<${at}>;
@group(0) @binding(2) var<storage, read> b: array<${bt}>;
@group(0) @binding(3) var<storage, read_write> c: array<${ct}>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let idx = (wg.x + wg.y * params.gridX) * 64u + tid;
  let nG = (params.N + ${TC - 1}u) / ${TC}u;
  if (idx >= nG * ((params.M + ${TR - 1}u) / ${TR}u)) { return; }
  let batch = wg.z;
  let offA = select(batch, 0u, params.batchA == 1u) * params.strideA;
  let offB = select(batch, 0u, params.batchB == 1u) * params.strideB;
  let ng = idx % nG;
  let row0 = (idx / nG) * ${TR}u;
  ${rows.map((i) => `let m${i} = min(row0 + ${i}u, params.M - 1u);`).join("\n  ")}
  ${cols.map((j) => `let n${j} = min(ng + ${j}u * nG, params.N - 1u);`).join("\n  ")}
  ${rows.flatMap((i) => cols.map((j) => `var acc${i}_${j} = 0.0;`)).join("\n  ")}
  for (var k = 0u; k < params.K; k++) {
    ${rows.map((i) => `let a${i} = f32(${aAt(i)});`).join("\n    ")}
    ${cols.map((j) => `let b${j} = f32(${bAt(j)});`).join("\n    ")}
    ${
    rows.flatMap((i) => cols.map((j) => `acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});`)).join(
      "\n    ",
    )
  }
  }
  let offC = batch * params.strideC;
  ${
    rows.flatMap((i) =>
      cols.map((j) =>
        `if (row0 + ${i}u < params.M && ng + ${j}u * nG < params.N) {
    let o = offC + (row0 + ${i}u) * params.N + ng + ${j}u * nG;
    c[o] = ${ct}(acc${i}_${j} * params.alpha${config.accumulate ? " + f32(c[o])" : ""});
  }`
      )
    ).join("\n  ")
  }
}
`;
}

/** The default f32 matmul source (64×64 tiles, 4×4 per thread, no transposes). */
export const MATMUL_WGSL: string = matmulWgsl();

/** Inputs of {@linkcode matmul}: A is [M,K] or [batch,M,K] (transposed: [..,K,M]), B likewise. */
export interface MatmulInputs<T> {
  /** Left operand. */
  a: T;
  /** Right operand. */
  b: T;
}

/** Options of {@linkcode matmul} and {@linkcode matmulReference}. */
export interface MatmulOptions extends KernelOptions {
  /** A is stored as [..., K, M]. */
  transposeA?: boolean;
  /** B is stored as [..., N, K]. */
  transposeB?: boolean;
  /** Scale applied to the product (default 1). */
  alpha?: number;
  /** Output dtype (default: f16 when both inputs are f16, else f32). */
  outDtype?: "f32" | "f16";
  /**
   * Add the product into this tensor (shaped and typed like the output) and return it, instead
   * of allocating a new output: `C += alpha · op(A) · op(B)`, e.g. to sum gradients.
   */
  accumulate?: Tensor;
  /**
   * Shader: "tiled" (default; shared-memory tiles, for GPUs) or "registers" (no workgroup
   * memory or barriers, see {@linkcode matmulRegistersWgsl}; faster on software adapters).
   */
  kernel?: "tiled" | "registers";
}

interface MatmulShape {
  batch: number;
  batchA: number;
  batchB: number;
  m: number;
  n: number;
  k: number;
  rank3: boolean;
}

function matmulShape(sa: readonly number[], sb: readonly number[], o: MatmulOptions): MatmulShape {
  const batchA = sa.length === 3 ? sa[0] : 1, batchB = sb.length === 3 ? sb[0] : 1;
  const [ra, ca] = sa.slice(-2), [rb, cb] = sb.slice(-2);
  const m = o.transposeA ? ca : ra, ka = o.transposeA ? ra : ca;
  const kb = o.transposeB ? cb : rb, n = o.transposeB ? rb : cb;
  check(
    ka === kb,
    `matmul inner dimensions differ: A [${sa.join(", ")}]${
      o.transposeA ? " (transposed)" : ""
    } has K=${ka}, B [${sb.join(", ")}]${o.transposeB ? " (transposed)" : ""} has K=${kb}`,
  );
  check(
    batchA === batchB || batchA === 1 || batchB === 1,
    `matmul batch sizes ${batchA} and ${batchB} differ and neither is 1`,
  );
  return {
    batch: Math.max(batchA, batchB),
    batchA,
    batchB,
    m,
    n,
    k: ka,
    rank3: sa.length === 3 || sb.length === 3,
  };
}

/**
 * `alpha · op(A) · op(B)` on the GPU. Inputs may be f32 or f16 (mixed allowed); accumulation
 * is f32. A batch dimension of 1 (or a rank-2 operand) is broadcast.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { matmul } from "@tokenlab/tokenlab/kernels";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const a = Tensor.fromArray([1, 2, 3, 4], { shape: [2, 2], gpu });
 *   const b = Tensor.fromArray([1, 0, 0, 1], { shape: [2, 2], gpu });
 *   console.log(await (await matmul({ a, b })).toArray()); // 1 2 3 4
 * }
 * ```
 */
export async function matmul(
  inputs: MatmulInputs<Tensor>,
  options: MatmulOptions = {},
): Promise<Tensor> {
  const { a, b } = inputs;
  sameDevice(a, b, "matmul inputs a and b");
  check(
    options.kernel === undefined || options.kernel === "tiled" || options.kernel === "registers",
    `matmul kernel must be "tiled" or "registers", got ${JSON.stringify(options.kernel)}`,
  );
  const s = matmulShape(
    dims(a, "matmul input a", [2, 3]),
    dims(b, "matmul input b", [2, 3]),
    options,
  );
  const aType = floatType(a.dtype, "matmul input a"), bType = floatType(b.dtype, "matmul input b");
  const cType: DType = options.accumulate?.dtype ?? options.outDtype ??
    (aType === "f16" && bType === "f16" ? "f16" : "f32");
  const outShape = s.rank3 ? [s.batch, s.m, s.n] : [s.m, s.n];
  const into = options.accumulate;
  if (into) {
    check(
      into.size === outShape.reduce((x, y) => x * y, 1) && floatType(into.dtype, "accumulate"),
      `matmul accumulate tensor has shape [${into.shape.join(", ")}], the product is [${
        outShape.join(", ")
      }]`,
      { hint: "pass a tensor with the product's shape (it is added into in place)" },
    );
    sameDevice(a, into, "matmul input a and the accumulate tensor");
  }
  if (a.isCpu) {
    const r = matmulReference({ a: hostOf(a), b: hostOf(b) }, options);
    if (!into) return cpuTensor(r, cType);
    const h = into.host as Float32Array;
    const add = cpuTensor({ data: r.data.map((v, i) => v + h[i]), shape: [...into.shape] }, cType);
    h.set(add.host as Float32Array);
    return into;
  }
  const gpu = a.gpu;
  const strides = {
    M: s.m,
    N: s.n,
    K: s.k,
    batchA: s.batchA,
    batchB: s.batchB,
    strideA: s.m * s.k,
    strideB: s.k * s.n,
    strideC: s.m * s.n,
    alpha: options.alpha ?? 1,
  };
  const kernel = {
    bindings: { a, b },
    outputs: { c: into ?? { shape: outShape, dtype: cType } },
    profiler: options.profiler,
  };
  const config = {
    aType,
    bType,
    cType: cType as "f32" | "f16",
    transposeA: options.transposeA,
    transposeB: options.transposeB,
    accumulate: !!into,
  };
  if (options.kernel === "registers") {
    const threads = ceilDiv(s.m, REG_ROWS) * ceilDiv(s.n, REG_COLS);
    const [gx, gy] = grid(ceilDiv(threads, 64));
    const { c } = await dispatch(gpu, {
      ...kernel,
      label: "matmul_registers",
      source: matmulRegistersWgsl(config),
      uniforms: { ...strides, gridX: gx },
      workgroups: [threads ? gx : 0, gy, s.batch],
    });
    return c;
  }
  const big = s.m * s.n * s.batch >= 512 * 512;
  const tile = big ? 128 : 64, per = big ? 8 : 4;
  const { c } = await dispatch(gpu, {
    ...kernel,
    label: "matmul",
    source: matmulWgsl({ ...config, tileM: tile, tileN: tile, perThread: per }),
    uniforms: strides,
    workgroups: [ceilDiv(s.n, tile), ceilDiv(s.m, tile), s.batch],
  });
  return c;
}

/**
 * CPU reference of {@linkcode matmul} (f64 accumulation). For f16 comparisons pass inputs
 * already rounded to half precision.
 *
 * @example
 * ```ts
 * import { matmulReference } from "@tokenlab/tokenlab/kernels";
 * const c = matmulReference({
 *   a: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] },
 *   b: { data: new Float32Array([5, 6, 7, 8]), shape: [2, 2] },
 * });
 * console.log(c.data); // 19 22 43 50
 * ```
 */
export function matmulReference(
  inputs: MatmulInputs<HostTensor>,
  options: MatmulOptions = {},
): HostTensor {
  const { a, b } = inputs;
  const s = matmulShape(a.shape, b.shape, options);
  const out = new Float32Array(s.batch * s.m * s.n);
  const alpha = options.alpha ?? 1;
  // every product runs as the one CPU matmul, X·Wᵀ, on f64 copies laid out [m×k] and [n×k]:
  // each element is the index-order f64 sum of a naive loop, scaled once, rounded once
  const x = new Float64Array(s.m * s.k), w = new Float64Array(s.n * s.k);
  const acc = new Float64Array(s.m * s.n);
  for (let z = 0; z < s.batch; z++) {
    const oa = (s.batchA === 1 ? 0 : z) * s.m * s.k, ob = (s.batchB === 1 ? 0 : z) * s.k * s.n;
    for (let i = 0; i < s.m; i++) {
      for (let p = 0; p < s.k; p++) {
        x[i * s.k + p] = a.data[oa + (options.transposeA ? p * s.m + i : i * s.k + p)];
      }
    }
    for (let j = 0; j < s.n; j++) {
      for (let p = 0; p < s.k; p++) {
        w[j * s.k + p] = b.data[ob + (options.transposeB ? j * s.k + p : p * s.n + j)];
      }
    }
    matmulNT(acc, { x, w, rows: s.m, inDim: s.k, outDim: s.n });
    for (let e = 0; e < acc.length; e++) out[z * s.m * s.n + e] = acc[e] * alpha;
  }
  return { data: out, shape: s.rank3 ? [s.batch, s.m, s.n] : [s.m, s.n] };
}
