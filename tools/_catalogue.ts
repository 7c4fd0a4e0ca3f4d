// The paper catalogue (data/papers.json): loading and validation, and the status a paper's
// record gives it.
//
// A paper with a notebook gets its status from the run's record (paperStatus in
// lib/analysis/status.ts: headline rows decide); its `status` field in papers.json is only the
// committed expectation, which tests/tools/papers_status_test.ts checks against the last run's
// record. Papers without a notebook keep a hand-set status (not started / out of reach).
import { type DerivedStatus, type PaperStatus, paperStatus } from "../lib/analysis/status.ts";
import type { ClaimVerdict } from "../lib/analysis/record.ts";

/** A paper's status. */
export type Status =
  | "not started"
  | "in progress"
  | "reproduced"
  | "partly reproduced"
  | "not reproduced"
  | "inconclusive"
  | "out of reach";

/** One catalogue entry. */
export interface Paper {
  id: string;
  title: string;
  family: string;
  tier: "A" | "B" | "C";
  /** Hand-set for papers without a notebook; for the others the expectation a run must meet. */
  status: Status;
  notebook?: string;
  reason?: string;
  /** The paper's headline claim, in words. */
  claim?: string;
  /** Optional committed summary: when present it must equal the one generated from the record. */
  summary?: string;
}

export const TIERS = ["A", "B", "C"] as const;
export const STATUSES = [
  "not started",
  "in progress",
  "reproduced",
  "partly reproduced",
  "not reproduced",
  "inconclusive",
  "out of reach",
] as const satisfies readonly Status[];

/** The statuses a record can give (see lib/analysis/status.ts). */
export const DERIVED_STATUSES: readonly DerivedStatus[] = [
  "reproduced",
  "partly reproduced",
  "not reproduced",
  "inconclusive",
  "in progress",
];

/** The record names a notebook writes: the `writeRecord("<name>", …)` calls in its code cells. */
export function recordNamesOf(notebookPath: string): string[] {
  const nb = JSON.parse(Deno.readTextFileSync(notebookPath));
  const code = (nb.cells ?? []).filter((c: { cell_type: string }) => c.cell_type === "code")
    .map((c: { source: string | string[] }) =>
      Array.isArray(c.source) ? c.source.join("") : c.source
    ).join("\n");
  return [...new Set([...code.matchAll(/writeRecord\(\s*["'`]([\w.-]+)["'`]/g)].map((m) => m[1]))];
}

/** The claim rows of a set of records (`values.verdicts` of each, in order). */
export function claimRowsOf(
  records: readonly { values?: Record<string, unknown> }[],
): ClaimVerdict[] {
  return records.flatMap((r) =>
    Array.isArray(r?.values?.verdicts) ? r.values.verdicts as ClaimVerdict[] : []
  );
}

/** A paper's status from its records' claim rows (only the rows for this paper count). */
export function statusFromRecords(
  paper: Paper,
  records: readonly { values?: Record<string, unknown> }[],
): PaperStatus {
  return paperStatus(claimRowsOf(records), { paperId: paper.id });
}

/** Reads and validates the catalogue; throws an Error listing every problem found. */
export function loadCatalogue(path: string): Paper[] {
  let data: unknown;
  try {
    data = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new Error(`cannot read the catalogue ${path}: ${(e as Error).message}`);
  }
  const problems = validateCatalogue(data);
  if (problems.length > 0) {
    throw new Error(`the catalogue ${path} is malformed:\n  - ${problems.join("\n  - ")}`);
  }
  return data as Paper[];
}

/** Lists what is wrong with a parsed catalogue (empty when it is fine). */
export function validateCatalogue(data: unknown): string[] {
  if (!Array.isArray(data)) return ["it must be a JSON array of papers"];
  const problems: string[] = [];
  const seen = new Set<string>();
  data.forEach((p, i) => {
    const at = `entry ${i}${p && typeof p.id === "string" ? ` (${p.id})` : ""}`;
    if (!p || typeof p !== "object") return problems.push(`${at}: not an object`);
    if (typeof p.id !== "string" || !/^P\d\d$/.test(p.id)) {
      problems.push(`${at}: id must look like P07`);
    } else if (seen.has(p.id)) problems.push(`${at}: duplicate id`);
    else seen.add(p.id);
    if (typeof p.title !== "string" || !p.title) problems.push(`${at}: missing title`);
    if (typeof p.family !== "string" || !p.family) problems.push(`${at}: missing family`);
    if (!TIERS.includes(p.tier)) problems.push(`${at}: tier must be A, B or C`);
    if (!STATUSES.includes(p.status)) {
      problems.push(`${at}: status must be one of ${STATUSES.join(", ")}`);
    }
    if (p.notebook !== undefined && !/^notebooks\/[\w.-]+\.ipynb$/.test(p.notebook)) {
      problems.push(`${at}: notebook must look like notebooks/NN-slug.ipynb`);
    }
    if (p.tier === "C" && !p.reason) problems.push(`${at}: tier C needs a reason`);
  });
  return problems;
}

/**
 * What is wrong with a paper's committed `status` (and `summary`, if it has one) given the
 * records of its notebook's run: an empty list when they match what the records give.
 */
export function committedStatusProblems(
  paper: Paper,
  records: readonly { values?: Record<string, unknown> }[],
): string[] {
  const derived = statusFromRecords(paper, records);
  const problems: string[] = [];
  if (derived.status !== paper.status) {
    const why = derived.decidedBy.map((r) =>
      `${r.quantity}: ${r.verdict}${r.fragile ? " (fragile)" : ""}`
    );
    problems.push(
      `${paper.id}: papers.json says "${paper.status}" but the record gives "${derived.status}"` +
        (why.length ? ` (decided by ${why.join("; ")})` : "") +
        ` — set "status": "${derived.status}" once the run is the one you mean`,
    );
  }
  if (paper.summary !== undefined && paper.summary !== derived.summary) {
    problems.push(
      `${paper.id}: the committed summary differs from the record's; generated: ${derived.summary}` +
        " (drop the summary field: the site generates it)",
    );
  }
  return problems;
}
