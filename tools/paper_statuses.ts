/**
 * Prints each catalogued paper with a notebook: the status committed in data/papers.json, the
 * status its last run's record gives (results/<record>.json), and the headline rows that
 * decided it — what to copy into papers.json after a rerun, and the before/after list a closing
 * note needs. Changes nothing.
 *
 * Usage: deno task statuses [--json]
 *
 * @module
 */
import { repoRoot } from "./_jupyter.ts";
import { loadCatalogue, recordNamesOf, statusFromRecords } from "./_catalogue.ts";

/** One paper's line of the report. */
export interface StatusLine {
  /** Catalogue id. */
  id: string;
  /** The status committed in papers.json. */
  committed: string;
  /** The status the record gives, or null without a (fresh) record. */
  derived: string | null;
  /** Why there is no derived status, or the deciding rows in words. */
  why: string;
}

/** The report for the catalogue under `root` (records read from `<root>/results`). */
export function statusReport(root: string): StatusLine[] {
  const lines: StatusLine[] = [];
  for (const paper of loadCatalogue(`${root}/data/papers.json`).filter((p) => p.notebook)) {
    const notebook = `${root}/${paper.notebook}`;
    const names = recordNamesOf(notebook);
    const base = { id: paper.id, committed: paper.status };
    const records = [];
    let missing = "";
    for (const n of names) {
      try {
        records.push(JSON.parse(Deno.readTextFileSync(`${root}/results/${n}.json`)));
      } catch {
        missing = `no results/${n}.json`;
      }
    }
    if (!names.length || missing) {
      lines.push({ ...base, derived: null, why: missing || "the notebook writes no record" });
      continue;
    }
    const edited = Deno.statSync(notebook).mtime?.getTime() ?? 0;
    const stale = records.find((r) => Date.parse(r.date) < edited - 1000);
    if (stale) {
      lines.push({
        ...base,
        derived: null,
        why: `results/${stale.name}.json is older than ${paper.notebook}`,
      });
      continue;
    }
    const s = statusFromRecords(paper, records);
    lines.push({
      ...base,
      derived: s.status,
      why: s.decidedBy.map((r) => `${r.quantity}: ${r.verdict}${r.fragile ? " (fragile)" : ""}`)
        .join("; "),
    });
  }
  return lines;
}

if (import.meta.main) {
  const lines = statusReport(repoRoot());
  if (Deno.args.includes("--json")) console.log(JSON.stringify(lines, null, 1));
  else {
    for (const l of lines) {
      const mark = l.derived === null ? "?" : l.derived === l.committed ? "=" : "≠";
      console.log(
        `${l.id} ${mark} committed "${l.committed}"${
          l.derived ? ` · record "${l.derived}"` : ""
        } · ${l.why}`,
      );
    }
  }
}
