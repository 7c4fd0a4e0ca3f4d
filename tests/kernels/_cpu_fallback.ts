// Child process for the CPU-fallback test: run with TOKENLAB_NO_GPU=1. Every kernel wrapper is
// called on CPU tensors exactly as on GPU tensors; results are checked against hand-derived
// values and an attention written here from its formula, never against the CPU references the
// wrappers call (that would compare a function with itself). Prints one line per check and
// "done" at the end.
import { deepEqual, equal, fail, ok, throws } from "node:assert/strict";
import { currentDevice, getDevice, Tensor } from "../../lib/gpu/mod.ts";
import * as K from "../../kernels/mod.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assertClose } from "../_compare.ts";

const near = (a: ArrayLike<number>, b: ArrayLike<number>, atol = 1e-6) =>
  assertClose(a, b, { atol });
const checks: [string, () => Promise<void> | void][] = [];
const test = (name: string, fn: () => Promise<void> | void) => checks.push([name, fn]);

equal(await getDevice({ quiet: true }), null);
equal(currentDevice(), null);

const rng = new Rng(4);
const rand = (shape: number[]) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());

test("tensors: CPU storage, dtypes, f16 rounding, reshape, zeros, bytes, release", async () => {
  const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
  ok(t.isCpu);
  equal(t.dtype, "f32");
  deepEqual([...await t.reshape([3, 2]).toArray()], [1, 2, 3, 4, 5, 6]);
  const h = Tensor.fromArray([0.1], { shape: [1], dtype: "f16" });
  deepEqual([...await h.toArray()], [1638 / 16384]);
  deepEqual([...new Uint16Array(await h.readBytes())], [0x2e66]); // 0.1 in half precision
  equal(Tensor.fromArray(Int32Array.of(-1), { shape: [1] }).dtype, "i32");
  deepEqual([...await Tensor.zeros([3], { dtype: "u32" }).toArray()], [0, 0, 0]);
  throws(() => t.gpu, /lives on the CPU/);
  throws(() => t.buffer, /lives on the CPU/);
  t.release();
  await Promise.resolve();
  throws(() => t.host, /released/);
});

test("matmul, rmsnorm, rope, swiglu, softmax: hand-derived values", async () => {
  const a = Tensor.fromArray([1, 2, 3, 4], { shape: [2, 2] });
  const b = Tensor.fromArray([0, 1, 1, 0], { shape: [2, 2] });
  deepEqual([...await (await K.matmul({ a, b })).toArray()], [2, 1, 4, 3]);
  const x = Tensor.fromArray([3, 4], { shape: [1, 2] });
  const w = Tensor.fromArray([1, 1], { shape: [2] });
  const n = await K.rmsnorm({ x, weight: w }, { eps: 0 });
  near(await n.out.toArray(), [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)]);
  const r = await K.rope({
    x: Tensor.fromArray([1, 0, 0, 1], { shape: [1, 1, 4] }),
    positions: [0],
  });
  near(await r.toArray(), [1, 0, 0, 1]);
  const mismatch = K.swiglu({ gate: Tensor.fromArray([0], { shape: [1] }), up: x.reshape([2]) });
  await mismatch.then(() => fail("shapes [1] and [2] were accepted"), () => {});
  const y = await K.swiglu({ gate: Tensor.fromArray([0, 1], { shape: [2] }), up: x.reshape([2]) });
  near(await y.toArray(), [0, 4 / (1 + Math.exp(-1))]);
  const sm = await K.softmax(Tensor.fromArray([0, Math.log(3)], { shape: [1, 2] }));
  near(await sm.toArray(), [0.25, 0.75]);
});

// The attention checks below compare the wrappers (which on CPU tensors call the library's CPU
// references) with hand-worked cases and with `naiveAttention`, written here from the formula
// out_i = Σ_j softmax_j(scale · q_i·k_j) v_j over the keys query i may see, on nested arrays
// [position][head][dim], so that a slip in the library's flat indexing cannot cancel out.
type Nested = number[][][];
function nest(data: ArrayLike<number>, shape: number[]): Nested {
  const [S, H, D] = shape;
  return Array.from(
    { length: S },
    (_, s) =>
      Array.from(
        { length: H },
        (_, h) => Array.from({ length: D }, (_, d) => data[(s * H + h) * D + d]),
      ),
  );
}
/**
 * `keys(i, h)` lists the key positions query i of head h attends to (repeats count twice);
 * query head h reads kv head ⌊h / (Hq/Hkv)⌋. Returns out [Sq·Hq·D], lse [Hq·Sq] (−1e30 when
 * no key is visible) and the attention mass per head and key [Hq·Skv].
 */
