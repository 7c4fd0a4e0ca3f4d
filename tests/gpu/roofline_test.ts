import { equal, ok, throws } from "node:assert/strict";
import { measureRoofline, type Roofline, rooflinePoint, timeKernel } from "../../lib/gpu/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { gpuTest } from "./_child.ts";

const ROOF: Roofline = {
  device: "hand-made",
  backend: "gpu",
  software: false,
  peakGflopsF32: 1000,
  peakGflopsF16: 4000,
  bandwidthGBps: 100,
  ridge: 10,
  timing: "timestamp",
  work: { fmaFlops: 0, copyBytes: 0 },
};
const close = (a: number, b: number, what: string) =>
  ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

Deno.test("rooflinePoint: hand-worked compute- and memory-bound kernels", () => {
  // 2 GFLOP, 0.1 GB, 4 ms: intensity 20 > ridge 10 → compute roof 1000 GFLOP/s;
  // achieved 2e9 / 4e-3 s = 500 GFLOP/s = 50%; best time 2 ms
  const c = rooflinePoint(ROOF, { flops: 2e9, bytes: 1e8, ms: 4 });
  equal(c.bound, "compute");
  close(c.intensity, 20, "intensity");
  close(c.gflops, 500, "gflops");
  close(c.gbps, 25, "gbps");
  close(c.attainableGflops, 1000, "attainable");
  close(c.percent, 50, "percent");
  // 1 GFLOP over 1 GB in 20 ms: intensity 1 → memory roof 100 GFLOP/s, best time 10 ms → 50%
  const m = rooflinePoint(ROOF, { flops: 1e9, bytes: 1e9, ms: 20 });
  equal(m.bound, "memory");
  close(m.attainableGflops, 100, "attainable");
  close(m.percent, 50, "percent");
  close(m.percent, (100 * m.gflops) / m.attainableGflops, "percent = achieved / attainable");
  // no FLOPs: the share of the bandwidth (0.4 GB in 8 ms = 50 GB/s of 100)
  const b = rooflinePoint(ROOF, { flops: 0, bytes: 4e8, ms: 8 });
  equal(b.bound, "memory");
  equal(b.intensity, 0);
  close(b.percent, 50, "percent");
  // against the 4× higher f16 roof the ridge moves to 40: the same kernel is memory-bound,
  // best time 0.1 GB / 100 GB/s = 1 ms, so 25%
  const h = rooflinePoint(ROOF, { flops: 2e9, bytes: 1e8, ms: 4, compute: "f16" });
  equal(h.bound, "memory");
  close(h.percent, 25, "f16");
});

Deno.test("rooflinePoint and timeKernel refuse bad input with a hint", async () => {
  throws(() => rooflinePoint(ROOF, { flops: 1, bytes: 1, ms: 0 }), /ms must be a positive time/);
  throws(() => rooflinePoint(ROOF, { flops: -1, bytes: 1, ms: 1 }), TokenlabError);
  throws(() => rooflinePoint(ROOF, { flops: 0, bytes: 0, ms: 1 }), /flops or bytes/);
  throws(
    () =>
      rooflinePoint({ ...ROOF, peakGflopsF16: null }, {
        flops: 1,
        bytes: 1,
        ms: 1,
        compute: "f16",
      }),
    /shader-f16/,
  );
  await assertRejects(() => timeKernel(null as unknown as () => void), /needs a function/);
});

Deno.test("measureRoofline on the CPU path and timeKernel without a device", async () => {
  const roof = await measureRoofline(null, { repeats: 1, minMs: 2, copyBytes: 1 << 20 });
  equal(roof.backend, "cpu");
  equal(roof.peakGflopsF16, null);
  equal(roof.work.copyBytes, 2 << 20);
  ok(roof.peakGflopsF32 > 0 && Number.isFinite(roof.peakGflopsF32));
  ok(roof.bandwidthGBps > 0 && Number.isFinite(roof.bandwidthGBps));
  close(roof.ridge, roof.peakGflopsF32 / roof.bandwidthGBps, "ridge");
  let calls = 0;
  const t = await timeKernel(() => {
    calls++;
    let s = 0;
    for (let i = 0; i < 1e5; i++) s += i;
    return s;
  }, { gpu: null, iters: 3, warmup: 2 });
  equal(calls, 5);
  equal(t.samples.length, 3);
  equal(t.mode, "wall-clock");
  await assertRejects(() => measureRoofline(null, { repeats: 0 }), /repeats/);
  await assertRejects(() => measureRoofline(null, { copyBytes: 10 }), /copyBytes/);
});

async function assertRejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  let err: unknown = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  ok(err instanceof TokenlabError && re.test(String(err)), `expected ${re}, got ${err}`);
}

// The FMA kernel after 4·iters steps of a ← a/2 + 1 from inputs ≤ 2: exact in f32 (dyadic
// values); f16 keeps 11 bits, so allow 3 f16 ulps of the sum (≈ 16).
gpuTest("roofline kernels on the device", "tests/gpu/_roofline_cases.ts", [
  {
    name: "measureRoofline: positive rates, copy at 100%",
    kind: "roofline",
    atol: 1e-6,
    rtol: 1e-9,
  },
  {
    name: "FMA kernel f32 computes the chains",
    kind: "fmaValues",
    dtype: "f32",
    iters: 3,
    atol: 1e-4,
    rtol: 1e-6,
  },
  {
    name: "FMA kernel f16 computes the chains",
    kind: "fmaValues",
    dtype: "f16",
    iters: 2,
    atol: 0.05,
    rtol: 2e-3,
  },
  { name: "copy kernel strides over all elements", kind: "copyValues", atol: 0, rtol: 0 },
  { name: "timeKernel with timestamps (when offered)", kind: "timeKernel", atol: 0, rtol: 0 },
  { name: "timeKernel wall clock", kind: "timeKernel", wallClock: true, atol: 0, rtol: 0 },
]);
