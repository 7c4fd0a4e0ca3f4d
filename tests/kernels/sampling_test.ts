import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  sampleReference,
  samplingProbabilities,
  samplingUniform,
  TOPK_MAX,
  topKReference,
} from "../../kernels/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { gpuTest } from "../gpu/_child.ts";

// An independent BigInt implementation of the PCG-RXS-M-XS hash, written from its definition.
const M32 = (1n << 32n) - 1n;
function pcgBig(v: bigint): bigint {
  const s = (v * 747796405n + 2891336453n) & M32;
  const w = (((s >> ((s >> 28n) + 4n)) ^ s) * 277803737n) & M32;
  return ((w >> 22n) ^ w) & M32;
}

Deno.test("samplingUniform is the nested PCG hash, 24 bits over 2^24", () => {
  for (const [seed, row, counter] of [[0, 0, 0], [1, 2, 3], [0xffffffff, 65535, 123456789]]) {
    const h = pcgBig(pcgBig(pcgBig(BigInt(seed)) ^ BigInt(row)) ^ BigInt(counter));
    equal(samplingUniform({ seed, row, counter }), Number(h >> 8n) / 2 ** 24);
  }
  // roughly uniform over many rows: mean 1/2, variance 1/12
  let sum = 0, sq = 0;
  const n = 20000;
  for (let r = 0; r < n; r++) {
    const u = samplingUniform({ seed: 9, row: r });
    ok(u >= 0 && u < 1);
    sum += u;
    sq += u * u;
  }
  ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
  ok(Math.abs(sq / n - sum * sum / n / n - 1 / 12) < 0.005);
});

Deno.test("topKReference: order by value, ties by lower index, several rows", () => {
  const x = { data: new Float32Array([1, 5, 3, 5, -1, 0, 0, 2]), shape: [2, 4] };
  const r = topKReference(x, { k: 3 });
  deepEqual([...r.values.data], [5, 5, 3, 2, 0, 0]);
  deepEqual([...r.indices], [1, 3, 2, 3, 1, 2]);
  deepEqual(r.values.shape, [2, 3]);
  // −0 sorts below +0 (as the GPU keys do)
  deepEqual([...topKReference({ data: new Float32Array([-0, 0]), shape: [2] }, { k: 1 }).indices], [
    1,
  ]);
  throws(() => topKReference(x, { k: 5 }), TokenlabError);
  throws(() => topKReference(x, { k: 0 }), TokenlabError);
});

Deno.test("sampleReference: greedy picks the largest, lowest index on ties", () => {
  const x = { data: new Float32Array([1, 7, 7, 2, -Infinity, 0.5, 0.25, 0.5]), shape: [2, 4] };
  deepEqual([...sampleReference(x, { temperature: 0 })], [1, 1]);
  // topK 1 leaves a single candidate whatever the draw
  for (let seed = 0; seed < 20; seed++) {
    deepEqual([...sampleReference(x, { temperature: 1, topK: 1, seed })], [1, 1]);
  }
  throws(() => sampleReference(x, { temperature: -1 }), TokenlabError);
  throws(() => sampleReference(x, { topP: 0 }), TokenlabError);
  throws(() => sampleReference(x, { seed: -3 }), TokenlabError);
});

// Five tokens with probabilities (0.4, 0.05, 0.3, 0.1, 0.15) at temperature 1.
const P = [0.4, 0.05, 0.3, 0.1, 0.15];
const ROW = P.map(Math.log);
const renorm = (keep: number[]) => {
  const z = keep.reduce((a, i) => a + P[i], 0);
  return P.map((p, i) => (keep.includes(i) ? p / z : 0));
};
const sqrtP = (() => {
  const z = P.reduce((a, p) => a + Math.sqrt(p), 0);
  return P.map((p) => Math.sqrt(p) / z);
})();
// hand-derived expectations: topK 3 keeps 0.4, 0.3, 0.15; topP 0.6 keeps 0.4, 0.3 (0.7 ≥ 0.6);
// topK 4 + topP 0.9 keeps 4 tokens (cumulative 0.85 < 0.9·0.95 = 0.855 ≤ 0.95);
// temperature 2 gives p ∝ √p; row [1, 3, 3, 3, 0] with topK 2 keeps indices 1 and 2 (ties).
const DIST = [
  { name: "no filter", opts: {}, expect: P },
  { name: "topK 3", opts: { topK: 3 }, expect: renorm([0, 2, 4]) },
  { name: "topP 0.6", opts: { topP: 0.6 }, expect: renorm([0, 2]) },
  { name: "topK 4, topP 0.9", opts: { topK: 4, topP: 0.9 }, expect: renorm([0, 2, 3, 4]) },
  { name: "temperature 2", opts: { temperature: 2 }, expect: sqrtP },
  {
    name: "ties at the top-k boundary",
    row: [1, 3, 3, 3, 0],
    opts: { topK: 2 },
    expect: [0, 0.5, 0.5, 0, 0],
  },
];
// chi-square critical values at p = 0.001 for 1..4 degrees of freedom
const CHI2_001 = [10.83, 13.82, 16.27, 18.47];
const chi2Bound = (expect: number[]) => CHI2_001[expect.filter((p) => p > 0).length - 2];

