import { equal, ok, throws } from "node:assert/strict";
import {
  buildSite,
  mergeShards,
  parseSiteArgs,
  renderNotebook,
  renderOutput,
} from "../../tools/build_site.ts";
import { loadCatalogue, validateCatalogue } from "../../tools/_catalogue.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("catalogue: P01–P91, valid tiers and statuses, tier C with reasons", () => {
  const papers = loadCatalogue(`${root}/data/papers.json`);
  equal(papers.length, 91);
  equal(
    papers.map((p) => p.id).join(),
    Array.from({ length: 91 }, (_, i) => `P${String(i + 1).padStart(2, "0")}`).join(),
  );
  ok(papers.filter((p) => p.tier === "C").every((p) => p.reason && p.status === "out of reach"));
});

Deno.test("catalogue validation names each problem", () => {
  const problems = validateCatalogue([
    { id: "P01", title: "a", family: "f", tier: "A", status: "done" },
    { id: "P01", title: "b", family: "f", tier: "C", status: "out of reach" },
  ]);
  ok(problems.some((p) => p.includes("status must be one of")));
  ok(problems.some((p) => p.includes("duplicate id")));
  ok(problems.some((p) => p.includes("tier C needs a reason")));
  equal(validateCatalogue({}).length, 1);
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/papers.json`, "[{]");
  throws(() => loadCatalogue(`${dir}/papers.json`), /cannot read the catalogue/);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("renderOutput escapes text, inlines SVG and shows errors", () => {
  ok(renderOutput({ output_type: "stream", text: ["<b>x</b>"] }).includes("&lt;b&gt;x&lt;/b&gt;"));
  ok(
    renderOutput({ output_type: "display_data", data: { "image/svg+xml": "<svg><rect/></svg>" } })
      .includes("<svg><rect/></svg>"),
  );
  ok(
    renderOutput({
      output_type: "error",
      ename: "Error",
      evalue: "boom",
      traceback: ["\x1b[31mat x\x1b[0m"],
    }).includes("Error: boom\nat x"),
  );
  ok(
    renderOutput({ output_type: "display_data", data: { "image/png": "AAAA" } }).includes(
      "data:image/png;base64,AAAA",
    ),
  );
});

Deno.test("site: index lists every paper; notebook pages carry their figures", async () => {
  const siteDir = await Deno.makeTempDir();
  await Deno.mkdir(`${siteDir}/notebooks`);
  const executed = {
    cells: [
      { cell_type: "markdown", source: "# Fixture title\nSome *text*." },
      {
        cell_type: "code",
        source: "figure()",
        outputs: [{
          output_type: "display_data",
          data: {
            "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"><circle r="3"/></svg>',
          },
        }],
      },
    ],
    metadata: { tokenlab: { status: "passed", seconds: 1.5, parameters: { profile: "quick" } } },
    nbformat: 4,
  };
  await Deno.writeTextFile(`${siteDir}/notebooks/99-fixture.ipynb`, JSON.stringify(executed));
  const { index, pages } = await buildSite({ root, siteDir });
  const html = await Deno.readTextFile(index);
  for (let i = 1; i <= 91; i++) {
    ok(html.includes(`<tr id="P${String(i).padStart(2, "0")}">`), `P${i} missing`);
  }
  equal(pages.length, 1);
  equal(pages[0].title, "Fixture title");
  ok(html.includes('href="notebooks/99-fixture.html"'));
  const page = await Deno.readTextFile(`${siteDir}/notebooks/99-fixture.html`);
  ok(page.includes('<circle r="3"/>') && page.includes("<em>text</em>"));
  ok(!/https?:\/\//.test(page.replace(/xmlns="[^"]*"/g, "")), "page must not load anything remote");
  equal(renderNotebook({ cells: [] }, "x.ipynb").title, "x.ipynb");
  await Deno.remove(siteDir, { recursive: true });
});

function executedNotebook(title: string, date: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    cells: [{ cell_type: "markdown", source: `# ${title}` }],
    metadata: { tokenlab: { status: "passed", seconds: 2, date, ...extra } },
    nbformat: 4,
  });
}

