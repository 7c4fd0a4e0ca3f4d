/**
 * Arithmetic coding with a language model (P61, "Training LLMs over Neurally Compressed Text"):
 * an exact integer arithmetic coder (32-bit registers, Witten–Neal–Cleary renormalisation,
 * the shortest finishing bit string), the model's next-token distribution quantised to integer
 * frequencies, whole messages in a self-checking container (`arithmeticEncode` /
 * `arithmeticDecode`), and Equal-Info Windows: text cut into windows that each compress to
 * exactly `windowBits` bits, the coder and the model's context reset at every window
 * (`equalInfoWindows` / `decodeEqualInfoWindows`).
 *
 * Encoding and decoding must see bit-identical distributions. The encoder takes the logits of
 * a whole message from one forward pass, the decoder one token at a time with the KV cache; the
 * CPU reference path gives the same rows both ways (the round-trip tests check it). On another
 * backend pass `incremental: true` so the encoder makes the decoder's calls.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * import { arithmeticDecode, arithmeticEncode } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel(bundledModelPath("tiny-target"));
 * const ids = Array.from(model.tokenizer!.encode("The jury said it did find that"));
 * const code = await arithmeticEncode(model, { ids, context: [8191] });
 * console.log(code.payloadBits, code.modelBits.toFixed(1)); // coded bits vs the model's -log2 p
 * const back = await arithmeticDecode(model, { bytes: code.bytes, context: [8191] });
 * console.log(back.join() === ids.join());
 * ```
 *
 * @module
 */
import { check, TokenlabError } from "../util/errors.ts";
import type { KvCache } from "../models/mod.ts";

const TOP = 2 ** 32;
const HALF = 2 ** 31;
const QUARTER = 2 ** 30;
const HEADER_BYTES = 18;
const MAGIC = [0x54, 0x4c, 0x41, 0x43]; // "TLAC"
const VERSION = 1;

/**
 * The largest total frequency a cumulative table may have (2^30): after renormalisation the
 * coder's range exceeds a quarter of its 2^32 registers, so every symbol of frequency ≥ 1
 * keeps a non-empty sub-range.
 */
export const MAX_TOTAL_FREQUENCY: number = QUARTER;

/** ⌊a / b⌋ for non-negative integers below 2^53 (the float quotient corrected by one step). */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

/** ⌊range · cum / total⌋ exactly, for range ≤ 2^32 and cum ≤ total ≤ 2^30 (products split). */
function scale(range: number, cum: number, total: number): number {
  const rh = Math.floor(range / 65536), rl = range - rh * 65536;
  const a = rh * cum;
  const q1 = floorDiv(a, total), r1 = a - q1 * total;
  return q1 * 65536 + floorDiv(r1 * 65536 + rl * cum, total);
}

function checkCdf(cdf: ArrayLike<number>, what: string): number {
  const n = cdf?.length ?? 0;
  check(
    n >= 2,
    `${what}: the cumulative frequency table needs at least 2 entries, got ${n}`,
    { hint: "cdf[i] is the total frequency of symbols below i; cdf[0] = 0, cdf[last] = total" },
  );
  const total = cdf[n - 1];
  check(
    cdf[0] === 0 && Number.isInteger(total) && total > 0 && total <= QUARTER,
    `${what}: cdf must start at 0 and end at an integer total in 1..2^30, got ${
      cdf[0]
    } .. ${total}`,
    { hint: "build it with logitsToCdf, or from integer frequencies summing to at most 2^30" },
  );
  return total;
}

