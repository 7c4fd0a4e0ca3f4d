/**
 * Claim beside measurement: a paper's number, ours with its interval, and a rule fixed in
 * advance for whether they agree.
 *
 * A notebook declares its claim rows in its first cells with {@linkcode declareClaims} (the
 * headline rows, the paper's values, the tolerance bands and, for directional claims, the
 * minimum effect), measures them later with {@linkcode ClaimPlan.measure}, and ends with
 * {@linkcode ClaimPlan.table}. A measurement may carry an interval (a seeded bootstrap over
 * documents, languages, seeds or runs) and a leave-one-out check ({@linkcode leaveOneOut}).
 * Verdicts:
 * - **agrees** — the interval (or, without one, the value) lies inside the paper's band;
 * - **differs** — the interval lies wholly outside it;
 * - **inconclusive** — the interval straddles an edge of the band: too wide to decide;
 * - **missing** — the row was declared but not measured (the reason says why).
 *
 * A row is **fragile** when recomputing it without one group (language, document, …) moves
 * its value to the other side of the band's edge. {@linkcode compareClaims} still takes the
 * older, undeclared rows.
 *
 * @module
 */
import { TokenlabError } from "../util/errors.ts";
import { JUPYTER_DISPLAY, type MimeBundle } from "../util/jupyter.ts";
import { softwareBackend } from "./_software.ts";

/** How to decide whether a measurement agrees with a claim. */
export type AgreementRule =
  /** |measured − paper| ≤ tolerance × |paper|. */
  | { kind: "relative"; tolerance: number }
  /** |measured − paper| ≤ tolerance. */
  | { kind: "absolute"; tolerance: number }
  /**
   * The measured value is higher (or lower) than `than` (default 0) by more than `minEffect`
   * (the smallest effect that would count as the paper's "notable" or "large", stated before
   * the experiment). Rows declared with {@linkcode declareClaims} must state `minEffect`;
   * without it (older rows) any difference counts.
   */
  | { kind: "direction"; expect: "higher" | "lower"; than?: number; minEffect?: number }
  /** low ≤ measured ≤ high (a claimed range). */
  | { kind: "range"; low: number; high: number };

/** A verdict: see the module documentation. */
export type Verdict = "agrees" | "differs" | "inconclusive" | "missing";

/** An interval around a measured value (a {@linkcode ConfidenceInterval} fits). */
export interface Interval {
  /** Lower end. */
  low: number;
  /** Upper end. */
  high: number;
  /** Confidence level in (0, 1), e.g. 0.95. */
  level?: number;
  /** What was resampled, e.g. `"12 languages"` or `"20 interleaved runs"`. */
  over?: string;
}

/** The value recomputed without one group (see {@linkcode leaveOneOut}). */
export interface LeaveOneOutValue {
  /** The group left out. */
  group: string;
  /** The statistic without it. */
  value: number;
}

/** A leave-one-out check: the statistic recomputed with each group dropped in turn. */
export interface LeaveOneOut {
  /** What the groups are, e.g. `"language"` or `"document"`. */
  over: string;
  /** One value per dropped group. */
  values: LeaveOneOutValue[];
}

/** One claim and its measurement. */
export interface Claim {
  /** What is measured, e.g. "token reduction at 200k vocab". */
  quantity: string;
  /** The paper's value (null when the paper states only a direction). */
  paper: number | null;
  /** Our value; null when the row is declared but not measured (then `missing` says why). */
  measured: number | null;
  /** Unit, e.g. "%", "bytes/token". */
  unit?: string;
  /** The agreement rule. */
  rule: AgreementRule;
  /** Why the numbers may differ (scale, corpus …), shown in the table. */
  note?: string;
  /** A short stable key for the row (declared rows have one). */
  id?: string;
  /** A headline row: one of the claims the paper's status rests on, declared in advance. */
  headline?: boolean;
  /** The measured value's interval (bootstrap over documents, languages, seeds or runs). */
  interval?: Interval;
  /** The leave-one-out check of the measured value. */
  leaveOneOut?: LeaveOneOut;
  /** For timings: what ran the work (adapter or backend), e.g. `"llvmpipe (LLVM 15.0.6)"`. */
  backend?: string;
  /** Whether `backend` is a software adapter (default: recognised from its name). */
  software?: boolean;
  /** The catalogue id (e.g. `"P26"`) when one notebook tests several papers. */
  paperId?: string;
  /** Why a declared row was not measured (needs a GPU, a pretrained model, …). */
  missing?: string;
}

