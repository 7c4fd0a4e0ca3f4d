/**
 * Parallel batch encoding with a pool of workers, each holding its own copy of the tokenizer.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** Options of {@linkcode EncoderPool.create} and {@linkcode encodeBatchParallel}. */
export interface ParallelOptions {
  /** Number of workers (default: the number of CPU cores). */
  workers?: number;
}

/**
 * A pool of encoding workers. Create it once (each worker loads the tokenizer), encode many
 * batches, then `close()` it.
 *
 * @example
 * ```ts
 * import { EncoderPool, loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const pool = await EncoderPool.create(await loadPretrained("cl100k_base"), { workers: 2 });
 * const ids = await pool.encodeBatch(["one text", "another text"]);
 * pool.close();
 * console.log(ids.length);
 * ```
 */
export class EncoderPool {
  #workers: Worker[];
  #next = 0;

  private constructor(workers: Worker[]) {
    this.#workers = workers;
  }

  /** Starts `workers` workers and waits until each has built the tokenizer. */
  static async create(tokenizer: Tokenizer, options: ParallelOptions = {}): Promise<EncoderPool> {
    const n = Math.max(1, options.workers ?? navigator.hardwareConcurrency ?? 1);
    const source = tokenizer.workerSource;
    if (!source) throw new TokenlabError(`${tokenizer.name} cannot be rebuilt in a worker`);
    const workers = Array.from(
      { length: n },
      () => new Worker(new URL("./_encode_worker.ts", import.meta.url).href, { type: "module" }),
    );
    try {
      await Promise.all(workers.map((w, k) => {
        const ready = reply(w, "ready", k);
        w.postMessage({ type: "init", source });
        return ready;
      }));
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new EncoderPool(workers);
  }

  /** Number of workers. */
  get size(): number {
    return this.#workers.length;
  }

  /** Encodes texts across the workers (contiguous shards of similar size); order is kept. */
  async encodeBatch(texts: string[]): Promise<Uint32Array[]> {
    if (this.#workers.length === 0) throw new TokenlabError("this EncoderPool is closed");
    if (!Array.isArray(texts)) throw new TokenlabError("encodeBatch needs an array of strings");
    texts.forEach((t, i) => {
      if (typeof t !== "string") {
        throw new TokenlabError(`encodeBatch: texts[${i}] is not a string`);
      }
    });
    const n = this.#workers.length;
    const total = texts.reduce((s, t) => s + t.length, 0);
    const shards: number[][] = Array.from({ length: n }, () => []);
    let acc = 0;
    texts.forEach((t, i) => {
      shards[Math.min(n - 1, Math.floor((acc / Math.max(total, 1)) * n))].push(i);
      acc += t.length;
    });
    const results: Uint32Array[] = new Array(texts.length);
    await Promise.all(shards.map(async (shard, k) => {
      if (shard.length === 0) return;
      const w = this.#workers[k];
      const id = this.#next++;
      const done = reply(w, "done", k);
      w.postMessage({ type: "encode", id, texts: shard.map((i) => texts[i]) });
      const { out } = await done;
      shard.forEach((i, j) => (results[i] = out[j]));
    }));
    return results;
  }

  /** Stops the workers. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

function reply(w: Worker, type: string, k: number): Promise<MessageEvent["data"]> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      if (e.data.type === "error") {
        reject(new TokenlabError(`encoder worker ${k}: ${e.data.message}`));
      } else if (e.data.type === type) resolve(e.data);
    };
    w.onerror = (e) => {
      e.preventDefault();
      reject(new TokenlabError(`encoder worker ${k} failed: ${e.message}`));
    };
  });
}

/**
 * Encodes many texts on a temporary pool of workers (see {@linkcode EncoderPool} to reuse one).
 *
 * @example
 * ```ts
 * import { encodeBatchParallel, loadPretrained } from "@tokenlab/tokenlab/tokenizers";
 * const ids = await encodeBatchParallel(await loadPretrained("cl100k_base"), ["a", "b"], { workers: 2 });
 * console.log(ids);
 * ```
 */
export async function encodeBatchParallel(
  tokenizer: Tokenizer,
  texts: string[],
  options: ParallelOptions = {},
): Promise<Uint32Array[]> {
  const pool = await EncoderPool.create(tokenizer, options);
  try {
    return await pool.encodeBatch(texts);
  } finally {
    pool.close();
  }
}