class BitWriter {
  bytes = new Uint8Array(64);
  length = 0;
  push(bit: number): void {
    if (this.length >> 3 >= this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    if (bit) this.bytes[this.length >> 3] |= 0x80 >> (this.length & 7);
    this.length++;
  }
  clone(): BitWriter {
    const w = new BitWriter();
    w.bytes = this.bytes.slice();
    w.length = this.length;
    return w;
  }
}

/** The bits an {@linkcode ArithmeticEncoder} produced. */
export interface ArithmeticBits {
  /** The bits, most significant bit of each byte first; unused bits of the last byte are 0. */
  bytes: Uint8Array;
  /** How many bits are meaningful (the decoder reads zeros after them). */
  bitLength: number;
}

/**
 * Exact integer arithmetic encoder: 32-bit `low`/`high` registers, the three renormalisations
 * of Witten, Neal and Cleary (with pending bits for the straddling case), and a finish that
 * emits the shortest bit string whose zero-padded value lies inside the final interval. The
 * output is within about 2 bits of the ideal Σ −log2(freq/total) of the encoded symbols.
 *
 * @example
 * ```ts
 * import { ArithmeticDecoder, ArithmeticEncoder } from "@tokenlab/tokenlab/decoding";
 * const cdf = [0, 1, 3, 4]; // symbols 0, 1, 2 with frequencies 1, 2, 1
 * const enc = new ArithmeticEncoder();
 * for (const s of [1, 0, 2, 1]) enc.encode(cdf, s);
 * const { bytes, bitLength } = enc.finish();
 * const dec = new ArithmeticDecoder(bytes, { bitLength });
 * console.log([0, 1, 2, 3].map(() => dec.decode(cdf)), bitLength); // [1, 0, 2, 1], ideal 6 bits
 * ```
 */
export class ArithmeticEncoder {
  #low = 0;
  #high = TOP - 1;
  #pending = 0;
  #out = new BitWriter();

  /** Encodes `symbol` with the cumulative table `cdf` (length symbols + 1, ascending, cdf[0] = 0). */
  encode(cdf: ArrayLike<number>, symbol: number): void {
    const total = checkCdf(cdf, "ArithmeticEncoder.encode");
    check(
      Number.isInteger(symbol) && symbol >= 0 && symbol < cdf.length - 1,
      `ArithmeticEncoder.encode: symbol ${symbol} is outside 0..${cdf.length - 2}`,
    );
    const lo = cdf[symbol], hi = cdf[symbol + 1];
    check(
      hi > lo && hi <= total,
      `ArithmeticEncoder.encode: symbol ${symbol} has frequency ${hi - lo}; it cannot be coded`,
      { hint: "every symbol that can occur needs a frequency of at least 1" },
    );
    const range = this.#high - this.#low + 1;
    this.#high = this.#low + scale(range, hi, total) - 1;
    this.#low = this.#low + scale(range, lo, total);
    for (;;) {
      if (this.#high < HALF) {
        this.#emit(0);
      } else if (this.#low >= HALF) {
        this.#emit(1);
        this.#low -= HALF;
        this.#high -= HALF;
      } else if (this.#low >= QUARTER && this.#high < 3 * QUARTER) {
        this.#pending++;
        this.#low -= QUARTER;
        this.#high -= QUARTER;
      } else break;
      this.#low = 2 * this.#low;
      this.#high = 2 * this.#high + 1;
    }
  }

  #emit(bit: number): void {
    this.#out.push(bit);
    for (; this.#pending > 0; this.#pending--) this.#out.push(1 - bit);
  }

