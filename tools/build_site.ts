/**
 * Builds the static result site: `site/index.html` (every catalogue paper with its status,
 * counts per tier and status, build environment) and one page per executed notebook in
 * `site/notebooks/`. Self-contained: no CDN, works from the file system.
 *
 * A paper with an executed notebook takes its status and one-line summary from the records
 * that run wrote (`paperStatus`: the headline claim rows decide), never from papers.json, whose
 * `status` is then only the committed expectation (shown when the two disagree).
 *
 * Usage: deno task site [--from DIR …] [--out DIR]
 *
 * With `--from`, the executed copies and records of several output folders (the shards of
 * `reproduce --shard k/n`) are merged into one site first.
 *
 * @module
 */
import { marked } from "marked";
import { describeEnvironment, type EnvironmentReport } from "../lib/analysis/environment.ts";
import type { ClaimVerdict } from "../lib/analysis/record.ts";
import { type PaperStatus, paperStatus } from "../lib/analysis/status.ts";
import {
  claimRowsOf,
  loadCatalogue,
  type Paper,
  type Status,
  STATUSES,
  statusFromRecords,
  TIERS,
} from "./_catalogue.ts";
import { repoRoot } from "./_jupyter.ts";

interface Output {
  output_type: string;
  data?: Record<string, string | string[]>;
  text?: string | string[];
  name?: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
  metadata?: { tags?: string[] };
}
interface Notebook {
  cells: Cell[];
  metadata?: {
    tokenlab?: {
      status?: string;
      seconds?: number;
      parameters?: unknown;
      failed_cell?: number;
      error?: { ename: string; evalue: string } | null;
      date?: string;
      commit?: string | null;
      uncommitted?: string[];
      records?: string[];
    };
  };
}

/** A built notebook page. */
export interface NotebookPage {
  /** Notebook file name. */
  name: string;
  /** Page file name under site/. */
  page: string;
  /** Title (first markdown heading). */
  title: string;
  /** Run status. */
  status: string;
  /** Seconds the run took. */
  seconds: number | null;
  /** The records the run wrote (parsed), in the order the notebook's metadata lists them. */
  records: { name?: string; values?: Record<string, unknown> }[];
}

const CSS = `
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1f2328;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em}
table{border-collapse:collapse;font-size:14px}th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;white-space:nowrap}
.s-reproduced,.s-passed{background:#dafbe1;color:#116329}.s-partly-reproduced{background:#fff8c5;color:#7d4e00}
.s-in-progress{background:#ddf4ff;color:#0550ae}.s-not-started{background:#eaeef2;color:#57606a}
.s-out-of-reach{background:#ffebe9;color:#a40e26}.s-failed,.s-timeout,.s-invalid{background:#ffebe9;color:#a40e26}
.s-not-reproduced{background:#ffd8d3;color:#82071e}.s-inconclusive{background:#f5e0ff;color:#6e3f9b}
.warn{color:#9a6700;font-size:13px}.sw{color:#9a6700;font-weight:bold}
.v-agrees{color:#1a7f37;font-weight:bold}.v-differs{color:#cf222e;font-weight:bold}
.v-inconclusive{color:#9a6700;font-weight:bold}.v-missing{color:#57606a;font-weight:bold}
.meta{color:#57606a;font-size:13px}.reason{color:#57606a;font-size:13px}
.cell{margin:1em 0}.src{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px;overflow-x:auto;font-size:13px}
.out{padding:4px 8px;overflow-x:auto}.out pre{margin:0;font-size:13px}.err{background:#ffebe9;border-radius:6px}
.prompt{color:#8c959f;font-size:12px;font-family:monospace}
.out svg{max-width:100%;height:auto}.out table{font-size:13px}
`;

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

function text(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join("") : v ?? "";
}

function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