function naiveAttention(
  t: { q: Nested; k: Nested; v: Nested },
  o: { keys: (i: number, h: number) => number[]; scale?: number },
) {
  const Sq = t.q.length, Hq = t.q[0].length, D = t.q[0][0].length;
  const Skv = t.k.length, Hkv = t.k[0].length;
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const out: number[] = [];
  const lse = new Array(Hq * Sq).fill(-1e30), mass = new Array(Hq * Skv).fill(0);
  for (let i = 0; i < Sq; i++) {
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / (Hq / Hkv));
      const js = o.keys(i, h);
      const e = js.map((j) =>
        Math.exp(scale * t.q[i][h].reduce((a, x, d) => a + x * t.k[j][kh][d], 0))
      );
      const z = e.reduce((a, b) => a + b, 0);
      if (js.length) lse[h * Sq + i] = Math.log(z);
      js.forEach((j, n) => mass[h * Skv + j] += e[n] / z);
      for (let d = 0; d < D; d++) {
        out.push(js.reduce((a, j, n) => a + (e[n] / z) * t.v[j][kh][d], 0));
      }
    }
  }
  return { out, lse, mass };
}
const range = (n: number) => Array.from({ length: n }, (_, j) => j);
/** Random q [Sq, Hq, D] and k, v [Skv, Hkv, D] as CPU tensors plus their nested copies. */
function randomQkv(sq: number, skv: number, heads: [number, number], d: number) {
  const qd = rand([sq, heads[0], d]), kd = rand([skv, heads[1], d]), vd = rand([skv, heads[1], d]);
  return {
    q: Tensor.fromArray(qd, { shape: [sq, heads[0], d] }),
    k: Tensor.fromArray(kd, { shape: [skv, heads[1], d] }),
    v: Tensor.fromArray(vd, { shape: [skv, heads[1], d] }),
    nested: {
      q: nest(qd, [sq, heads[0], d]),
      k: nest(kd, [skv, heads[1], d]),
      v: nest(vd, [skv, heads[1], d]),
    },
  };
}
const TOL = { atol: 1e-5, rtol: 1e-5 };

test("flash attention: hand-derived causal and GQA cases", async () => {
  // D = 1, scale 1, keys 0 and ln 3, values 4 and 8. Causal: query 0 sees key 0 only → 4,
  // lse 0; query 1 (q = 1) weighs the keys 1 : 3 → 4/4 + 8·3/4 = 7, lse ln 4. Key mass:
  // key 0 gets 1 + 1/4, key 1 gets 3/4.
  const t = (a: number[], shape: number[]) => Tensor.fromArray(a, { shape });
  const k = t([0, Math.log(3)], [2, 1, 1]), v = t([4, 8], [2, 1, 1]);
  const f = await K.flashAttention({ q: t([1, 1], [2, 1, 1]), k, v }, {
    causal: true,
    scale: 1,
    keyMass: true,
  });
  deepEqual(f.out.shape, [2, 1, 1]);
  assertClose(await f.out.toArray(), [4, 7]);
  assertClose(await f.lse.toArray(), [0, Math.log(4)]);
  assertClose(await f.keyMass!.toArray(), [1.25, 0.75]);
  // GQA, one query over both keys, 2 query heads sharing the kv head: head 0 (q = 1) → 7,
  // lse ln 4; head 1 (q = 0) sees equal scores → (4 + 8)/2 = 6, lse ln 2.
  const g = await K.flashAttention({ q: t([1, 0], [1, 2, 1]), k, v }, { scale: 1 });
  deepEqual(g.out.shape, [1, 2, 1]);
  deepEqual(g.lse.shape, [2, 1]);
  assertClose(await g.out.toArray(), [7, 6]);
  assertClose(await g.lse.toArray(), [Math.log(4), Math.LN2]);
});

