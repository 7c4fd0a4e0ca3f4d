/**
 * Headless notebook runner: executes notebooks on the Deno kernel through Jupyter's own
 * executor (nbclient), several at once (each in its own executor and kernel), injects
 * parameters, and writes executed copies to `site/notebooks/`. Passed runs are cached in
 * `.cache/notebooks/` keyed on everything that can change them (see tools/_cache.ts), so a
 * rerun executes only what changed.
 *
 * Usage: deno task notebooks [ids | paths | globs …] [--profile quick|full] [--timeout S]
 *   [--jobs N] [--force] [--no-cache] [--cache DIR] [--shard K/N] [--out DIR]
 *
 * A notebook whose metadata has `"tokenlab": {"exclusive": true}` runs alone (nothing else runs
 * beside it), for timings that must not share the machine.
 *
 * @module
 */
import { findJupyterPython, repoRoot } from "./_jupyter.ts";
import { type CacheInputs, cacheInputs, cacheKey, lookup, store } from "./_cache.ts";
import { notebookCode } from "./_closure.ts";

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
  /** Wall time (of this command: near 0 when restored from the cache). */
  seconds: number;
  /** Path of the executed copy. */
  output: string | null;
  /** Whether the executed copy came from the cache instead of a run. */
  cached: boolean;
  /** Why it was executed ("--force", "not cached", the inputs that changed…), null when cached. */
  reason: string | null;
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
  /** Folder the records a run wrote under results/ are copied to as well (default: none). */
  recordsDir?: string;
  /** Kernel name (default "deno"). */
  kernel?: string;
  /** Notebooks run at once (default navigator.hardwareConcurrency). */
  jobs?: number;
  /** Cache folder, or false for none (default `.cache/notebooks`). */
  cache?: string | false;
  /** Execute even when the cache has a valid entry (the new run replaces it). */
  force?: boolean;
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

/** A share of the notebooks: the `index`-th (1-based) of `count`. */
export interface Shard {
  /** 1-based shard number. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** Parses "k/n" (1 ≤ k ≤ n). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index >= 1) || index > count) {
    throw new Error(`--shard must be k/n with 1 ≤ k ≤ n (e.g. 2/4), got "${text}"`);
  }
  return { index, count };
}

/**
 * The notebooks of one shard: sorted by path, then every `count`-th from position `index - 1`.
 * The same list always splits the same way, the shards are disjoint, and together they are
 * the whole list (each shard gets ⌊len/count⌋ or one more).
 */
export function selectShard(notebooks: string[], shard: Shard): string[] {
  return [...notebooks].sort().filter((_, i) => i % shard.count === shard.index - 1);
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

/** Whether a notebook asks to run alone (`metadata.tokenlab.exclusive`). */
export function isExclusive(path: string): boolean {
  try {
    return JSON.parse(Deno.readTextFileSync(path)).metadata?.tokenlab?.exclusive === true;
  } catch {
    return false;
  }
}

/** The commit HEAD points at and the files with uncommitted changes, or nulls outside git. */
export function gitState(root: string): { commit: string | null; changed: Set<string> } {
  const git = (args: string[]) => {
    try {
      const out = new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "null" })
        .outputSync();
      return out.success ? new TextDecoder().decode(out.stdout) : null;
    } catch {
      return null;
    }
  };
  const commit = git(["rev-parse", "HEAD"])?.trim() || null;
  const status = git(["status", "--porcelain", "--untracked-files=all"]) ?? "";
  const changed = new Set(
    status.split("\n").filter(Boolean).map((l) => l.slice(3).replace(/^.* -> /, "")),
  );
  return { commit, changed };
}

interface Job {
  k: number;
  nbPath: string;
  abs: string;
  name: string;
  inputs: CacheInputs | null;
  key: string | null;
  reason: string;
  /** Duration of its last cached run, if known (the longest start first). */
  estimate: number | null;
}