function badge(status: string): string {
  return `<span class="badge s-${status.replace(/ /g, "-")}">${esc(status)}</span>`;
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" ` +
    `content="width=device-width,initial-scale=1"><title>${esc(title)}</title>` +
    `<style>${CSS}</style></head><body>${body}</body></html>\n`;
}

/** Renders one output of a code cell. */
export function renderOutput(o: Output): string {
  if (o.output_type === "stream") {
    return `<div class="out"><pre>${esc(stripAnsi(text(o.text)))}</pre></div>`;
  }
  if (o.output_type === "error") {
    const tb = (o.traceback ?? []).map(stripAnsi).join("\n");
    return `<div class="out err"><pre>${esc(`${o.ename}: ${o.evalue}`)}${
      tb ? "\n" + esc(tb) : ""
    }</pre></div>`;
  }
  const d = o.data ?? {};
  if (d["text/html"]) return `<div class="out">${text(d["text/html"])}</div>`;
  if (d["image/svg+xml"]) return `<div class="out">${text(d["image/svg+xml"])}</div>`;
  if (d["image/png"]) {
    return `<div class="out"><img alt="figure" src="data:image/png;base64,${
      text(d["image/png"]).replace(/\s/g, "")
    }"></div>`;
  }
  if (d["text/markdown"]) return `<div class="out">${marked.parse(text(d["text/markdown"]))}</div>`;
  if (d["text/plain"]) {
    return `<div class="out"><pre>${esc(stripAnsi(text(d["text/plain"])))}</pre></div>`;
  }
  return "";
}

/** What {@linkcode renderNotebook} shows beside the cells. */
export interface NotebookPageOptions {
  /** Notebook file name. */
  name: string;
  /** The records the run wrote: their claim rows and derived status head the page. */
  records?: { values?: Record<string, unknown> }[];
}