/** A claim with its verdict. */
export interface ClaimRow extends Claim {
  /** measured / paper, or null when undefined. */
  ratio: number | null;
  /** The verdict. */
  verdict: Verdict;
  /** The rule in words, with the numbers. */
  reason: string;
  /** Whether the row is a headline row. */
  headline: boolean;
  /** Whether the row was declared before the experiment ({@linkcode declareClaims}). */
  declared: boolean;
  /** The band of values that agree with the paper, `[low, high]` (±Infinity for one side). */
  band: { low: number; high: number };
  /** True when dropping one group moves the value across the band's edge. */
  fragile: boolean;
  /** The dropped groups whose value lands on the other side (empty when not fragile). */
  flips: LeaveOneOutValue[];
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

  /** The headline rows. */
  get headlineRows(): ClaimRow[] {
    return this.rows.filter((r) => r.headline);
  }

  /** A Markdown table. */
  toMarkdown(): string {
    const head =
      "| quantity | paper | measured | interval | unit | ratio | verdict | rule | note |\n" +
      "|---|---:|---:|---|---|---:|---|---|---|";
    const md = (s: string) => s.replace(/\|/g, "\\|"); // a bare pipe would split the cell
    const body = this.rows.map((r) =>
      `| ${md(label(r))} | ${fmt(r.paper)} | ${fmt(r.measured)} | ${md(intervalText(r))} | ${
        md(r.unit ?? "")
      } | ${fmt(r.ratio)} | ${verdictText(r)} | ${md(r.reason)} | ${md(noteText(r))} |`
    );
    return [head, ...body].join("\n");
  }

  /** An HTML table with coloured verdicts. */
  toHtml(): string {
    const cell = (s: string, right = false) =>
      `<td style="padding:2px 8px;${right ? "text-align:right" : ""}">${esc(s)}</td>`;
    const rows = this.rows.map((r) =>
      `<tr>${cell(label(r))}${cell(fmt(r.paper), true)}${cell(fmt(r.measured), true)}${
        cell(intervalText(r))
      }${cell(r.unit ?? "")}${
        cell(fmt(r.ratio), true)
      }<td style="padding:2px 8px;font-weight:bold;color:${VERDICT_COLOURS[r.verdict]}">${
        esc(verdictText(r))
      }</td>${cell(r.reason)}${cell(noteText(r))}</tr>`
    ).join("");
    return `<table class="tokenlab-claims" style="border-collapse:collapse">` +
      `<thead><tr>${
        ["quantity", "paper", "measured", "interval", "unit", "ratio", "verdict", "rule", "note"]
          .map((h) => `<th style="padding:2px 8px;text-align:left">${h}</th>`).join("")
      }</tr></thead><tbody>${rows}</tbody></table>`;
  }