/** Runs the notebooks, `jobs` at a time; a failure never stops the others. Results keep the input order. */
export async function runNotebooks(
  notebooks: string[],
  options: RunOptions = {},
): Promise<NotebookResult[]> {
  const root = repoRoot();
  const log = options.log ?? ((l: string) => console.log(l));
  const profile = options.profile ?? "quick";
  const parameters = { ...options.parameters, profile };
  const timeout = options.timeout ?? 600;
  const kernel = options.kernel ?? "deno";
  const jobs = Math.max(1, Math.floor(options.jobs ?? navigator.hardwareConcurrency ?? 1));
  const outDir = options.outDir ?? `${root}/site/notebooks`;
  const cacheDir = options.cache === false ? null : options.cache ?? `${root}/.cache/notebooks`;
  Deno.mkdirSync(outDir, { recursive: true });
  if (options.recordsDir) Deno.mkdirSync(options.recordsDir, { recursive: true });
  const env = {
    TOKENLAB_PROFILE: profile,
    XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp",
  };
  // the kernel inherits this process's environment with `env` on top: its TOKENLAB_* part is in the key
  const kernelEnv: Record<string, string> = { ...Deno.env.toObject(), ...env };
  const git = gitState(root);
  const memo = new Map<string, Promise<string>>();
  const n = notebooks.length;
  const results: (NotebookResult | null)[] = notebooks.map(() => null);
  const queue: Job[] = [];
  let python: string | null | undefined;

  for (const [k, nbPath] of notebooks.entries()) {
    const abs = nbPath.startsWith("/") ? nbPath : `${root}/${nbPath}`;
    const name = abs.slice(abs.lastIndexOf("/") + 1);
    const invalid = validateNotebook(abs);
    if (invalid) {
      log(`[${k + 1}/${n}] ${nbPath}\n  ✗ ${invalid}`);
      results[k] = failure(nbPath, "invalid", invalid);
      continue;
    }
    let inputs: CacheInputs | null = null, key: string | null = null;
    let reason = cacheDir ? "not cached" : "no cache";
    let estimate: number | null = null;
    if (cacheDir) {
      inputs = await cacheInputs(abs, { root, parameters, kernel, env: kernelEnv, memo });
      key = await cacheKey(inputs);
      const found = await lookup(cacheDir, { key, inputs });
      if (options.force) {
        reason = "--force";
        estimate = "entry" in found ? found.entry.seconds : found.seconds;
      } else {
        if ("entry" in found) {
          const output = `${outDir}/${name}`;
          await Deno.copyFile(`${found.dir}/executed.ipynb`, output);
          for (const rel of Object.keys(found.entry.records)) {
            const file = `${found.dir}/records/${rel.slice(rel.lastIndexOf("/") + 1)}`;
            await Deno.mkdir(`${root}/${rel.slice(0, rel.lastIndexOf("/"))}`, { recursive: true });
            await Deno.copyFile(file, `${root}/${rel}`);
            if (options.recordsDir) {
              await Deno.copyFile(
                file,
                `${options.recordsDir}/${rel.slice(rel.lastIndexOf("/") + 1)}`,
              );
            }
          }
          const e = found.entry;
          log(
            `[${k + 1}/${n}] ${nbPath}: cached (executed ${e.executed} at ${
              e.commit
                ? e.commit.slice(0, 10) + (e.commit.includes("+") ? "+uncommitted" : "")
                : "no commit"
            }, ${e.seconds.toFixed(1)} s)`,
          );
          results[k] = {
            notebook: nbPath,
            status: "passed",
            cells: e.cells,
            failedCell: null,
            error: null,
            seconds: 0,
            output,
            cached: true,
            reason: null,
          };
          continue;
        }
        for (const notice of found.notices) log(notice);
        estimate = found.seconds;
        if (found.changed) {
          reason = found.changed.length
            ? `changed: ${found.changed.slice(0, 6).join(", ")}${
              found.changed.length > 6 ? ` and ${found.changed.length - 6} more` : ""
            }`
            : "not cached with these inputs";
        }
      }
    }
    python ??= findJupyterPython();
    if (!python) {
      const why = "Jupyter's executor (nbclient) was not found: run `deno task setup`";
      log(`[${k + 1}/${n}] ${nbPath}\n  ✗ ${why}`);
      results[k] = failure(nbPath, "invalid", why);
      continue;
    }
    queue.push({ k, nbPath, abs, name, inputs, key, reason, estimate });
  }

  const executeOne = async (job: Job, prefix: string) => {
    log(`[${job.k + 1}/${n}] ${job.nbPath} (profile ${profile}; ${job.reason})`);
    const started = Date.now();
    const result = await execute(job, {
      python: python!,
      root,
      outDir,
      kernel,
      timeout,
      parameters,
      env,
      log,
      prefix,
    });
    if (result.output) {
      const records = findRecords(job.abs, { root, executed: result.output, since: started });
      const inputs = job.inputs;
      const touched = inputs
        ? [inputs.notebook, ...inputs.modules.map((m) => m.path), ...inputs.data.map((d) => d.path)]
          .filter((p) => [...git.changed].some((c) => c === p || c.startsWith(`${p}/`)))
        : [];
      const nb = JSON.parse(await Deno.readTextFile(result.output));
      nb.metadata.tokenlab = {
        ...nb.metadata.tokenlab,
        commit: git.commit,
        uncommitted: touched,
        records: Object.keys(records),
        cache_key: job.key,
      };
      await Deno.writeTextFile(result.output, JSON.stringify(nb, null, 1) + "\n");
      if (options.recordsDir) {
        for (const [rel, absPath] of Object.entries(records)) {
          await Deno.copyFile(
            absPath,
            `${options.recordsDir}/${rel.slice(rel.lastIndexOf("/") + 1)}`,
          );
        }
      }
      if (result.status === "passed" && cacheDir && job.key && inputs) {
        try {
          await store(cacheDir, {
            key: job.key,
            inputs,
            executed: result.output,
            records,
            run: {
              executed: nb.metadata.tokenlab.date ?? new Date().toISOString(),
              commit: git.commit ? git.commit + (touched.length ? "+uncommitted" : "") : null,
              seconds: result.seconds,
              cells: result.cells,
            },
          });
        } catch (e) {
          log(`  cache: could not store ${job.nbPath} (${(e as Error).message}); it will rerun`);
        }
      }
    }
    results[job.k] = { ...result, cached: false, reason: job.reason };
  };

  const exclusive = queue.filter((j) => isExclusive(j.abs));
  // longest first (by the last known run; unknown ones first, in list order) shortens the tail
  const shared = queue.filter((j) => !exclusive.includes(j))
    .sort((a, b) => (b.estimate ?? Infinity) - (a.estimate ?? Infinity) || a.k - b.k);
  const prefix = (j: Job) =>
    jobs > 1 && queue.length > 1 ? `${j.name.replace(/\.ipynb$/, "")} ` : "";
  for (const job of exclusive) {
    if (jobs > 1) log(`  ${job.nbPath} asks to run alone (metadata tokenlab.exclusive)`);
    await executeOne(job, prefix(job));
  }
  let next = 0;
  const worker = async () => {
    while (next < shared.length) {
      const job = shared[next++];
      await executeOne(job, prefix(job));
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, shared.length) }, worker));
  return results as NotebookResult[];
}

