/**
 * Headless notebook runner: executes notebooks on the Deno kernel through Jupyter's own
 * executor (nbclient), injects parameters, and writes executed copies to `site/notebooks/`.
 *
 * Usage: deno task notebooks [ids | paths | globs …] [--profile quick|full] [--timeout S]
 *
 * @module
 */
import { findJupyterPython, repoRoot } from "./_jupyter.ts";

/** One notebook's outcome. */
export interface NotebookResult {
  /** Notebook path relative to the repo. */
  notebook: string;
  /** Outcome. */
  status: "passed" | "failed" | "timeout" | "invalid";
  /** Number of code cells. */
  cells: number;
  /** The 1-based code cell that failed, if any. */
  failedCell: number | null;
  /** Error name and message, if any. */
  error: string | null;
  /** Wall time. */
  seconds: number;
  /** Path of the executed copy. */
  output: string | null;
}

/** Options of {@linkcode runNotebooks}. */
export interface RunOptions {
  /** Parameters injected into the `parameters` cell (profile always included). */
  parameters?: Record<string, unknown>;
  /** Profile name (default "quick"). */
  profile?: string;
  /** Per-notebook timeout in seconds (default 600). */
  timeout?: number;
  /** Folder for executed copies (default `site/notebooks`). */
  outDir?: string;
  /** Kernel name (default "deno"). */
  kernel?: string;
  /** Where progress goes (default console.log). */
  log?: (line: string) => void;
}

/** Resolves ids ("00", "00-tour"), paths and globs to notebook paths (sorted, unique). */
export function resolveNotebooks(args: string[], root: string = repoRoot()): string[] {
  const all = [...Deno.readDirSync(`${root}/notebooks`)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => `notebooks/${e.name}`)
    .sort();
  if (args.length === 0) return all;
  const out = new Set<string>();
  for (const arg of args) {
    if (arg.endsWith(".ipynb") && !/[*?]/.test(arg)) {
      try {
        Deno.statSync(arg.startsWith("/") ? arg : `${root}/${arg}`);
        out.add(arg);
        continue;
      } catch { /* fall through to matching */ }
    }
    const re = /[*?]/.test(arg)
      ? new RegExp(
        "^" + arg.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") +
          "$",
      )
      : null;
    const hits = all.filter((p) => {
      const name = p.slice("notebooks/".length);
      if (re) return re.test(p) || re.test(name);
      return name === arg || name === `${arg}.ipynb` || name.startsWith(`${arg}-`);
    });
    if (hits.length === 0) {
      throw new Error(
        `no notebook matches "${arg}" (available: ${
          all.map((p) => p.slice(10)).join(", ") || "none"
        })`,
      );
    }
    hits.forEach((h) => out.add(h));
  }
  return [...out].sort();
}

/** Checks that a file is a readable nbformat-4 notebook; returns an error message or null. */
export function validateNotebook(path: string): string | null {
  let nb: { nbformat?: number; cells?: unknown };
  try {
    nb = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    return `${path} is not valid JSON (${(e as Error).message}); open it in Jupyter to repair it`;
  }
  if (nb.nbformat !== 4) return `${path} is not an nbformat 4 notebook (nbformat=${nb.nbformat})`;
  if (!Array.isArray(nb.cells)) return `${path} has no cells array`;
  return null;
}

