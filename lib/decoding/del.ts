/**
 * P83 DEL's building blocks (Dynamic Exit Layer for self-speculation): the per-layer acceptance
 * tracker fed with "shadow tokens" (the argmax of every layer's exit at every verified
 * position, compared with the final layer's), its exponential moving averages α_ℓ (factor ω)
 * clipped after the current exit layer's first mismatch, the tokens-per-layer objective
 * TPL(ℓ, γ) = E[tokens] / cost with E = (1 − α^{γ+1}) / (1 − α) and cost
 * (L − ℓ − 1) + (γ + 1)(ℓ + 1) layers, and the (ℓ, γ) that maximises it. Follows
 * `self_speculation/DEL.py` of the authors' code (eligible exits 0..L−2; γ from 0).
 *
 * @example
 * ```ts
 * import { ExitAcceptanceTracker } from "@tokenlab/tokenlab/decoding";
 * const t = new ExitAcceptanceTracker({ numLayers: 4, gammaMax: 6 });
 * // three verified positions: the final layer said 5 7 9; layer 0 matched once, layer 2 thrice
 * t.update({ final: [5, 7, 9], shadow: [[5, 1, 2], [5, 7, 1], [5, 7, 9]], exitLayer: 1 });
 * console.log(t.alpha(), t.choose());
 * ```
 *
 * @module
 */
import { check } from "../util/errors.ts";

/** Options of {@linkcode ExitAcceptanceTracker}. */
export interface ExitAcceptanceTrackerOptions {
  /** Layers of the model L (exits 0..L−2 are eligible). */
  numLayers: number;
  /** Largest draft length γ considered (default 6; γ runs 0..gammaMax−1 as in DEL.py). */
  gammaMax?: number;
  /** Smallest draft length chosen (default 0). */
  gammaMin?: number;
  /** EMA factor ω applied to the old counts every update (default 1: plain sums, DEL's default). */
  omega?: number;
}

/** One round's shadow tokens, for {@linkcode ExitAcceptanceTracker.update}. */
export interface ShadowRound {
  /** The final layer's argmax at each verified position. */
  final: number[];
  /** `shadow[ℓ][i]`: the argmax of layer ℓ's exit at position i, for ℓ = 0..L−2. */
  shadow: number[][];
  /** The softmax probability of each shadow token (same shape as `shadow`; optional). */
  confidence?: number[][];
  /** The exit layer the round drafted from (positions after its first mismatch are dropped). */
  exitLayer: number;
  /** Keep every position (DEL's prompt context: no clipping; default false). */
  noClip?: boolean;
}

/** The chosen exit and draft length, with the surface it came from. */
export interface ExitChoice {
  /** Exit layer ℓ (0-based; drafting runs layers 0..ℓ). */
  exitLayer: number;
  /** Draft tokens γ. */
  gamma: number;
  /** TPL of the choice (tokens per layer evaluated). */
  tpl: number;
}

/**
 * Tokens per layer of self-speculation exiting at ℓ with γ drafts at acceptance α:
 * E[tokens] / cost, E = 1 + α + … + α^γ = (1 − α^{γ+1}) / (1 − α), cost (L − ℓ − 1) + (γ + 1)(ℓ + 1)
 * (γ + 1 draft passes through ℓ + 1 layers, one verification pass through the rest).
 *
 * @example
 * ```ts
 * import { exitTpl } from "@tokenlab/tokenlab/decoding";
 * console.log(exitTpl({ alpha: 0, exitLayer: 0, gamma: 0, numLayers: 4 })); // 1 token / 4 layers = 0.25
 * ```
 */
export function exitTpl(
  o: { alpha: number; exitLayer: number; gamma: number; numLayers: number },
): number {
  let e = 1;
  for (let i = 1; i <= o.gamma; i++) e = 1 + o.alpha * e;
  return e / ((o.numLayers - o.exitLayer - 1) + (o.gamma + 1) * (o.exitLayer + 1));
}

/**
 * The TPL surface over eligible exits ℓ = 0..L−2 (rows) and γ = 0..gammaMax−1 (columns) for the
 * given per-layer acceptances (NaN where a layer has no observations).
 *
 * @example
 * ```ts
 * import { exitTplSurface } from "@tokenlab/tokenlab/decoding";
 * const s = exitTplSurface([0.2, 0.6, 0.9], { numLayers: 4, gammaMax: 3 });
 * console.log(s.length, s[0].length); // 3 3
 * ```
 */