Deno.test("site --from: the shards' executed copies and records merge into one index", async () => {
  const tmp = await Deno.makeTempDir();
  const shard = async (name: string, files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${tmp}/${name}/${path.slice(0, path.lastIndexOf("/"))}`, {
        recursive: true,
      });
      await Deno.writeTextFile(`${tmp}/${name}/${path}`, text);
    }
    return `${tmp}/${name}`;
  };
  const a = await shard("shard-1", {
    "notebooks/00-tour.ipynb": executedNotebook("Tour", "2026-12-01T08:00:00Z", {
      commit: "0123456789abcdef0123",
      records: ["results/00-tour.json"],
    }),
    "notebooks/18-crosslingual-inequities.ipynb": executedNotebook(
      "Old run",
      "2026-12-01T07:00:00Z",
    ),
    "records/00-tour.json": '{"values": {"a": 1}}',
    "reproduce.json": JSON.stringify({ shard: { index: 1, count: 2 }, results: [] }),
  });
  const b = await shard("shard-2", {
    "notebooks/01-tokenizers-tour.ipynb": executedNotebook("Tokenizers", "2026-12-01T08:01:00Z", {
      commit: "fedcba9876543210",
      uncommitted: ["lib/data/split.ts"],
    }),
    "notebooks/18-crosslingual-inequities.ipynb": executedNotebook(
      "New run",
      "2026-12-01T09:00:00Z",
    ),
    "records/P18-crosslingual-inequities.json": "{}",
  });
  const siteDir = `${tmp}/site`;
  await Deno.mkdir(`${siteDir}/notebooks`, { recursive: true });
  await Deno.writeTextFile(`${siteDir}/notebooks/99-stale.ipynb`, executedNotebook("Stale", "x"));
  const notices: string[] = [];
  const merged = await mergeShards([a, b], { siteDir, log: (l) => notices.push(l) });
  equal(
    merged.notebooks.join(),
    "00-tour.ipynb,01-tokenizers-tour.ipynb,18-crosslingual-inequities.ipynb",
  );
  equal(merged.records.join(), "00-tour.json,P18-crosslingual-inequities.json");
  equal(merged.duplicates.join(), "18-crosslingual-inequities.ipynb");
  ok(
    notices.some((n) => n.includes("keeping the later run") && n.includes("shard-2")),
    notices.join(),
  );
  const { index, pages } = await buildSite({ root, siteDir });
  equal(pages.length, 3, "the stale page of an earlier build is gone");
  const html = await Deno.readTextFile(index);
  ok(
    html.includes('href="notebooks/00-tour.html"') &&
      html.includes('href="notebooks/01-tokenizers-tour.html"'),
  );
  const p18 = await Deno.readTextFile(`${siteDir}/notebooks/18-crosslingual-inequities.html`);
  ok(p18.includes("New run") && !p18.includes("Old run"));
  const tour = await Deno.readTextFile(`${siteDir}/notebooks/00-tour.html`);
  ok(tour.includes("executed 2026-12-01T08:00:00Z at commit <code>0123456789ab</code>"), tour);
  ok(tour.includes('href="../records/00-tour.json"'), tour);
  const tok = await Deno.readTextFile(`${siteDir}/notebooks/01-tokenizers-tour.html`);
  ok(tok.includes("with uncommitted changes to lib/data/split.ts"), tok);
  const manifest = JSON.parse(await Deno.readTextFile(`${siteDir}/reproduce.json`));
  equal(manifest.shards.length, 1, "one shard had a manifest");
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("site: a paper's status and summary come from its run's record, not papers.json", async () => {
  const siteDir = await Deno.makeTempDir();
  await Deno.mkdir(`${siteDir}/notebooks`);
  await Deno.mkdir(`${siteDir}/records`);
  const row = (quantity: string, verdict: string, more: Record<string, unknown> = {}) => ({
    quantity,
    measured: 7,
    verdict,
    headline: true,
    declared: true,
    paper: 33,
    unit: "%",
    band: { low: 24.75, high: 41.25 },
    interval: { low: 5.1, high: 8.8, level: 0.95, over: "500 documents" },
    fragile: false,
    flips: [],
    ...more,
  });
  // P47: its one headline row differs, a side row agrees → not reproduced (papers.json
  // expects something else: the index says so)
  await Deno.writeTextFile(
    `${siteDir}/records/P47-superbpe.json`,
    JSON.stringify({
      name: "P47-superbpe",
      values: {
        verdicts: [
          row("token reduction at 12k", "differs"),
          row("side", "agrees", { headline: false }),
          row("speed-up", "agrees", {
            headline: false,
            backend: "llvmpipe (LLVM 15.0.6, 256 bits)",
            software: true,
          }),
        ],
      },
    }),
  );
  await Deno.writeTextFile(
    `${siteDir}/notebooks/47-superbpe.ipynb`,
    executedNotebook("SuperBPE", "2026-12-01T10:00:00Z", {
      records: ["results/P47-superbpe.json"],
    }),
  );
  // P68: the run failed, so no status can be derived: the catalogue's is shown, flagged
  await Deno.writeTextFile(
    `${siteDir}/notebooks/68-prepacking.ipynb`,
    JSON.stringify({
      cells: [{ cell_type: "markdown", source: "# Prepacking" }],
      metadata: { tokenlab: { status: "failed", records: [] } },
    }),
  );
  await buildSite({ root, siteDir });
  const html = await Deno.readTextFile(`${siteDir}/index.html`);
  const p47 = html.match(/<tr id="P47">.*?<\/tr>/)![0];
  ok(p47.includes('<span class="badge s-not-reproduced">not reproduced</span>'), p47);
  ok(
    p47.includes(
      "Not reproduced: 0 of 1 headline rows agree — token reduction at 12k 7% [5.10, 8.80] vs " +
        "paper 33%: differs.",
    ),
    p47,
  );
  const catalogue = loadCatalogue(`${root}/data/papers.json`);
  const expected = catalogue.find((p) => p.id === "P47")!.status;
  if (expected !== "not reproduced") ok(p47.includes(`the catalogue expects “${expected}”`), p47);
  const p68 = html.match(/<tr id="P68">.*?<\/tr>/)![0];
  ok(p68.includes("status from the catalogue: no passed run with a record here"), p68);
  // the status counts use the derived status
  ok(html.includes("not reproduced"));
  const page = await Deno.readTextFile(`${siteDir}/notebooks/47-superbpe.html`);
  ok(page.includes("<h2>Evidence</h2>"), page);
  ok(page.includes("★ token reduction at 12k"));
  ok(page.includes("95% [5.100, 8.800] over 500 documents"), page);
  ok(page.includes("a software adapter, not a hardware result"), page);
  await Deno.remove(siteDir, { recursive: true });
});

Deno.test("site: --from is repeatable, --out names the site folder", () => {
  const parsed = parseSiteArgs(["--from", "a", "--from=b", "--out", "c"]);
  equal(JSON.stringify(parsed), JSON.stringify({ from: ["a", "b"], out: "c" }));
  throws(() => parseSiteArgs(["a"]), /unknown argument/);
  throws(() => parseSiteArgs(["--from"]), /needs a folder/);
});
