import { deepEqual, notDeepEqual, ok, throws } from "node:assert/strict";
import { Rng, TokenlabError } from "../../mod.ts";

Deno.test("Rng: same seed gives the same sequence, other seeds differ", () => {
  const a = new Rng(123), b = new Rng(123), c = new Rng(124);
  const sa = Array.from({ length: 8 }, () => a.nextUint32());
  const sb = Array.from({ length: 8 }, () => b.nextUint32());
  const sc = Array.from({ length: 8 }, () => c.nextUint32());
  deepEqual(sa, sb);
  notDeepEqual(sa, sc);
});

Deno.test("Rng: next is in [0,1) with mean near 1/2; int stays in range", () => {
  const rng = new Rng(5);
  let sum = 0;
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60000; i++) {
    const u = rng.next();
    ok(u >= 0 && u < 1);
    sum += u;
    counts[rng.int(6)]++;
  }
  ok(Math.abs(sum / 60000 - 0.5) < 0.01);
  for (const k of counts) ok(Math.abs(k - 10000) < 500, `die face count ${k}`);
});

Deno.test("Rng: normal has mean 0 and variance 1", () => {
  const rng = new Rng(9);
  let s = 0, s2 = 0;
  const n = 50000;
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    s += x;
    s2 += x * x;
  }
  ok(Math.abs(s / n) < 0.03);
  ok(Math.abs(s2 / n - 1) < 0.03);
});

Deno.test("Rng: shuffle is a permutation; bad bounds throw TokenlabError", () => {
  const xs = new Rng(1).shuffle([...Array(50).keys()]);
  deepEqual([...xs].sort((p, q) => p - q), [...Array(50).keys()]);
  throws(() => new Rng(1).int(0), TokenlabError);
  throws(() => new Rng(NaN), TokenlabError);
});