  /** Rich display in Jupyter. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toHtml(), "text/markdown": this.toMarkdown() };
  }
}

const VERDICT_COLOURS: Record<Verdict, string> = {
  agrees: "#1a7f37",
  differs: "#cf222e",
  inconclusive: "#9a6700",
  missing: "#57606a",
};

/**
 * Checks each claim against its measurement with the claim's explicit rule. Rows with an
 * `interval` are judged by it (agrees / differs / inconclusive); rows with a `leaveOneOut`
 * are marked fragile when a dropped group flips the value's side of the band.
 *
 * @example
 * ```ts
 * import { compareClaims } from "@tokenlab/tokenlab/analysis";
 * const table = compareClaims([
 *   { quantity: "fewer tokens", paper: 33, measured: 24.5, unit: "%", rule: { kind: "relative", tolerance: 0.25 } },
 *   {
 *     quantity: "speedup", paper: null, measured: 1.4, unit: "x",
 *     interval: { low: 1.1, high: 1.7, level: 0.95, over: "20 runs" },
 *     rule: { kind: "direction", expect: "higher", than: 1, minEffect: 0.05 },
 *   },
 * ]);
 * console.log(table.rows.map((r) => r.verdict)); // ["agrees", "agrees"]
 * ```
 */
export function compareClaims(claims: readonly Claim[]): ClaimTable {
  if (!Array.isArray(claims)) throw new TokenlabError("compareClaims needs an array of claims");
  return new ClaimTable(claims.map((c, i) => checkClaim(c, i, false)));
}

/** A claim row declared before the experiment (see {@linkcode declareClaims}). */
export interface DeclaredClaim {
  /** A short stable key, used by {@linkcode ClaimPlan.measure}. */
  id: string;
  /** What will be measured. */
  quantity: string;
  /** Whether the paper's status rests on this row. */
  headline: boolean;
  /** The paper's value (null when the paper states only a direction). */
  paper: number | null;
  /** The agreement rule (direction rules must state `minEffect`). */
  rule: AgreementRule;
  /** Unit. */
  unit?: string;
  /** Why the numbers may differ. */
  note?: string;
  /** The catalogue id when one notebook tests several papers. */
  paperId?: string;
}

/** A measurement for a declared row (see {@linkcode ClaimPlan.measure}). */
export interface Measurement {
  /** The measured value. */
  value: number;
  /** Its interval. */
  interval?: Interval;
  /** Its leave-one-out check. */
  leaveOneOut?: LeaveOneOut;
  /** For timings: what ran the work. */
  backend?: string;
  /** Whether `backend` is a software adapter (default: recognised from its name). */
  software?: boolean;
  /** A note added to the declared one. */
  note?: string;
}

/**
 * The claim rows a notebook declares before its experiment; fill them with
 * {@linkcode ClaimPlan.measure} (or {@linkcode ClaimPlan.missing}) and end with
 * {@linkcode ClaimPlan.table}. Displays in Jupyter as the declared rules.
 *
 * @example
 * ```ts
 * import { declareClaims } from "@tokenlab/tokenlab/analysis";
 * const plan = declareClaims([
 *   { id: "s", quantity: "Zipf exponent", headline: true, paper: 1, rule: { kind: "absolute", tolerance: 0.1 } },
 * ]);
 * plan.measure("s", { value: 0.94, interval: { low: 0.91, high: 0.97, level: 0.95 } });
 * console.log(plan.table().rows[0].verdict); // "agrees"
 * ```
 */
export class ClaimPlan {
  readonly #declared: DeclaredClaim[];
  readonly #measured = new Map<string, Measurement | { missing: string }>();

  /** Builds a plan (use {@linkcode declareClaims}, which checks the rows). */
  constructor(declared: DeclaredClaim[]) {
    this.#declared = declared;
  }

  /** The declared rows, in order. */
  get declared(): readonly DeclaredClaim[] {
    return this.#declared;
  }

  /** Records the measurement of row `id` (a number, or a value with interval / leave-one-out). */
  measure(id: string, measurement: number | Measurement): this {
    this.#row(id);
    const m = typeof measurement === "number" ? { value: measurement } : measurement;
    if (!m || typeof m.value !== "number" || !Number.isFinite(m.value)) {
      throw new TokenlabError(
        `claim "${id}": measured value must be a finite number, got ${
          JSON.stringify(m?.value ?? m)
        }`,
        { hint: "when the row cannot be measured, call plan.missing(id, why)" },
      );
    }
    this.#measured.set(id, m);
    return this;
  }

