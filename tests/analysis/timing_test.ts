import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  type AdapterReport,
  backendName,
  type RunTiming,
  timeRun,
  timeRuns,
  timingRatio,
} from "../../lib/analysis/mod.ts";
import { TokenlabError } from "../../mod.ts";

/** Busy-waits `ms` milliseconds of wall clock. */
function spin(ms: number): number {
  const t0 = performance.now();
  let x = 0;
  while (performance.now() - t0 < ms) x++;
  return x;
}

Deno.test("timeRuns: warm-up discarded, every variant timed iters times, slower variant slower", async () => {
  const calls: string[] = [];
  const t = await timeRuns({
    fast: () => (calls.push("fast"), spin(1)),
    slow: () => (calls.push("slow"), spin(8)),
  }, { iters: 6, warmup: 2, backend: "CPU (test)" });
  equal(calls.length, 2 * (6 + 2));
  // warm-up first, in declaration order, then rounds that run each variant once
  deepEqual(calls.slice(0, 4), ["fast", "fast", "slow", "slow"]);
  for (let r = 0; r < 6; r++) {
    deepEqual(calls.slice(4 + 2 * r, 6 + 2 * r).sort(), ["fast", "slow"]);
  }
  for (const n of ["fast", "slow"] as const) {
    equal(t[n].samples.length, 6);
    equal(t[n].backend, "CPU (test)");
    equal(t[n].level, 0.95);
    ok(
      t[n].low <= t[n].ms && t[n].ms <= t[n].high,
      `${n}: ${t[n].low} ≤ ${t[n].ms} ≤ ${t[n].high}`,
    );
    ok(t[n].minMs <= t[n].ms);
  }
  ok(t.slow.ms >= 8 && t.fast.ms >= 1, `fast ${t.fast.ms} ms, slow ${t.slow.ms} ms`);
  ok(t.slow.ms > t.fast.ms);
});

Deno.test("timeRuns: the order is shuffled by the seed, reproducibly", async () => {
  const orderOf = async (seed: number) => {
    const calls: string[] = [];
    const variants = Object.fromEntries(
      ["a", "b", "c", "d"].map((n) => [n, () => void calls.push(n)]),
    );
    await timeRuns(variants, { iters: 8, warmup: 0, seed });
    return calls.join("");
  };
  const first = await orderOf(3);
  equal(await orderOf(3), first);
  // 8 rounds of 4 variants all in declaration order would mean no shuffling
  ok(first !== "abcd".repeat(8), first);
});

Deno.test("timeRuns: settle brackets each run, release gets the result after the clock", async () => {
  const events: string[] = [];
  const t = await timeRun(() => (events.push("run"), 42), {
    iters: 2,
    warmup: 1,
    settle: () => void events.push("settle"),
    release: (v) => void events.push(`release ${v}`),
  });
  deepEqual(events, Array(3).fill(["settle", "run", "settle", "release 42"]).flat());
  equal(t.samples.length, 2);
  equal(t.backend, "unnamed");
  // an async settle is awaited: the one after the run is inside the timed span
  const slow = await timeRun(() => 0, {
    iters: 3,
    settle: () => new Promise((r) => setTimeout(r, 5)),
  });
  ok(slow.minMs >= 4.5, `a 5 ms settle ends each timed run, got ${slow.minMs} ms`);
});

Deno.test("timeRuns refuses bad input with TokenlabError", async () => {
  await rejects(() => timeRuns({}), TokenlabError);
  await rejects(() => timeRuns({ a: 1 as unknown as () => void }), /variant "a" is not a function/);
  await rejects(() => timeRuns({ a: () => 0 }, { iters: 0 }), /iters must be an integer ≥ 1/);
  await rejects(() => timeRuns({ a: () => 0 }, { warmup: -1 }), /warmup/);
  await rejects(() => timeRuns({ a: () => 0 }, { level: 1 }), /level/);
  await rejects(() => timeRuns({ a: () => 0 }, { backend: "" }), /backend/);
  await rejects(() => timeRun("x" as unknown as () => void), TokenlabError);
});

Deno.test("timeRuns names the backend as what it is: a software adapter is flagged", async () => {
  const sw = await timeRun(() => 1, { iters: 2, backend: "llvmpipe (LLVM 15.0.6, 256 bits)" });
  equal(sw.software, true);
  equal(sw.warmup, 1);
  const hw = await timeRun(() => 1, { iters: 2, backend: "NVIDIA H200", warmup: 0 });
  equal(hw.software, false);
  equal(hw.warmup, 0);
  const cpu = await timeRun(() => 1, { iters: 2, backend: "CPU (JavaScript)" });
  equal(cpu.software, false);
  // an adapter the name does not give away can be flagged by the caller
  equal((await timeRun(() => 1, { iters: 2, backend: "fallback", software: true })).software, true);
  // backendName writes what the adapter is, so a fallback adapter flagged software stays software
  const adapter = (name: string, software: boolean) =>
    ({ name, software, backend: "vulkan" }) as AdapterReport;
  const fallback = backendName(adapter("Some Fallback Adapter", true));
  equal(fallback, "Some Fallback Adapter (software adapter, vulkan)");
  equal((await timeRun(() => 1, { iters: 2, backend: fallback })).software, true);
  const h200 = backendName(adapter("NVIDIA H200", false));
  equal(h200, "NVIDIA H200 (hardware GPU, vulkan)");
  equal((await timeRun(() => 1, { iters: 2, backend: h200 })).software, false);
  equal(backendName(null), "CPU reference path (JavaScript, no WebGPU adapter)");
  equal((await timeRun(() => 1, { iters: 2, backend: backendName(null) })).software, false);
});

Deno.test("timingRatio: paired bootstrap of the ratio of medians, hand-worked", () => {
  const timing = (samples: number[], backend = "CPU (test)"): RunTiming => ({
    ms: 0,
    low: 0,
    high: 0,
    level: 0.95,
    minMs: 0,
    samples,
    backend,
    software: false,
    warmup: 1,
  });
  // every round the slow variant takes exactly twice as long: every paired resample gives 2,
  // even though the rounds themselves drift from 5 to 15 ms
  const slow = timing([10, 20, 30, 14, 26]), fast = timing([5, 10, 15, 7, 13]);
  const r = timingRatio(slow, { denominator: fast, seed: 1 });
  equal(r.value, 2);
  deepEqual([r.interval.low, r.interval.high], [2, 2]);
  equal(r.interval.over, "5 interleaved rounds (paired)");
  equal(r.software, false);
  // medians 20 / 10 = 2 with round-to-round noise: the interval brackets 2 and is wider
  const noisy = timingRatio(timing([10, 20, 30, 24, 16]), {
    denominator: timing([6, 9, 14, 11, 10]),
    seed: 1,
  });
  equal(noisy.value, 2);
  ok(noisy.interval.low < 2 && noisy.interval.high > 2, JSON.stringify(noisy.interval));
  // a software backend on either side makes the ratio a software result
  const sw = timing([2, 2], "lavapipe");
  sw.software = true;
  equal(timingRatio(sw, { denominator: timing([1, 1], "lavapipe") }).software, true);
  throws(() => timingRatio(slow, { denominator: timing([1, 2]) }), /must come from one timeRuns/);
  throws(
    () => timingRatio(slow, { denominator: timing([5, 10, 15, 7, 13], "GPU") }),
    /different backends/,
  );
});
