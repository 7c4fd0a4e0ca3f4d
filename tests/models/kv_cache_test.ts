// KvCache against a plain list model of the cache (one {position, k, v} record per entry,
// edited with array operations): growth over many appends, keep/evict/acceptTreePath after
// growth, the two layouts, and that no view or length shows the spare capacity.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { KvCache, loadModel } from "../../lib/models/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";
import { relErr } from "../_compare.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;

/** One cached entry of one layer in the list model: k and v as [kvHeads][headDim]. */
interface Entry {
  position: number;
  k: number[][];
  v: number[][];
}

const SHAPE = { numLayers: 3, kvHeads: 2, headDim: 3 };

/** A distinct, exactly representable value for (layer, serial, kind, head, dim). */
function value(layer: number, serial: number, kind: 0 | 1, h: number, d: number): number {
  return layer * 1e6 + serial * 100 + kind * 50 + h * 10 + d;
}

/** `n` new entries of a layer with serials from `serial`. */
function newEntries(layer: number, serial: number, n: number): Entry[] {
  const { kvHeads: H, headDim: D } = SHAPE;
  return Array.from({ length: n }, (_, j) => ({
    position: serial + j,
    k: Array.from(
      { length: H },
      (_, h) => Array.from({ length: D }, (_, d) => value(layer, serial + j, 0, h, d)),
    ),
    v: Array.from(
      { length: H },
      (_, h) => Array.from({ length: D }, (_, d) => value(layer, serial + j, 1, h, d)),
    ),
  }));
}

/** Entries as append's [kvHeads, n, headDim] arrays. */
function headMajor(entries: Entry[], kind: "k" | "v"): Float32Array {
  return Float32Array.from(
    Array.from({ length: SHAPE.kvHeads }, (_, h) => entries.flatMap((e) => e[kind][h])).flat(),
  );
}

/** Entries as appendRows' [n, kvHeads, headDim] arrays. */
function rowMajor(entries: Entry[], kind: "k" | "v"): Float32Array {
  return Float32Array.from(entries.flatMap((e) => e[kind].flat()));
}

/** The cache equals the list model in every layer, in both layouts, with no spare values. */
function assertSame(cache: KvCache, model: Entry[][], what: string): void {
  const { kvHeads: H, headDim: D } = SHAPE;
  for (let l = 0; l < model.length; l++) {
    const want = model[l];
    equal(cache.length(l), want.length, `${what}: length of layer ${l}`);
    deepEqual(cache.positions[l], want.map((e) => e.position), `${what}: positions ${l}`);
    ok(cache.capacity(l) >= want.length, `${what}: capacity below length`);
    equal(cache.keys[l].length, H * want.length * D, `${what}: keys[${l}] shows spare capacity`);
    equal(cache.keyRows(l).length, want.length * H * D, `${what}: keyRows shows spare capacity`);
    deepEqual([...cache.keys[l]], [...headMajor(want, "k")], `${what}: keys[${l}]`);
    deepEqual([...cache.values[l]], [...headMajor(want, "v")], `${what}: values[${l}]`);
    deepEqual([...cache.keyRows(l)], [...rowMajor(want, "k")], `${what}: keyRows(${l})`);
    deepEqual([...cache.valueRows(l)], [...rowMajor(want, "v")], `${what}: valueRows(${l})`);
  }
}

Deno.test("KvCache: 2000 one-token appends grow capacity geometrically; views stay exact", () => {
  const cache = new KvCache(SHAPE);
  const model: Entry[][] = [[], [], []];
  const capacities = new Set<number>();
  let spare = 0;
  for (let t = 0; t < 2000; t++) {
    for (let l = 0; l < SHAPE.numLayers; l++) {
      const e = newEntries(l, t, 1);
      // alternate the two layouts: they must store the same thing
      if (t % 2) cache.append(l, { k: headMajor(e, "k"), v: headMajor(e, "v"), positions: [t] });
      else cache.appendRows(l, { k: rowMajor(e, "k"), v: rowMajor(e, "v"), positions: [t] });
      model[l].push(...e);
    }
    capacities.add(cache.capacity(0));
    spare = Math.max(spare, cache.capacity(0) - cache.length(0));
    if (t === 0 || t === 16 || t === 999) assertSame(cache, model, `after ${t + 1} appends`);
  }
  assertSame(cache, model, "after 2000 appends");
  // doubling from 16: 16, 32, …, 2048 is 8 sizes; copying the whole cache each time gives 2000
  ok(capacities.size <= 9, `capacity took ${capacities.size} sizes: ${[...capacities]}`);
  ok(spare > 0, "the capacity never exceeded the length, so spare capacity was never tested");
});

Deno.test("KvCache: random appends, keeps and evicts after growth equal the list model", () => {
  const rng = new Rng(13);
  const cache = new KvCache(SHAPE);
  const model: Entry[][] = [[], [], []];
  let serial = 0;
  for (let step = 0; step < 300; step++) {
    const l = rng.int(SHAPE.numLayers), len = model[l].length, op = rng.int(10);
    if (op < 6 || len === 0) {
      const n = 1 + rng.int(step % 50 === 0 ? 120 : 6); // now and then a long prefill
      const e = newEntries(l, serial, n);
      serial += n;
      const kv = op % 2
        ? { k: headMajor(e, "k"), v: headMajor(e, "v") }
        : { k: rowMajor(e, "k"), v: rowMajor(e, "v") };
      const positions = e.map((x) => x.position);
      if (op % 2) cache.append(l, { ...kv, positions });
      else cache.appendRows(l, { ...kv, positions });
      model[l].push(...e);
    } else if (op < 8) {
      // keep a random subset, given unsorted and with a duplicate
      const idx = [...Array(len).keys()].filter(() => rng.next() < 0.7);
      const given = [...idx].reverse();
      if (idx.length) given.push(idx[0]);
      cache.keep(l, given);
      model[l] = idx.map((i) => model[l][i]);
    } else {
      const drop = [...Array(len).keys()].filter(() => rng.next() < 0.3);
      cache.evict(l, drop);
      model[l] = model[l].filter((_, i) => !drop.includes(i));
    }
    if (step % 25 === 24) assertSame(cache, model, `step ${step}`);
  }
  assertSame(cache, model, "end");
  ok(Math.max(...model.map((m) => m.length)) > 16, "the layers never grew past the first size");
});