export function exitTplSurface(
  alphas: number[],
  options: { numLayers: number; gammaMax: number },
): number[][] {
  return alphas.map((alpha, exitLayer) =>
    Array.from(
      { length: options.gammaMax },
      (_, gamma) =>
        Number.isNaN(alpha)
          ? NaN
          : exitTpl({ alpha, exitLayer, gamma, numLayers: options.numLayers }),
    )
  );
}

/**
 * DEL's per-layer acceptance tracker: EMA counts of shadow-token matches and mismatches and of
 * their confidences, per eligible exit layer, and the (ℓ, γ) maximising TPL.
 *
 * @example
 * ```ts
 * import { ExitAcceptanceTracker } from "@tokenlab/tokenlab/decoding";
 * const t = new ExitAcceptanceTracker({ numLayers: 3 });
 * t.update({ final: [1, 2], shadow: [[1, 0], [1, 2]], exitLayer: 0 });
 * console.log(t.alpha()); // exit 0 kept up to its first mismatch: [0.5, 1]
 * ```
 */
export class ExitAcceptanceTracker {
  /** Layers of the model. */
  readonly numLayers: number;
  /** Largest γ + 1 considered. */
  readonly gammaMax: number;
  /** Smallest γ chosen. */
  readonly gammaMin: number;
  /** EMA factor. */
  readonly omega: number;
  /** Per eligible layer: [matches, mismatches] (EMA). */
  readonly counts: [number, number][];
  /** Per eligible layer: [confidence sum of matches, of mismatches] (EMA). */
  readonly confidenceSums: [number, number][];
  /** The choice after every update (research log). */
  readonly history: ExitChoice[] = [];

  /** A tracker with no observations. */
  constructor(options: ExitAcceptanceTrackerOptions) {
    const L = options.numLayers;
    check(
      Number.isInteger(L) && L >= 2,
      `ExitAcceptanceTracker: numLayers must be an integer ≥ 2, got ${L}`,
      { hint: "early exit needs a layer to exit from and one above it" },
    );
    this.numLayers = L;
    this.gammaMax = options.gammaMax ?? 6;
    this.gammaMin = options.gammaMin ?? 0;
    this.omega = options.omega ?? 1;
    check(
      Number.isInteger(this.gammaMax) && this.gammaMax >= 1 &&
        Number.isInteger(this.gammaMin) && this.gammaMin >= 0 && this.gammaMin < this.gammaMax,
      `ExitAcceptanceTracker: need integers 0 ≤ gammaMin < gammaMax, got ${this.gammaMin}, ${this.gammaMax}`,
    );
    check(
      this.omega > 0 && this.omega <= 1,
      `ExitAcceptanceTracker: omega must be in (0, 1], got ${this.omega}`,
    );
    this.counts = Array.from({ length: L - 1 }, () => [0, 0]);
    this.confidenceSums = Array.from({ length: L - 1 }, () => [0, 0]);
  }

  /** Adds one round's shadow tokens (EMA: old counts × ω + this round's). */
  update(round: ShadowRound): void {
    const E = this.numLayers - 1;
    check(
      round.shadow.length === E && round.shadow.every((r) => r.length === round.final.length),
      `ExitAcceptanceTracker.update: shadow must be ${E} rows of ${round.final.length} tokens`,
      { hint: "one row per eligible exit layer 0..L−2, one column per verified position" },
    );
    check(
      Number.isInteger(round.exitLayer) && round.exitLayer >= 0 && round.exitLayer < E,
      `ExitAcceptanceTracker.update: exitLayer must be 0..${E - 1}, got ${round.exitLayer}`,
    );
    // keep the positions up to and including the exit layer's first mismatch
    let n = round.final.length;
    const cur = round.shadow[round.exitLayer];
    for (let i = 0; i < n && !round.noClip; i++) {
      if (cur[i] !== round.final[i]) {
        n = i + 1;
        break;
      }
    }
    for (let l = 0; l < E; l++) {
      let match = 0, miss = 0, cMatch = 0, cMiss = 0;
      for (let i = 0; i < n; i++) {
        const c = round.confidence?.[l][i] ?? 0;
        if (round.shadow[l][i] === round.final[i]) [match, cMatch] = [match + 1, cMatch + c];
        else [miss, cMiss] = [miss + 1, cMiss + c];
      }
      const k = this.counts[l], s = this.confidenceSums[l];
      [k[0], k[1]] = [this.omega * k[0] + match, this.omega * k[1] + miss];
      [s[0], s[1]] = [this.omega * s[0] + cMatch, this.omega * s[1] + cMiss];
    }
    this.history.push(this.choose());
  }

