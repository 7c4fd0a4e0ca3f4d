import { equal, ok, rejects, throws } from "node:assert/strict";
import { parseHTML } from "linkedom";

// linkedom's typings describe a window without `document`; querySelector is all we use.
type Doc = {
  querySelector(s: string): { getAttribute(a: string): string | null } | null;
  querySelectorAll(s: string): { length: number };
};
function parse(html: string): Doc {
  return (parseHTML(html) as unknown as { document: Doc }).document;
}
import { figure, Plot, saveFigure } from "../../lib/analysis/mod.ts";
import { JUPYTER_DISPLAY } from "../../mod.ts";

Deno.test("figure renders a bar chart to SVG with one rect per bar", () => {
  const fig = figure({
    marks: [Plot.barY([{ k: "a", v: 1 }, { k: "b", v: 3 }, { k: "c", v: 2 }], { x: "k", y: "v" })],
  });
  ok(fig.isSvg);
  const document = parse(`<html><body>${fig.svg}</body></html>`);
  const svg = document.querySelector("svg");
  ok(svg);
  equal(svg.getAttribute("xmlns"), "http://www.w3.org/2000/svg");
  equal(document.querySelectorAll("rect").length, 3);
  ok("image/svg+xml" in fig[JUPYTER_DISPLAY]());
});

Deno.test("figure with a legend displays as HTML and still yields the plot SVG", () => {
  const fig = figure({
    color: { legend: true },
    marks: [
      Plot.dot([{ x: 1, y: 2, s: "p" }, { x: 2, y: 1, s: "q" }], { x: "x", y: "y", fill: "s" }),
    ],
  });
  ok(!fig.isSvg);
  ok("text/html" in fig[JUPYTER_DISPLAY]());
  const document = parse(`<html><body>${fig.svg}</body></html>`);
  equal(document.querySelectorAll("circle").length, 2);
});

Deno.test("saveFigure writes .svg and refuses other extensions", async () => {
  const dir = await Deno.makeTempDir();
  const fig = figure({ marks: [Plot.lineY([1, 3, 2])] });
  await saveFigure(fig, `${dir}/f.svg`);
  ok((await Deno.readTextFile(`${dir}/f.svg`)).startsWith("<svg"));
  await rejects(() => saveFigure(fig, `${dir}/f.png`), /use .svg or .html/);
  throws(() => figure(null as never), /Plot options/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("figure: continuous colour legends render headless (ramp drawn as an SVG image)", () => {
  const fig = figure({
    color: { legend: true, scheme: "viridis", type: "log" },
    marks: [
      Plot.cell([{ x: "a", y: "b", v: 1 }, { x: "b", y: "b", v: 10 }], {
        x: "x",
        y: "y",
        fill: "v",
      }),
    ],
  });
  const m = /href="data:image\/svg\+xml;base64,([^"]+)"/.exec(fig.html);
  ok(m, "the legend ramp should be an embedded SVG image");
  const ramp = atob(m[1]);
  equal((ramp.match(/<rect /g) ?? []).length, 256);
});
