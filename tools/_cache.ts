// The cache of executed notebooks (`.cache/notebooks/`, git-ignored), in the manner of
// jupyter-cache and Quarto's freeze: an entry is keyed on everything that can change a run, and
// a rerun executes only notebooks whose key has no valid entry.
//
// Layout: <dir>/<notebook stem>/<key>/{entry.json, executed.ipynb, records/…}. An entry is used
// only if entry.json parses, has this schema and version, names the same notebook and key as its
// folder and the lookup, its executed copy parses as a passed nbformat-4 notebook, and every
// record file has the hash entry.json lists. Anything else is ignored with a notice (and the
// notebook reruns, overwriting the entry). Only passed runs are stored; a few entries per
// notebook are kept (several profiles side by side), older ones are pruned.

import { hashFile, type InputFile, notebookInputs, sha256 } from "./_closure.ts";

/** Schema name written into every entry. */
export const CACHE_SCHEMA = "tokenlab-notebook-cache";
/** Bump when the key or the entry layout changes: older entries then miss. */
export const CACHE_VERSION = 1;
/** Entries kept per notebook. */
const KEEP_PER_NOTEBOOK = 3;

/** Everything a cache key is computed from (stored in the entry, to explain misses). */
export interface CacheInputs {
  /** Notebook path relative to the repo. */
  notebook: string;
  /** sha256 of the notebook file. */
  source: string;
  /** sha256 of deno.lock ("missing" without one). */
  lock: string;
  /** sha256 of deno.json's imports and compilerOptions. */
  config: string;
  /** Deno version running the kernel. */
  deno: string;
  /** sha256 of the executor script (tools/_execute_notebook.py). */
  executor: string;
  /** Kernel name. */
  kernel: string;
  /** Injected parameters (profile …). */
  parameters: Record<string, unknown>;
  /** TOKENLAB_* environment variables that reach the kernel. */
  env: Record<string, string>;
  /** Local modules of the import closure with their hashes. */
  modules: InputFile[];
  /** Data files and folders with their hashes. */
  data: InputFile[];
}

/** A stored entry's entry.json. */
export interface CacheEntry {
  /** Always {@linkcode CACHE_SCHEMA}. */
  schema: string;
  /** Always {@linkcode CACHE_VERSION}. */
  version: number;
  /** The key (sha256 of the canonical inputs). */
  key: string;
  /** What the key was computed from. */
  inputs: CacheInputs;
  /** When the notebook was executed (ISO). */
  executed: string;
  /** Commit it was executed at (with "+dirty" when the tree had changes). */
  commit: string | null;
  /** Wall time of the run. */
  seconds: number;
  /** Number of code cells. */
  cells: number;
  /** Record files the run wrote under results/: relative path → sha256. */
  records: Record<string, string>;
}

/** Options of {@linkcode cacheInputs}. */
export interface CacheInputsOptions {
  /** Repository root. */
  root: string;
  /** Parameters injected into the notebook. */
  parameters: Record<string, unknown>;
  /** Kernel name. */
  kernel: string;
  /** Environment passed to the kernel (TOKENLAB_* names are kept). */
  env?: Record<string, string>;
  /** Deno version (default: this process's). */
  deno?: string;
  /** Hash memo shared across notebooks. */
  memo?: Map<string, Promise<string>>;
}

/** Computes the inputs of a notebook's cache key. */
export async function cacheInputs(
  notebook: string,
  options: CacheInputsOptions,
): Promise<CacheInputs> {
  const { root } = options;
  const abs = notebook.startsWith("/") ? notebook : `${root}/${notebook}`;
  const memo = options.memo ?? new Map<string, Promise<string>>();
  const deps = await notebookInputs(abs, { root, memo });
  const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
  const env = Object.fromEntries(
    Object.entries(options.env ?? {}).filter(([k]) => k.startsWith("TOKENLAB_")).sort(),
  );
  return {
    notebook: abs.startsWith(`${root}/`) ? abs.slice(root.length + 1) : abs,
    source: await hashFile(abs),
    lock: await hashFile(`${root}/deno.lock`, memo),
    config: await sha256(
      canonical({ imports: config.imports ?? {}, compilerOptions: config.compilerOptions ?? {} }),
    ),
    deno: options.deno ?? Deno.version.deno,
    executor: await hashFile(`${root}/tools/_execute_notebook.py`, memo),
    kernel: options.kernel,
    parameters: options.parameters,
    env,
    modules: deps.modules,
    data: deps.data,
  };
}

