/**
 * P83 DEL: self-speculation from a dynamically chosen exit layer, on one shared KV cache
 * (LayerSkip style). Each round drafts γ tokens by running layers 0..ℓ of the target and its
 * exit (final norm + LM head), then verifies by running the last node through 0..ℓ and every
 * node through ℓ+1..L−1 from the saved streams (the drafts' lower-layer keys and values are
 * reused). After the round, every layer's exit at the accepted positions gives shadow tokens
 * for the {@linkcode ExitAcceptanceTracker}, which picks the next round's (ℓ, γ).
 *
 * @module
 */
import { check } from "../util/errors.ts";
import { sampleReference, samplingProbabilities } from "../../kernels/mod.ts";
import type { KvCache } from "../models/mod.ts";
import type { Drafter, DrafterContext } from "./_drafters.ts";
import { type DelOptions, ExitAcceptanceTracker } from "./del.ts";

export type { DelOptions } from "./del.ts";
import type { DraftTree } from "./token_tree.ts";
import { drawFrom } from "./verify.ts";

interface Round {
  /** Position of the fed tree's node 0. */
  start: number;
  exitLayer: number;
  /** Fed nodes already run through layers 0..ℓ while drafting. */
  drafted: number;
  /** Per drafted node, the stream after each layer 0..ℓ. */
  streams: Float32Array[][];
  /** Whether the tree's root is already in the cache (the first round). */
  rootInCache: boolean;
  /** Fed tree. */
  ids: number[];
  /** Per fed node, the stream after each layer ℓ+1..L−1 (filled by verify). */
  upper: Float32Array[][];
}