test("flash attention: naive attention on awkward shapes, GQA, tree, packed sequences", async () => {
  const cases: {
    sq: number;
    skv: number;
    heads: [number, number];
    d: number;
    opts: K.FlashAttentionOptions;
  }[] = [
    { sq: 1, skv: 1, heads: [1, 1], d: 1, opts: { causal: true } }, // length 1
    { sq: 3, skv: 37, heads: [6, 2], d: 5, opts: { causal: true, keyMass: true } }, // prefix 34
    { sq: 17, skv: 17, heads: [4, 1], d: 3, opts: { scale: 0.3, keyMass: true } },
    { sq: 5, skv: 9, heads: [2, 2], d: 4, opts: { parents: [-1, 0, 0, 1, -1] } },
    { sq: 7, skv: 7, heads: [3, 1], d: 2, opts: { causal: true, seqIds: [0, 0, 0, 1, 1, 2, 2] } },
  ];
  for (const c of cases) {
    const what = JSON.stringify(c);
    const { q, k, v, nested } = randomQkv(c.sq, c.skv, c.heads, c.d);
    const offset = c.skv - c.sq, { parents, seqIds } = c.opts;
    // key j is visible to query i (at position offset + i) when: not later (causal or tree),
    // in the same packed sequence, and for tree tokens on the query's ancestor path
    const sees = (i: number, j: number) => {
      const p = offset + i;
      if ((c.opts.causal || parents) && j > p) return false;
      if (seqIds && seqIds[j] !== seqIds[p]) return false;
      if (!parents || j < offset) return true;
      const path = [i];
      while (parents[path[path.length - 1]] >= 0) path.push(parents[path[path.length - 1]]);
      return path.includes(j - offset);
    };
    const want = naiveAttention(nested, {
      keys: (i) => range(c.skv).filter((j) => sees(i, j)),
      scale: c.opts.scale,
    });
    const f = await K.flashAttention({ q, k, v }, c.opts);
    deepEqual(f.out.shape, [c.sq, c.heads[0], c.d], what);
    assertClose(await f.out.toArray(), want.out, { ...TOL, what: `${what} out` });
    assertClose(await f.lse.toArray(), want.lse, { ...TOL, what: `${what} lse` });
    if (c.opts.keyMass) {
      assertClose(await f.keyMass!.toArray(), want.mass, { ...TOL, what: `${what} key mass` });
    } else equal(f.keyMass, undefined);
  }
});

test("decode attention: hand-derived kvLength cut, naive attention with GQA and odd sizes", async () => {
  // all scores 0 (q = 0): non-causal queries average the 3 valid values 2, 4, 6 → 4; causal:
  // query 0 sits at position 1 (sees 2, 4 → 3), query 1 at position 2 (→ 4); 1000 is cut off
  const kv = Tensor.fromArray([2, 4, 6, 1000], { shape: [4, 1, 1] });
  const q0 = Tensor.fromArray([0, 0], { shape: [2, 1, 1] });
  assertClose(await (await K.decodeAttention({ q: q0, k: kv, v: kv }, { kvLength: 3 })).toArray(), [
    4,
    4,
  ]);
  const c0 = await K.decodeAttention({ q: q0, k: kv, v: kv }, { kvLength: 3, causal: true });
  assertClose(await c0.toArray(), [3, 4]);
  const cases = [
    { nq: 1, cache: 1, heads: [1, 1], d: 1, opts: {} }, // length 1
    { nq: 1, cache: 50, heads: [8, 2], d: 7, opts: { kvLength: 41 } },
    { nq: 3, cache: 33, heads: [6, 3], d: 9, opts: { kvLength: 30, causal: true } },
    { nq: 2, cache: 5, heads: [4, 1], d: 2, opts: { causal: true, scale: 2 } },
  ] as const;
  for (const c of cases) {
    const what = JSON.stringify(c);
    const { q, k, v, nested } = randomQkv(c.nq, c.cache, [...c.heads], c.d);
    const o: K.DecodeAttentionOptions = c.opts;
    const L = o.kvLength ?? c.cache;
    // query i sits at position L − nq + i
    const keys = (i: number) => range(L).filter((j) => !o.causal || j <= L - c.nq + i);
    const want = naiveAttention(nested, { keys, scale: o.scale });
    const y = await K.decodeAttention({ q, k, v }, o);
    deepEqual(y.shape, [c.nq, c.heads[0], c.d], what);
    assertClose(await y.toArray(), want.out, { ...TOL, what });
  }
});

