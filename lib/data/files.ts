/**
 * Source code and executables found on the machine: the code and binary domains.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";

/** A source file's path (relative to its root) and text. */
export interface CodeFile {
  /** Path relative to the searched root. */
  path: string;
  /** Language guessed from the extension. */
  language: string;
  /** File contents. */
  text: string;
}

/** Options for {@linkcode loadCodeFiles}. */
export interface LoadCodeFilesOptions {
  /** Folder to search (default: `node_modules` of the current directory or its parents). */
  root?: string;
  /** Extensions to keep (default: js, mjs, ts, py, c, h, rs, go, java, json excluded). */
  extensions?: string[];
  /** Stop after this many files (default 400). */
  maxFiles?: number;
  /** Skip files larger than this many bytes (default 200 000). */
  maxFileBytes?: number;
}

const LANGUAGES: Record<string, string> = {
  js: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  ts: "typescript",
  py: "python",
  c: "c",
  h: "c",
  cc: "cpp",
  cpp: "cpp",
  rs: "rust",
  go: "go",
  java: "java",
  sh: "shell",
};

/**
 * Loads source files in a deterministic order (sorted paths), skipping minified and huge files.
 *
 * @example
 * ```ts
 * import { loadCodeFiles } from "@tokenlab/tokenlab/data";
 * const files = loadCodeFiles({ maxFiles: 20 });
 * console.log(files.map((f) => f.path));
 * ```
 */
export function loadCodeFiles(options: LoadCodeFilesOptions = {}): CodeFile[] {
  const root = options.root ?? findUp("node_modules");
  const extensions = new Set(options.extensions ?? ["js", "mjs", "ts", "py", "c", "h", "rs"]);
  const maxFiles = options.maxFiles ?? 400;
  const maxBytes = options.maxFileBytes ?? 200_000;
  const paths: string[] = [];
  walk(root, "", (rel) => {
    const ext = rel.slice(rel.lastIndexOf(".") + 1);
    if (extensions.has(ext) && !rel.endsWith(".d.ts") && !/\.min\./.test(rel)) paths.push(rel);
  });
  paths.sort();
  const out: CodeFile[] = [];
  for (const rel of paths) {
    if (out.length >= maxFiles) break;
    const full = `${root}/${rel}`;
    if (Deno.statSync(full).size > maxBytes) continue;
    const text = Deno.readTextFileSync(full);
    // minified files (very long lines) are not representative source code
    if (text.length > 2000 && text.split("\n").length < text.length / 500) continue;
    const ext = rel.slice(rel.lastIndexOf(".") + 1);
    out.push({ path: rel, language: LANGUAGES[ext] ?? ext, text });
  }
  return out;
}

/** One executable file. */
export interface BinaryFile {
  /** File name. */
  name: string;
  /** File contents. */
  bytes: Uint8Array;
}

/** Options for {@linkcode loadElfBinaries}. */
export interface LoadElfBinariesOptions {
  /** Folder to read (default `/usr/bin`). */
  dir?: string;
  /** Stop after this many files (default 64). */
  maxFiles?: number;
  /** Skip files larger than this (default 2 MB). */
  maxFileBytes?: number;
}

/**
 * Loads ELF executables (files starting with `\x7fELF`), sorted by name. Read-only.
 *
 * @example
 * ```ts
 * import { loadElfBinaries } from "@tokenlab/tokenlab/data";
 * const bins = loadElfBinaries({ maxFiles: 4 });
 * console.log(bins.map((b) => [b.name, b.bytes.length]));
 * ```
 */
export function loadElfBinaries(options: LoadElfBinariesOptions = {}): BinaryFile[] {
  const dir = options.dir ?? "/usr/bin";
  const maxFiles = options.maxFiles ?? 64;
  const maxBytes = options.maxFileBytes ?? 2_000_000;
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name).sort();
  } catch (cause) {
    throw new TokenlabError(`cannot list executables in ${dir}`, {
      hint: "pass `dir` pointing at a folder of ELF files",
      cause,
    });
  }
  const out: BinaryFile[] = [];
  for (const name of names) {
    if (out.length >= maxFiles) break;
    const path = `${dir}/${name}`;
    try {
      if (Deno.statSync(path).size > maxBytes) continue;
      const bytes = Deno.readFileSync(path);
      if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
        out.push({ name, bytes });
      }
    } catch { /* unreadable files are skipped */ }
  }
  return out;
}

function findUp(name: string): string {
  let dir = Deno.cwd();
  while (true) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isDirectory) return `${dir}/${name}`;
    } catch { /* keep climbing */ }
    const parent = dir.replace(/\/[^/]+$/, "");
    if (parent === dir || parent === "") break;
    dir = parent;
  }
  throw new TokenlabError(`no ${name} folder in the current directory or its parents`, {
    hint: "run `deno install` in the tokenlab checkout, or pass `root`",
  });
}

function walk(root: string, rel: string, visit: (rel: string) => void): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(rel ? `${root}/${rel}` : root)];
  } catch {
    return;
  }
  for (const e of entries) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory && e.name !== ".bin" && e.name !== "test" && e.name !== "tests") {
      walk(root, child, visit);
    } else if (e.isFile) visit(child);
  }
}
