import { deepEqual, ok, throws } from "node:assert/strict";
import {
  chunkLengths,
  packBestFitDecreasing,
  type Packing,
  packSequences,
  paddingWaste,
  prepackPrompts,
} from "../../lib/data/mod.ts";
import { Rng } from "../../lib/util/rng.ts";

function valid(lengths: number[], p: Packing): void {
  const all = p.bins.flat().sort((a, b) => a - b);
  deepEqual(all, lengths.map((_, i) => i), "every sequence exactly once");
  p.bins.forEach((b, i) => {
    const load = b.reduce((s, j) => s + lengths[j], 0);
    ok(load === p.loads[i], `row ${i} load ${p.loads[i]} vs ${load}`);
    ok(load <= p.capacity, `row ${i} overfull: ${load}`);
  });
}

/** Best fit by brute force: each item, longest first, into the fullest row it fits. */
function bestFitSlow(lengths: number[], capacity: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const bins: number[][] = [], loads: number[] = [];
  for (const i of order) {
    let best = -1;
    for (let b = 0; b < bins.length; b++) {
      if (loads[b] + lengths[i] <= capacity && (best < 0 || loads[b] > loads[best])) best = b;
    }
    if (best < 0) {
      bins.push([]);
      loads.push(0);
      best = bins.length - 1;
    }
    bins[best].push(i);
    loads[best] += lengths[i];
  }
  return bins.map((b) => b.map((i) => lengths[i]));
}

Deno.test("packBestFitDecreasing: hand-worked example, exact fills", () => {
  const p = packBestFitDecreasing([6, 5, 4, 3, 2], { capacity: 10 });
  deepEqual(p.bins, [[0, 2], [1, 3, 4]]);
  deepEqual(p.loads, [10, 10]);
  // 7, 5, 3 into 10: 7 → row 0 (3 free); 5 → new row (5 free); 3 → best fit is row 0 (3 free)
  deepEqual(packBestFitDecreasing([3, 7, 5], { capacity: 10 }).bins, [[1, 0], [2]]);
});

Deno.test("packBestFitDecreasing matches a brute-force best fit on random inputs", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 50; trial++) {
    const capacity = 5 + rng.int(60);
    const lengths = Array.from({ length: 1 + rng.int(80) }, () => 1 + rng.int(capacity));
    const p = packBestFitDecreasing(lengths, { capacity });
    valid(lengths, p);
    // the same multiset of row loads (which of two equally free rows gets an item may differ)
    const key = (loads: number[]) => [...loads].sort((a, b) => a - b).join(",");
    const slow = bestFitSlow(lengths, capacity).map((b) => b.reduce((a, x) => a + x, 0));
    ok(key(p.loads) === key(slow), `trial ${trial} differs: ${key(p.loads)} vs ${key(slow)}`);
  }
});

Deno.test("packSequences strategies: valid packings, next-fit keeps order, BFD ≤ next-fit rows", () => {
  const rng = new Rng(11);
  const lengths = Array.from({ length: 500 }, () => 1 + Math.floor(rng.next() ** 3 * 512));
  const rows: Record<string, number> = {};
  for (
    const strategy of [
      "best-fit-decreasing",
      "first-fit-decreasing",
      "first-fit",
      "next-fit",
    ] as const
  ) {
    const p = packSequences(lengths, { capacity: 512, strategy });
    valid(lengths, p);
    rows[strategy] = p.bins.length;
  }
  const nf = packSequences(lengths, { capacity: 512, strategy: "next-fit" });
  deepEqual(nf.bins.flat(), lengths.map((_, i) => i));
  ok(rows["best-fit-decreasing"] <= rows["first-fit"], JSON.stringify(rows));
  ok(rows["first-fit"] <= rows["next-fit"], JSON.stringify(rows));
  // lower bound: total tokens / capacity
  const lb = Math.ceil(lengths.reduce((a, b) => a + b, 0) / 512);
  ok(rows["best-fit-decreasing"] <= Math.ceil(lb * 11 / 9) + 1, JSON.stringify({ rows, lb }));
  deepEqual(packSequences([3, 8, 2, 7], { capacity: 10, strategy: "next-fit" }).bins, [
    [0],
    [1, 2],
    [3],
  ]);
  // first fit: 2 goes into the first row (7 free), so 7 needs a third row
  deepEqual(packSequences([3, 8, 2, 7], { capacity: 10, strategy: "first-fit" }).bins, [
    [0, 2],
    [1],
    [3],
  ]);
});

