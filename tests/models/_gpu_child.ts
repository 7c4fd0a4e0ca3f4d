// Child process for the GPU-backend model tests (WebGPU work stays out of the test process):
// reads case specs on stdin, prints one JSON line per case ({name, worst, maxAbsErr, elements};
// worst ≤ 1 passes) and a final {"done": true} line.
import { getDevice } from "../../lib/gpu/mod.ts";
import { generate, loadModel } from "../../lib/models/mod.ts";
import { relErr, toleranceRatio } from "../_compare.ts";

const FIX = new URL("../fixtures/models/", import.meta.url).pathname;

type Spec = { name: string; kind: string; fixture: string; tol?: number };

/** max|a-b| / max|b|; arrays of different lengths throw. */
function rel(a: ArrayLike<number>, b: ArrayLike<number>) {
  const r = toleranceRatio({ got: a, want: b }, { atol: 0, rtol: 0 });
  return { err: relErr([[a, b]]), maxAbs: r.maxAbsErr, n: r.elements };
}

async function run(spec: Spec) {
  const ref = JSON.parse(await Deno.readTextFile(`${FIX}${spec.fixture}/reference.json`));
  const tol = spec.tol ?? 1e-3;
  if (spec.kind === "logits") {
    const m = await loadModel(FIX + spec.fixture, { backend: "gpu" });
    if (m.backend !== "gpu") throw new Error("not on the gpu backend");
    const r = rel(await m.logits(ref.ids), ref.logits);
    return { worst: r.err / tol, maxAbsErr: r.maxAbs, elements: r.n, info: { relErr: r.err } };
  }
  if (spec.kind === "greedy") {
    const m = await loadModel(FIX + spec.fixture, { backend: "gpu" });
    const out = await generate(m, ref.ids, { maxNewTokens: ref.greedy.length - ref.ids.length });
    const same = out.join() === ref.greedy.join();
    return { worst: same ? 0 : Infinity, maxAbsErr: same ? 0 : 1, elements: out.length };
  }
  if (spec.kind === "cache") {
    // prefill 5, then the rest; then keep a subset everywhere and feed one more token on both
    // backends: GPU equals CPU.
    const g = await loadModel(FIX + spec.fixture, { backend: "gpu" });
    const c = await loadModel(FIX + spec.fixture);
    const V = g.config.vocabSize;
    const gc = g.newCache(), cc = c.newCache();
    await g.forward(ref.ids.slice(0, 5), gc);
    const rest = await g.forward(ref.ids.slice(5), gc);
    const r1 = rel(rest, ref.logits.slice(5 * V));
    await c.forward(ref.ids, cc);
    const keep = [0, 2, 3, 7, 10, 11];
    for (let l = 0; l < g.config.numLayers; l++) {
      gc.keep(l, keep);
      cc.keep(l, keep);
    }
    const r2 = rel(await g.forward([42], gc), await c.forward([42], cc));
    const err = Math.max(r1.err, r2.err);
    return { worst: err / tol, maxAbsErr: Math.max(r1.maxAbs, r2.maxAbs), elements: r1.n + r2.n };
  }
  if (spec.kind === "cache-growth") {
    // 150 one-token forwards (the device copy of the cache grows 64 → 128 → 256 rows), then an
    // eviction in the middle (rows move: partial re-upload), then a tree verified and one path
    // accepted: every step's GPU logits equal the CPU ones, and so do the caches.
    const g = await loadModel(FIX + spec.fixture, { backend: "gpu" });
    const c = await loadModel(FIX + spec.fixture);
    const V = g.config.vocabSize, L = g.config.numLayers;
    const gc = g.newCache(), cc = c.newCache();
    let err = 0, maxAbs = 0, n = 0;
    const cmp = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      const r = rel(a, b);
      err = Math.max(err, r.err);
      maxAbs = Math.max(maxAbs, r.maxAbs);
      n += r.n;
    };
    cmp(await g.forward([1, 2, 3], gc), await c.forward([1, 2, 3], cc));
    for (let i = 0; i < 150; i++) {
      const id = (i * 37 + 11) % V;
      cmp(await g.forward([id], gc), await c.forward([id], cc));
    }
    const drop = Array.from({ length: 40 }, (_, i) => 60 + i);
    for (let l = 0; l < L; l++) {
      gc.evict(l, drop);
      cc.evict(l, drop);
    }
    cmp(await g.forward([42], gc), await c.forward([42], cc));
    const tree = { ids: [7, 8, 9, 10], parents: [-1, 0, 0, 1] };
    cmp(await g.forwardTree(tree, gc), await c.forwardTree(tree, cc));
    gc.acceptTreePath(tree.parents, [0, 1, 3]);
    cc.acceptTreePath(tree.parents, [0, 1, 3]);
    cmp(await g.forward([99], gc), await c.forward([99], cc));
    for (let l = 0; l < L; l++) {
      cmp(gc.keys[l], cc.keys[l]);
      cmp(gc.values[l], cc.values[l]);
    }
    const same = JSON.stringify(gc.positions) === JSON.stringify(cc.positions) &&
      gc.nextPosition === cc.nextPosition;
    return {
      worst: same ? err / tol : Infinity,
      maxAbsErr: maxAbs,
      elements: n,
      info: { relErr: err, length: gc.length(0), positionsSame: same },
    };
  }
  if (spec.kind === "rejects") {
    try {
      const m = await loadModel(FIX + spec.fixture, { backend: "gpu" });
      await m.logits(ref.ids);
    } catch (e) {
      const ok = /gpu backend/.test(String(e)) && /backend: "cpu"/.test(String(e));
      return { worst: ok ? 0 : Infinity, maxAbsErr: 0, elements: 0, info: { message: String(e) } };
    }
    return { worst: Infinity, maxAbsErr: 0, elements: 0, error: "no error was thrown" };
  }
  throw new Error(`unknown case kind ${spec.kind}`);
}

if (import.meta.main) {
  const specs: Spec[] = JSON.parse(await new Response(Deno.stdin.readable).text());
  const gpu = await getDevice({ quiet: true });
  if (!gpu) {
    console.log(JSON.stringify({ skip: "no WebGPU adapter in this environment" }));
  } else {
    for (const spec of specs) {
      try {
        console.log(JSON.stringify({ name: spec.name, ...(await run(spec)) }));
      } catch (e) {
        console.log(
          JSON.stringify({
            name: spec.name,
            worst: null,
            maxAbsErr: null,
            elements: 0,
            error: String(e),
          }),
        );
      }
    }
    console.log(JSON.stringify({ done: true, adapter: gpu.adapter.name }));
  }
}