/** JSON with sorted object keys, so equal inputs give equal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );
}

/** The key of a set of inputs. */
export function cacheKey(inputs: CacheInputs): Promise<string> {
  return sha256(canonical({ schema: CACHE_SCHEMA, version: CACHE_VERSION, inputs }));
}

/** The names (relative to the repo) of what differs between two sets of inputs. */
export function changedInputs(old: CacheInputs, now: CacheInputs): string[] {
  const out: string[] = [];
  for (const k of ["source", "lock", "config", "deno", "executor", "kernel"] as const) {
    if (old[k] !== now[k]) out.push(k === "source" ? now.notebook : k);
  }
  if (canonical(old.parameters) !== canonical(now.parameters)) out.push("parameters");
  if (canonical(old.env) !== canonical(now.env)) out.push("environment");
  for (const k of ["modules", "data"] as const) {
    const before = new Map((old[k] ?? []).map((f) => [f.path, f.sha256]));
    const after = new Map(now[k].map((f) => [f.path, f.sha256]));
    for (const [p, h] of after) if (before.get(p) !== h) out.push(p);
    for (const p of before.keys()) if (!after.has(p)) out.push(`${p} (no longer imported)`);
  }
  return out;
}

function stem(notebook: string): string {
  return notebook.slice(notebook.lastIndexOf("/") + 1).replace(/\.ipynb$/, "");
}

/** A valid cached run. */
export interface CacheHit {
  /** The entry. */
  entry: CacheEntry;
  /** Folder of the entry. */
  dir: string;
}

/** Why a lookup missed: no entry, or the notices about entries that were ignored. */
export interface CacheMiss {
  /** Notices about corrupt or foreign entries (empty when there simply was none). */
  notices: string[];
  /** What changed since the newest valid entry of this notebook, when there is one. */
  changed: string[] | null;
  /** How long that entry's run took (a duration estimate for scheduling), when there is one. */
  seconds: number | null;
}

/** Looks up a notebook's entry for `key` under `dir`. */
export async function lookup(
  dir: string,
  options: { key: string; inputs: CacheInputs },
): Promise<CacheHit | CacheMiss> {
  const { key, inputs } = options;
  const nbDir = `${dir}/${stem(inputs.notebook)}`;
  const notices: string[] = [];
  const entryDir = `${nbDir}/${key}`;
  if (exists(entryDir)) {
    const why = await invalid(entryDir, { key, notebook: inputs.notebook });
    if (why === null) {
      const entry = JSON.parse(Deno.readTextFileSync(`${entryDir}/entry.json`)) as CacheEntry;
      return { entry, dir: entryDir };
    }
    notices.push(`cache: ignoring entry ${entryDir.slice(dir.length + 1)}: ${why}; rerunning`);
  }
  // explain the miss against the newest readable entry of the same notebook
  let newest: CacheEntry | null = null;
  for (const e of listDirs(nbDir)) {
    if (e === key) continue;
    try {
      const entry = JSON.parse(Deno.readTextFileSync(`${nbDir}/${e}/entry.json`)) as CacheEntry;
      if (entry.schema !== CACHE_SCHEMA || entry.version !== CACHE_VERSION) continue;
      if (!newest || entry.executed > newest.executed) newest = entry;
    } catch { /* ignored: not ours to explain */ }
  }
  return {
    notices,
    changed: newest ? changedInputs(newest.inputs, inputs) : null,
    seconds: newest && typeof newest.seconds === "number" ? newest.seconds : null,
  };
}