/** The "del" drafter (internal; called by `speculativeGenerate`). */
export function delDrafter(ctx: DrafterContext<DelOptions>): Drafter {
  const m = ctx.target, o = ctx.options, L = m.config.numLayers, V = m.config.vocabSize;
  const Dm = m.config.hiddenSize, T = ctx.sampling.temperature ?? 0;
  const tracker = o.delTracker ??
    new ExitAcceptanceTracker({ numLayers: L, gammaMax: o.delGammaMax, omega: o.delOmega });
  check(
    tracker.numLayers === L,
    `speculativeGenerate "del": the tracker has ${tracker.numLayers} layers, the target ${L}`,
    { hint: "make the tracker with the target's config.numLayers" },
  );
  const fixed = o.delExitLayer !== undefined || o.delGamma !== undefined;
  if (fixed) {
    check(
      Number.isInteger(o.delExitLayer) && o.delExitLayer! >= 0 && o.delExitLayer! < L - 1 &&
        Number.isInteger(o.delGamma) && o.delGamma! >= 0,
      `speculativeGenerate "del": a static choice needs delExitLayer in 0..${
        L - 2
      } and delGamma ≥ 0, got ${o.delExitLayer}, ${o.delGamma}`,
      { hint: "pass both, or neither for DEL's dynamic choice" },
    );
  }
  const confidenceExit = o.delConfidenceExit ?? !fixed;
  let cache: KvCache | null = null;
  let lastRow: Float32Array | null = null;
  let round: Round | null = null;
  // a draft's confidence is its exit's top probability, like the shadow tokens' statistics
  const pick = (row: Float32Array): { x: number; q: Float64Array | null; conf: number } => {
    const p = samplingProbabilities({ data: row, shape: [1, V] }, { temperature: 1 });
    const top = sampleReference({ data: row, shape: [1, V] })[0];
    if (T === 0) return { x: top, q: null, conf: p[top] };
    const q = samplingProbabilities({ data: row, shape: [1, V] }, ctx.sampling);
    const x = drawFrom(q, ctx.uniform());
    return { x, q, conf: p[top] };
  };
  /** Shadow tokens and confidences of every eligible exit at `rows` rows of per-layer streams. */
  const shadows = (streamOf: (i: number, l: number) => Float32Array, rows: number) => {
    const final: number[] = [];
    const shadow: number[][] = Array.from({ length: L - 1 }, () => []);
    const confidence: number[][] = Array.from({ length: L - 1 }, () => []);
    for (let i = 0; i < rows; i++) {
      final.push(sampleReference({ data: m.exitLogits(streamOf(i, L - 1)), shape: [1, V] })[0]);
      for (let l = 0; l < L - 1; l++) {
        const z = m.exitLogits(streamOf(i, l));
        const t = sampleReference({ data: z, shape: [1, V] })[0];
        shadow[l].push(t);
        confidence[l].push(
          samplingProbabilities({ data: z, shape: [1, V] }, { temperature: 1 })[t],
        );
      }
    }
    return { final, shadow, confidence };
  };
  const self: Drafter = {
    draftCalls: 0,
    prefill(prompt, logits) {
      lastRow = logits.subarray(logits.length - V);
      if (fixed || o.delPromptStatistics === false) return Promise.resolve();
      // DEL's context statistics: shadow tokens of the prompt's last 32 positions (recomputed
      // here on a scratch cache: the loop's prefill does not keep every layer's stream)
      const n = Math.min(32, prompt.length);
      const { layers } = m.forwardLayers(prompt, m.newCache(), { keepLayers: true });
      const off = prompt.length - n;
      const row = (i: number, l: number) => layers![l].subarray((off + i) * Dm, (off + i + 1) * Dm);
      tracker.update({ ...shadows(row, n), exitLayer: 0, noClip: true });
      return Promise.resolve();
    },
    propose(req) {
      check(
        req.cache !== undefined,
        'speculativeGenerate "del" needs the target cache in the draft request',
      );
      cache = req.cache!;
      const choice = fixed ? { exitLayer: o.delExitLayer!, gamma: o.delGamma! } : tracker.choose();
      const ell = choice.exitLayer, gamma = Math.min(choice.gamma, req.maxDepth);
      const root = req.context.at(-1)!;
      const rootInCache = cache.nextPosition === req.context.length;
      const start = rootInCache ? cache.nextPosition - 1 : cache.nextPosition;
      const ids = [root];
      const q: (Float64Array | null)[] = [null];
      const streams: Float32Array[][] = [];
      const conf = tracker.meanConfidence(ell);
      const threshold = confidenceExit ? (conf.matched + conf.mismatched) / 2 : NaN;
      let row: Float32Array | null = null;
      if (rootInCache && gamma > 0) {
        // the first round: the root's row is the prefill's (full depth); draft from it
        const d = pick(lastRow!);
        ids.push(d.x);
        q.push(d.q);
      }
      while (ids.length - 1 < gamma) {
        // run the newest node through layers 0..ℓ; its exit proposes the next draft
        const node = ids.length - 1;
        const r = m.forwardLayers([ids[node]], cache, { to: ell, keepLayers: true });
        self.draftCalls++;
        streams.push(r.layers!);
        row = m.exitLogits(r.hidden);
        const d = pick(row);
        if (d.conf < threshold && ids.length - 1 >= tracker.gammaMin) break;
        ids.push(d.x);
        q.push(d.q);
      }
      // the first round feeds its subtree below the root (already in the cache)
      const fedIds = rootInCache ? ids.slice(1) : ids;
      round = {
        start: rootInCache ? start + 1 : start,
        exitLayer: ell,
        drafted: streams.length,
        streams,
        rootInCache,
        ids: fedIds,
        upper: [],
      };
      const tree: DraftTree = {
        ids,
        parents: ids.map((_, i) => i - 1),
        q,
        source: ids.map((_, i) => (i === 0 ? "root" : "exit")),
      };
      return Promise.resolve(tree);
    },
    verify(fed, c) {
      const r = round!, ell = r.exitLayer, n = fed.ids.length;
      check(
        c === cache && n === r.ids.length,
        'speculativeGenerate "del": verify was given another tree or cache than proposed',
      );
      // the nodes not yet run through 0..ℓ (the last draft, or the root when γ = 0)
      for (let i = r.drafted; i < n; i++) {
        const x = m.forwardLayers([fed.ids[i]], c, {
          to: ell,
          positions: [r.start + i],
          keepLayers: true,
        });
        r.streams.push(x.layers!);
      }
      c.nextPosition = r.start;
      const hidden = new Float32Array(n * Dm);
      r.streams.forEach((s, i) => hidden.set(s[ell], i * Dm));
      if (ell === L - 1) return Promise.resolve(m.exitLogits(hidden));
      const top = m.forwardLayers(fed.ids, c, {
        from: ell + 1,
        hidden,
        parents: fed.parents,
        keepLayers: true,
      });
      // per node, the stream after each upper layer
      r.upper = Array.from(
        { length: n },
        (_, i) => top.layers!.map((s) => s.subarray(i * Dm, (i + 1) * Dm)),
      );
      return Promise.resolve(m.exitLogits(top.hidden));
    },
    observe(fed, _logits, accepted) {
      const r = round!;
      round = null;
      if (fed.ids.length) {
        const gamma = r.rootInCache ? fed.ids.length : fed.ids.length - 1;
        o.delLog?.push({
          exitLayer: r.exitLayer,
          gamma,
          accepted: accepted.length,
          layerCost: (L - r.exitLayer - 1) + (gamma + 1) * (r.exitLayer + 1),
        });
      }
      if (!fed.ids.length || !r.upper.length) return Promise.resolve();
      // verified positions: the accepted path's rows (node 0 first; the first round's row
      // of the root is the prefill's, which has no per-layer streams)
      const rows = Math.min(fed.ids.length, accepted.length + (r.rootInCache ? 0 : 1));
      const streamOf = (i: number, l: number) =>
        l <= r.exitLayer ? r.streams[i][l] : r.upper[i][l - r.exitLayer - 1];
      const { final, shadow, confidence } = shadows(streamOf, rows);
      if (final.length) tracker.update({ final, shadow, confidence, exitLayer: r.exitLayer });
      return Promise.resolve();
    },
  };
  return self;
}