/** Runs the notebooks one after another; a failure never stops the others. */
export async function runNotebooks(
  notebooks: string[],
  options: RunOptions = {},
): Promise<NotebookResult[]> {
  const root = repoRoot();
  const log = options.log ?? ((l: string) => console.log(l));
  const profile = options.profile ?? "quick";
  const parameters = { ...options.parameters, profile };
  const timeout = options.timeout ?? 600;
  const outDir = options.outDir ?? `${root}/site/notebooks`;
  Deno.mkdirSync(outDir, { recursive: true });
  const python = findJupyterPython();
  const results: NotebookResult[] = [];
  for (const [k, nbPath] of notebooks.entries()) {
    const abs = nbPath.startsWith("/") ? nbPath : `${root}/${nbPath}`;
    const name = abs.slice(abs.lastIndexOf("/") + 1);
    const started = performance.now();
    log(`[${k + 1}/${notebooks.length}] ${nbPath} (profile ${profile})`);
    const invalid = validateNotebook(abs) ??
      (python ? null : "Jupyter's executor (nbclient) was not found: run `deno task setup`");
    if (invalid) {
      log(`  ✗ ${invalid}`);
      results.push({
        notebook: nbPath,
        status: "invalid",
        cells: 0,
        failedCell: null,
        error: invalid,
        seconds: 0,
        output: null,
      });
      continue;
    }
    const output = `${outDir}/${name}`;
    const job = {
      source: abs,
      output,
      kernel: options.kernel ?? "deno",
      timeout,
      parameters,
      cwd: abs.slice(0, abs.lastIndexOf("/")),
    };
    const child = new Deno.Command(python!, {
      args: [`${root}/tools/_execute_notebook.py`, JSON.stringify(job)],
      stdout: "piped",
      stderr: "piped",
      env: {
        TOKENLAB_PROFILE: profile,
        XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp",
      },
    }).spawn();
    // Safety net beyond nbclient's own per-cell timeout (kernel start, hung executor).
    const killer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, (timeout + 60) * 1000);
    const stderrText = new Response(child.stderr).text();
    let done: Record<string, unknown> | null = null;
    let cells = 0;
    const decoder = new TextDecoderStream();
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(decoder)) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let ev: Record<string, unknown>;
        try {
          ev = JSON.parse(line);
        } catch {
          continue;
        }
        if (ev.event === "start") cells = ev.cells as number;
        if (ev.event === "cell") {
          const err = ev.error as { ename: string; evalue: string } | null;
          log(
            `  cell ${ev.index}/${cells} ${err ? "✗" : "✓"} ${(ev.seconds as number).toFixed(1)}s` +
              (err ? `  ${err.ename}: ${err.evalue}` : ""),
          );
        }
        if (ev.event === "done") done = ev;
      }
    }
    const status = await child.status;
    clearTimeout(killer);
    const seconds = (performance.now() - started) / 1000;
    if (!done) {
      const err = (await stderrText).trim().split("\n").slice(-5).join("\n");
      const why = status.signal === "SIGKILL"
        ? `killed after ${timeout + 60}s`
        : `executor exited with code ${status.code}`;
      log(`  ✗ ${nbPath}: ${why}\n${err}`);
      results.push({
        notebook: nbPath,
        status: status.signal === "SIGKILL" ? "timeout" : "failed",
        cells,
        failedCell: null,
        error: `${why}: ${err}`,
        seconds,
        output: null,
      });
      continue;
    }
    const error = done.error as { ename: string; evalue: string; traceback?: string[] } | null;
    const result: NotebookResult = {
      notebook: nbPath,
      status: done.status as NotebookResult["status"],
      cells: done.cells as number,
      failedCell: done.failed_cell as number | null,
      error: error ? `${error.ename}: ${error.evalue}` : null,
      seconds,
      output,
    };
    if (result.status === "passed") log(`  ✓ ${nbPath} in ${seconds.toFixed(1)}s`);
    else {
      log(
        `  ✗ ${nbPath}: ${result.status} in code cell ${
          result.failedCell ?? "?"
        } of ${result.cells}` +
          ` — ${result.error}`,
      );
    }
    results.push(result);
  }
  return results;
}

/** A plain-text summary table. */
export function summaryTable(results: NotebookResult[]): string {
  const rows = results.map((r) => [
    r.notebook,
    r.status,
    `${r.cells}`,
    r.failedCell ? `cell ${r.failedCell}` : "",
    r.seconds.toFixed(1),
  ]);
  const head = ["notebook", "status", "cells", "failed at", "seconds"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join("  ");
  const passed = results.filter((r) => r.status === "passed").length;
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n") +
    `\n${passed} passed, ${results.length - passed} failed`;
}

/** Parses the command line: notebooks, --profile, --timeout, --out. */
export function parseArgs(
  args: string[],
): { notebooks: string[]; profile: string; timeout: number; outDir?: string } {
  const notebooks: string[] = [];
  let profile = "quick", timeout = 600, outDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a.startsWith("--profile")) profile = value();
    else if (a.startsWith("--timeout")) timeout = Number(value());
    else if (a.startsWith("--out")) outDir = value();
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else notebooks.push(a);
  }
  if (!["quick", "full"].includes(profile)) {
    throw new Error(`--profile must be quick or full, got ${profile}`);
  }
  if (!(timeout > 0)) throw new Error(`--timeout must be a positive number of seconds`);
  return { notebooks, profile, timeout, outDir };
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs(Deno.args);
    parsed.notebooks = resolveNotebooks(parsed.notebooks);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
  if (parsed.notebooks.length === 0) {
    console.log("no notebooks to run");
    Deno.exit(0);
  }
  const results = await runNotebooks(parsed.notebooks, parsed);
  console.log("\n" + summaryTable(results));
  Deno.exit(results.every((r) => r.status === "passed") ? 0 : 1);
}