/** Renders an executed notebook as an HTML page (`options` may be just its file name). */
export function renderNotebook(
  nb: Notebook,
  options: string | NotebookPageOptions,
): { html: string; title: string } {
  const { name, records = [] } = typeof options === "string" ? { name: options } : options;
  const heading = nb.cells.find((c) => c.cell_type === "markdown" && /^#\s/m.test(text(c.source)));
  const title = heading ? text(heading.source).match(/^#\s+(.+)$/m)![1].trim() : name;
  const meta = nb.metadata?.tokenlab;
  const status = meta?.status ?? "not run";
  const commit = meta?.commit
    ? ` at commit <code>${esc(meta.commit.slice(0, 12))}</code>${
      meta.uncommitted?.length
        ? ` with uncommitted changes to ${esc(meta.uncommitted.join(", "))}`
        : ""
    }`
    : meta?.date
    ? " (commit unknown)"
    : "";
  const recordLinks = (meta?.records ?? []).map((r) => {
    const file = r.slice(r.lastIndexOf("/") + 1);
    return `<a href="../records/${esc(file)}">${esc(r)}</a>`;
  });
  const parts: string[] = [
    `<p class="meta"><a href="../index.html">← all papers</a></p>`,
    `<p class="meta">${esc(name)} · run ${badge(status)}${
      meta?.seconds != null ? ` in ${meta.seconds.toFixed(1)} s` : ""
    }${
      meta?.parameters ? ` · parameters <code>${esc(JSON.stringify(meta.parameters))}</code>` : ""
    }${meta?.date ? ` · executed ${esc(meta.date)}` : ""}${commit}${
      recordLinks.length ? ` · record ${recordLinks.join(", ")}` : ""
    }</p>`,
  ];
  const rows = claimRowsOf(records);
  if (rows.length) parts.push(renderEvidence(rows, paperStatus(rows)));
  if (meta?.error) {
    parts.push(
      `<p class="out err">Failed in code cell ${meta.failed_cell ?? "?"}: ${
        esc(`${meta.error.ename}: ${meta.error.evalue}`)
      }</p>`,
    );
  }
  let codeIndex = 0;
  for (const cell of nb.cells) {
    if (cell.cell_type === "markdown") {
      parts.push(`<div class="cell md">${marked.parse(text(cell.source))}</div>`);
    } else if (cell.cell_type === "code") {
      codeIndex++;
      const outs = (cell.outputs ?? []).map(renderOutput).join("");
      parts.push(
        `<div class="cell"><div class="prompt">[${codeIndex}]</div><pre class="src"><code>${
          esc(text(cell.source))
        }</code></pre>${outs}</div>`,
      );
    }
  }
  return { html: page(title, parts.join("\n")), title };
}

/** Renders a record's claim rows: the derived status, its summary, and every row's evidence. */
export function renderEvidence(rows: readonly ClaimVerdict[], status: PaperStatus): string {
  const n = (x: number | null | undefined) =>
    x === null || x === undefined ? "—" : Number.isInteger(x) ? String(x) : x.toPrecision(4);
  const band = (r: ClaimVerdict) =>
    r.band
      ? `[${r.band.low === null ? "−∞" : n(r.band.low)}, ${
        r.band.high === null ? "∞" : n(r.band.high)
      }]`
      : "";
  const body = rows.map((r) => {
    const iv = r.interval
      ? `${r.interval.level ? `${Math.round(r.interval.level * 100)}% ` : ""}[${
        n(r.interval.low)
      }, ${n(r.interval.high)}]${r.interval.over ? ` over ${r.interval.over}` : ""}`
      : "";
    const notes = [
      r.backend
        ? r.software
          ? `<span class="sw">timed on ${
            esc(r.backend)
          }: a software adapter, not a hardware result</span>`
          : `timed on ${esc(r.backend)}`
        : "",
      r.fragile
        ? `fragile: flips without ${
          esc((r.flips ?? []).map((f) => `${f.group} (${n(f.value)})`).join(", "))
        }`
        : "",
      r.missing ? `not measured: ${esc(r.missing)}` : "",
    ].filter(Boolean).join("; ");
    return `<tr><td>${r.headline ? "★ " : ""}${esc(r.quantity)}${
      r.paperId ? ` <span class="meta">(${esc(r.paperId)})</span>` : ""
    }</td><td>${n(r.paper)}${r.unit ? ` ${esc(r.unit)}` : ""}</td><td>${esc(band(r))}</td><td>${
      n(r.measured)
    }</td><td>${esc(iv)}</td><td class="v-${r.verdict}">${r.verdict}${
      r.fragile ? " (fragile)" : ""
    }</td><td>${notes}</td></tr>`;
  }).join("");
  return `<h2>Evidence</h2><p>${badge(status.status)} ${esc(status.summary)}</p>` +
    `<table class="evidence"><thead><tr><th>claim (★ headline)</th><th>paper</th><th>agrees in</th>` +
    `<th>measured</th><th>interval</th><th>verdict</th><th>notes</th></tr></thead><tbody>${body}` +
    `</tbody></table>`;
}

/** The status a paper shows: derived from its notebook's run when there is one. */
export interface ShownStatus {
  /** The status on the page. */
  status: Status;
  /** Derived from the run's records (null: no passed run with records; the catalogue's then). */
  derived: PaperStatus | null;
}

/**
 * A paper's shown status: from the records of its notebook's passed run (a record without claim
 * rows gives "in progress"), else the catalogue's, flagged as such.
 */
export function shownStatus(paper: Paper, page: NotebookPage | undefined): ShownStatus {
  if (!page || page.status !== "passed" || page.records.length === 0) {
    return { status: paper.status, derived: null };
  }
  const derived = statusFromRecords(paper, page.records);
  return { status: derived.status, derived };
}

/** Renders the index page. */
export function renderIndex(
  papers: Paper[],
  pages: NotebookPage[],
  env: EnvironmentReport,
): string {
  const byNotebook = new Map(pages.map((p) => [`notebooks/${p.name}`, p]));
  const shown = new Map(
    papers.map((p) => [p.id, shownStatus(p, p.notebook ? byNotebook.get(p.notebook) : undefined)]),
  );
  const statusOf = (p: Paper) => shown.get(p.id)!.status;
  const count = (pred: (p: Paper) => boolean) => papers.filter(pred).length;
  const summary = `<table><thead><tr><th>tier</th>${
    STATUSES.map((s) => `<th>${badge(s)}</th>`).join("")
  }<th>all</th></tr></thead><tbody>${
    TIERS.map((t) =>
      `<tr><th>${t}</th>${
        STATUSES.map((s) => `<td>${count((p) => p.tier === t && statusOf(p) === s)}</td>`).join("")
      }<td>${count((p) => p.tier === t)}</td></tr>`
    ).join("")
  }<tr><th>all</th>${
    STATUSES.map((s) => `<td>${count((p) => statusOf(p) === s)}</td>`).join("")
  }<td>${papers.length}</td></tr></tbody></table>`;
  // families in the catalogue's reading order; any new family goes last
  const preferred = [
    "Tokenizers and text compression",
    "Speculative decoding and adaptive computation",
    "Attention, KV cache and long context",
    "Kernels, quantisation, training efficiency",
  ];
  const rank = (f: string) => (preferred.includes(f) ? preferred.indexOf(f) : preferred.length);
  const families = [...new Set(papers.map((p) => p.family))].sort((a, b) => rank(a) - rank(b));
  const rows = families.map((f) =>
    `<h2>${esc(f)}</h2><table><thead><tr><th>id</th><th>paper</th><th>tier</th><th>status</th>` +
    `<th>notebook</th><th>notes</th></tr></thead><tbody>${
      papers.filter((p) => p.family === f).map((p) => {
        const nbPage = p.notebook ? byNotebook.get(p.notebook) : undefined;
        const link = nbPage
          ? `<a href="${esc(nbPage.page)}">${esc(p.notebook!.slice(10))}</a> ${
            badge(nbPage.status)
          }`
          : p.notebook
          ? `${esc(p.notebook.slice(10))} (not run)`
          : "";
        const { status, derived } = shown.get(p.id)!;
        const notes = [
          derived ? derived.summary : undefined,
          p.tier === "C" || !p.notebook ? p.reason : undefined,
        ].filter(Boolean).map((s) => `<span class="reason">${esc(s!)}</span>`);
        if (derived && derived.status !== p.status) {
          notes.push(
            `<span class="warn">the catalogue expects “${
              esc(p.status)
            }”: update data/papers.json</span>`,
          );
        }
        if (p.notebook && !derived) {
          notes.push(
            `<span class="warn">status from the catalogue: no passed run with a record here</span>`,
          );
        }
        return `<tr id="${p.id}"><td>${p.id}</td><td>${esc(p.title)}</td><td>${p.tier}</td><td>${
          badge(status)
        }</td><td>${link}</td><td>${notes.join("<br>")}</td></tr>`;
      }).join("")
    }</tbody></table>`
  ).join("\n");
  const catalogued = new Set(papers.map((p) => p.notebook).filter(Boolean));
  const others = pages.filter((p) => !catalogued.has(`notebooks/${p.name}`));
  const otherList = others.length
    ? `<h2>Workbench notebooks</h2><ul>${
      others.map((p) =>
        `<li><a href="${esc(p.page)}">${esc(p.title)}</a> ${badge(p.status)} <span class="meta">${
          esc(p.name)
        }</span></li>`
      ).join("")
    }</ul>`
    : "";
  const adapter = env.adapter
    ? `${env.adapter.name}${env.adapter.software ? " (software)" : ""}`
    : "none (CPU reference path)";
  return page(
    "tokenlab results",
    `<h1>tokenlab: papers reproduced</h1>
<p class="meta">commit ${esc(env.commit ?? "unknown")} · built ${esc(env.date)} · Deno ${
      esc(env.deno)
    } · WebGPU adapter: ${esc(adapter)} · ${env.cpus} CPU cores</p>
<h2>Summary</h2>${summary}${otherList}\n${rows}`,
  );
}

/** Builds the site into `siteDir` from the catalogue and the executed notebooks there. */
export async function buildSite(
  options: { root?: string; siteDir?: string } = {},
): Promise<{ index: string; pages: NotebookPage[] }> {
  const root = options.root ?? repoRoot();
  const siteDir = options.siteDir ?? `${root}/site`;
  const papers = loadCatalogue(`${root}/data/papers.json`);
  const nbDir = `${siteDir}/notebooks`;
  await Deno.mkdir(nbDir, { recursive: true });
  const pages: NotebookPage[] = [];
  const names = [...Deno.readDirSync(nbDir)].filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => e.name).sort();
  for (const name of names) {
    let nb: Notebook;
    try {
      nb = JSON.parse(await Deno.readTextFile(`${nbDir}/${name}`));
    } catch (e) {
      console.error(`site: skipping ${name}: not valid JSON (${(e as Error).message})`);
      continue;
    }
    const records = readRunRecords(nb.metadata?.tokenlab?.records ?? [], { root, siteDir });
    const { html, title } = renderNotebook(nb, { name, records });
    const pageName = `notebooks/${name.replace(/\.ipynb$/, ".html")}`;
    await Deno.writeTextFile(`${siteDir}/${pageName}`, html);
    pages.push({
      name,
      page: pageName,
      title,
      status: nb.metadata?.tokenlab?.status ?? "not run",
      seconds: nb.metadata?.tokenlab?.seconds ?? null,
      records,
    });
  }
  const index = `${siteDir}/index.html`;
  await Deno.writeTextFile(index, renderIndex(papers, pages, await describeEnvironment()));
  return { index, pages };
}

/**
 * The records a run wrote (`results/<name>.json` paths from the executed notebook's metadata):
 * the copy under `<siteDir>/records/` (reproduce puts them there), else the file under the root.
 * Unreadable ones are skipped with a notice.
 */
function readRunRecords(
  paths: string[],
  where: { root: string; siteDir: string },
): { name?: string; values?: Record<string, unknown> }[] {
  const out: { name?: string; values?: Record<string, unknown> }[] = [];
  for (const rel of paths) {
    if (!rel.endsWith(".json")) continue;
    const file = rel.slice(rel.lastIndexOf("/") + 1);
    for (const path of [`${where.siteDir}/records/${file}`, `${where.root}/${rel}`]) {
      let text: string;
      try {
        text = Deno.readTextFileSync(path);
      } catch {
        continue;
      }
      try {
        out.push(JSON.parse(text));
      } catch (e) {
        console.error(`site: skipping record ${path}: not valid JSON (${(e as Error).message})`);
      }
      break;
    }
  }
  return out;
}

/** Options of {@linkcode mergeShards}. */
export interface MergeOptions {
  /** The site folder to fill (its notebooks/ and records/ are replaced). */
  siteDir: string;
  /** Where notices go (default console.log). */
  log?: (line: string) => void;
}

/** What {@linkcode mergeShards} took from where. */
export interface MergeReport {
  /** Executed copies merged (file names). */
  notebooks: string[];
  /** Record files merged (file names). */
  records: string[];
  /** Notebooks found in more than one folder (the later execution was kept). */
  duplicates: string[];
}

/**
 * Merges the output folders of several `reproduce --shard` runs (each with `notebooks/*.ipynb`,
 * `records/*` and `reproduce.json`; a folder of bare `.ipynb` files works too) into `siteDir`:
 * its executed copies and records are replaced by the union, and the manifests are joined.
 * A notebook present in two folders keeps the copy executed later, with a notice.
 */
export async function mergeShards(from: string[], options: MergeOptions): Promise<MergeReport> {
  const log = options.log ?? ((l: string) => console.log(l));
  const notebooks = new Map<string, { text: string; date: string; from: string }>();
  const records = new Map<string, { bytes: Uint8Array; from: string }>();
  const manifests: unknown[] = [];
  const duplicates: string[] = [];
  const files = (dir: string, ext?: string) => {
    try {
      return [...Deno.readDirSync(dir)].filter((e) => e.isFile && (!ext || e.name.endsWith(ext)))
        .map((e) => e.name).sort();
    } catch {
      return [];
    }
  };
  for (const dir of from) {
    try {
      Deno.statSync(dir);
    } catch {
      throw new Error(`--from ${dir}: no such folder (pass a shard's output folder, e.g. site)`);
    }
    const nbDir = files(`${dir}/notebooks`, ".ipynb").length ? `${dir}/notebooks` : dir;
    const names = files(nbDir, ".ipynb");
    if (names.length === 0) log(`site: ${dir} holds no executed notebooks`);
    for (const name of names) {
      const text = await Deno.readTextFile(`${nbDir}/${name}`);
      let date = "";
      try {
        date = JSON.parse(text).metadata?.tokenlab?.date ?? "";
      } catch {
        log(`site: skipping ${nbDir}/${name}: not valid JSON`);
        continue;
      }
      const prev = notebooks.get(name);
      if (prev) {
        duplicates.push(name);
        const keep = date > prev.date ? dir : prev.from;
        log(`site: ${name} is in both ${prev.from} and ${dir}; keeping the later run (${keep})`);
        if (date <= prev.date) continue;
      }
      notebooks.set(name, { text, date, from: dir });
    }
    for (const name of files(`${dir}/records`)) {
      records.set(name, { bytes: await Deno.readFile(`${dir}/records/${name}`), from: dir });
    }
    try {
      manifests.push(JSON.parse(await Deno.readTextFile(`${dir}/reproduce.json`)));
    } catch { /* a folder without a manifest merges all the same */ }
  }
  const { siteDir } = options;
  for (const sub of ["notebooks", "records"]) {
    await Deno.remove(`${siteDir}/${sub}`, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${siteDir}/${sub}`, { recursive: true });
  }
  for (const [name, nb] of notebooks) {
    await Deno.writeTextFile(`${siteDir}/notebooks/${name}`, nb.text);
  }
  for (const [name, r] of records) await Deno.writeFile(`${siteDir}/records/${name}`, r.bytes);
  await Deno.writeTextFile(
    `${siteDir}/reproduce.json`,
    JSON.stringify({ merged: from, shards: manifests }, null, 1) + "\n",
  );
  return {
    notebooks: [...notebooks.keys()].sort(),
    records: [...records.keys()].sort(),
    duplicates,
  };
}

/** Parses `site`'s command line: `--from DIR` (repeatable) and `--out DIR`. */
export function parseSiteArgs(args: string[]): { from: string[]; out?: string } {
  const from: string[] = [];
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const flag = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) throw new Error(`${a} needs a folder`);
      return v;
    };
    if (flag === "--from") from.push(value());
    else if (flag === "--out") out = value();
    else throw new Error(`unknown argument ${a} (use --from DIR … and --out DIR)`);
  }
  return { from, out };
}

if (import.meta.main) {
  try {
    const args = parseSiteArgs(Deno.args);
    const siteDir = args.out ?? `${repoRoot()}/site`;
    if (args.from.length) {
      const merged = await mergeShards(args.from, { siteDir });
      console.log(
        `site: merged ${merged.notebooks.length} executed notebook(s) and ${merged.records.length} ` +
          `record(s) from ${args.from.length} folder(s)`,
      );
    }
    const { index, pages } = await buildSite({ siteDir });
    console.log(`site: ${pages.length} notebook page(s); open ${index}`);
  } catch (e) {
    console.error(`site: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
