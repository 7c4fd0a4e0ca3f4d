/**
 * Fused dequantise-and-multiply on the GPU: `y = x · Wᵀ` with `W` an `[out, in]` weight in one
 * of bitsandbytes' formats ({@linkcode QuantizedTensor}: nf4 / fp4 with or without double
 * quantisation, int8-blockwise, int8-rowwise), decoded inside the kernel, never materialised
 * in f32.
 *
 * Two shaders:
 *
 * - a matvec for decode (up to {@linkcode QUANT_MATVEC_MAX_ROWS} rows of activations): each
 *   thread streams whole u32 words of codes (8 nibbles or 4 bytes, always inside one absmax
 *   block since blocks are powers of two ≥ 32), decodes every word once for all rows, and a
 *   workgroup-memory tree reduces each output element;
 * - a tiled matmul for prefill (more rows), the shape of `kernels/matmul.ts` with the weight
 *   tile decoded element by element as it is staged in workgroup memory.
 *
 * Double-quantised absmax are decoded in the kernel (nested code → dynamic map × nested absmax
 * + offset), so the 8-bit absmax stay 8-bit in memory. The one CPU reference is
 * {@linkcode quantMatmulReference}: {@linkcode dequantize} then the kernels' `matmulReference`.
 *
 * These kernels live in lib/quant rather than kernels/ because they need the formats' layout
 * and codebooks, which lib/quant owns (kernels/ sits below lib/quant and cannot import them).
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { dispatch, type GpuContext, type PassTimer, Tensor } from "../gpu/mod.ts";
import { type HostTensor, matmulReference } from "../../kernels/mod.ts";
import { dynamicMap, FP4_CODEBOOK, NF4_CODEBOOK } from "./codebooks.ts";
import { dequantize } from "./quantize.ts";
import { validateQuantized } from "./_validate.ts";
import type { QuantFormat, QuantizedTensor } from "./types.ts";

/** Most activation rows the matvec shader takes; more rows go to the tiled matmul. */
export const QUANT_MATVEC_MAX_ROWS = 8;

/** float32(1/127), as bitsandbytes' `int8_vectorwise_dequant` multiplies by it. */
const INV_127 = Math.fround(7.874015718698502e-3);

/** A {@linkcode QuantizedTensor} uploaded for {@linkcode quantMatmul}. */
export interface GpuQuantizedTensor {
  /** The format. */
  format: QuantFormat;
  /** `[out, in]`. */
  shape: [number, number];
  /** Values per absmax block (int8-rowwise: the row length). */
  blockSize: number;
  /** The codes as little-endian u32 words (zero-padded to a whole word). */
  codes: Tensor;
  /** f32 absmax per block (per row for int8-rowwise; the nested absmax when double-quantised). */
  absmax: Tensor;
  /** The codebook (16 values for nf4/fp4, the dynamic map for int8-blockwise). */
  book: Tensor;
  /** Double quantisation: one dynamic-map code per block, packed 4 per u32. */
  nestedCodes?: Tensor;
  /** Double quantisation: first-level blocks per nested absmax (256). */
  nestedBlockSize?: number;
  /** Double quantisation: the offset added back to each decoded absmax. */
  offset?: number;
  /** Double quantisation: the dynamic map the nested codes index. */
  nestedBook?: Tensor;
  /** Bytes of weight data the kernel reads per product (codes + scales), for bandwidth figures. */
  weightBytes: number;
  /** The host tensor (used when the activations are CPU tensors). */
  source: QuantizedTensor;
}

