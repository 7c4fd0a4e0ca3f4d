/**
 * Result records: the numbers a run measured, with the environment that measured them.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { describeEnvironment, type EnvironmentReport } from "./environment.ts";
import type { AgreementRule, ClaimTable, Interval, LeaveOneOutValue, Verdict } from "./claims.ts";

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
  /**
   * The run's claim table: stored as `values.verdicts`, every row with its verdict, headline
   * flag, interval and leave-one-out result (see {@linkcode claimVerdicts}); `values` must not
   * have a `verdicts` key then. The site derives the paper's status from these rows.
   */
  claims?: ClaimTable;
  /**
   * Print `record: <path>` once written, the path relative to the repository root when the
   * record lies inside it (`record: results/<name>.json`), as notebooks show it (default false).
   */
  print?: boolean;
}

/** One claim's verdict as a record stores it (see {@linkcode claimVerdicts}). */
export interface ClaimVerdict {
  /** The quantity compared. */
  quantity: string;
  /** The measured value (null for a declared row that was not measured). */
  measured: number | null;
  /** The verdict. */
  verdict: Verdict;
  /** The row's key, when it was declared with `declareClaims`. */
  id?: string;
  /** Whether the paper's status rests on this row. Records from before headline rows lack it. */
  headline?: boolean;
  /** Whether the row was declared before the experiment. */
  declared?: boolean;
  /** The paper's value. */
  paper?: number | null;
  /** Unit. */
  unit?: string;
  /** The rule, as declared. */
  rule?: AgreementRule;
  /** The rule in words with the numbers, as the table shows it. */
  reason?: string;
  /** The band that agrees with the paper (±Infinity stored as null). */
  band?: { low: number | null; high: number | null };
  /** The measured value's interval, or null. */
  interval?: Interval | null;
  /** Whether dropping one group flips the value's side of the band. */
  fragile?: boolean;
  /** The groups whose removal flips it. */
  flips?: LeaveOneOutValue[];
  /** What the leave-one-out dropped (e.g. "language"), or null when not checked. */
  leaveOneOutOver?: string | null;
  /** For timings: what ran the work. */
  backend?: string;
  /** Whether `backend` is a software adapter (then never a hardware result). */
  software?: boolean;
  /** The catalogue id when one notebook tests several papers. */
  paperId?: string;
  /** Why a declared row was not measured. */
  missing?: string;
}

/**
 * The verdicts of a claim table in the form records store them, in the table's order: the
 * quantity, value and verdict, with the headline flag, the paper's value, the rule and its
 * band, the interval, the leave-one-out result (fragile, flips) and, for timings, the backend
 * and whether it is a software adapter.
 *
 * @example
 * ```ts
 * import { claimVerdicts, compareClaims } from "@tokenlab/tokenlab/analysis";
 * const claims = compareClaims([
 *   { quantity: "slope", paper: 1, measured: 0.97, rule: { kind: "absolute", tolerance: 0.1 } },
 * ]);
 * const [row] = claimVerdicts(claims);
 * console.log(row.quantity, row.verdict, row.headline, row.interval); // slope agrees false null
 * ```
 */
export function claimVerdicts(claims: ClaimTable): ClaimVerdict[] {
  if (!claims || !Array.isArray((claims as { rows?: unknown }).rows)) {
    throw new TokenlabError("claimVerdicts needs a claim table", {
      hint: "pass the table compareClaims or plan.table() returned",
    });
  }
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  return claims.rows.map((r) => {
    const v: ClaimVerdict = {
      quantity: r.quantity,
      measured: r.measured,
      verdict: r.verdict,
      headline: r.headline,
      declared: r.declared,
      paper: r.paper,
      rule: r.rule,
      reason: r.reason,
      band: { low: finite(r.band.low), high: finite(r.band.high) },
      interval: r.interval ?? null,
      fragile: r.fragile,
      flips: r.flips,
      leaveOneOutOver: r.leaveOneOut?.over ?? null,
    };
    if (r.id !== undefined) v.id = r.id;
    if (r.unit !== undefined) v.unit = r.unit;
    if (r.backend !== undefined) v.backend = r.backend;
    if (r.software !== undefined) v.software = r.software;
    if (r.paperId !== undefined) v.paperId = r.paperId;
    if (r.missing !== undefined) v.missing = r.missing;
    return v;
  });
}

/**
 * Writes `<dir>/<name>.json` with the values and the environment; returns its path. With
 * `claims`, the claim table's verdicts are stored as `values.verdicts`; with `print`, the
 * record's repository-relative path is printed.
 *
 * @example
 * ```ts
 * import { writeRecord } from "@tokenlab/tokenlab/analysis";
 * // In a notebook, leave out `dir` to write under the repository's results/.
 * const dir = await Deno.makeTempDir();
 * const path = await writeRecord("p00-example", { values: { tokens: 42 }, profile: "quick", seed: 0, dir });
 * console.log(path);
 * ```
 *
 * @example In a notebook: verdicts stored, `record: results/p00-example.json` printed
 * ```ts ignore
 * import { compareClaims, writeRecord } from "@tokenlab/tokenlab/analysis";
 * const claims = compareClaims([
 *   { quantity: "slope", paper: 1, measured: 0.97, rule: { kind: "absolute", tolerance: 0.1 } },
 * ]);
 * await writeRecord("p00-example", { values: { slope: 0.97 }, claims, profile: "quick", seed: 0, print: true });
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
  let values = options.values;
  if (options.claims !== undefined) {
    if (Object.hasOwn(values, "verdicts")) {
      throw new TokenlabError(
        `writeRecord("${name}") got both values.verdicts and claims`,
        { hint: "drop values.verdicts: the claims option stores the verdicts there" },
      );
    }
    values = { ...values, verdicts: claimVerdicts(options.claims) };
  }
  findNonFinite(values, "values");
  const record: ResultRecord = {
    name,
    values,
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
  if (options.print) console.log(`record: ${displayPath(path)}`);
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

/** `path` relative to the repository root when inside it, else as given. */
function displayPath(path: string): string {
  const root = repoRoot();
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const normal = abs.split("/").reduce<string[]>((parts, p) => {
    if (p === "..") parts.pop();
    else if (p !== "." && p !== "") parts.push(p);
    return parts;
  }, []).join("/");
  const prefix = root.replace(/^\/+/, "").replace(/\/+$/, "") + "/";
  return normal.startsWith(prefix) ? normal.slice(prefix.length) : path;
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
