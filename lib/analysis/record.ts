/**
 * Result records: the numbers a run measured, with the environment that measured them.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { describeEnvironment, type EnvironmentReport } from "./environment.ts";

/** A stored result record. */
export interface ResultRecord {
  /** Record name (file name without `.json`). */
  name: string;
  /** The measured values. */
  values: Record<string, unknown>;
  /** Run profile (`"quick"` or `"full"`). */
  profile: string;
  /** Seed of the run. */
  seed: number;
  /** Parameters of the run. */
  parameters: Record<string, unknown>;
  /** ISO date-time the record was written. */
  date: string;
  /** Environment of the run. */
  environment: EnvironmentReport;
}

/** Options for {@linkcode writeRecord}. */
export interface WriteRecordOptions {
  /** The measured values (JSON-serialisable; non-finite numbers are refused). */
  values: Record<string, unknown>;
  /** Run profile. */
  profile: string;
  /** Seed of the run. */
  seed: number;
  /** Other parameters of the run. */
  parameters?: Record<string, unknown>;
  /** Output folder (default `results`, relative to the current directory's repo root). */
  dir?: string;
}

/**
 * Writes `<dir>/<name>.json` with the values and the environment; returns its path.
 *
 * @example
 * ```ts
 * import { writeRecord } from "@tokenlab/tokenlab/analysis";
 * // In a notebook, leave out `dir` to write under the repository's results/.
 * const dir = await Deno.makeTempDir();
 * const path = await writeRecord("p00-example", { values: { tokens: 42 }, profile: "quick", seed: 0, dir });
 * console.log(path);
 * ```
 */
export async function writeRecord(name: string, options: WriteRecordOptions): Promise<string> {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new TokenlabError(`record name ${JSON.stringify(name)} is not a plain file name`, {
      hint: "use letters, digits, '.', '_' and '-' only, e.g. \"p47-superbpe\"",
    });
  }
  if (!options || typeof options.values !== "object" || options.values === null) {
    throw new TokenlabError(`writeRecord("${name}") needs a values object`);
  }
  findNonFinite(options.values, "values");
  const record: ResultRecord = {
    name,
    values: options.values,
    profile: options.profile,
    seed: options.seed,
    parameters: options.parameters ?? {},
    date: new Date().toISOString(),
    environment: await describeEnvironment(),
  };
  const dir = options.dir ?? `${repoRoot()}/results`;
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/${name}.json`;
  await Deno.writeTextFile(path, JSON.stringify(record, typedArraysAsLists, 2) + "\n");
  return path;
}

/**
 * Reads a record written by {@linkcode writeRecord}.
 *
 * @example
 * ```ts
 * import { readRecord, writeRecord } from "@tokenlab/tokenlab/analysis";
 * const dir = await Deno.makeTempDir();
 * const path = await writeRecord("demo", { values: { x: 1 }, profile: "quick", seed: 0, dir });
 * console.log((await readRecord(path)).values.x);
 * ```
 */
export async function readRecord(path: string): Promise<ResultRecord> {
  let parsed: ResultRecord;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (cause) {
    throw new TokenlabError(`cannot read result record ${path}`, {
      hint: "is it a JSON file written by writeRecord?",
      cause,
    });
  }
  if (!parsed || typeof parsed.values !== "object" || typeof parsed.environment !== "object") {
    throw new TokenlabError(`${path} is not a result record (no values/environment)`);
  }
  return parsed;
}

function findNonFinite(value: unknown, at: string): void {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TokenlabError(`record value ${at} is ${value}, which JSON cannot hold`, {
      hint: "store null with a note, or a string, for undefined results",
    });
  }
  if (typeof value === "bigint" || typeof value === "function" || typeof value === "symbol") {
    throw new TokenlabError(`record value ${at} is a ${typeof value}, which JSON cannot hold`);
  }
  if (ArrayBuffer.isView(value)) return;
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) findNonFinite(v, `${at}.${k}`);
  }
}

function typedArraysAsLists(_key: string, value: unknown): unknown {
  return ArrayBuffer.isView(value) && !(value instanceof DataView)
    ? Array.from(value as unknown as ArrayLike<number>)
    : value;
}

function repoRoot(): string {
  let dir = Deno.cwd();
  while (true) {
    try {
      Deno.statSync(`${dir}/deno.json`);
      return dir;
    } catch { /* keep climbing */ }
    const parent = dir.replace(/\/[^/]+$/, "");
    if (parent === dir || parent === "") return Deno.cwd();
    dir = parent;
  }
}
