import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  compareClaims,
  declareClaims,
  leaveOneOut,
  mean,
  ruleText,
} from "../../lib/analysis/mod.ts";
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

Deno.test("intervals against the band: inside agrees, outside differs, straddling is inconclusive", () => {
  // paper 33 ± 25% → band [24.75, 41.25]
  const rule = { kind: "relative", tolerance: 0.25 } as const;
  const row = (measured: number, low: number, high: number) => ({
    quantity: "q",
    paper: 33,
    measured,
    rule,
    interval: { low, high, level: 0.95 },
  });
  const t = compareClaims([
    row(30, 25, 41),
    row(7, 5.1, 8.8), // P47's case: far below the band
    row(26, 23, 29), // the value is inside but the interval pokes out of the band
    row(45, 42, 48),
    row(24.75, 24.75, 41.25), // the edges themselves count as inside
  ]);
  equal(t.rows.map((r) => r.verdict).join(), "agrees,differs,inconclusive,differs,agrees");
  deepEqual(t.rows[0].band, { low: 24.75, high: 41.25 });
  ok(t.rows[2].reason.includes("straddles"));
  // the same value without its interval decides on the point: the old behaviour
  equal(compareClaims([{ ...row(26, 0, 0), interval: undefined }]).rows[0].verdict, "agrees");
  throws(() => compareClaims([row(30, 31, 29)]), /low <= high/);
  throws(() => compareClaims([{ ...row(1, 0, 2), paper: 0 }]), /non-zero paper value/);
});

Deno.test("directional claims: the minimum effect moves the edge; declared rows must state it", () => {
  const dir = (measured: number, low?: number, high?: number) => ({
    quantity: "reduction",
    paper: null,
    measured,
    headline: true,
    rule: { kind: "direction", expect: "higher", than: 0, minEffect: 2 } as const,
    interval: low === undefined ? undefined : { low, high: high! },
  });
  const t = compareClaims([
    dir(2.5),
    dir(1.5),
    dir(3, 2.1, 3.9),
    dir(3, 1.5, 4.5),
    dir(1, 0.5, 1.9),
  ]);
  equal(t.rows.map((r) => r.verdict).join(), "agrees,differs,agrees,inconclusive,differs");
  equal(t.rows[0].band.low, 2);
  equal(t.rows[0].band.high, Infinity);
  const lower = compareClaims([{
    quantity: "spread",
    paper: null,
    measured: -0.05,
    headline: false,
    rule: { kind: "direction", expect: "lower", minEffect: 0.01 },
    interval: { low: -0.09, high: -0.02 },
  }]);
  equal(lower.rows[0].verdict, "agrees");
  // ">0" without a minimum effect: refused for rows that say whether they are headline rows…
  throws(
    () =>
      compareClaims([{
        quantity: "q",
        paper: null,
        measured: 1,
        headline: true,
        rule: { kind: "direction", expect: "higher" },
      }]),
    /minimum effect/,
  );
  throws(
    () =>
      declareClaims([{
        id: "q",
        quantity: "q",
        headline: false,
        paper: null,
        rule: { kind: "direction", expect: "higher" },
      }]),
    /minimum effect/,
  );
  // …still taken from older rows, flagged in the reason
  const old = compareClaims([{
    quantity: "q",
    paper: null,
    measured: 0.001,
    rule: { kind: "direction", expect: "higher" },
  }]);
  equal(old.rows[0].verdict, "agrees");
  ok(old.rows[0].reason.includes("no minimum effect stated"));
  equal(old.rows[0].headline, false);
});