  /** Marks row `id` as not measured in this run, with the reason (e.g. "needs a GPU"). */
  missing(id: string, why: string): this {
    this.#row(id);
    if (typeof why !== "string" || !why.trim()) {
      throw new TokenlabError(`claim "${id}": say why it is missing`, {
        hint: 'e.g. plan.missing("ppl", "needs a pretrained 7B model")',
      });
    }
    this.#measured.set(id, { missing: why });
    return this;
  }

  /**
   * The claim table: every declared row in order (each measured or marked missing), then the
   * `extra` rows, which were not declared in advance and so are never headline rows.
   */
  table(extra: readonly Omit<Claim, "headline">[] = []): ClaimTable {
    const open = this.#declared.filter((d) => !this.#measured.has(d.id)).map((d) => d.id);
    if (open.length) {
      throw new TokenlabError(`claims ${open.map((i) => `"${i}"`).join(", ")} were not measured`, {
        hint: "call plan.measure(id, value) for each, or plan.missing(id, why)",
      });
    }
    const rows = this.#declared.map((d, i) => {
      const m = this.#measured.get(d.id)!;
      const claim: Claim = "missing" in m ? { ...d, measured: null, missing: m.missing } : {
        ...d,
        measured: m.value,
        interval: m.interval,
        leaveOneOut: m.leaveOneOut,
        backend: m.backend,
        software: m.software,
        note: [d.note, m.note].filter(Boolean).join("; ") || undefined,
      };
      return checkClaim(claim, i, true);
    });
    const more = extra.map((c, i) =>
      checkClaim({ ...c, headline: false }, this.#declared.length + i, false)
    );
    return new ClaimTable([...rows, ...more]);
  }

  /** Rich display in Jupyter: the declared rows and their rules, before any measurement. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const rows = this.#declared.map((d) =>
      `| ${d.headline ? "**headline**" : ""} | ${esc(d.quantity)} | ${fmt(d.paper)} ${
        esc(d.unit ?? "")
      } | ${esc(ruleText(d))} |`
    );
    return {
      "text/markdown": ["|  | quantity | paper | agrees when |", "|---|---|---|---|", ...rows]
        .join("\n"),
    };
  }

  #row(id: string): DeclaredClaim {
    const d = this.#declared.find((r) => r.id === id);
    if (!d) {
      throw new TokenlabError(`no declared claim "${id}"`, {
        hint: `declared: ${this.#declared.map((r) => r.id).join(", ")}`,
      });
    }
    if (this.#measured.has(id)) throw new TokenlabError(`claim "${id}" was already measured`);
    return d;
  }
}

/**
 * Declares a notebook's claim rows before the experiment: ids, headline flags, the paper's
 * values and the rules (direction rules must state `minEffect`). Returns the plan the
 * experiment fills in.
 *
 * @example
 * ```ts
 * import { declareClaims } from "@tokenlab/tokenlab/analysis";
 * const plan = declareClaims([
 *   { id: "fewer", quantity: "fewer tokens than BPE", headline: true, paper: 33, unit: "%",
 *     rule: { kind: "relative", tolerance: 0.25 } },
 *   { id: "grows", quantity: "reduction grows with vocabulary", headline: false, paper: null,
 *     unit: "points", rule: { kind: "direction", expect: "higher", minEffect: 1 } },
 * ]);
 * plan.measure("fewer", { value: 7, interval: { low: 6.1, high: 7.9, level: 0.95, over: "documents" } });
 * plan.measure("grows", 3.2);
 * console.log(plan.table().rows.map((r) => r.verdict)); // ["differs", "agrees"]
 * ```
 */
export function declareClaims(rows: readonly DeclaredClaim[]): ClaimPlan {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new TokenlabError("declareClaims needs a non-empty array of claim rows");
  }
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const at = `declared claim ${i} (${r?.id ?? r?.quantity ?? "?"})`;
    if (!r || typeof r.id !== "string" || !r.id) throw new TokenlabError(`${at}: needs an id`);
    if (seen.has(r.id)) throw new TokenlabError(`${at}: duplicate id "${r.id}"`);
    seen.add(r.id);
    if (typeof r.headline !== "boolean") {
      throw new TokenlabError(`${at}: say whether it is a headline row (headline: true/false)`);
    }
    // check the rule now, before anything is measured
    checkClaim({ ...r, measured: null, missing: "declared" }, i, true);
  });
  return new ClaimPlan(rows.map((r) => ({ ...r })));
}

