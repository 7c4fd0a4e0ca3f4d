import { equal, ok, throws } from "node:assert/strict";
import { buildSite, renderNotebook, renderOutput } from "../../tools/build_site.ts";
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
