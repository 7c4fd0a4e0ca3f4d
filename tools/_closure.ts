// What a notebook depends on: the transitive closure of the local modules its code cells import
// (through deno.json's import map and relative imports), and the data files that code names.
//
// The scanner reads import statements, not a full parse: `import … from "x"`, `export … from "x"`,
// `import "x"` at a line start, `import("x")` with a literal specifier anywhere (also in doc
// comments, which only over-counts), and `new URL("./x", import.meta.url)` (workers, bundled
// files). tests/tools/_closure_test.ts checks it finds at least every local module `deno info`
// finds. npm: and jsr: packages are not followed: deno.lock pins them and is part of the key.
//
// Data: string literals naming a path under data/ or tests/fixtures/ (after `${root}/`, `../`,
// `./` or a quote) in the notebook or in any module of its closure; the longest static prefix of
// the path (up to a `${`) is taken, so `${root}/data/models/${n}` counts all of data/models/.
// Absolute /usr/share/… folders named in the closure (system dictionaries) count by their
// listing (names and sizes). Not tracked: files a notebook finds by computed names outside
// these folders, remote URLs, and the machine itself (GPU, driver): use --force after changing them.

/** A local module or data file with its content hash. */
export interface InputFile {
  /** Path relative to the repository root (absolute for system folders). */
  path: string;
  /** sha256 of the content (of the listing, for a system folder). */
  sha256: string;
}

/** What one notebook depends on. */
export interface NotebookInputs {
  /** Local modules in the import closure, sorted by path. */
  modules: InputFile[];
  /** Data files and folders the code names, sorted by path. */
  data: InputFile[];
  /** Specifiers left to deno.lock (npm:, jsr:, node:) or not resolvable, sorted. */
  external: string[];
}

/** Import map (the `imports` of deno.json) with local targets made absolute. */
export interface ImportMap {
  /** Specifier → absolute local path or external specifier. */
  imports: Record<string, string>;
}

