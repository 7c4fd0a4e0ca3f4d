import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { aq, showTable, table } from "../../lib/analysis/mod.ts";

const { desc, escape, op } = aq;
import { JUPYTER_DISPLAY, type MimeBundle } from "../../mod.ts";

Deno.test("table from rows and columns displays as HTML with all cells", () => {
  const t = table([{ lang: "en", n: 10 }, { lang: "de", n: 13 }]);
  equal(t.numRows(), 2);
  const show = (t as unknown as Record<symbol, () => MimeBundle>)[JUPYTER_DISPLAY];
  const html = String(show()["text/html"]);
  ok(html.includes("<table") && html.includes("de") && html.includes("13"));
  const c = table({ a: [1, 2, 3] }, { limit: 2 });
  const html2 = String(
    (c as unknown as Record<symbol, () => MimeBundle>)[JUPYTER_DISPLAY]()["text/html"],
  );
  ok(html2.includes("2 of 3 rows"));
  throws(() => table(42 as never), /array of row objects/);
});

Deno.test("table markdown has every row; showTable decorates derived tables", () => {
  const t = table({ word: ["the", "of", "a|b"], n: [3, 2, 1] });
  const md = t.toMarkdown();
  equal(md.trim().split("\n").length, 2 + 3); // header, rule, three rows
  ok(md.includes("|the|3|") && md.includes("a\\|b")); // a pipe in a cell is escaped
  const derived = showTable(t.filter((d: { n: number }) => d.n > 1));
  const html = String(
    (derived as unknown as Record<symbol, () => MimeBundle>)[JUPYTER_DISPLAY]()["text/html"],
  );
  equal((html.match(/<tr/g) ?? []).length, 1 + 2); // header + two rows
  ok(!html.includes("a|b"));
});

Deno.test("re-exported Arquero helpers work on tokenlab tables", () => {
  const t = table([{ w: "a", n: 2 }, { w: "b", n: 5 }, { w: "c", n: 1 }]);
  equal(t.rollup({ total: op.sum("n") }).get("total", 0), 8);
  deepEqual(Array.from(t.orderby(desc("n")).array("w")), ["b", "a", "c"]);
  const k = 3;
  deepEqual(Array.from(t.derive({ m: escape((d: { n: number }) => d.n * k) }).array("m")), [
    6,
    15,
    3,
  ]);
});
