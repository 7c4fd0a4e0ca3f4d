import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { AdamW, clipGradNorm, lrAt, TinyLM } from "../../lib/models/mod.ts";
import { randomBatch, tiny } from "./_tiny_cases.ts";

Deno.test("lr schedules: warmup, cosine and linear end at minLr, constant stays", () => {
  const o = { lr: 1, steps: 101, warmupSteps: 10, minLrRatio: 0.1 };
  equal(lrAt(0, o), 0.1);
  equal(lrAt(9, o), 1);
  equal(lrAt(10, o), 1);
  ok(Math.abs(lrAt(100, o) - 0.1) < 1e-12);
  ok(Math.abs(lrAt(55, o) - 0.55) < 1e-12); // cosine midpoint
  ok(Math.abs(lrAt(55, { ...o, schedule: "linear" }) - 0.55) < 1e-12);
  ok(Math.abs(lrAt(32.5, { ...o, schedule: "linear" }) - 0.775) < 1e-12);
  equal(lrAt(70, { ...o, schedule: "constant" }), 1);
});

Deno.test("clipGradNorm and AdamW (first step moves each weight by ≈ lr)", () => {
  const g = new Float32Array([3, 4]);
  equal(clipGradNorm(g, 10), 5);
  deepEqual([...g], [3, 4]);
  equal(clipGradNorm(g, 1), 5);
  ok(Math.abs(g[0] - 0.6) < 1e-6 && Math.abs(g[1] - 0.8) < 1e-6);
  const lm = new TinyLM(tiny(), { seed: 1 });
  const before = Float32Array.from(lm.params);
  lm.lossAndGrad(randomBatch(1, { B: 1, S: 4, V: 23 }));
  new AdamW(lm).step({ lr: 1e-3, weightDecay: 0 });
  for (let i = 0; i < before.length; i += 97) {
    const d = Math.abs(lm.params[i] - before[i]);
    ok(lm.grads[i] === 0 ? d === 0 : Math.abs(d - 1e-3) < 1e-4, `param ${i} moved ${d}`);
  }
});

Deno.test("AdamW decays matrices only, by lr·wd, and keeps f64 in f64", () => {
  const lm = new TinyLM(tiny(), { seed: 2, precision: "f64" });
  const before = Float64Array.from(lm.params);
  lm.grads.fill(0); // no gradient: only the decoupled decay moves the weights
  new AdamW(lm).step({ lr: 0.1, weightDecay: 0.5 });
  for (const s of lm.slots) {
    const i = s.offset + (s.size >> 1);
    const want = s.decay ? before[i] * (1 - 0.1 * 0.5) : before[i];
    ok(Math.abs(lm.params[i] - want) < 1e-15, `${s.name}: ${lm.params[i]} vs ${want}`);
  }
  ok(lm.params instanceof Float64Array);
});

Deno.test("lrAt and AdamW refuse bad inputs", () => {
  throws(() => lrAt(-1, { lr: 1, steps: 10 }), /step must be a non-negative number/);
  throws(() => lrAt(0, { lr: 0, steps: 10 }), /lr must be positive/);
  throws(
    () => lrAt(0, { lr: 1, steps: 10, schedule: "cosin" as unknown as "cosine" }),
    /schedule must be/,
  );
  const lm = new TinyLM(tiny(), { seed: 1 });
  throws(() => new AdamW(lm).step({ lr: NaN }), /lr must be a non-negative number/);
  deepEqual(clipGradNorm(new Float32Array(0), 1), 0);
});
