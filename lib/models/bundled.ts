/**
 * The models bundled with the repository under `data/models/<name>` (the tiny target and
 * draft models and the tokenizer they share), found from the repository root, a notebook's
 * folder or any folder below the root.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";

/** Options for {@linkcode bundledModelPath} and {@linkcode bundledModelNames}. */
export interface BundledModelOptions {
  /**
   * Folder to start from: it and each parent is searched for `data/models` (default: the
   * current directory, then the repository this module was loaded from).
   */
  from?: string;
}

/**
 * Path of the bundled model folder `data/models/<name>`, found from `options.from` (or the
 * current directory) upwards, so the same call works from the repository root and from a
 * notebook in `notebooks/`. Fails with a {@linkcode TokenlabError} listing the names there.
 *
 * @example
 * ```ts
 * import { bundledModelPath, loadModel } from "@tokenlab/tokenlab/models";
 * const model = await loadModel(bundledModelPath("tiny-target"));
 * console.log(model.config.numLayers);
 * ```
 */
export function bundledModelPath(name: string, options: BundledModelOptions = {}): string {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new TokenlabError(`bundled model name ${JSON.stringify(name)} is not a folder name`, {
      hint: 'pass a name such as "tiny-target"',
    });
  }
  const dir = modelsDir(options);
  const path = `${dir}/${name}`;
  if (isDir(path)) return path;
  const names = listDirs(dir);
  throw new TokenlabError(`no bundled model "${name}" in ${dir}`, {
    hint: names.length
      ? `the bundled ones are ${names.map((n) => `"${n}"`).join(", ")}`
      : "that folder is empty: run `deno task setup`",
  });
}

/**
 * Names of the bundled model folders under `data/models`, sorted.
 *
 * @example
 * ```ts
 * import { bundledModelNames } from "@tokenlab/tokenlab/models";
 * console.log(bundledModelNames()); // e.g. ["brown-bpe-8k", "tiny-draft", "tiny-target"]
 * ```
 */
export function bundledModelNames(options: BundledModelOptions = {}): string[] {
  return listDirs(modelsDir(options));
}

function modelsDir(options: BundledModelOptions): string {
  if (options === null || typeof options !== "object") {
    throw new TokenlabError('bundled model options must be an object, e.g. { from: "." }');
  }
  if (options.from !== undefined && (typeof options.from !== "string" || !options.from)) {
    throw new TokenlabError(`from must be a folder path, got ${JSON.stringify(options.from)}`);
  }
  const starts = [absolute(options.from ?? Deno.cwd())];
  if (options.from === undefined) {
    const here = new URL("../../", import.meta.url);
    if (here.protocol === "file:") starts.push(decodeURIComponent(here.pathname));
  }
  for (const start of starts) {
    let dir = start.replace(/\/+$/, "") || "/";
    while (true) {
      const candidate = `${dir === "/" ? "" : dir}/data/models`;
      if (isDir(candidate)) return candidate;
      const parent = dir.replace(/\/[^/]*$/, "") || "/";
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new TokenlabError(`no data/models folder in ${starts.join(" or ")} or above`, {
    hint: "run from inside the tokenlab repository, or pass { from: '<repo root>' }",
  });
}

function absolute(path: string): string {
  const parts: string[] = [];
  for (const p of (path.startsWith("/") ? path : `${Deno.cwd()}/${path}`).split("/")) {
    if (p === "..") parts.pop();
    else if (p !== "." && p !== "") parts.push(p);
  }
  return "/" + parts.join("/");
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function listDirs(dir: string): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(dir)) if (e.isDirectory) names.push(e.name);
  return names.sort();
}
