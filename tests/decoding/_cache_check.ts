// Cache comparison helpers for the speculative-decoding tests: a snapshot of a cache's rows and
// an element-wise comparison with the cache of plain feeding.
import { deepEqual, equal } from "node:assert/strict";
import type { KvCache, Model } from "../../lib/models/mod.ts";

/** Asserts two caches hold the same positions, keys, values and next position. */
export function sameCache(got: KvCache, want: KvCache, what: string): void {
  equal(got.nextPosition, want.nextPosition, `${what}: nextPosition`);
  for (let l = 0; l < got.numLayers; l++) {
    deepEqual(got.positions[l], want.positions[l], `${what}: layer ${l} positions`);
    deepEqual(got.keyRows(l), want.keyRows(l), `${what}: layer ${l} keys`);
    deepEqual(got.valueRows(l), want.valueRows(l), `${what}: layer ${l} values`);
  }
}

/** A copy of a cache's rows, positions and next position (a new cache of `model`). */
export function snapshotCache(model: Model, c: KvCache): KvCache {
  const copy = model.newCache();
  for (let l = 0; l < c.numLayers; l++) {
    copy.appendRows(l, {
      k: c.keyRows(l).slice(),
      v: c.valueRows(l).slice(),
      positions: [...c.positions[l]],
    });
  }
  copy.nextPosition = c.nextPosition;
  return copy;
}