test("sparse attention: hand-derived weights, naive attention over the listed positions", async () => {
  // D = 1, q = ln 2 (scale 1/√1): score(j) = ln 2 · k_j, so the weights are 2^k_j. Keys 0, 1, 2,
  // values 10, 20, 30. Heads: positions [2, 0] → (10 + 4·30)/5 = 26; [1] → 20; [] → 0;
  // [0, 0, 2] (repeat counts twice) → (10 + 10 + 120)/6.
  const q = Tensor.fromArray(Array(4).fill(Math.LN2), { shape: [1, 4, 1] });
  const k = Tensor.fromArray([0, 1, 2], { shape: [3, 1, 1] });
  const v = Tensor.fromArray([10, 20, 30], { shape: [3, 1, 1] });
  const h = await K.sparseAttention({ q, k, v, positions: [[2, 0], [1], [], [0, 0, 2]] });
  deepEqual(h.shape, [1, 4, 1]);
  assertClose(await h.toArray(), [26, 20, 0, 140 / 6]);
  const cases: {
    nq: number;
    cache: number;
    heads: [number, number];
    d: number;
    lists: number[][];
    opts: K.SparseAttentionOptions;
  }[] = [
    { nq: 1, cache: 1, heads: [1, 1], d: 1, lists: [[0]], opts: {} }, // length 1
    // one list per kv head (GQA 6/2), repeats, odd head dim
    { nq: 2, cache: 40, heads: [6, 2], d: 5, lists: [[3, 3, 39, 17], [0]], opts: {} },
    // one list per query head, causal at kvLength 20: query 0 at 18 cannot see 19; an
    // empty list and a fully masked one give zeros for query 0
    {
      nq: 2,
      cache: 25,
      heads: [4, 2],
      d: 3,
      lists: [[19, 2, 7], [], [19], [18, 5, 5, 11, 0]],
      opts: { causal: true, kvLength: 20 },
    },
  ];
  for (const c of cases) {
    const what = JSON.stringify(c);
    const { q, k, v, nested } = randomQkv(c.nq, c.cache, c.heads, c.d);
    const L = c.opts.kvLength ?? c.cache;
    const perList = c.heads[0] / c.lists.length;
    const keys = (i: number, h: number) =>
      c.lists[Math.floor(h / perList)].filter((j) => !c.opts.causal || j <= L - c.nq + i);
    const want = naiveAttention(nested, { keys, scale: c.opts.scale });
    const y = await K.sparseAttention({ q, k, v, positions: c.lists }, c.opts);
    deepEqual(y.shape, [c.nq, c.heads[0], c.d], what);
    assertClose(await y.toArray(), want.out, { ...TOL, what });
  }
});

test("cross entropy: hand-derived loss and gradient", async () => {
  // uniform logits over 4 classes: loss ln 4, grad softmax − onehot = 1/4 − [0, 0, 1, 0]
  const logits = Tensor.fromArray([0, 0, 0, 0], { shape: [1, 4] });
  const ce = await K.crossEntropy({ logits, targets: [2] }, { grad: true });
  assertClose(await ce.loss.toArray(), [Math.log(4)]);
  assertClose(await ce.grad!.toArray(), [0.25, 0.25, -0.75, 0.25]);
});

test("f16 inputs give f16-rounded outputs", async () => {
  const x = Tensor.fromArray([0, 1], { shape: [1, 2], dtype: "f16" });
  const y = await K.softmax(x);
  equal(y.dtype, "f16");
  const want = 1 / (1 + Math.E);
  const got = (await y.toArray())[0];
  ok(Math.abs(got - want) < 1e-3 && got !== Math.fround(want), `${got}`);
});

test("top-k: hand-derived values and indices, ties by lower index", async () => {
  const x = Tensor.fromArray([1, 5, 3, 5, 0, 2, 9, 2], { shape: [2, 4] });
  const t = await K.topK(x, { k: 2 });
  deepEqual(t.values.shape, [2, 2]);
  deepEqual([...await t.values.toArray()], [5, 5, 9, 2]);
  deepEqual([...await t.indices.toArray()], [1, 3, 2, 1]);
  equal(t.indices.dtype, "i32");
});