  /** The shortest finishing bits after the emitted ones: their count and value. */
  #finishing(): { count: number; value: bigint } {
    const k = BigInt(this.#pending), width = 32n + k;
    const offset = ((1n << k) - 1n) << 31n;
    const lowA = offset + BigInt(this.#low), highA = offset + BigInt(this.#high) + 1n;
    for (let r = 0n; r <= width; r++) {
      const step = 1n << (width - r);
      const m = (lowA + step - 1n) / step;
      if (m * step < highA) return { count: Number(r), value: m };
    }
    throw new TokenlabError("ArithmeticEncoder: no finishing bits found (internal error)");
  }

  /** Bits the message would take if it were finished now. */
  get finishedBitLength(): number {
    return this.#out.length + this.#finishing().count;
  }

  /** An independent copy of the encoder's state (to try a symbol and keep or drop the result). */
  clone(): ArithmeticEncoder {
    const e = new ArithmeticEncoder();
    e.#low = this.#low;
    e.#high = this.#high;
    e.#pending = this.#pending;
    e.#out = this.#out.clone();
    return e;
  }

  /** Appends the shortest finishing bits and returns the message; the encoder is spent. */
  finish(): ArithmeticBits {
    const { count, value } = this.#finishing();
    for (let i = count - 1; i >= 0; i--) this.#out.push(Number((value >> BigInt(i)) & 1n));
    this.#pending = 0;
    const bitLength = this.#out.length;
    return { bytes: this.#out.bytes.slice(0, Math.ceil(bitLength / 8)), bitLength };
  }
}

/** Options of {@linkcode ArithmeticDecoder}. */
export interface ArithmeticDecoderOptions {
  /** Meaningful bits (default: all of `bytes`); the decoder reads zeros after them. */
  bitLength?: number;
}

/**
 * The decoder twin of {@linkcode ArithmeticEncoder}: `decode(cdf)` returns the symbol whose
 * sub-interval holds the code value, found by a binary search with the encoder's own integer
 * arithmetic, so both sides split the range identically.
 *
 * @example
 * ```ts
 * import { ArithmeticDecoder, ArithmeticEncoder } from "@tokenlab/tokenlab/decoding";
 * const enc = new ArithmeticEncoder();
 * enc.encode([0, 3, 4], 1);
 * const bits = enc.finish();
 * console.log(new ArithmeticDecoder(bits.bytes, bits).decode([0, 3, 4])); // 1
 * ```
 */
export class ArithmeticDecoder {
  #low = 0;
  #high = TOP - 1;
  #code = 0;
  #pos = 0;
  readonly #bytes: Uint8Array;
  readonly #bitLength: number;

  /** Starts decoding `bytes` (most significant bit first). */
  constructor(bytes: Uint8Array, options: ArithmeticDecoderOptions = {}) {
    check(bytes instanceof Uint8Array, "ArithmeticDecoder needs a Uint8Array of coded bits");
    const n = options.bitLength ?? bytes.length * 8;
    check(
      Number.isInteger(n) && n >= 0 && n <= bytes.length * 8,
      `ArithmeticDecoder: bitLength ${n} does not fit in ${bytes.length} bytes`,
    );
    this.#bytes = bytes;
    this.#bitLength = n;
    for (let i = 0; i < 32; i++) this.#code = 2 * this.#code + this.#next();
  }

  #next(): number {
    const p = this.#pos++;
    return p < this.#bitLength ? (this.#bytes[p >> 3] >> (7 - (p & 7))) & 1 : 0;
  }

  /** Bits read so far beyond the 32 of the initial code register. */
  get bitsRead(): number {
    return this.#pos - 32;
  }

  /** Decodes one symbol with the cumulative table `cdf` (the one the encoder used). */
  decode(cdf: ArrayLike<number>): number {
    const total = checkCdf(cdf, "ArithmeticDecoder.decode");
    const range = this.#high - this.#low + 1, offset = this.#code - this.#low;
    // the largest s with scale(range, cdf[s]) <= offset: its sub-interval holds the code
    let lo = 0, hi = cdf.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (scale(range, cdf[mid], total) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const s = lo;
    this.#high = this.#low + scale(range, cdf[s + 1], total) - 1;
    this.#low = this.#low + scale(range, cdf[s], total);
    for (;;) {
      if (this.#high < HALF) {
        // nothing to subtract
      } else if (this.#low >= HALF) {
        this.#low -= HALF;
        this.#high -= HALF;
        this.#code -= HALF;
      } else if (this.#low >= QUARTER && this.#high < 3 * QUARTER) {
        this.#low -= QUARTER;
        this.#high -= QUARTER;
        this.#code -= QUARTER;
      } else break;
      this.#low = 2 * this.#low;
      this.#high = 2 * this.#high + 1;
      this.#code = 2 * this.#code + this.#next();
    }
    return s;
  }
}

/** Options of {@linkcode logitsToCdf}. */
export interface LogitsToCdfOptions {
  /** log2 of the frequency total (default 24; 8..30, and at least log2 of the vocabulary + 1). */
  totalBits?: number;
}

/**
 * One row of logits → the cumulative frequency table the coder uses: softmax in f64, then
 * freq_i = 1 + ⌊p_i · (T − V)⌋ with T = 2^totalBits (every token stays codable), the rounding
 * remainder given to the most likely token. Deterministic: the same logits give the same table.
 * The cost against the exact −log2 p is below V / (T ln 2) bits per token on average
 * (≈ 7·10⁻⁴ bits for V = 8192 at the default T = 2^24).
 *
 * @example
 * ```ts
 * import { logitsToCdf } from "@tokenlab/tokenlab/decoding";
 * const cdf = logitsToCdf(new Float32Array([0, Math.log(3)]), { totalBits: 8 });
 * console.log(Array.from(cdf)); // [0, 64, 256]: p = 1/4, 3/4
 * ```
 */
export function logitsToCdf(
  logits: ArrayLike<number>,
  options: LogitsToCdfOptions = {},
): Uint32Array {
  const V = logits.length, bits = options.totalBits ?? 24;
  check(
    Number.isInteger(bits) && bits >= 8 && bits <= 30 && 2 ** bits >= 2 * V,
    `logitsToCdf: totalBits ${bits} must be an integer in 8..30 with 2^totalBits >= 2 x vocabulary (${V})`,
    { hint: `use totalBits >= ${Math.max(8, Math.ceil(Math.log2(2 * Math.max(V, 1))))}` },
  );
  const T = 2 ** bits, spare = T - V;
  let max = -Infinity, arg = 0;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[arg = i];
  check(Number.isFinite(max), "logitsToCdf: the logits are not finite");
  let sum = 0;
  const p = new Float64Array(V);
  for (let i = 0; i < V; i++) sum += p[i] = Math.exp(logits[i] - max);
  const freq = new Float64Array(V);
  let used = 0;
  for (let i = 0; i < V; i++) used += freq[i] = 1 + Math.floor((p[i] / sum) * spare);
  if (used > T) {
    throw new TokenlabError("logitsToCdf: frequencies exceed the total (internal error)");
  }
  freq[arg] += T - used;
  const cdf = new Uint32Array(V + 1);
  for (let i = 0; i < V; i++) cdf[i + 1] = cdf[i] + freq[i];
  return cdf;
}

/** −log2 of token `id` under softmax(`logits`), in f64. */
function modelBitsOf(logits: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return (Math.log(sum) - (logits[id] - max)) / Math.LN2;
}

/** What the coding functions need of a model (`Model` of `@tokenlab/tokenlab/models` is one). */
export interface CodingModel {
  /** Its config; only the vocabulary size is read. */
  readonly config: { readonly vocabSize: number };
  /** A fresh KV cache. */
  newCache(): KvCache;
  /** Logits of every fed position, [ids.length × vocab], after what `cache` holds. */
  forward(ids: number[], cache: KvCache): Promise<Float32Array>;
  /** Its tokenizer (used for the default context, `<|endoftext|>`). */
  readonly tokenizer?: unknown;
}

function contextOf(model: CodingModel, context: number[] | undefined, caller: string): number[] {
  if (context !== undefined) {
    check(
      Array.isArray(context) && context.length > 0,
      `${caller}: context must be a non-empty array of token ids`,
      { hint: "the model needs at least one token (e.g. <|endoftext|>) to predict the first one" },
    );
    return context;
  }
  const special = (model.tokenizer as { specialTokens?: Record<string, number> } | undefined)
    ?.specialTokens;
  const eot = special?.["<|endoftext|>"];
  check(
    Number.isInteger(eot),
    `${caller}: no context given and the model's tokenizer has no <|endoftext|> token`,
    { hint: "pass context: [id] with the token the model was trained to see before a document" },
  );
  return [eot as number];
}

function checkIds(ids: ArrayLike<number>, V: number, caller: string): number[] {
  check(
    ids != null && typeof ids.length === "number",
    `${caller}: ids must be an array of token ids`,
  );
  const out = Array.from(ids);
  for (const id of out) {
    check(
      Number.isInteger(id) && id >= 0 && id < V,
      `${caller}: token id ${id} is outside the vocabulary 0..${V - 1}`,
      { hint: "encode the text with this model's tokenizer" },
    );
  }
  return out;
}

function truncateCache(cache: KvCache, n: number): void {
  const keep = Array.from({ length: n }, (_, i) => i);
  for (let l = 0; l < cache.numLayers; l++) cache.keep(l, keep);
  cache.nextPosition = n;
}

function fnv1a(ids: number[]): number {
  let h = 0x811c9dc5;
  for (const id of ids) {
    for (let b = 0; b < 4; b++) {
      h ^= (id >>> (8 * b)) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h >>> 0;
}

/** Options of {@linkcode arithmeticEncode}. */
export interface ArithmeticEncodeOptions {
  /** The token ids to compress (any length the model can take after `context`). */
  ids: ArrayLike<number>;
  /** Tokens the model sees first, not coded (default: the tokenizer's `<|endoftext|>`). */
  context?: number[];
  /** log2 of the frequency total of the quantised distributions (default 24). */
  totalBits?: number;
  /** Run the model one token at a time, as the decoder does (default false: one forward pass). */
  incremental?: boolean;
}

/** A message compressed by {@linkcode arithmeticEncode}. */
export interface ArithmeticCode {
  /**
   * The container: "TLAC", version, totalBits, token count, payload bit length, an FNV-1a
   * checksum of the ids (18 bytes), then the payload bits.
   */
  bytes: Uint8Array;
  /** Bits of the arithmetic-coded payload (the header's 144 bits not included). */
  payloadBits: number;
  /** Tokens coded. */
  tokens: number;
  /** Σ −log2(freq/total) under the quantised distributions: what an ideal coder would pay. */
  idealBits: number;
  /** Σ −log2 p under the model's own softmax (f64): its cross-entropy in bits, summed. */
  modelBits: number;
  /** −log2 p of each token under the model (the summands of `modelBits`). */
  tokenBits: Float64Array;
}

/**
 * Compresses token ids with a model's next-token distributions and the exact integer
 * arithmetic coder; the result carries the ideal and the model's bit counts beside the coded
 * length, so the coder's overhead can be read off (`payloadBits − modelBits`).
 *
 * @example
 * ```ts
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * import { arithmeticEncode } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const code = await arithmeticEncode(model, { ids: [5, 9, 2, 7], context: [1] });
 * console.log(code.payloadBits, code.idealBits.toFixed(2), code.modelBits.toFixed(2));
 * ```
 */
export async function arithmeticEncode(
  model: CodingModel,
  options: ArithmeticEncodeOptions,
): Promise<ArithmeticCode> {
  const V = model.config.vocabSize, caller = "arithmeticEncode";
  const ids = checkIds(options?.ids, V, caller);
  const context = checkIds(contextOf(model, options.context, caller), V, caller);
  const totalBits = options.totalBits ?? 24;
  const enc = new ArithmeticEncoder();
  const tokenBits = new Float64Array(ids.length);
  let idealBits = 0, modelBits = 0;
  const code = (row: Float32Array, i: number) => {
    const cdf = logitsToCdf(row, { totalBits });
    enc.encode(cdf, ids[i]);
    idealBits += Math.log2(2 ** totalBits / (cdf[ids[i] + 1] - cdf[ids[i]]));
    modelBits += tokenBits[i] = modelBitsOf(row, ids[i]);
  };
  if (ids.length > 0) {
    const cache = model.newCache();
    if (options.incremental) {
      let logits = await model.forward(context, cache);
      for (let i = 0; i < ids.length; i++) {
        code(logits.subarray(logits.length - V), i);
        if (i + 1 < ids.length) logits = await model.forward([ids[i]], cache);
      }
    } else {
      const all = await model.forward([...context, ...ids.slice(0, -1)], cache);
      const c = context.length;
      for (let i = 0; i < ids.length; i++) code(all.subarray((c - 1 + i) * V, (c + i) * V), i);
    }
  }
  const bits = enc.finish();
  const bytes = new Uint8Array(HEADER_BYTES + bits.bytes.length);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[4] = VERSION;
  bytes[5] = totalBits;
  view.setUint32(6, ids.length, true);
  view.setUint32(10, bits.bitLength, true);
  view.setUint32(14, fnv1a(ids), true);
  bytes.set(bits.bytes, HEADER_BYTES);
  return {
    bytes,
    payloadBits: bits.bitLength,
    tokens: ids.length,
    idealBits,
    modelBits,
    tokenBits,
  };
}

/** Options of {@linkcode arithmeticDecode}. */
export interface ArithmeticDecodeOptions {
  /** The container written by {@linkcode arithmeticEncode}. */
  bytes: Uint8Array;
  /** The context the encoder used (default: the tokenizer's `<|endoftext|>`). */
  context?: number[];
}

function corrupt(what: string): TokenlabError {
  return new TokenlabError(`arithmeticDecode: the input is not a valid stream: ${what}`, {
    hint: "pass the bytes arithmeticEncode returned, unmodified, with the same model and context",
  });
}

/**
 * Decompresses {@linkcode arithmeticEncode}'s container with the same model and context, one
 * token at a time with the KV cache. Refuses (with a {@linkcode TokenlabError}) bytes that are
 * not such a container, truncated or padded ones, and any stream whose decoded ids fail the
 * stored checksum (corrupt bits, another model or another context).
 *
 * @example
 * ```ts
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * import { arithmeticDecode, arithmeticEncode } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const { bytes } = await arithmeticEncode(model, { ids: [5, 9, 2, 7], context: [1] });
 * console.log(await arithmeticDecode(model, { bytes, context: [1] })); // [5, 9, 2, 7]
 * ```
 */
export async function arithmeticDecode(
  model: CodingModel,
  options: ArithmeticDecodeOptions,
): Promise<number[]> {
  const V = model.config.vocabSize, caller = "arithmeticDecode";
  const bytes = options?.bytes;
  check(bytes instanceof Uint8Array, `${caller}: bytes must be a Uint8Array`);
  const context = checkIds(contextOf(model, options.context, caller), V, caller);
  if (bytes.length < HEADER_BYTES || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw corrupt(`no "TLAC" header (${bytes.length} bytes)`);
  }
  if (bytes[4] !== VERSION) throw corrupt(`unknown version ${bytes[4]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const totalBits = bytes[5], n = view.getUint32(6, true), bitLength = view.getUint32(10, true);
  const payload = bytes.subarray(HEADER_BYTES);
  if (payload.length !== Math.ceil(bitLength / 8)) {
    throw corrupt(
      `the header says ${bitLength} payload bits, the payload has ${payload.length} bytes`,
    );
  }
  if (bitLength % 8 && payload[payload.length - 1] & (0xff >> (bitLength % 8))) {
    throw corrupt("bits after the end of the payload are set");
  }
  if (totalBits < 8 || totalBits > 30 || 2 ** totalBits < 2 * V) {
    throw corrupt(`totalBits ${totalBits} does not suit a vocabulary of ${V}`);
  }
  const dec = new ArithmeticDecoder(payload, { bitLength });
  const out: number[] = [];
  if (n > 0) {
    const cache = model.newCache();
    let logits = await model.forward(context, cache);
    for (let i = 0; i < n; i++) {
      const s = dec.decode(logitsToCdf(logits.subarray(logits.length - V), { totalBits }));
      out.push(s);
      if (i + 1 < n) logits = await model.forward([s], cache);
    }
  }
  if (fnv1a(out) !== view.getUint32(14, true)) {
    throw corrupt("the decoded tokens fail the checksum (corrupt bits, or another model/context)");
  }
  return out;
}

/** Options of {@linkcode equalInfoWindows}. */
export interface EqualInfoOptions {
  /** The token ids to compress. */
  ids: ArrayLike<number>;
  /** Bits per window: a multiple of 8, at least totalBits + 2 (so any one token fits). */
  windowBits: number;
  /** Tokens the model sees at the start of every window (default: `<|endoftext|>`). */
  context?: number[];
  /** log2 of the frequency total (default 24). */
  totalBits?: number;
}

/** Text compressed into Equal-Info Windows by {@linkcode equalInfoWindows}. */
export interface EqualInfoWindows {
  /** Bits per window. */
  windowBits: number;
  /** log2 of the frequency total used. */
  totalBits: number;
  /** The context fed at the start of every window. */
  context: number[];
  /** The windows back to back, windowBits / 8 bytes each (zero-padded after the coded bits). */
  bytes: Uint8Array;
  /**
   * Tokens in each window. The windows themselves do not say where they end (as in the paper);
   * the decoder needs these counts as side information.
   */
  tokensPerWindow: number[];
  /** Coded bits in each window before the zero padding (≤ windowBits). */
  codedBits: number[];
  /** Σ −log2(freq/total) of each window's tokens under the quantised distributions. */
  idealBits: number[];
  /** Σ −log2 p of each window's tokens under the model (its context reset per window). */
  modelBits: number[];
}

/**
 * Equal-Info Windows (P61): the token stream is cut greedily into windows that each compress
 * to at most `windowBits` bits — tokens are added while the finished code still fits — and each
 * window is padded with zeros to exactly `windowBits` bits. The coder and the model's context
 * are reset at every window (it restarts from `context`), so each window decodes on its own.
 *
 * @example
 * ```ts
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * import { decodeEqualInfoWindows, equalInfoWindows } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const w = await equalInfoWindows(model, { ids: [5, 9, 2, 7, 7, 3], windowBits: 32, context: [1] });
 * console.log(w.tokensPerWindow, w.bytes.length);
 * console.log(await decodeEqualInfoWindows(model, w)); // [5, 9, 2, 7, 7, 3]
 * ```
 */
export async function equalInfoWindows(
  model: CodingModel,
  options: EqualInfoOptions,
): Promise<EqualInfoWindows> {
  const V = model.config.vocabSize, caller = "equalInfoWindows";
  const ids = checkIds(options?.ids, V, caller);
  const context = checkIds(contextOf(model, options.context, caller), V, caller);
  const totalBits = options.totalBits ?? 24, b = options.windowBits;
  check(
    Number.isInteger(b) && b % 8 === 0 && b >= totalBits + 2,
    `${caller}: windowBits must be a multiple of 8 and at least totalBits + 2 = ${
      totalBits + 2
    }, got ${b}`,
    { hint: "a window must hold any one token: lower totalBits or widen the windows" },
  );
  const cache = model.newCache();
  const first = await model.forward(context, cache);
  const firstRow = first.slice(first.length - V);
  const firstCdf = logitsToCdf(firstRow, { totalBits });
  const out = new BitWriter();
  const tokensPerWindow: number[] = [], codedBits: number[] = [];
  const idealBits: number[] = [], modelBits: number[] = [];
  let i = 0;
  while (i < ids.length) {
    truncateCache(cache, context.length);
    let enc = new ArithmeticEncoder(), k = 0, bits = 0, ideal = 0;
    let row: Float32Array = firstRow, cdf = firstCdf;
    for (;;) {
      const trial = enc.clone();
      trial.encode(cdf, ids[i]);
      if (trial.finishedBitLength > b) {
        if (k === 0) {
          throw new TokenlabError(
            `${caller}: one token needs more than ${b} bits (internal error)`,
          );
        }
        break;
      }
      enc = trial;
      bits += modelBitsOf(row, ids[i]);
      ideal += Math.log2(2 ** totalBits / (cdf[ids[i] + 1] - cdf[ids[i]]));
      k++;
      i++;
      if (i === ids.length) break;
      row = (await model.forward([ids[i - 1]], cache)).slice();
      cdf = logitsToCdf(row, { totalBits });
    }
    const fin = enc.finish();
    for (let j = 0; j < b; j++) {
      out.push(j < fin.bitLength ? (fin.bytes[j >> 3] >> (7 - (j & 7))) & 1 : 0);
    }
    tokensPerWindow.push(k);
    codedBits.push(fin.bitLength);
    idealBits.push(ideal);
    modelBits.push(bits);
  }
  return {
    windowBits: b,
    totalBits,
    context,
    bytes: out.bytes.slice(0, (tokensPerWindow.length * b) / 8),
    tokensPerWindow,
    codedBits,
    idealBits,
    modelBits,
  };
}

/**
 * Decodes {@linkcode equalInfoWindows}' output with the same model: each window on its own,
 * from a fresh coder and the model restarted from the stored context, `tokensPerWindow[w]`
 * tokens from window w.
 *
 * @example
 * ```ts
 * import { loadModel } from "@tokenlab/tokenlab/models";
 * import { decodeEqualInfoWindows, equalInfoWindows } from "@tokenlab/tokenlab/decoding";
 * const model = await loadModel("tests/fixtures/models/llama_gqa");
 * const w = await equalInfoWindows(model, { ids: [4, 4, 8], windowBits: 40, context: [1] });
 * console.log(await decodeEqualInfoWindows(model, w)); // [4, 4, 8]
 * ```
 */
export async function decodeEqualInfoWindows(
  model: CodingModel,
  windows: Pick<
    EqualInfoWindows,
    "windowBits" | "totalBits" | "context" | "bytes" | "tokensPerWindow"
  >,
): Promise<number[]> {
  const V = model.config.vocabSize, caller = "decodeEqualInfoWindows";
  const { windowBits: b, totalBits, bytes, tokensPerWindow } = windows ?? {};
  check(
    Number.isInteger(b) && b > 0 && b % 8 === 0 && bytes instanceof Uint8Array &&
      Array.isArray(tokensPerWindow) && bytes.length === (tokensPerWindow.length * b) / 8,
    `${caller}: ${tokensPerWindow?.length} windows of ${b} bits need ${
      (tokensPerWindow?.length * b) / 8
    } bytes, got ${bytes?.length}`,
    { hint: "pass the object equalInfoWindows returned" },
  );
  check(
    tokensPerWindow.every((k) => Number.isInteger(k) && k > 0),
    `${caller}: every window holds at least one token`,
  );
  const context = checkIds(windows.context, V, caller);
  const cache = model.newCache();
  const first = await model.forward(context, cache);
  const firstCdf = logitsToCdf(first.subarray(first.length - V), { totalBits });
  const out: number[] = [];
  for (let w = 0; w < tokensPerWindow.length; w++) {
    truncateCache(cache, context.length);
    const dec = new ArithmeticDecoder(bytes.subarray((w * b) / 8, ((w + 1) * b) / 8));
    let cdf = firstCdf;
    for (let j = 0; j < tokensPerWindow[w]; j++) {
      const s = dec.decode(cdf);
      out.push(s);
      if (j + 1 < tokensPerWindow[w]) {
        cdf = logitsToCdf(await model.forward([s], cache), { totalBits });
      }
    }
  }
  return out;
}