/** Options for {@linkcode leaveOneOut}. */
export interface LeaveOneOutOptions<T> {
  /** The group of an item (language, document, category …). */
  group: (item: T) => string;
  /** The statistic over a set of items (the same one the measured value uses). */
  statistic: (items: T[]) => number;
  /** What the groups are, for the record (default `"group"`). */
  over?: string;
}

/**
 * Recomputes a statistic with each group of items left out in turn; pass the result as a
 * claim's `leaveOneOut` to mark the verdict fragile when one group decides it.
 *
 * @example
 * ```ts
 * import { leaveOneOut, mean } from "@tokenlab/tokenlab/analysis";
 * const perLanguage = [{ lang: "hi", d: -0.3 }, { lang: "de", d: 0.01 }, { lang: "fr", d: 0.02 }];
 * const loo = leaveOneOut(perLanguage, {
 *   group: (r) => r.lang,
 *   statistic: (rows) => mean(rows.map((r) => r.d)),
 *   over: "language",
 * });
 * console.log(loo.values); // hi → 0.015, de → -0.145, fr → -0.145
 * ```
 */
export function leaveOneOut<T>(items: readonly T[], options: LeaveOneOutOptions<T>): LeaveOneOut {
  if (!Array.isArray(items)) throw new TokenlabError("leaveOneOut needs an array of items");
  if (!options || typeof options.group !== "function" || typeof options.statistic !== "function") {
    throw new TokenlabError("leaveOneOut needs { group, statistic } functions", {
      hint: "e.g. { group: (r) => r.language, statistic: (rows) => mean(rows.map((r) => r.x)) }",
    });
  }
  const groups = [...new Set(items.map((x) => String(options.group(x))))];
  if (groups.length < 2) {
    throw new TokenlabError(`leaveOneOut needs at least two groups, got ${groups.length}`);
  }
  const values = groups.map((g) => {
    const value = options.statistic(items.filter((x) => String(options.group(x)) !== g));
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new TokenlabError(`leaveOneOut: the statistic without "${g}" is ${value}`, {
        hint: "the statistic must give a finite number for every subset",
      });
    }
    return { group: g, value };
  });
  return { over: options.over ?? "group", values };
}

// —— checking ————————————————————————————————————————————————————————————————

/** Where x lies relative to the band: -1 below, 0 inside, +1 above. */
type Side = -1 | 0 | 1;

