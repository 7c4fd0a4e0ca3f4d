/**
 * Progress bars that update in place in a terminal and in a Jupyter notebook, and print
 * sparse lines in CI logs.
 *
 * @module
 */
import { check } from "./errors.ts";
import { isJupyter, jupyterBroadcast } from "./jupyter.ts";

/** Where a bar writes when it is not in Jupyter. */
export interface ProgressStream {
  /** Writes text synchronously. */
  writeSync(p: Uint8Array): number;
  /** Whether the stream is a terminal (bars redraw in place with `\r`). */
  isTerminal?(): boolean;
}

/** Options for {@linkcode progress}. */
export interface ProgressOptions {
  /** What is being done, shown before the bar. */
  label?: string;
  /** Unit of the counter (e.g. `"merges"`, `"MB"`), used in the rate. */
  unit?: string;
  /** Output stream (default: stderr). */
  stream?: ProgressStream;
  /** On non-terminal streams, print at most one line per this many ms (default 5000). */
  lineIntervalMs?: number;
  /** Force the Jupyter display on or off (default: detected). */
  jupyter?: boolean;
  /**
   * Sends Jupyter display messages (default: the kernel's `Deno.jupyter.broadcast`); for tests
   * or other front ends. Errors it throws are ignored.
   */
  broadcast?: (msgType: string, content: Record<string, unknown>) => unknown;
  /** Clock, for tests (default `performance.now`). */
  now?: () => number;
}

/** A running progress bar. */
export interface ProgressBar {
  /** Advances by `n` (default 1). */
  tick(n?: number): void;
  /** Sets the absolute count. */
  set(done: number): void;
  /** Shows a short note beside the bar (e.g. the current loss). */
  note(text: string): void;
  /** Completes the bar and prints the final state once. */
  finish(): void;
  /** The current count. */
  readonly done: number;
}

let displayCounter = 0;

/**
 * Starts a progress bar over `total` steps, with rate and ETA.
 *
 * @example
 * ```ts
 * import { progress } from "@tokenlab/tokenlab";
 * const bar = progress(100, { label: "training", unit: "merges" });
 * for (let i = 0; i < 100; i++) bar.tick();
 * bar.finish();
 * ```
 */
export function progress(total: number, options: ProgressOptions = {}): ProgressBar {
  check(
    Number.isFinite(total) && total >= 0,
    `progress total must be a finite number >= 0, got ${total}`,
  );
  const now = options.now ?? (() => performance.now());
  const stream = options.stream ?? Deno.stderr;
  const jupyter = options.jupyter ?? isJupyter();
  let tty = false;
  try {
    tty = stream.isTerminal?.() ?? false;
  } catch { /* treat as not a terminal */ }
  const interval = options.lineIntervalMs ?? 5000;
  const start = now();
  const displayId = `tokenlab-progress-${Deno.pid}-${++displayCounter}`;
  let done = 0, noteText = "", lastDraw = -Infinity, finished = false, shown = false;
  const enc = new TextEncoder();

  function line(): string {
    const frac = total > 0 ? Math.min(done / total, 1) : 1;
    const width = 24;
    const full = Math.round(frac * width);
    const elapsed = (now() - start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 && done < total ? (total - done) / rate : 0;
    return `${options.label ? options.label + " " : ""}[${"#".repeat(full)}${
      ".".repeat(width - full)
    }] ${done}/${total} ${(frac * 100).toFixed(0)}% ${fmtRate(rate, options.unit)} ` +
      `${finished ? `in ${fmtTime(elapsed)}` : `ETA ${fmtTime(eta)}`}${
        noteText ? " " + noteText : ""
      }`;
  }

  function write(text: string): void {
    try {
      stream.writeSync(enc.encode(text));
    } catch { /* a closed stream must not break the computation */ }
  }

  function draw(force: boolean): void {
    const t = now();
    if (jupyter) {
      if (!force && t - lastDraw < 200) return;
      lastDraw = t;
      const text = line();
      const frac = total > 0 ? Math.min(done / total, 1) : 1;
      const html = `<div style="font-family:monospace;font-size:12px">` +
        `<progress value="${frac}" max="1" style="width:240px;vertical-align:middle"></progress> ` +
        `${escapeHtml(text.replace(/\[[#.]*\] /, ""))}</div>`;
      const send = options.broadcast ?? jupyterBroadcast;
      try {
        const sent = send(shown ? "update_display_data" : "display_data", {
          data: { "text/plain": text, "text/html": html },
          metadata: {},
          transient: { display_id: displayId },
        });
        if (sent instanceof Promise) sent.catch(() => {});
      } catch { /* a closed front end must not break the computation */ }
      shown = true;
      return;
    }
    if (tty) {
      if (!force && t - lastDraw < 100) return;
      lastDraw = t;
      write(`\r\x1b[2K${line()}${finished ? "\n" : ""}`);
    } else {
      if (!force && t - lastDraw < interval) return;
      lastDraw = t;
      write(line() + "\n");
    }
  }

  return {
    tick(n = 1) {
      done += n;
      draw(false);
    },
    set(value: number) {
      done = value;
      draw(false);
    },
    note(text: string) {
      noteText = text;
    },
    finish() {
      if (finished) return;
      finished = true;
      draw(true);
    },
    get done() {
      return done;
    },
  };
}

function fmtRate(rate: number, unit = "it"): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(1)}M ${unit}/s`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)}k ${unit}/s`;
  return `${rate.toFixed(rate < 10 ? 2 : 0)} ${unit}/s`;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}