/** Samples `n` rows that all hold `row` and counts how often each token was drawn. */
async function draws(row: number[], n: number, opts: K.SampleOptions): Promise<number[]> {
  const data = Float32Array.from({ length: n * row.length }, (_, i) => row[i % row.length]);
  const tokens = await K.sample(Tensor.fromArray(data, { shape: [n, row.length] }), opts);
  deepEqual(tokens.shape, [n]);
  const counts = row.map(() => 0);
  for (const t of await tokens.toArray()) counts[t]++;
  return counts;
}
/** Every count within 4.5 binomial standard deviations of n·p; p = 0 tokens never drawn. */
function binomialOk(counts: number[], p: number[], what: string) {
  const n = counts.reduce((a, b) => a + b, 0);
  counts.forEach((c, i) => {
    const sd = Math.sqrt(n * p[i] * (1 - p[i]));
    ok(
      Math.abs(c - n * p[i]) <= 4.5 * sd,
      `${what}: token ${i} drawn ${c} times of ${n}, p ${p[i]}`,
    );
  });
}

test("sampling: greedy argmax, top-k 1, top-p cutoffs, frequencies of seeded draws", async () => {
  // temperature 0 is argmax, the lowest index on ties: rows [1, 5, 3, 5] → 1, [0, 2, 9, 2] → 2
  const x = Tensor.fromArray([1, 5, 3, 5, 0, 2, 9, 2], { shape: [2, 4] });
  const g = await K.sample(x, { temperature: 0 });
  equal(g.dtype, "i32");
  deepEqual(g.shape, [2]);
  deepEqual([...await g.toArray()], [1, 2]);
  // top-k 1 leaves only the argmax, whatever the seed and temperature
  for (let seed = 0; seed < 10; seed++) {
    deepEqual([...await (await K.sample(x, { topK: 1, seed, temperature: 3 })).toArray()], [1, 2]);
  }
  // logits (ln 2, 0, 0): p = (1/2, 1/4, 1/4). top-p 0.5: the best token alone holds 0.5 ≥ 0.5,
  // so it is always drawn. top-p 0.6: two tokens are needed (0.75 ≥ 0.6); of the tied 1/4s the
  // lower index stays, so p becomes (2/3, 1/3, 0).
  const row = [Math.LN2, 0, 0];
  deepEqual(await draws(row, 300, { temperature: 1, topP: 0.5, seed: 3 }), [300, 0, 0]);
  binomialOk(
    await draws(row, 3000, { temperature: 1, topP: 0.6, seed: 4 }),
    [2 / 3, 1 / 3, 0],
    "top-p 0.6",
  );
  binomialOk(await draws(row, 3000, { temperature: 1, seed: 5 }), [0.5, 0.25, 0.25], "no filter");
  // temperature 0.7 and top-k 4 on (0, 1, 2, −1, 0.5): −1 is dropped, the others get
  // p ∝ exp(logit / 0.7), computed here directly
  const logits = [0, 1, 2, -1, 0.5];
  const e = logits.map((l) => (l === -1 ? 0 : Math.exp(l / 0.7)));
  const z = e.reduce((a, b) => a + b, 0);
  const opts = { temperature: 0.7, topK: 4, seed: 12, counter: 3 };
  const counts = await draws(logits, 6000, opts);
  binomialOk(counts, e.map((w) => w / z), "T 0.7, top-k 4");
  // the same seed and counter draw the same tokens; another counter draws others
  deepEqual(await draws(logits, 6000, opts), counts);
  const data = Float32Array.from({ length: 200 * 5 }, (_, i) => logits[i % 5]);
  const t = (counter: number) =>
    K.sample(Tensor.fromArray(data, { shape: [200, 5] }), { ...opts, counter })
      .then((s) => s.toArray());
  const [a, b] = [await t(3), await t(4)];
  ok(a.some((v, i) => v !== b[i]), "counter 3 and 4 drew identical tokens in 200 rows");
});

let failed = 0;
for (const [name, fn] of checks) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAILED ${name}: ${e instanceof Error ? e.stack : e}`);
  }
}
console.log(failed ? `${failed} failed` : "done");
Deno.exit(failed ? 1 : 0);