function checkClaim(c: Claim, i: number, declared: boolean): ClaimRow {
  const where = `claim ${i} (${c?.quantity ?? "?"})`;
  if (!c || typeof c.quantity !== "string") {
    throw new TokenlabError(`${where}: quantity must be a string`);
  }
  const measured = c.measured;
  if (measured === null) {
    need(
      typeof c.missing === "string" && c.missing.trim() !== "",
      where,
      "measured is null: say why in `missing`",
    );
  } else if (typeof measured !== "number" || !Number.isFinite(measured)) {
    throw new TokenlabError(`${where}: measured must be a finite number, got ${measured}`, {
      hint: "use measured: null with missing: why, for a row that was not measured",
    });
  }
  const paper = c.paper;
  const rule = c.rule;
  // rows that say whether they are headline rows follow the new rules (minEffect stated)
  const strict = declared || c.headline !== undefined;
  const { band, side, text } = bandOf(rule, paper, where, strict);
  const headline = c.headline === true;
  const ratio = measured !== null && paper !== null && paper !== 0 ? measured / paper : null;
  const software = c.software ?? (c.backend ? softwareBackend(c.backend) : undefined);
  const base = {
    ...c,
    headline,
    declared,
    band,
    ratio,
    ...(software !== undefined ? { software } : {}),
  };
  if (measured === null) {
    return {
      ...base,
      verdict: "missing",
      reason: `${text}; not measured: ${c.missing}`,
      fragile: false,
      flips: [],
    };
  }
  let verdict: Verdict;
  let reason: string;
  const pointSide = side(measured);
  if (c.interval !== undefined) {
    const iv = c.interval;
    if (!iv || !Number.isFinite(iv.low) || !Number.isFinite(iv.high) || iv.low > iv.high) {
      throw new TokenlabError(`${where}: interval must be finite with low <= high`, {
        hint: "pass { low, high, level } (bootstrapCi's result fits)",
      });
    }
    const lo = side(iv.low), hi = side(iv.high);
    verdict = lo === 0 && hi === 0 ? "agrees" : lo === hi ? "differs" : "inconclusive";
    reason = `${text}; interval [${fmt(iv.low)}, ${fmt(iv.high)}] ${
      verdict === "agrees" ? "inside" : verdict === "differs" ? "outside" : "straddles the edge"
    }`;
  } else {
    verdict = pointSide === 0 ? "agrees" : "differs";
    reason = `${text}; ${fmt(measured)} ${pointSide === 0 ? "inside" : "outside"}`;
  }
  if (rule.kind === "direction" && rule.minEffect === undefined) {
    reason += " (no minimum effect stated)";
  }
  let flips: LeaveOneOutValue[] = [];
  if (c.leaveOneOut !== undefined) {
    const loo = c.leaveOneOut;
    if (!loo || !Array.isArray(loo.values) || loo.values.length === 0) {
      throw new TokenlabError(`${where}: leaveOneOut must list values (use leaveOneOut())`);
    }
    for (const v of loo.values) {
      if (!Number.isFinite(v?.value)) {
        throw new TokenlabError(`${where}: leave-one-out value for ${v?.group} is not finite`);
      }
    }
    flips = loo.values.filter((v) => side(v.value) !== pointSide);
    if (flips.length) {
      reason += `; fragile: without ${
        flips.map((f) => `${f.group} (${fmt(f.value)})`).join(", ")
      } it ${pointSide === 0 ? "leaves" : "enters"} the band`;
    }
  }
  return { ...base, verdict, reason, fragile: flips.length > 0, flips };
}