  /** α_ℓ = matches / observations per eligible layer (NaN before any observation). */
  alpha(): number[] {
    return this.counts.map(([m, x]) => (m + x > 0 ? m / (m + x) : NaN));
  }

  /** Mean confidence of matched and of mismatched shadow tokens at layer ℓ (NaN when none). */
  meanConfidence(layer: number): { matched: number; mismatched: number } {
    const [m, x] = this.counts[layer], [cm, cx] = this.confidenceSums[layer];
    return { matched: m > 0 ? cm / m : NaN, mismatched: x > 0 ? cx / x : NaN };
  }

  /** The TPL surface of the current α (rows ℓ = 0..L−2, columns γ = 0..gammaMax−1). */
  surface(): number[][] {
    return exitTplSurface(this.alpha(), { numLayers: this.numLayers, gammaMax: this.gammaMax });
  }

  /**
   * The (ℓ, γ) with the largest TPL (γ ≥ gammaMin; ties to the smaller ℓ, then the smaller γ);
   * before any observation, DEL's start: exit 0, γ = max(1, gammaMin).
   */
  choose(): ExitChoice {
    const s = this.surface();
    let best: ExitChoice | null = null;
    s.forEach((row, exitLayer) =>
      row.forEach((tpl, gamma) => {
        if (gamma < this.gammaMin || Number.isNaN(tpl)) return;
        if (!best || tpl > best.tpl) best = { exitLayer, gamma, tpl };
      })
    );
    return best ?? { exitLayer: 0, gamma: Math.max(1, this.gammaMin), tpl: NaN };
  }
}

/** One DEL round, as {@linkcode DelOptions.delLog} records it. */
export interface DelRound {
  /** Exit layer ℓ drafted from. */
  exitLayer: number;
  /** Drafts fed for verification γ (after dynamic draft exiting). */
  gamma: number;
  /** Drafts accepted. */
  accepted: number;
  /**
   * Layers evaluated by DEL's cost model, (L − ℓ − 1) + (γ + 1)(ℓ + 1): γ + 1 tokens through
   * layers 0..ℓ, one batched pass through the rest.
   */
  layerCost: number;
}

/** Options of `speculativeGenerate` for method "del". */
export interface DelOptions {
  /**
   * "del": the tracker to read and update (pass your own to inspect α_ℓ, the TPL surface and
   * the per-round choices afterwards, or to carry statistics across calls; default a fresh one).
   */
  delTracker?: ExitAcceptanceTracker;
  /** "del": largest γ + 1 considered (default 6). */
  delGammaMax?: number;
  /** "del": EMA factor ω of the acceptance counts (default 1). */
  delOmega?: number;
  /** "del": a static exit layer (with `delGamma`: a static LayerSkip baseline, no tracker choice). */
  delExitLayer?: number;
  /** "del": a static draft length (with `delExitLayer`). */
  delGamma?: number;
  /**
   * "del": filled with one entry per verification round (exit layer, drafts fed, drafts
   * accepted): the research log behind DEL's cost model.
   */
  delLog?: DelRound[];
  /**
   * "del": seed the tracker with shadow tokens of the prompt's last 32 positions, as DEL does
   * (default true; costs one extra pass over the prompt here, as the loop's prefill does not
   * keep every layer's stream).
   */
  delPromptStatistics?: boolean;
  /**
   * "del": dynamic draft exiting — stop a round's drafting when a draft's exit confidence
   * (its softmax probability) falls below the midpoint of the mean confidences of matched and
   * mismatched shadow tokens at the exit layer (my reading of DEL's rule; default true).
   */
  delConfidenceExit?: boolean;
}
