/**
 * A paper's status from its run's record, never typed in: the headline claim rows decide it,
 * and a one-line summary is generated from their numbers.
 *
 * - **reproduced** — every headline row agrees, none is fragile, none is missing;
 * - **partly reproduced** — some headline rows agree, but others differ, are inconclusive,
 *   fragile or missing (a key experiment not run);
 * - **not reproduced** — no headline row agrees and at least one differs;
 * - **inconclusive** — no headline row agrees or differs: the intervals are too wide;
 * - **in progress** — the record has no claim rows, or none of its headline rows was measured.
 *
 * The summary names the headline rows with their numbers, the ones that decided the status
 * first, at most four (then "and N more").
 *
 * Records written before headline rows existed (no row has a `headline` field) count every
 * row as a headline row, and the result says so; such a record is at best partly reproduced,
 * since nothing in it was declared before the experiment.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import type { ClaimVerdict } from "./record.ts";

/** A status derived from a record (see {@linkcode paperStatus}). */
export type DerivedStatus =
  | "reproduced"
  | "partly reproduced"
  | "not reproduced"
  | "inconclusive"
  | "in progress";

/** Options for {@linkcode paperStatus}. */
export interface PaperStatusOptions {
  /**
   * The catalogue id of the paper, when one notebook tests several: rows whose `paperId` is
   * another paper's are left out (rows without one count for every paper).
   */
  paperId?: string;
}

/** What {@linkcode paperStatus} derived. */
export interface PaperStatus {
  /** The status. */
  status: DerivedStatus;
  /** The one-line summary, generated from the headline rows' numbers. */
  summary: string;
  /** Counts over the headline rows. */
  counts: {
    headline: number;
    agrees: number;
    differs: number;
    inconclusive: number;
    missing: number;
    fragile: number;
  };
  /**
   * The rows that decided the status: the non-agreeing or fragile ones, else (reproduced, or an
   * undeclared record whose rows all agree) every headline row.
   */
  decidedBy: ClaimVerdict[];
  /** True when the record declares no headline row, so every row was counted. */
  undeclared: boolean;
}

/**
 * Derives a paper's status and one-line summary from a record's claim rows
 * (`record.values.verdicts`), by the rules in this module's documentation.
 *
 * @example
 * ```ts
 * import { paperStatus } from "@tokenlab/tokenlab/analysis";
 * const s = paperStatus([
 *   { quantity: "fewer tokens", measured: 7, paper: 33, unit: "%", verdict: "differs", headline: true },
 *   { quantity: "grows with vocab", measured: 1, verdict: "agrees", headline: true },
 *   { quantity: "side result", measured: 2, verdict: "differs", headline: false },
 * ]);
 * console.log(s.status, "—", s.summary); // partly reproduced — 1 of 2 headline rows agree: …
 * ```
 */
export function paperStatus(
  rows: readonly ClaimVerdict[],
  options: PaperStatusOptions = {},
): PaperStatus {
  if (!Array.isArray(rows)) {
    throw new TokenlabError("paperStatus needs the record's claim rows (values.verdicts)", {
      hint: "a record written with writeRecord(name, { claims, … }) has them",
    });
  }
  const mine = rows.filter((r) =>
    !options.paperId || r.paperId === undefined || r.paperId === options.paperId
  );
  const undeclared = !mine.some((r) => r.headline !== undefined);
  const head = undeclared ? mine : mine.filter((r) => r.headline === true);
  const counts = {
    headline: head.length,
    agrees: head.filter((r) => r.verdict === "agrees").length,
    differs: head.filter((r) => r.verdict === "differs").length,
    inconclusive: head.filter((r) => r.verdict === "inconclusive").length,
    missing: head.filter((r) => r.verdict === "missing").length,
    fragile: head.filter((r) => r.fragile === true).length,
  };
  let status: DerivedStatus;
  if (head.length === 0 || counts.missing === head.length) status = "in progress";
  else if (counts.agrees === head.length && counts.fragile === 0 && !undeclared) {
    status = "reproduced";
  } else if (counts.agrees > 0) status = "partly reproduced";
  else if (counts.differs > 0) status = "not reproduced";
  else status = "inconclusive";
  const against = head.filter((r) => r.verdict !== "agrees" || r.fragile === true);
  const decidedBy = status === "reproduced" || against.length === 0 ? head : against;
  return {
    status,
    summary: summarise(status, head, { counts, undeclared, empty: mine.length === 0 }),
    counts,
    decidedBy,
    undeclared,
  };
}

/** How many rows a summary names (the deciding ones first). */
const SUMMARY_ROWS = 4;

function summarise(
  status: DerivedStatus,
  head: ClaimVerdict[],
  ctx: { counts: PaperStatus["counts"]; undeclared: boolean; empty: boolean },
): string {
  if (ctx.empty) return "In progress: the record has no claim rows.";
  const lead = `${status[0].toUpperCase()}${
    status.slice(1)
  }: ${ctx.counts.agrees} of ${ctx.counts.headline} ${
    ctx.undeclared ? "rows (no headline rows declared, all counted)" : "headline rows"
  } agree`;
  // the rows that decided the status first, then the others; at most SUMMARY_ROWS of them
  const deciding = head.filter((r) => r.verdict !== "agrees" || r.fragile === true);
  const ordered = [...deciding, ...head.filter((r) => !deciding.includes(r))];
  const shown = ordered.slice(0, SUMMARY_ROWS).map(rowText);
  const more = ordered.length - shown.length;
  return `${lead} — ${shown.join("; ")}${more > 0 ? `; and ${more} more` : ""}.`;
}

function rowText(r: ClaimVerdict): string {
  const unit = r.unit ? (r.unit === "%" ? "%" : ` ${r.unit}`) : "";
  if (r.verdict === "missing" || r.measured === null) {
    return `${r.quantity}: not measured${r.missing ? ` (${r.missing})` : ""}`;
  }
  const iv = r.interval ? ` [${num(r.interval.low)}, ${num(r.interval.high)}]` : "";
  const paper = r.paper !== undefined && r.paper !== null ? ` vs paper ${num(r.paper)}${unit}` : "";
  const where = r.backend
    ? ` on ${r.backend}${r.software ? " (software adapter, not hardware)" : ""}`
    : "";
  const fragile = r.fragile
    ? ` (fragile: flips without ${(r.flips ?? []).map((f) => f.group).join(", ")})`
    : "";
  return `${r.quantity} ${num(r.measured)}${unit}${iv}${paper}${where}: ${r.verdict}${fragile}`;
}

/** Three significant digits (integers as they are), as summaries print numbers. */
function num(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}