Deno.test("sampleReference: token frequencies match the expected probabilities (chi-square)", () => {
  const n = 4000;
  for (const d of DIST) {
    const row = d.row ?? ROW;
    const data = Float32Array.from({ length: n * 5 }, (_, i) => row[i % 5]);
    const tokens = sampleReference({ data, shape: [n, 5] }, {
      temperature: 1,
      ...d.opts,
      seed: 11,
    });
    const counts = [0, 0, 0, 0, 0];
    for (const t of tokens) counts[t]++;
    let chi2 = 0;
    d.expect.forEach((p, i) => {
      if (p === 0) equal(counts[i], 0, `${d.name}: token ${i} must never be drawn`);
      else chi2 += (counts[i] - p * n) ** 2 / (p * n);
    });
    ok(chi2 < chi2Bound(d.expect), `${d.name}: chi-square ${chi2.toFixed(2)}`);
  }
});

// GPU: tokens must equal the CPU reference (atol is the number of rows allowed to differ: 0),
// and the draws must pass the chi-square bound.
const S = "tests/kernels/_gpu_cases.ts";
gpuTest("sampling GPU vs CPU reference", S, [
  ...DIST.map((d) => ({
    name: `distribution, ${d.name}`,
    kind: "sample",
    rows: 3000,
    row: d.row ?? ROW,
    temperature: 1,
    ...d.opts,
    seed: 5,
    expect: d.expect,
    chi2Bound: chi2Bound(d.expect),
    atol: 0,
    rtol: 0,
  })),
  // Exact boundaries: tied maxima weigh exactly 1 and the others underflow to 0 (also in f64), so the
  // top-p cut lands exactly on a tie (4 tied of mass 4, topP 0.5 → goal 2: the two lowest
  // indices stay) and u × total is compared exactly with running sums 1, 2, 3, …
  ...[
    { topP: 0.5, expect: [0, 0.5, 0, 0.5, 0, 0, 0, 0] },
    { topP: 0.75, expect: [0, 1 / 3, 0, 1 / 3, 0, 1 / 3, 0, 0] },
    { topP: 0.5000001, expect: [0, 1 / 3, 0, 1 / 3, 0, 1 / 3, 0, 0] },
    { topP: 1, topK: 2, expect: [0, 0.5, 0, 0.5, 0, 0, 0, 0] },
  ].map((c) => ({
    name: `exact top-p / top-k boundary on tied maxima, topP ${c.topP}${
      c.topK ? `, topK ${c.topK}` : ""
    }`,
    kind: "sample",
    rows: 1000,
    row: [-400, 3, -400, 3, -450, 3, -500, 3],
    temperature: 0.5,
    topK: c.topK,
    topP: c.topP,
    seed: 21,
    counter: 9,
    expect: c.expect,
    chi2Bound: chi2Bound(c.expect),
    atol: 0,
    rtol: 0,
  })),
  {
    name: "greedy with ties",
    kind: "sample",
    rows: 2,
    row: [0.5, 2, -1, 2, 2],
    temperature: 0,
    expect: [0, 1, 0, 0, 0],
    chi2Bound: 1,
    atol: 0,
    rtol: 0,
  },
  {
    name: "random rows 3000 wide (256 threads), T 0.7, topK 50, topP 0.9, counter 4",
    kind: "sample",
    rows: 24,
    cols: 3000,
    temperature: 0.7,
    topK: 50,
    topP: 0.9,
    seed: 77,
    counter: 4,
    atol: 0,
    rtol: 0,
  },
  {
    name: "random rows, topP 0.5 alone, T 1",
    kind: "sample",
    rows: 40,
    cols: 300,
    temperature: 1,
    topP: 0.5,
    seed: 1,
    atol: 0,
    rtol: 0,
  },
  {
    name: "greedy on random rows",
    kind: "sample",
    rows: 40,
    cols: 777,
    temperature: 0,
    atol: 0,
    rtol: 0,
  },
  {
    name: "f16 logits, topK 10",
    kind: "sample",
    dtype: "f16",
    rows: 16,
    cols: 100,
    temperature: 1,
    topK: 10,
    seed: 2,
    atol: 0,
    rtol: 0,
  },
]);