Deno.test("KvCache.acceptTreePath after growth keeps the prefix and the path's entries", () => {
  const cache = new KvCache(SHAPE);
  const model: Entry[][] = [[], [], []];
  const prefix = 100, parents = [-1, 0, 0, 1, 1, 2, 4, -1, 7], path = [0, 1, 4, 6];
  for (let l = 0; l < SHAPE.numLayers; l++) {
    const e = newEntries(l, 0, prefix + parents.length);
    cache.appendRows(l, {
      k: rowMajor(e, "k"),
      v: rowMajor(e, "v"),
      positions: e.map((x) => x.position),
    });
    model[l] = [...e.slice(0, prefix), ...path.map((i) => e[prefix + i])];
  }
  cache.nextPosition = prefix;
  const rev = cache.revision(0);
  cache.acceptTreePath(parents, path);
  assertSame(cache, model, "after acceptTreePath");
  equal(cache.nextPosition, prefix + path.length);
  // the prefix and nodes 0 and 1 (indices prefix, prefix + 1) did not move; node 4 did
  equal(cache.unchangedSince(0, rev), prefix + 2);
  // a bad path or a cache shorter than the tree is refused before any layer changes
  throws(() => cache.acceptTreePath(parents, [1]), TokenlabError);
  throws(() => cache.acceptTreePath(Array(200).fill(-1), []), TokenlabError);
  assertSame(cache, model, "after refused calls");
});

Deno.test("KvCache.unchangedSince: appends keep rows, edits report the untouched prefix", () => {
  const cache = new KvCache({ numLayers: 1, kvHeads: 1, headDim: 1 });
  const add = (n: number) =>
    cache.appendRows(0, {
      k: new Float32Array(n),
      v: new Float32Array(n),
      positions: Array.from({ length: n }, (_, i) => cache.length(0) + i),
    });
  add(10);
  const r0 = cache.revision(0);
  add(5);
  equal(cache.unchangedSince(0, r0), 15);
  cache.keep(0, [0, 1, 2, 3, 5, 6]); // rows 0..3 stay where they were
  equal(cache.unchangedSince(0, r0), 4);
  const r1 = cache.revision(0);
  cache.evict(0, [1]); // rows 1.. move down
  equal(cache.unchangedSince(0, r1), 1);
  equal(cache.unchangedSince(0, r0), 1);
  equal(cache.unchangedSince(0, cache.revision(0)), cache.length(0));
  for (let i = 0; i < 70; i++) cache.keep(0, [...Array(cache.length(0)).keys()]);
  equal(cache.unchangedSince(0, r0), 0, "edits older than the history must not be trusted");
});

Deno.test("KvCache refuses entries whose sizes do not match the positions", () => {
  const cache = new KvCache(SHAPE);
  const row = SHAPE.kvHeads * SHAPE.headDim;
  throws(
    () =>
      cache.append(0, { k: new Float32Array(row), v: new Float32Array(row), positions: [0, 1] }),
    TokenlabError,
  );
  throws(
    () =>
      cache.appendRows(3, { k: new Float32Array(row), v: new Float32Array(row), positions: [0] }),
    TokenlabError,
  );
  throws(() => new KvCache({ numLayers: 0, kvHeads: 1, headDim: 1 }), TokenlabError);
  equal(cache.length(0), 0);
});

Deno.test("300 one-token forwards (the cache grows 5 times) equal one full forward", async () => {
  const model = await loadModel(FIX + "llama_gqa");
  const V = model.config.vocabSize;
  const ids = Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % V);
  const full = await model.logits(ids);
  const cache = model.newCache();
  let worst = 0;
  for (let i = 0; i < ids.length; i++) {
    const row = await model.forward([ids[i]], cache);
    if (i % 20 === 19 || i === ids.length - 1) {
      worst = Math.max(worst, relErr([[row, full.subarray(i * V, (i + 1) * V)]]));
    }
  }
  equal(cache.length(0), ids.length);
  ok(cache.capacity(0) > 256, "the cache did not grow as expected");
  ok(worst < 1e-4, `incremental logits differ from the full forward: ${worst}`);
  // evicting the middle after growth, then one more token, equals the same eviction on a cache
  // filled by one prefill (one exact-size append, no growth)
  const keep = [...Array(ids.length).keys()].filter((i) => i < 50 || i >= 250);
  const once = model.newCache();
  await model.forward(ids, once);
  for (let l = 0; l < model.config.numLayers; l++) {
    cache.keep(l, keep);
    once.keep(l, keep);
  }
  const a = await model.forward([5], cache), b = await model.forward([5], once);
  ok(relErr([[a, b]]) < 1e-5, "eviction after growth broke attention");
  deepEqual(cache.positions, once.positions);
});