Deno.test("chunkLengths and paddingWaste arithmetic", () => {
  deepEqual(chunkLengths([5, 12, 0, 4], { maxLength: 4 }), [4, 1, 4, 4, 4, 4]);
  const lengths = [6, 5, 4, 3, 2];
  deepEqual(paddingWaste(lengths, { mode: "max", capacity: 10 }), {
    tokens: 20,
    rows: 5,
    slots: 50,
    padding: 30,
    wasteFraction: 0.6,
  });
  // groups of 2: (6,5) → 12 slots, (4,3) → 8, (2) → 2
  ok(paddingWaste(lengths, { mode: "batch", batchSize: 2 }).slots === 22);
  const packing = packBestFitDecreasing(lengths, { capacity: 10 });
  ok(paddingWaste(lengths, { mode: "packed", packing }).padding === 0);
});

Deno.test("packing input validation names the problem", () => {
  throws(
    () => packBestFitDecreasing([3, 11], { capacity: 10 }),
    /lengths\[1\] = 11 exceeds the capacity 10/,
  );
  throws(() => packBestFitDecreasing([3, 0], { capacity: 10 }), /lengths\[1\] is 0/);
  throws(() => packBestFitDecreasing([3], { capacity: 0 }), /capacity must be a positive integer/);
  throws(
    () => packSequences([3], { capacity: 4, strategy: "worst-fit" as unknown as "first-fit" }),
    /unknown strategy "worst-fit"/,
  );
  throws(() => chunkLengths([1.5], { maxLength: 4 }), /lengths\[0\] is 1.5/);
  const packing = packBestFitDecreasing([1, 2], { capacity: 4 });
  throws(() => paddingWaste([1, 2, 3], { mode: "packed", packing }), /holds 2 sequences/);
});

Deno.test("prepackPrompts: padded and packed layouts", () => {
  const prompts = [[5, 6, 7, 8], [9], [3, 4, 2]];
  const padded = prepackPrompts(prompts, { mode: "padded", padId: 1 });
  deepEqual(padded.ids, [5, 6, 7, 8, 9, 1, 1, 1, 3, 4, 2, 1]);
  deepEqual(padded.positions, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  deepEqual(padded.seqIds, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  deepEqual(padded.lastIndex, [3, 4, 10]);
  ok(padded.rows === 3 && padded.rowLength === 4 && padded.padTokens === 4);
  // BFD with capacity 4: [5,6,7,8] alone, then [3,4,2] + [9]
  const packed = prepackPrompts(prompts, { mode: "packed" });
  deepEqual(packed.ids, [5, 6, 7, 8, 3, 4, 2, 9]);
  deepEqual(packed.positions, [0, 1, 2, 3, 0, 1, 2, 0]);
  deepEqual(packed.seqIds, [0, 0, 0, 0, 2, 2, 2, 1]);
  deepEqual(packed.lastIndex, [3, 7, 6]);
  ok(packed.rows === 2 && packed.padTokens === 0);
  // capacity 5: [5,6,7,8,9] and [3,4,2] padded to 5 with a sequence of its own
  const p5 = prepackPrompts(prompts, { mode: "packed", capacity: 5 });
  deepEqual(p5.seqIds, [0, 0, 0, 0, 1, 2, 2, 2, -2, -2]);
  ok(p5.padTokens === 2);
  throws(() => prepackPrompts([[1], []], { mode: "packed" }), /prompt 1 is empty/);
  throws(
    () => prepackPrompts([[1, 2, 3]], { mode: "packed", capacity: 2 }),
    /lengths\[0\] = 3 exceeds the capacity 2/,
  );
});