/** Why the entry in `entryDir` must not be trusted, or null when it is valid. */
export async function invalid(
  entryDir: string,
  expected: { key: string; notebook: string },
): Promise<string | null> {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(Deno.readTextFileSync(`${entryDir}/entry.json`));
  } catch (e) {
    return `entry.json is unreadable or not JSON (${(e as Error).message.split("\n")[0]})`;
  }
  if (!entry || typeof entry !== "object") return "entry.json is not an object";
  if (entry.schema !== CACHE_SCHEMA) return `schema is ${JSON.stringify(entry.schema)}, not ours`;
  if (entry.version !== CACHE_VERSION) {
    return `version ${JSON.stringify(entry.version)} (this runner writes ${CACHE_VERSION})`;
  }
  if (entry.key !== expected.key || entryDir.slice(entryDir.lastIndexOf("/") + 1) !== entry.key) {
    return "its key does not match its folder or the notebook's inputs";
  }
  if (!entry.inputs || entry.inputs.notebook !== expected.notebook) {
    return `it is for ${JSON.stringify(entry.inputs?.notebook)}, not ${expected.notebook}`;
  }
  if ((await cacheKey(entry.inputs)) !== entry.key) return "its inputs do not hash to its key";
  try {
    const nb = JSON.parse(Deno.readTextFileSync(`${entryDir}/executed.ipynb`));
    if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) return "executed.ipynb is not nbformat 4";
    if (nb.metadata?.tokenlab?.status !== "passed") return "executed.ipynb is not a passed run";
  } catch (e) {
    return `executed.ipynb is missing or not JSON (${(e as Error).message.split("\n")[0]})`;
  }
  for (const [path, hash] of Object.entries(entry.records ?? {})) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    if ((await hashFile(`${entryDir}/records/${name}`)) !== hash) {
      return `record ${path} is missing or changed`;
    }
  }
  return null;
}

/** Options of {@linkcode store}. */
export interface StoreOptions {
  /** The key. */
  key: string;
  /** The inputs behind the key. */
  inputs: CacheInputs;
  /** Path of the executed copy to store. */
  executed: string;
  /** Record files to store: repo-relative path → absolute path. */
  records: Record<string, string>;
  /** Metadata of the run. */
  run: { executed: string; commit: string | null; seconds: number; cells: number };
}

/** Stores a passed run; writes into a temporary folder and renames it into place. */
export async function store(dir: string, options: StoreOptions): Promise<string> {
  const nbDir = `${dir}/${stem(options.inputs.notebook)}`;
  const final = `${nbDir}/${options.key}`;
  const tmp = `${nbDir}/.tmp-${options.key}-${Deno.pid}`;
  await Deno.mkdir(`${tmp}/records`, { recursive: true });
  await Deno.copyFile(options.executed, `${tmp}/executed.ipynb`);
  const records: Record<string, string> = {};
  for (const [rel, abs] of Object.entries(options.records)) {
    const name = rel.slice(rel.lastIndexOf("/") + 1);
    await Deno.copyFile(abs, `${tmp}/records/${name}`);
    records[rel] = await hashFile(`${tmp}/records/${name}`);
  }
  const entry: CacheEntry = {
    schema: CACHE_SCHEMA,
    version: CACHE_VERSION,
    key: options.key,
    inputs: options.inputs,
    ...options.run,
    records,
  };
  await Deno.writeTextFile(`${tmp}/entry.json`, JSON.stringify(entry, null, 1) + "\n");
  await Deno.remove(final, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, final);
  prune(nbDir, options.key);
  return final;
}

/** Keeps the newest entries of one notebook (and `keep`); removes the rest and stale temp dirs. */
function prune(nbDir: string, keep: string): void {
  const entries = listDirs(nbDir).map((name) => {
    const path = `${nbDir}/${name}`;
    let when = "";
    try {
      when = JSON.parse(Deno.readTextFileSync(`${path}/entry.json`)).executed ?? "";
    } catch { /* unreadable: oldest */ }
    return { name, path, when };
  }).filter((e) => !e.name.startsWith(".tmp-")).sort((a, b) => (a.when < b.when ? 1 : -1));
  const kept = new Set([keep, ...entries.slice(0, KEEP_PER_NOTEBOOK).map((e) => e.name)]);
  for (const e of entries) {
    if (!kept.has(e.name)) Deno.removeSync(e.path, { recursive: true });
  }
}

function listDirs(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}
