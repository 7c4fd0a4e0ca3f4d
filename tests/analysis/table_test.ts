import { equal, ok, throws } from "node:assert/strict";
import { table } from "../../lib/analysis/mod.ts";
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