function failure(
  notebook: string,
  status: NotebookResult["status"],
  error: string,
): NotebookResult {
  return {
    notebook,
    status,
    cells: 0,
    failedCell: null,
    error,
    seconds: 0,
    output: null,
    cached: false,
    reason: null,
  };
}

interface ExecuteContext {
  python: string;
  root: string;
  outDir: string;
  kernel: string;
  timeout: number;
  parameters: Record<string, unknown>;
  env: Record<string, string>;
  log: (line: string) => void;
  prefix: string;
}

/** Executes one notebook in its own executor process (and kernel). */
async function execute(
  job: Job,
  ctx: ExecuteContext,
): Promise<Omit<NotebookResult, "cached" | "reason">> {
  const { nbPath, abs, name } = job;
  const { log, timeout, prefix } = ctx;
  const started = performance.now();
  const output = `${ctx.outDir}/${name}`;
  const spec = {
    source: abs,
    output,
    kernel: ctx.kernel,
    timeout,
    parameters: ctx.parameters,
    cwd: abs.slice(0, abs.lastIndexOf("/")),
  };
  const child = new Deno.Command(ctx.python, {
    args: [`${ctx.root}/tools/_execute_notebook.py`, JSON.stringify(spec)],
    stdout: "piped",
    stderr: "piped",
    env: ctx.env,
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
  let buffer = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
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
          `  ${prefix}cell ${ev.index}/${cells} ${err ? "✗" : "✓"} ${
            (ev.seconds as number).toFixed(1)
          }s` + (err ? `  ${err.ename}: ${err.evalue}` : ""),
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
    return {
      notebook: nbPath,
      status: status.signal === "SIGKILL" ? "timeout" : "failed",
      cells,
      failedCell: null,
      error: `${why}: ${err}`,
      seconds,
      output: null,
    };
  }
  const error = done.error as { ename: string; evalue: string; traceback?: string[] } | null;
  const result = {
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
  return result;
}

/**
 * The record files a run wrote: `results/<name>.json` for each `writeRecord("<name>", …)` in
 * the notebook's code and each `results/…` path its outputs print, that exist and were written
 * since the run started. Repo-relative path → absolute path.
 */
export function findRecords(
  notebookPath: string,
  options: { root: string; executed: string; since: number },
): Record<string, string> {
  const { root } = options;
  const candidates = new Set<string>();
  const source = notebookCode(JSON.parse(Deno.readTextFileSync(notebookPath)));
  for (const m of source.matchAll(/writeRecord\(\s*["'`]([\w.-]+)["'`]/g)) {
    candidates.add(`results/${m[1]}.json`);
  }
  let outputs = "";
  try {
    const nb = JSON.parse(Deno.readTextFileSync(options.executed));
    outputs = JSON.stringify(
      (nb.cells ?? []).map((c: { outputs?: unknown }) => c.outputs ?? []),
    );
  } catch { /* no executed copy: source names only */ }
  for (const m of outputs.matchAll(/\bresults\/[\w.-]+\.(?:json|svg|csv|txt|arrow)/g)) {
    candidates.add(m[0]);
  }
  const out: Record<string, string> = {};
  for (const rel of [...candidates].sort()) {
    try {
      const st = Deno.statSync(`${root}/${rel}`);
      if (st.isFile && (st.mtime?.getTime() ?? 0) >= options.since - 1000) {
        out[rel] = `${root}/${rel}`;
      }
    } catch { /* not written */ }
  }
  return out;
}

/** A plain-text summary table. */
export function summaryTable(results: NotebookResult[]): string {
  const rows = results.map((r) => [
    r.notebook,
    r.status,
    r.cached ? "cached" : "executed",
    `${r.cells}`,
    r.failedCell ? `cell ${r.failedCell}` : "",
    r.seconds.toFixed(1),
  ]);
  const head = ["notebook", "status", "run", "cells", "failed at", "seconds"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join("  ");
  const passed = results.filter((r) => r.status === "passed").length;
  const cached = results.filter((r) => r.cached).length;
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n") +
    `\n${passed} passed, ${results.length - passed} failed; ${
      results.length - cached
    } executed, ${cached} from the cache`;
}

/** The parsed command line of `notebooks` and `reproduce`. */
export interface RunArgs {
  /** Notebook ids, paths or globs. */
  notebooks: string[];
  /** Profile. */
  profile: string;
  /** Per-notebook timeout (s). */
  timeout: number;
  /** Output folder (`notebooks`: executed copies; `reproduce`: the site). */
  outDir?: string;
  /** Notebooks at once. */
  jobs: number;
  /** Rerun even when cached. */
  force: boolean;
  /** Cache folder, or false for none. */
  cache?: string | false;
  /** The share to run. */
  shard?: Shard;
}

/** Parses the command line: notebooks, --profile, --timeout, --out, --jobs, --force, --no-cache, --cache, --shard. */
export function parseArgs(args: string[]): RunArgs {
  const notebooks: string[] = [];
  let profile = "quick", timeout = 600, outDir: string | undefined;
  let jobs = navigator.hardwareConcurrency ?? 1, force = false;
  let cache: string | false | undefined, shard: Shard | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const flag = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (flag === "--profile") profile = value();
    else if (flag === "--timeout") timeout = Number(value());
    else if (flag === "--out") outDir = value();
    else if (flag === "--jobs" || flag === "-j") {
      const v = value();
      jobs = Number(v);
      if (!Number.isInteger(jobs) || jobs < 1) {
        throw new Error(`--jobs must be a whole number ≥ 1, got ${v}`);
      }
    } else if (flag === "--force") force = true;
    else if (flag === "--no-cache") cache = false;
    else if (flag === "--cache") cache = value();
    else if (flag === "--shard") shard = parseShard(value());
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else notebooks.push(a);
  }
  if (!["quick", "full"].includes(profile)) {
    throw new Error(`--profile must be quick or full, got ${profile}`);
  }
  if (!(timeout > 0)) throw new Error(`--timeout must be a positive number of seconds`);
  return { notebooks, profile, timeout, outDir, jobs, force, cache, shard };
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs(Deno.args);
    parsed.notebooks = resolveNotebooks(parsed.notebooks);
    if (parsed.shard) parsed.notebooks = selectShard(parsed.notebooks, parsed.shard);
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
