/**
 * The AdamW arithmetic of one tensor, in place: the single CPU definition that
 * `adamwReference` (on copies) and the models' CPU `AdamW` (on the flat parameters) both run.
 *
 * @module
 */
import type { FloatArray } from "./_common.ts";

/** The arrays of one update; `param`, `m` and `v` are overwritten. */
export interface AdamwState {
  /** Parameters. */
  param: FloatArray;
  /** Gradient (read only). */
  grad: FloatArray;
  /** First moment. */
  m: FloatArray;
  /** Second moment. */
  v: FloatArray;
}

/** Hyper-parameters of one update, already resolved (no defaults here). */
export interface AdamwConstants {
  /** Learning rate. */
  lr: number;
  /** β1. */
  beta1: number;
  /** β2. */
  beta2: number;
  /** ε. */
  eps: number;
  /** 1 − β1ᵗ. */
  c1: number;
  /** 1 − β2ᵗ. */
  c2: number;
  /** 1 − lr·weightDecay (1 for tensors that do not decay). */
  shrink: number;
  /** Gradient multiplier from clipping (1 when not clipped). */
  scale: number;
}

/**
 * `g ← g·scale; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p·shrink − lr·(m/c1)/(√(v/c2)+ε)`,
 * reading `m` and `v` back from their arrays so f32 storage rounds as the WGSL kernel does.
 */
export function adamwUpdate(state: AdamwState, k: AdamwConstants): void {
  const { param: p, grad, m, v } = state;
  const f32 = grad instanceof Float32Array;
  for (let i = 0; i < p.length; i++) {
    const g = f32 ? Math.fround(grad[i] * k.scale) : grad[i] * k.scale;
    m[i] = k.beta1 * m[i] + (1 - k.beta1) * g;
    v[i] = k.beta2 * v[i] + (1 - k.beta2) * g * g;
    p[i] = p[i] * k.shrink - (k.lr * (m[i] / k.c1)) / (Math.sqrt(v[i] / k.c2) + k.eps);
  }
}
