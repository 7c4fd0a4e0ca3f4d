import { deepEqual, equal, rejects } from "node:assert/strict";
import {
  encodeBatchParallel,
  EncoderPool,
  loadPretrained,
  trainBpe,
} from "../../lib/tokenizers/mod.ts";
import { brownText } from "../../lib/data/mod.ts";

Deno.test("encodeBatchParallel equals encode text by text, in order", async () => {
  const docs = brownText().split("\n\n").slice(0, 40);
  const tok = await loadPretrained("cl100k_base");
  const ids = await encodeBatchParallel(tok, docs, { workers: 2 });
  equal(ids.length, docs.length);
  docs.forEach((d, i) => deepEqual([...ids[i]], [...tok.encode(d)], `text ${i}`));
});

Deno.test("EncoderPool rebuilds trained tokenizers and refuses use after close", async () => {
  const docs = brownText().split("\n\n").slice(0, 30);
  const tok = trainBpe(docs, { vocabSize: 700, onProgress: () => {} });
  const pool = await EncoderPool.create(tok, { workers: 2 });
  const ids = await pool.encodeBatch([...docs.slice(0, 5), ""]);
  docs.slice(0, 5).forEach((d, i) => deepEqual([...ids[i]], [...tok.encode(d)]));
  equal(ids[5].length, 0);
  pool.close();
  await rejects(() => pool.encodeBatch(["x"]), /closed/);
});