// the clause between `import`/`export` and `from`: names, braces, commas, `*`, comments
const IMPORT_FROM =
  /(?:^|[;\n])\s*(?:import|export)\s+(?:type\s+)?(?:[\w\s{},*$]|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*?\s*from\s*["']([^"'\n]+)["']/g;
const IMPORT_BARE = /(?:^|[;\n])\s*import\s*["']([^"'\n]+)["']/g;
const IMPORT_DYNAMIC = /\bimport\s*\(\s*["']([^"'\n]+)["']/g;
const URL_META = /new\s+URL\(\s*["'](\.{1,2}\/[^"'\n]+)["']\s*,\s*import\.meta\.url\s*\)/g;
const DATA_PATH = /(?:\$\{[^}]*\}\/|\.\.?\/|["'`])((?:data|tests\/fixtures)\/[^"'`\s$)]*)/g;
const SYSTEM_DIR = /["'`](\/usr\/share\/[\w.+-]+)/g;

/** The specifiers one module's source imports (statically, dynamically, or via import.meta.url). */
export function importSpecifiers(source: string): string[] {
  const out = new Set<string>();
  for (const re of [IMPORT_FROM, IMPORT_BARE, IMPORT_DYNAMIC, URL_META]) {
    for (const m of source.matchAll(re)) out.add(m[1]);
  }
  return [...out].sort();
}

/** Reads deno.json's import map under `root`; local targets become absolute paths. */
export function readImportMap(root: string): ImportMap {
  const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
  const imports: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.imports ?? {})) {
    if (typeof v !== "string") continue;
    imports[k] = v.startsWith("./") || v.startsWith("../") ? normalize(`${root}/${v}`) : v;
  }
  return { imports };
}

/** Collapses `.` and `..` segments of an absolute path. */
export function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

/** Resolves one specifier from `fromDir`: an absolute local path, or null when external. */
export function resolveSpecifier(spec: string, fromDir: string, map: ImportMap): string | null {
  if (spec.startsWith("./") || spec.startsWith("../")) return normalize(`${fromDir}/${spec}`);
  if (spec.startsWith("/")) return normalize(spec);
  if (spec.startsWith("file://")) return normalize(new URL(spec).pathname);
  const exact = map.imports[spec];
  if (exact !== undefined) return exact.startsWith("/") ? exact : null;
  // longest prefix entry ending in "/" (import-map semantics)
  let best: string | null = null;
  for (const k of Object.keys(map.imports)) {
    if (k.endsWith("/") && spec.startsWith(k) && (!best || k.length > best.length)) best = k;
  }
  if (best) {
    const target = map.imports[best];
    return target.startsWith("/") ? normalize(target + spec.slice(best.length)) : null;
  }
  return null;
}

/** Joins a notebook's code cells into one source text. */
export function notebookCode(nb: { cells?: { cell_type?: string; source?: unknown }[] }): string {
  return (nb.cells ?? []).filter((c) => c.cell_type === "code")
    .map((c) => Array.isArray(c.source) ? c.source.join("") : String(c.source ?? "")).join("\n;\n");
}

/** Hashes bytes with sha256, as hex. */
export async function sha256(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode notebookInputs}. */
export interface InputsOptions {
  /** Repository root (holds deno.json). */
  root: string;
  /** Memo of file hashes shared across notebooks of one run. */
  memo?: Map<string, Promise<string>>;
}

/** The modules and data one notebook depends on, each with its hash. */
export async function notebookInputs(
  notebookPath: string,
  options: InputsOptions,
): Promise<NotebookInputs> {
  const { root } = options;
  const memo = options.memo ?? new Map<string, Promise<string>>();
  const map = readImportMap(root);
  const nbAbs = notebookPath.startsWith("/") ? notebookPath : `${root}/${notebookPath}`;
  const code = notebookCode(JSON.parse(Deno.readTextFileSync(nbAbs)));
  const modules = new Set<string>();
  const external = new Set<string>();
  const sources: string[] = [code];
  const queue: [string, string][] = importSpecifiers(code).map((s) => [s, dirname(nbAbs)]);
  while (queue.length) {
    const [spec, from] = queue.shift()!;
    const path = resolveSpecifier(spec, from, map);
    if (path === null) {
      external.add(spec);
      continue;
    }
    if (modules.has(path)) continue;
    modules.add(path);
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      continue; // hashed as missing below: a file that appears later changes the key
    }
    if (!/\.(m?[jt]sx?|d\.ts)$/.test(path)) continue; // JSON and other assets: no imports
    sources.push(text);
    for (const s of importSpecifiers(text)) queue.push([s, dirname(path)]);
  }
  const data = new Map<string, Promise<string>>();
  for (const src of sources) {
    for (const m of src.matchAll(DATA_PATH)) {
      let rel = m[1].replace(/\/+$/, "");
      while (rel && !exists(`${root}/${rel}`)) {
        rel = rel.slice(0, Math.max(0, rel.lastIndexOf("/")));
      }
      if (rel.includes("/") && !data.has(rel)) data.set(rel, hashTree(`${root}/${rel}`, memo));
    }
    for (const m of src.matchAll(SYSTEM_DIR)) {
      if (!data.has(m[1]) && exists(m[1])) data.set(m[1], listingHash(m[1]));
    }
  }
  const rel = (p: string) => p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p;
  const moduleFiles = await Promise.all(
    [...modules].sort().map(async (p) => ({ path: rel(p), sha256: await hashFile(p, memo) })),
  );
  const dataFiles = await Promise.all(
    [...data.keys()].sort().map(async (p) => ({ path: p, sha256: await data.get(p)! })),
  );
  return { modules: moduleFiles, data: dataFiles, external: [...external].sort() };
}

function dirname(p: string): string {
  return p.slice(0, p.lastIndexOf("/")) || "/";
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** sha256 of a file's bytes, or "missing". */
export function hashFile(path: string, memo?: Map<string, Promise<string>>): Promise<string> {
  const hit = memo?.get(path);
  if (hit) return hit;
  const p = Deno.readFile(path).then((b) => sha256(b), () => "missing");
  memo?.set(path, p);
  return p;
}

/** sha256 over a file, or over the sorted paths and hashes of every file in a folder. */
function hashTree(path: string, memo: Map<string, Promise<string>>): Promise<string> {
  const key = `tree:${path}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const run = (async () => {
    if (!Deno.statSync(path).isDirectory) return await hashFile(path, memo);
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isDirectory) walk(`${dir}/${e.name}`);
        else if (e.isFile) files.push(`${dir}/${e.name}`);
      }
    };
    walk(path);
    files.sort();
    const parts = await Promise.all(
      files.map(async (f) => `${f.slice(path.length + 1)} ${await hashFile(f, memo)}`),
    );
    return await sha256(parts.join("\n"));
  })();
  memo.set(key, run);
  return run;
}

/** sha256 of a system folder's listing (names, sizes, modification times). */
function listingHash(path: string): Promise<string> {
  const rows = [...Deno.readDirSync(path)].map((e) => {
    const s = Deno.statSync(`${path}/${e.name}`);
    return `${e.name} ${s.size} ${s.mtime?.getTime() ?? 0}`;
  }).sort();
  return sha256(rows.join("\n"));
}
