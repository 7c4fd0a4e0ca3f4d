/**
 * Claim beside measurement: a paper's number, ours, and an explicit rule for whether they agree.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../util/jupyter.ts";

/** How to decide whether a measurement agrees with a claim. */
export type AgreementRule =
  /** |measured − paper| ≤ tolerance × |paper|. */
  | { kind: "relative"; tolerance: number }
  /** |measured − paper| ≤ tolerance. */
  | { kind: "absolute"; tolerance: number }
  /** The measured value is higher (or lower) than `than` (default: 0), as the paper says. */
  | { kind: "direction"; expect: "higher" | "lower"; than?: number }
  /** low ≤ measured ≤ high (a claimed range). */
  | { kind: "range"; low: number; high: number };

/** One claim and its measurement. */
export interface Claim {
  /** What is measured, e.g. "token reduction at 200k vocab". */
  quantity: string;
  /** The paper's value (null when the paper states only a direction). */
  paper: number | null;
  /** Our value. */
  measured: number;
  /** Unit, e.g. "%", "bytes/token". */
  unit?: string;
  /** The agreement rule. */
  rule: AgreementRule;
  /** Why the numbers may differ (scale, corpus …), shown in the table. */
  note?: string;
}

/** A claim with its verdict. */
export interface ClaimRow extends Claim {
  /** measured / paper, or null when undefined. */
  ratio: number | null;
  /** The verdict. */
  verdict: "agrees" | "differs";
  /** The rule in words, with the numbers. */
  reason: string;
}

/**
 * A table of claims with verdicts; renders as HTML in Jupyter.
 *
 * @example
 * ```ts
 * import { compareClaims } from "@tokenlab/tokenlab/analysis";
 * const t = compareClaims([
 *   { quantity: "slope", paper: 1, measured: 0.97, rule: { kind: "absolute", tolerance: 0.1 } },
 * ]);
 * console.log(t.agreeing, t.toHtml().startsWith("<table"));
 * ```
 */
export class ClaimTable {
  /** The rows with verdicts. */
  readonly rows: ClaimRow[];

  /** Builds the table from checked rows (use {@linkcode compareClaims}). */
  constructor(rows: ClaimRow[]) {
    this.rows = rows;
  }

  /** Number of claims that agree. */
  get agreeing(): number {
    return this.rows.filter((r) => r.verdict === "agrees").length;
  }

  /** A Markdown table. */
  toMarkdown(): string {
    const head = "| quantity | paper | measured | unit | ratio | verdict | rule | note |\n" +
      "|---|---:|---:|---|---:|---|---|---|";
    const md = (s: string) => s.replace(/\|/g, "\\|"); // a bare pipe would split the cell
    const body = this.rows.map((r) =>
      `| ${md(r.quantity)} | ${fmt(r.paper)} | ${fmt(r.measured)} | ${md(r.unit ?? "")} | ${
        fmt(r.ratio)
      } | ${r.verdict} | ${md(r.reason)} | ${md(r.note ?? "")} |`
    );
    return [head, ...body].join("\n");
  }

  /** An HTML table with coloured verdicts. */
  toHtml(): string {
    const cell = (s: string, right = false) =>
      `<td style="padding:2px 8px;${right ? "text-align:right" : ""}">${esc(s)}</td>`;
    const rows = this.rows.map((r) =>
      `<tr>${cell(r.quantity)}${cell(fmt(r.paper), true)}${cell(fmt(r.measured), true)}${
        cell(r.unit ?? "")
      }${cell(fmt(r.ratio), true)}<td style="padding:2px 8px;font-weight:bold;color:${
        r.verdict === "agrees" ? "#1a7f37" : "#cf222e"
      }">${r.verdict}</td>${cell(r.reason)}${cell(r.note ?? "")}</tr>`
    ).join("");
    return `<table class="tokenlab-claims" style="border-collapse:collapse">` +
      `<thead><tr>${
        ["quantity", "paper", "measured", "unit", "ratio", "verdict", "rule", "note"]
          .map((h) => `<th style="padding:2px 8px;text-align:left">${h}</th>`).join("")
      }</tr></thead><tbody>${rows}</tbody></table>`;
  }

  /** Rich display in Jupyter. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toHtml(), "text/markdown": this.toMarkdown() };
  }
}

/**
 * Checks each claim against its measurement with the claim's explicit rule.
 *
 * @example
 * ```ts
 * import { compareClaims } from "@tokenlab/tokenlab/analysis";
 * const table = compareClaims([
 *   { quantity: "fewer tokens", paper: 33, measured: 24.5, unit: "%", rule: { kind: "relative", tolerance: 0.25 } },
 *   { quantity: "speedup", paper: null, measured: 1.4, unit: "x", rule: { kind: "direction", expect: "higher", than: 1 } },
 * ]);
 * console.log(table.toMarkdown());
 * ```
 */
export function compareClaims(claims: readonly Claim[]): ClaimTable {
  if (!Array.isArray(claims)) throw new TokenlabError("compareClaims needs an array of claims");
  return new ClaimTable(claims.map((c, i) => checkClaim(c, i)));
}

function checkClaim(c: Claim, i: number): ClaimRow {
  const where = `claim ${i} (${c?.quantity ?? "?"})`;
  if (!c || typeof c.quantity !== "string") {
    throw new TokenlabError(`${where}: quantity must be a string`);
  }
  if (typeof c.measured !== "number" || Number.isNaN(c.measured)) {
    throw new TokenlabError(`${where}: measured must be a number, got ${c.measured}`);
  }
  const paper = c.paper;
  const ratio = paper !== null && paper !== 0 ? c.measured / paper : null;
  const rule = c.rule;
  let ok: boolean, reason: string;
  switch (rule?.kind) {
    case "relative": {
      need(paper, where);
      need(rule.tolerance >= 0, where, "tolerance must be >= 0");
      const rel = Math.abs(c.measured - paper!) / Math.abs(paper!);
      ok = rel <= rule.tolerance;
      reason = `|Δ|/|paper| = ${fmt(rel)} ${ok ? "≤" : ">"} ${rule.tolerance}`;
      break;
    }
    case "absolute": {
      need(paper, where);
      need(rule.tolerance >= 0, where, "tolerance must be >= 0");
      const d = Math.abs(c.measured - paper!);
      ok = d <= rule.tolerance;
      reason = `|Δ| = ${fmt(d)} ${ok ? "≤" : ">"} ${rule.tolerance}`;
      break;
    }
    case "direction": {
      const than = rule.than ?? 0;
      ok = rule.expect === "higher" ? c.measured > than : c.measured < than;
      reason = `expected ${rule.expect} than ${fmt(than)}`;
      break;
    }
    case "range": {
      need(rule.low <= rule.high, where, "range low must be <= high");
      ok = c.measured >= rule.low && c.measured <= rule.high;
      reason = `expected in [${fmt(rule.low)}, ${fmt(rule.high)}]`;
      break;
    }
    default:
      throw new TokenlabError(`${where}: unknown rule ${JSON.stringify(rule)}`, {
        hint: 'use {kind: "relative"|"absolute", tolerance}, {kind: "direction", expect}, ' +
          'or {kind: "range", low, high}',
      });
  }
  return { ...c, ratio, verdict: ok ? "agrees" : "differs", reason };
}

function need(value: unknown, where: string, message = "this rule needs a paper value"): void {
  if (value === null || value === undefined || value === false || Number.isNaN(value)) {
    throw new TokenlabError(`${where}: ${message}`);
  }
}

function fmt(x: number | null): string {
  if (x === null) return "—";
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(3) : x.toPrecision(3);
}

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}
