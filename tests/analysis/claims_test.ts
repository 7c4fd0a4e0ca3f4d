import { equal, ok, throws } from "node:assert/strict";
import { compareClaims } from "../../lib/analysis/mod.ts";
import { JUPYTER_DISPLAY, TokenlabError } from "../../mod.ts";

Deno.test("compareClaims: relative and absolute tolerance boundaries", () => {
  const t = compareClaims([
    { quantity: "a", paper: 100, measured: 110, rule: { kind: "relative", tolerance: 0.1 } },
    { quantity: "b", paper: 100, measured: 111, rule: { kind: "relative", tolerance: 0.1 } },
    { quantity: "c", paper: -4, measured: -3, rule: { kind: "absolute", tolerance: 1 } },
    { quantity: "d", paper: -4, measured: -2.9, rule: { kind: "absolute", tolerance: 1 } },
  ]);
  equal(t.rows.map((r) => r.verdict).join(), "agrees,differs,agrees,differs");
  equal(t.rows[0].ratio, 1.1);
  equal(t.agreeing, 2);
});

Deno.test("compareClaims: direction and range rules, null paper value", () => {
  const t = compareClaims([
    {
      quantity: "up",
      paper: null,
      measured: 1.2,
      rule: { kind: "direction", expect: "higher", than: 1 },
    },
    {
      quantity: "down",
      paper: null,
      measured: 1.2,
      rule: { kind: "direction", expect: "lower", than: 1 },
    },
    { quantity: "in", paper: 0.3, measured: 0.2, rule: { kind: "range", low: 0.09, high: 0.2 } },
  ]);
  equal(t.rows.map((r) => r.verdict).join(), "agrees,differs,agrees");
  equal(t.rows[0].ratio, null);
});

Deno.test("ClaimTable renders markdown and HTML with every row", () => {
  const t = compareClaims([
    {
      quantity: "x<y",
      paper: 2,
      measured: 3,
      unit: "%",
      rule: { kind: "relative", tolerance: 0.1 },
      note: "scale",
    },
  ]);
  const md = t.toMarkdown().split("\n");
  equal(md.length, 3);
  ok(md[2].includes("differs") && md[2].includes("scale"));
  // every row has exactly the header's 8 cells: pipes inside cells are escaped
  equal(md[2].split(/(?<!\\)\|/).length, md[0].split("|").length);
  const bundle = t[JUPYTER_DISPLAY]();
  ok(String(bundle["text/html"]).includes("x&lt;y"));
});

Deno.test("compareClaims rejects bad claims with TokenlabError", () => {
  throws(
    () =>
      compareClaims([{
        quantity: "q",
        paper: null,
        measured: 1,
        rule: { kind: "relative", tolerance: 0.1 },
      }]),
    TokenlabError,
  );
  throws(
    () =>
      compareClaims([{
        quantity: "q",
        paper: 1,
        measured: NaN,
        rule: { kind: "absolute", tolerance: 1 },
      }]),
    TokenlabError,
  );
  throws(
    // deno-lint-ignore no-explicit-any
    () => compareClaims([{ quantity: "q", paper: 1, measured: 1, rule: { kind: "vibes" } as any }]),
    /unknown rule/,
  );
});
