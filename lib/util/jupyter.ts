/**
 * Small helpers for rich display in Jupyter (Deno kernel).
 *
 * @module
 */

/**
 * The symbol Deno's Jupyter kernel looks for to render an object as a MIME bundle.
 *
 * @example
 * ```ts
 * import { JUPYTER_DISPLAY } from "@tokenlab/tokenlab";
 * const note = { [JUPYTER_DISPLAY]: () => ({ "text/markdown": "**hello**" }) };
 * console.log(typeof note[JUPYTER_DISPLAY]);
 * ```
 */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A Jupyter MIME bundle: MIME type → content. */
export type MimeBundle = Record<string, unknown>;

/**
 * Whether this code runs inside a Deno Jupyter kernel (`Deno.jupyter` exists only there, and
 * reading it elsewhere throws).
 *
 * @example
 * ```ts
 * import { isJupyter } from "@tokenlab/tokenlab";
 * console.log(isJupyter() ? "in a notebook" : "in a script");
 * ```
 */
export function isJupyter(): boolean {
  try {
    // deno-lint-ignore no-explicit-any
    return typeof (Deno as any).jupyter?.broadcast === "function";
  } catch {
    return false;
  }
}

/**
 * Sends a message to the notebook front end (no-op outside Jupyter). Used for displays that
 * update in place (`display_data` with a `display_id`, then `update_display_data`).
 */
export async function jupyterBroadcast(
  msgType: string,
  content: Record<string, unknown>,
): Promise<void> {
  if (!isJupyter()) return;
  try {
    // deno-lint-ignore no-explicit-any
    await (Deno as any).jupyter.broadcast(msgType, content);
  } catch { /* a closed front end must not break the computation */ }
}