gpuTest("top-k GPU vs CPU reference", S, [
  { name: "k 5 of 37, 6 rows", kind: "topK", rows: 6, cols: 37, k: 5, atol: 0, rtol: 0 },
  { name: "k 1", kind: "topK", rows: 3, cols: 20, k: 1, atol: 0, rtol: 0 },
  { name: "k = row length", kind: "topK", rows: 2, cols: 13, k: 13, atol: 0, rtol: 0 },
  {
    name: "many ties (5 levels), k 9",
    kind: "topK",
    rows: 5,
    cols: 40,
    k: 9,
    levels: 5,
    atol: 0,
    rtol: 0,
  },
  {
    name: "wide rows 5000 (256 threads), k 100",
    kind: "topK",
    rows: 3,
    cols: 5000,
    k: 100,
    atol: 0,
    rtol: 0,
  },
  { name: `k ${TOPK_MAX}`, kind: "topK", rows: 1, cols: 1500, k: TOPK_MAX, atol: 0, rtol: 0 },
  { name: "f16, k 7", kind: "topK", dtype: "f16", rows: 4, cols: 50, k: 7, atol: 0, rtol: 0 },
]);

Deno.test("samplingProbabilities: the contract's kept, normalised weights", () => {
  const close = (a: Float64Array, b: number[]) =>
    ok(b.every((v, i) => Math.abs(a[i] - v) < 1e-12), `${Array.from(a)} vs ${b}`);
  const x = { data: new Float32Array([0, 1, 1, -2]), shape: [1, 4] };
  deepEqual(Array.from(samplingProbabilities(x)), [0, 1, 0, 0]); // greedy: lowest index on ties
  const z = 1 + 2 * Math.E + Math.exp(-2); // weights e^x (max 1 subtracted cancels)
  close(samplingProbabilities(x, { temperature: 1 }), [
    1 / z,
    Math.E / z,
    Math.E / z,
    Math.exp(-2) / z,
  ]);
  close(samplingProbabilities(x, { temperature: 1, topK: 2 }), [0, 0.5, 0.5, 0]);
  // top-p 0.3: the first of the two tied best tokens already holds 0.43 of the mass
  close(samplingProbabilities(x, { temperature: 1, topP: 0.3 }), [0, 1, 0, 0]);
  const t2 = [Math.exp(-0.5), 1, 1]; // temperature 2 on [0, 1, 1]
  const s2 = t2[0] + 2;
  close(
    samplingProbabilities({ data: new Float32Array([0, 1, 1, 5, 5, 9]), shape: [2, 3] }, {
      temperature: 2,
    }).subarray(0, 3),
    t2.map((v) => v / s2),
  );
});

Deno.test("samplingProbabilities is what sampleReference draws from (frequencies)", () => {
  const x = { data: new Float32Array([0.3, -1, 2, 0.5, 1.2, -0.4]), shape: [1, 6] };
  const opts = { temperature: 0.7, topK: 4, topP: 0.95 };
  const p = samplingProbabilities(x, opts);
  const n = 20000, counts = new Array(6).fill(0);
  for (let i = 0; i < n; i++) counts[sampleReference(x, { ...opts, seed: 11, counter: i })[0]]++;
  let chi = 0;
  p.forEach((pi, i) => {
    if (pi === 0) equal(counts[i], 0, `token ${i} has probability 0`);
    else chi += (counts[i] - n * pi) ** 2 / (n * pi);
  });
  ok(chi < 18.47, `chi-square ${chi} over ≤ 4 dof (p = 0.001 threshold for 4)`);
});
