/**
 * Low-level helpers every layer may use: seeded randomness, errors with hints, progress bars,
 * Jupyter display helpers.
 *
 * A seed fixes every draw; a failed check names what was wrong and what to do:
 *
 * @example
 * ```ts
 * import { check, progress, Rng } from "@tokenlab/tokenlab";
 * const rng = new Rng(7);
 * const sample = rng.shuffle(Array.from({ length: 100 }, (_, i) => i)).slice(0, 10);
 * check(sample.length === 10, `expected 10 items, got ${sample.length}`, { hint: "shrink k" });
 * const bar = progress(sample.length, { label: "work" });
 * for (const _ of sample) bar.tick();
 * bar.finish();
 * console.log(sample);
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./rng.ts";
export * from "./progress.ts";
export { isJupyter, JUPYTER_DISPLAY, type MimeBundle } from "./jupyter.ts";