Deno.test("leave-one-out: one language deciding a verdict marks it fragile", () => {
  // P18's shape: a mean change carried by one language
  const perLanguage = [
    { lang: "hi", d: -0.7 },
    { lang: "de", d: 0.01 },
    { lang: "fr", d: 0.02 },
    { lang: "es", d: -0.01 },
  ];
  const loo = leaveOneOut(perLanguage, {
    group: (r) => r.lang,
    statistic: (rows) => mean(rows.map((r) => r.d)),
    over: "language",
  });
  equal(loo.over, "language");
  deepEqual(loo.values.map((v) => v.group), ["hi", "de", "fr", "es"]);
  // by hand: without hi the mean is (0.01 + 0.02 − 0.01) / 3 = 0.00667
  ok(Math.abs(loo.values[0].value - 0.02 / 3) < 1e-12);
  ok(Math.abs(loo.values[1].value - (-0.69 / 3)) < 1e-12);
  const claim = {
    quantity: "premium spread change",
    paper: null,
    measured: mean(perLanguage.map((r) => r.d)), // −0.17
    headline: true,
    rule: { kind: "direction", expect: "lower", minEffect: 0.05 } as const,
    leaveOneOut: loo,
  };
  const [row] = compareClaims([claim]).rows;
  equal(row.verdict, "agrees");
  equal(row.fragile, true);
  deepEqual(row.flips.map((f) => f.group), ["hi"]);
  ok(row.reason.includes("fragile: without hi"));
  ok(compareClaims([claim]).toMarkdown().includes("agrees (fragile)"));
  // a robust effect (every language lower) is not fragile
  const robust = perLanguage.map((r) => ({ ...r, d: r.d - 0.2 }));
  const [r2] = compareClaims([{
    ...claim,
    measured: mean(robust.map((r) => r.d)),
    leaveOneOut: leaveOneOut(robust, {
      group: (r) => r.lang,
      statistic: (rows) => mean(rows.map((r) => r.d)),
    }),
  }]).rows;
  equal(r2.fragile, false);
  deepEqual(r2.flips, []);
  // a differing verdict that one group would turn into agreement is fragile too
  const [r3] = compareClaims([{
    quantity: "x",
    paper: 10,
    measured: 12,
    rule: { kind: "absolute", tolerance: 1 },
    leaveOneOut: {
      over: "doc",
      values: [{ group: "d1", value: 12.5 }, { group: "d2", value: 10.4 }],
    },
  }]).rows;
  equal(r3.verdict, "differs");
  deepEqual(r3.flips, [{ group: "d2", value: 10.4 }]);
  throws(() => leaveOneOut([{ g: "a" }], { group: (r) => r.g, statistic: () => 1 }), /two groups/);
});

Deno.test("declareClaims: measure, missing, extra rows; every declared row must be filled", () => {
  const plan = declareClaims([
    {
      id: "big",
      quantity: "big",
      headline: true,
      paper: 10,
      rule: { kind: "absolute", tolerance: 1 },
    },
    {
      id: "gpu",
      quantity: "on a GPU",
      headline: true,
      paper: 2,
      rule: { kind: "range", low: 1, high: 3 },
    },
  ]);
  plan.measure("big", 10.4);
  throws(() => plan.table(), /"gpu" were not measured/);
  throws(() => plan.measure("nope", 1), /no declared claim "nope"/);
  throws(() => plan.measure("big", 3), /already measured/);
  throws(() => plan.missing("gpu", " "), /say why/);
  throws(() => plan.measure("gpu", Number.NaN), /finite number/);
  plan.missing("gpu", "needs a hardware GPU");
  const t = plan.table([
    { quantity: "side", paper: 1, measured: 5, rule: { kind: "absolute", tolerance: 1 } },
  ]);
  deepEqual(t.rows.map((r) => [r.id, r.headline, r.declared, r.verdict]), [
    ["big", true, true, "agrees"],
    ["gpu", true, true, "missing"],
    [undefined, false, false, "differs"],
  ]);
  equal(t.rows[1].measured, null);
  equal(t.headlineRows.length, 2);
  ok(t.toMarkdown().includes("★ big"));
  throws(
    () =>
      declareClaims([
        {
          id: "a",
          quantity: "a",
          headline: true,
          paper: 1,
          rule: { kind: "absolute", tolerance: 1 },
        },
        {
          id: "a",
          quantity: "b",
          headline: true,
          paper: 1,
          rule: { kind: "absolute", tolerance: 1 },
        },
      ]),
    /duplicate id/,
  );
  throws(
    () =>
      declareClaims([
        { id: "a", quantity: "a", paper: 1, rule: { kind: "absolute", tolerance: 1 } } as never,
      ]),
    /headline/,
  );
  throws(
    () =>
      declareClaims([{
        id: "a",
        quantity: "a",
        headline: true,
        paper: null,
        rule: { kind: "absolute", tolerance: 1 },
      }]),
    /needs a paper value/,
  );
  const shown = String(plan[JUPYTER_DISPLAY]()["text/markdown"]);
  ok(shown.includes("**headline**") && shown.includes("agrees in [1, 3]"));
});

Deno.test("timing rows name their backend; a software adapter is never a hardware result", () => {
  const t = compareClaims([
    {
      quantity: "speed-up",
      paper: 2,
      measured: 2.1,
      rule: { kind: "relative", tolerance: 0.2 },
      backend: "llvmpipe (LLVM 15.0.6, 256 bits)",
    },
    {
      quantity: "speed-up",
      paper: 2,
      measured: 2.1,
      rule: { kind: "relative", tolerance: 0.2 },
      backend: "NVIDIA H200",
    },
  ]);
  equal(t.rows[0].software, true);
  equal(t.rows[1].software, false);
  ok(t.toHtml().includes("a software adapter: not a hardware result"));
  equal(t.toMarkdown().split("not a hardware result").length, 2);
  equal(
    ruleText({ rule: { kind: "absolute", tolerance: 0.5 }, paper: 2, unit: "x" }),
    "agrees within ±0.500 of 2: [1.500, 2.500] x",
  );
});
