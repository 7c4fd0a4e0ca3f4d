// Helpers of the kernel reference tests: random host tensors, finite-difference gradient checks,
// element-wise closeness with an absolute tolerance, and error-message checks.
import { ok } from "node:assert/strict";
import type { HostTensor } from "../../kernels/mod.ts";
import type { Rng } from "../../lib/util/rng.ts";

/** A host tensor of normal(0, scale²) values. */
export function rand(rng: Rng, shape: number[], scale = 1): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => rng.normal() * scale), shape };
}

/** Σ dy·f(x) in f64. */
export function dotf(dy: HostTensor, y: HostTensor): number {
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += dy.data[i] * y.data[i];
  return s;
}

/**
 * Central differences of `loss` with respect to every element of `x` (in place, restored),
 * compared with `analytic`: |num − ana| ≤ 3e-3 + 2e-2·|num|.
 */
export function fdCheck(
  x: HostTensor,
  analytic: ArrayLike<number>,
  loss: () => number,
  what: string,
): void {
  const h = 1e-2;
  for (let i = 0; i < x.data.length; i++) {
    const keep = x.data[i];
    x.data[i] = keep + h;
    const up = loss();
    x.data[i] = keep - h;
    const down = loss();
    x.data[i] = keep;
    const num = (up - down) / (2 * h);
    ok(
      Math.abs(num - analytic[i]) <= 3e-3 + 2e-2 * Math.abs(num),
      `${what}[${i}]: finite difference ${num} vs analytic ${analytic[i]}`,
    );
  }
}

/** Same length and every |a − b| ≤ tol. */
export function close(a: ArrayLike<number>, b: number[], tol = 1e-6): void {
  ok(a.length === b.length, `length ${a.length} vs ${b.length}`);
  for (let i = 0; i < b.length; i++) ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
}

/** `f` throws an error whose message contains `part`. */
export function throwsWith(f: () => unknown, part: string): void {
  try {
    f();
  } catch (e) {
    ok(String(e).includes(part), `${e} lacks "${part}"`);
    return;
  }
  throw new Error(`no error (wanted "${part}")`);
}