function words(bytes: Uint8Array): Uint32Array {
  // whole vec4<u32> quads, so the aligned matvec may read the codes 16 bytes at a time
  const out = new Uint32Array(4 * Math.max(1, Math.ceil(bytes.length / 16)));
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function bookOf(format: QuantFormat): Float32Array {
  if (format === "nf4") return Float32Array.from(NF4_CODEBOOK);
  if (format === "fp4") return Float32Array.from(FP4_CODEBOOK);
  if (format === "int8-blockwise") return dynamicMap();
  return Float32Array.of(0); // int8-rowwise has no codebook (the code is the value)
}

function shape2(q: QuantizedTensor, what: string): [number, number] {
  check(
    q.shape.length === 2,
    `${what}: the weight must have shape [out, in], got [${q.shape.join(", ")}]`,
    { hint: "quantize with shape: [out, in] (HF's Linear layout)" },
  );
  return [q.shape[0], q.shape[1]];
}

/**
 * Uploads a quantised `[out, in]` weight for {@linkcode quantMatmul}.
 *
 * @example
 * ```ts
 * import { getDevice } from "@tokenlab/tokenlab/gpu";
 * import { quantize, uploadQuantized } from "@tokenlab/tokenlab/quant";
 * const gpu = await getDevice();
 * const q = quantize(new Float32Array(64 * 32).fill(0.1), { format: "nf4", shape: [64, 32] });
 * if (gpu) console.log(uploadQuantized(q, gpu).weightBytes); // 1024 + 32·4
 * ```
 */
export function uploadQuantized(q: QuantizedTensor, gpu: GpuContext): GpuQuantizedTensor {
  validateQuantized(q, "uploadQuantized");
  const shape = shape2(q, "uploadQuantized");
  const up = (a: Float32Array | Uint32Array) => Tensor.fromArray(a, { shape: [a.length], gpu });
  const nested = q.nested;
  const absmax = nested ? nested.absmax : q.absmax;
  const scaleBytes = nested ? nested.codes.length + 4 * nested.absmax.length : 4 * q.absmax.length;
  return {
    format: q.format,
    shape,
    blockSize: q.blockSize,
    codes: up(words(q.codes)),
    absmax: up(absmax.length ? absmax : new Float32Array(1)),
    book: up(bookOf(q.format)),
    nestedCodes: nested ? up(words(nested.codes)) : undefined,
    nestedBlockSize: nested?.blockSize,
    offset: nested?.offset,
    nestedBook: nested ? up(dynamicMap()) : undefined,
    weightBytes: q.codes.length + scaleBytes,
    source: q,
  };
}

/** Releases the buffers of an uploaded weight. */
export function releaseQuantized(w: GpuQuantizedTensor): void {
  for (const t of [w.codes, w.absmax, w.book, w.nestedCodes, w.nestedBook]) t?.release();
}

/** What a {@linkcode quantMatmulWgsl} shader is specialised for. */
export interface QuantShaderConfig {
  /** The weight format. */
  format: QuantFormat;
  /** Double-quantised absmax (4-bit formats). */
  nested?: boolean;
  /** "matvec" (decode, with `rows` activation rows) or "tiled" (prefill). */
  kind: "matvec" | "tiled";
  /** matvec only: activation rows, 1 to {@linkcode QUANT_MATVEC_MAX_ROWS}. */
  rows?: number;
  /** matvec only: threads per output element (a power of two, 32 to 256; default 64). */
  threadsPerRow?: number;
  /**
   * matvec only: every weight row is a whole number of 16-byte code quads (`in` a multiple
   * of 32 for 4-bit formats, of 16 for int8), so codes and activations are read as vec4s with
   * no masking. The wrapper picks it when the shape allows.
   */
  aligned?: boolean;
}

const PARAMS = `struct Params {
  M: u32, N: u32, K: u32, blockSize: u32, nestedBlock: u32, offset: f32, gridX: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
`;

/** WGSL declarations and helpers shared by both shaders of a format. */
function formatWgsl(format: QuantFormat, nested: boolean, vec4 = false): string {
  const is4 = format === "nf4" || format === "fp4";
  const lutN = format === "int8-blockwise" ? 256 : 16;
  const decls = [
    `@group(0) @binding(1) var<storage, read> x: array<${vec4 ? "vec4<f32>" : "f32"}>;`,
    `@group(0) @binding(2) var<storage, read> codes: array<${vec4 ? "vec4<u32>" : "u32"}>;`,
    `@group(0) @binding(3) var<storage, read> absmax: array<f32>;`,
    format === "int8-rowwise" ? "" : `@group(0) @binding(4) var<storage, read> book: array<f32>;`,
    nested ? `@group(0) @binding(5) var<storage, read> nestedCodes: array<u32>;` : "",
    nested ? `@group(0) @binding(6) var<storage, read> nestedBook: array<f32>;` : "",
    `@group(0) @binding(7) var<storage, read_write> y: array<f32>;`,
  ].filter(Boolean).join("\n");
  const luts = [
    format === "int8-rowwise" ? "" : `var<workgroup> lut: array<f32, ${lutN}>;`,
    nested ? `var<workgroup> nlut: array<f32, 256>;` : "",
  ].filter(Boolean).join("\n");
  const loadLuts = [
    format === "int8-rowwise"
      ? ""
      : `for (var i = tid; i < ${lutN}u; i += 256u) { lut[i] = book[i]; }`,
    nested ? `for (var i = tid; i < 256u; i += 256u) { nlut[i] = nestedBook[i]; }` : "",
  ].filter(Boolean).join("\n  ");
  // scale of the block holding element e (of the flattened weight), and of weight row o
  const scale = format === "int8-rowwise"
    ? `fn blockScale(e: u32, o: u32) -> f32 { return absmax[o] * ${INV_127}; }`
    : nested
    ? `fn blockScale(e: u32, o: u32) -> f32 {
  let b = e / params.blockSize;
  let c = (nestedCodes[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
  return nlut[c] * absmax[b / params.nestedBlock] + params.offset;
}`
    : `fn blockScale(e: u32, o: u32) -> f32 { return absmax[e / params.blockSize]; }`;
  // code value of element j of a word
  const value = is4
    ? `fn codeValue(word: u32, j: u32) -> f32 {
  return lut[(word >> ((j >> 1u) * 8u + select(4u, 0u, (j & 1u) == 1u))) & 15u];
}`
    : format === "int8-blockwise"
    ? `fn codeValue(word: u32, j: u32) -> f32 { return lut[(word >> (j * 8u)) & 0xffu]; }`
    : `fn codeValue(word: u32, j: u32) -> f32 {
  return f32(i32(word << (24u - j * 8u)) >> 24u);
}`;
  return `${PARAMS}${decls}\n${luts}\n${scale}\n${value}\n//LOADLUTS ${loadLuts}\n`;
}

function splitLuts(src: string): { head: string; loadLuts: string } {
  const i = src.indexOf("//LOADLUTS ");
  return { head: src.slice(0, i), loadLuts: src.slice(i + 11) };
}

/**
 * WGSL source of the fused dequantise-and-multiply shader for a configuration (bindings by
 * name: `x` [M, K] f32, `codes`, `absmax`, `book`, `nestedCodes`, `nestedBook`, `y` [M, N]).
 *
 * @example
 * ```ts
 * import { quantMatmulWgsl } from "@tokenlab/tokenlab/quant";
 * console.log(quantMatmulWgsl({ format: "nf4", kind: "matvec", rows: 1 }).includes("fn main"));
 * ```
 */
export function quantMatmulWgsl(config: QuantShaderConfig): string {
  const { format, kind } = config;
  const nested = !!config.nested;
  const aligned = kind === "matvec" && !!config.aligned;
  const { head, loadLuts } = splitLuts(formatWgsl(format, nested, aligned));
  const is4 = format === "nf4" || format === "fp4";
  const EPW = is4 ? 8 : 4; // elements per u32 word
  if (kind === "tiled") {
    const BM = 64, BN = 64, T = 4, BK = 16, TX = BN / T, TY = BM / T, THREADS = TX * TY;
    const elem = is4 ? `codeValue(codes[e >> 3u], e & 7u)` : `codeValue(codes[e >> 2u], e & 3u)`;
    return `${head}
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;

@compute @workgroup_size(${TX}, ${TY})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tid = lid.y * ${TX}u + lid.x;
  ${loadLuts}
  workgroupBarrier();
  let row0 = wg.y * ${BM}u;
  let col0 = wg.x * ${BN}u;
  var acc: array<f32, ${T * T}>;
  for (var k0 = 0u; k0 < params.K; k0 += ${BK}u) {
    for (var i = 0u; i < ${Math.ceil((BK * BM) / THREADS)}u; i++) {
      let t = tid + i * ${THREADS}u;
      let k = t % ${BK}u; let m = t / ${BK}u;
      var v = 0.0;
      if (row0 + m < params.M && k0 + k < params.K) { v = x[(row0 + m) * params.K + k0 + k]; }
      As[k * ${BM}u + m] = v;
    }
    for (var i = 0u; i < ${Math.ceil((BK * BN) / THREADS)}u; i++) {
      let t = tid + i * ${THREADS}u;
      let k = t % ${BK}u; let n = t / ${BK}u;
      var v = 0.0;
      let o = col0 + n;
      if (o < params.N && k0 + k < params.K) {
        let e = o * params.K + k0 + k;
        v = ${elem} * blockScale(e, o);
      }
      Bs[k * ${BN}u + n] = v;
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
  for (var i = 0u; i < ${T}u; i++) {
    let r = row0 + lid.y + i * ${TY}u;
    if (r >= params.M) { continue; }
    for (var j = 0u; j < ${T}u; j++) {
      let cc = col0 + lid.x + j * ${TX}u;
      if (cc < params.N) { y[r * params.N + cc] = acc[i * ${T}u + j]; }
    }
  }
}
`;
  }
  const R = config.rows ?? 1;
  check(
    Number.isInteger(R) && R >= 1 && R <= QUANT_MATVEC_MAX_ROWS,
    `quantMatmulWgsl: matvec rows must be 1 to ${QUANT_MATVEC_MAX_ROWS}, got ${R}`,
  );
  const TPR = config.threadsPerRow ?? 64;
  check(
    [32, 64, 128, 256].includes(TPR),
    `quantMatmulWgsl: threadsPerRow must be 32, 64, 128 or 256, got ${TPR}`,
  );
  const RPW = 256 / TPR;
  const rs = [...Array(R).keys()], js = [...Array(EPW).keys()];
  const reduceAndStore = `${rs.map((m) => `red[${m * 256}u + tid] = acc${m};`).join("\n  ")}
  workgroupBarrier();
  for (var k = ${TPR / 2}u; k > 0u; k >>= 1u) {
    if (lane < k) {
      ${rs.map((m) => `red[${m * 256}u + tid] += red[${m * 256}u + tid + k];`).join("\n      ")}
    }
    workgroupBarrier();
  }
  if (lane == 0u && o < params.N) {
    ${rs.map((m) => `y[${m}u * params.N + o] = red[${m * 256}u + tid];`).join("\n    ")}
  }`;
  if (aligned) {
    // a quad is 4 words = 4·EPW elements, inside one absmax block (blocks are ≥ 32 values)
    const QE = 4 * EPW, lanes = ["x", "y", "z", "w"];
    const vals = lanes.flatMap((c, wi) =>
      js.map((j) => `let v${wi * EPW + j} = codeValue(quad.${c}, ${j}u);`)
    );
    const dots = rs.map((m) =>
      `var p${m} = 0.0;\n      ${
        [...Array(QE / 4).keys()].map((g) =>
          `p${m} += dot(x[xb + ${m}u * kq + ${g}u], vec4f(v${4 * g}, v${4 * g + 1}, v${
            4 * g + 2
          }, v${4 * g + 3}));`
        ).join("\n      ")
      }\n      acc${m} = fma(p${m}, s, acc${m});`
    ).join("\n      ");
    return `${head}
var<workgroup> red: array<f32, ${256 * R}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${loadLuts}
  workgroupBarrier();
  let lane = tid % ${TPR}u;
  let o = (wg.x + wg.y * params.gridX) * ${RPW}u + tid / ${TPR}u;
  ${rs.map((m) => `var acc${m} = 0.0;`).join("\n  ")}
  if (o < params.N) {
    let quads = params.K / ${QE}u;
    let kq = params.K / 4u;
    for (var q = lane; q < quads; q += ${TPR}u) {
      let quad = codes[o * quads + q];
      let s = blockScale((o * quads + q) * ${QE}u, o);
      let xb = q * ${QE / 4}u;
      ${vals.join("\n      ")}
      ${dots}
    }
  }
  ${reduceAndStore}
}
`;
  }
  const fast = rs.map((m) =>
    `var p${m} = 0.0;\n      ${
      js.map((j) => `p${m} = fma(x[xb${m} + ${j}u], v${j}, p${m});`).join("\n      ")
    }\n      acc${m} = fma(p${m}, s, acc${m});`
  ).join("\n      ");
  const slow = rs.map((m) =>
    `var p${m} = 0.0;
      for (var j = 0u; j < ${EPW}u; j++) {
        let e = e0 + j;
        if (e >= rowStart && e < rowEnd) { p${m} = fma(x[${m}u * params.K + e - rowStart], codeValue(word, j), p${m}); }
      }
      acc${m} = fma(p${m}, s, acc${m});`
  ).join("\n      ");
  return `${head}
var<workgroup> red: array<f32, ${256 * R}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${loadLuts}
  workgroupBarrier();
  let lane = tid % ${TPR}u;
  let o = (wg.x + wg.y * params.gridX) * ${RPW}u + tid / ${TPR}u;
  ${rs.map((m) => `var acc${m} = 0.0;`).join("\n  ")}
  if (o < params.N) {
    let rowStart = o * params.K;
    let rowEnd = rowStart + params.K;
    let w0 = rowStart / ${EPW}u;
    let w1 = (rowEnd + ${EPW - 1}u) / ${EPW}u;
    for (var w = w0 + lane; w < w1; w += ${TPR}u) {
      let word = codes[w];
      let e0 = w * ${EPW}u;
      let s = blockScale(e0, o);
      if (e0 >= rowStart && e0 + ${EPW}u <= rowEnd) {
        ${js.map((j) => `let v${j} = codeValue(word, ${j}u);`).join("\n        ")}
        ${rs.map((m) => `let xb${m} = ${m}u * params.K + e0 - rowStart;`).join("\n        ")}
        ${fast}
      } else {
        ${slow}
      }
    }
  }
  ${reduceAndStore}
}
`;
}

/** Inputs of {@linkcode quantMatmul}. */
export interface QuantMatmulInputs {
  /** Activations `[M, in]` (or `[in]`), f32. */
  x: Tensor;
  /** The uploaded weight `[out, in]`. */
  w: GpuQuantizedTensor;
}

/** Options of {@linkcode quantMatmul}. */
export interface QuantMatmulOptions {
  /** Force a shader ("matvec" needs M ≤ {@linkcode QUANT_MATVEC_MAX_ROWS}); default by M. */
  kernel?: "matvec" | "tiled";
  /** matvec threads per output element (default 64). */
  threadsPerRow?: number;
  /**
   * matvec: use the vec4 shader when the row length allows (default true; false forces the
   * general one, e.g. to compare them).
   */
  aligned?: boolean;
  /** Pass timer (a `Profiler`) recording the kernel. */
  profiler?: PassTimer;
}

/**
 * `y = x · Wᵀ` with the quantised weight decoded inside the kernel: `[M, in] · [out, in]ᵀ →
 * [M, out]` f32. Up to {@linkcode QUANT_MATVEC_MAX_ROWS} rows run the matvec shader, more the
 * tiled one. On a CPU tensor it runs {@linkcode quantMatmulReference}.
 *
 * @example
 * ```ts
 * import { getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * import { quantize, quantMatmul, uploadQuantized } from "@tokenlab/tokenlab/quant";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const q = quantize(new Float32Array(64 * 3).fill(0.5), { format: "fp4", shape: [3, 64] });
 *   const x = Tensor.fromArray(new Float32Array(64).fill(1), { shape: [1, 64], gpu });
 *   console.log(await (await quantMatmul({ x, w: uploadQuantized(q, gpu) })).toArray()); // 32 ×3
 * }
 * ```
 */
export async function quantMatmul(
  inputs: QuantMatmulInputs,
  options: QuantMatmulOptions = {},
): Promise<Tensor> {
  const { x, w } = inputs;
  const [N, K] = w.shape;
  check(
    x.dtype === "f32" && x.shape[x.shape.length - 1] === K && x.shape.length <= 2,
    `quantMatmul: x must be f32 [M, ${K}] for a [${N}, ${K}] weight, got ${x.dtype} [${
      x.shape.join(", ")
    }]`,
  );
  const M = x.shape.length === 2 ? x.shape[0] : 1;
  const outShape = x.shape.length === 2 ? [M, N] : [N];
  if (M === 0 || N === 0) return Tensor.zeros(outShape, { gpu: x.isCpu ? null : x.gpu });
  if (x.isCpu) {
    const r = quantMatmulReference({
      x: { data: x.host as Float32Array, shape: [M, K] },
      w: w.source,
    });
    return Tensor.fromArray(r.data, { shape: outShape, gpu: null });
  }
  const kind = options.kernel ?? (M <= QUANT_MATVEC_MAX_ROWS ? "matvec" : "tiled");
  const nested = !!w.nestedCodes;
  const bindings = {
    x,
    codes: w.codes,
    absmax: w.absmax,
    book: w.format === "int8-rowwise" ? undefined : w.book,
    nestedCodes: w.nestedCodes,
    nestedBook: w.nestedBook,
  };
  const uniforms = {
    M,
    N,
    K,
    blockSize: w.blockSize,
    nestedBlock: w.nestedBlockSize ?? 1,
    offset: w.offset ?? 0,
  };
  if (kind === "tiled") {
    const { y } = await dispatch(x.gpu, {
      label: `quant.matmul.${w.format}`,
      source: quantMatmulWgsl({ format: w.format, nested, kind }),
      uniforms: { ...uniforms, gridX: 0 },
      bindings,
      outputs: { y: { shape: outShape } },
      workgroups: [Math.ceil(N / 64), Math.ceil(M / 64)],
      profiler: options.profiler,
    });
    return y;
  }
  check(
    M <= QUANT_MATVEC_MAX_ROWS,
    `quantMatmul: the matvec takes at most ${QUANT_MATVEC_MAX_ROWS} rows, got ${M}`,
    { hint: 'use kernel: "tiled" (the default for more rows)' },
  );
  const tpr = options.threadsPerRow ?? 64;
  const is4 = w.format === "nf4" || w.format === "fp4";
  const aligned = (options.aligned ?? true) && K % (is4 ? 32 : 16) === 0;
  const groups = Math.ceil(N / (256 / tpr));
  const gx = Math.max(1, Math.min(groups, 65535)), gy = Math.max(1, Math.ceil(groups / gx));
  const { y } = await dispatch(x.gpu, {
    label: `quant.matvec.${w.format}`,
    source: quantMatmulWgsl({
      format: w.format,
      nested,
      kind,
      rows: M,
      threadsPerRow: tpr,
      aligned,
    }),
    uniforms: { ...uniforms, gridX: gx },
    bindings,
    outputs: { y: { shape: outShape } },
    workgroups: [N ? gx : 0, gy],
    profiler: options.profiler,
  });
  return y;
}

/** Inputs of {@linkcode quantMatmulReference}. */
export interface QuantMatmulReferenceInputs {
  /** Activations `[M, in]`. */
  x: HostTensor;
  /** The quantised weight `[out, in]`. */
  w: QuantizedTensor;
}

/**
 * The one CPU reference of {@linkcode quantMatmul}: {@linkcode dequantize} the weight, then the
 * kernels' `matmulReference` with the weight transposed (HF layout, `y = x · Wᵀ`).
 *
 * @example
 * ```ts
 * import { quantize, quantMatmulReference } from "@tokenlab/tokenlab/quant";
 * const w = quantize(Float32Array.of(1, -1, 0.5, 0.25), { format: "int8-rowwise", shape: [2, 2] });
 * const y = quantMatmulReference({ x: { data: Float32Array.of(1, 1), shape: [1, 2] }, w });
 * console.log(y.data); // ≈ [0, 0.75]
 * ```
 */
export function quantMatmulReference(inputs: QuantMatmulReferenceInputs): HostTensor {
  const { x, w } = inputs;
  const [N, K] = shape2(w, "quantMatmulReference");
  const M = x.data.length / K;
  return matmulReference(
    { a: { data: x.data, shape: [M, K] }, b: { data: dequantize(w), shape: [N, K] } },
    { transposeB: true },
  );
}