function bandOf(
  rule: AgreementRule,
  paper: number | null,
  where: string,
  strict: boolean,
): { band: { low: number; high: number }; side: (x: number) => Side; text: string } {
  switch (rule?.kind) {
    case "relative": {
      need(paper, where);
      need(paper !== 0, where, "a relative tolerance needs a non-zero paper value (use absolute)");
      need(rule.tolerance >= 0, where, "tolerance must be >= 0");
      const p = paper!;
      const w = rule.tolerance * Math.abs(p);
      return {
        band: { low: p - w, high: p + w },
        // the same test as |x − p| / |p| ≤ tolerance, so boundary values behave as before
        side: (x) => Math.abs(x - p) / Math.abs(p) <= rule.tolerance ? 0 : x < p ? -1 : 1,
        text: `agrees within ${fmt(rule.tolerance * 100)}% of ${fmt(p)}: [${fmt(p - w)}, ${
          fmt(p + w)
        }]`,
      };
    }
    case "absolute": {
      need(paper, where);
      need(rule.tolerance >= 0, where, "tolerance must be >= 0");
      const p = paper!;
      return {
        band: { low: p - rule.tolerance, high: p + rule.tolerance },
        side: (x) => Math.abs(x - p) <= rule.tolerance ? 0 : x < p ? -1 : 1,
        text: `agrees within ±${fmt(rule.tolerance)} of ${fmt(p)}: [${fmt(p - rule.tolerance)}, ${
          fmt(p + rule.tolerance)
        }]`,
      };
    }
    case "direction": {
      need(
        rule.expect === "higher" || rule.expect === "lower",
        where,
        'expect must be "higher" or "lower"',
      );
      const than = rule.than ?? 0;
      if (rule.minEffect === undefined) {
        if (strict) {
          throw new TokenlabError(`${where}: a directional claim needs a minimum effect`, {
            hint: "state rule.minEffect, the smallest difference that counts as the paper's effect",
          });
        }
      } else {need(
          Number.isFinite(rule.minEffect) && rule.minEffect >= 0,
          where,
          "minEffect must be >= 0",
        );}
      const m = rule.minEffect ?? 0;
      const edge = rule.expect === "higher" ? than + m : than - m;
      return rule.expect === "higher"
        ? {
          band: { low: edge, high: Infinity },
          side: (x) => (x > edge ? 0 : -1),
          text: `agrees above ${fmt(than)}${m ? ` + ${fmt(m)}` : ""}`,
        }
        : {
          band: { low: -Infinity, high: edge },
          side: (x) => (x < edge ? 0 : 1),
          text: `agrees below ${fmt(than)}${m ? ` − ${fmt(m)}` : ""}`,
        };
    }
    case "range": {
      need(
        Number.isFinite(rule.low) && Number.isFinite(rule.high),
        where,
        "range needs finite low and high",
      );
      need(rule.low <= rule.high, where, "range low must be <= high");
      return {
        band: { low: rule.low, high: rule.high },
        side: (x) => (x < rule.low ? -1 : x > rule.high ? 1 : 0),
        text: `agrees in [${fmt(rule.low)}, ${fmt(rule.high)}]`,
      };
    }
    default:
      throw new TokenlabError(`${where}: unknown rule ${JSON.stringify(rule)}`, {
        hint:
          'use {kind: "relative"|"absolute", tolerance}, {kind: "direction", expect, minEffect}, ' +
          'or {kind: "range", low, high}',
      });
  }
}

/**
 * The rule of a claim in words, with its numbers (e.g. "agrees within 25% of 33: [24.75,
 * 41.25]").
 *
 * @example
 * ```ts
 * import { ruleText } from "@tokenlab/tokenlab/analysis";
 * const rule = { kind: "direction", expect: "higher", than: 1, minEffect: 0.1 } as const;
 * console.log(ruleText({ rule, paper: null, unit: "x" })); // "agrees above 1 + 0.100 x"
 * ```
 */
export function ruleText(claim: Pick<Claim, "rule" | "paper" | "unit">): string {
  const t = bandOf(claim.rule, claim.paper, "rule", false).text;
  return claim.unit ? `${t} ${claim.unit}` : t;
}

function need(value: unknown, where: string, message = "this rule needs a paper value"): void {
  if (value === null || value === undefined || value === false || Number.isNaN(value)) {
    throw new TokenlabError(`${where}: ${message}`);
  }
}

function label(r: ClaimRow): string {
  return `${r.headline ? "★ " : ""}${r.quantity}`;
}

function verdictText(r: ClaimRow): string {
  return r.fragile ? `${r.verdict} (fragile)` : r.verdict;
}

function intervalText(r: ClaimRow): string {
  if (!r.interval) return "";
  const lvl = r.interval.level !== undefined ? `${Math.round(r.interval.level * 100)}% ` : "";
  return `${lvl}[${fmt(r.interval.low)}, ${fmt(r.interval.high)}]${
    r.interval.over ? ` over ${r.interval.over}` : ""
  }`;
}

function noteText(r: ClaimRow): string {
  const parts = [r.note ?? ""];
  if (r.backend) {
    parts.push(
      r.software
        ? `timed on ${r.backend}, a software adapter: not a hardware result`
        : `timed on ${r.backend}`,
    );
  }
  return parts.filter(Boolean).join("; ");
}

function fmt(x: number | null): string {
  if (x === null) return "—";
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "−∞";
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
