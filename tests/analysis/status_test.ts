import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { type ClaimVerdict, paperStatus } from "../../lib/analysis/mod.ts";

const row = (
  quantity: string,
  verdict: ClaimVerdict["verdict"],
  more: Partial<ClaimVerdict> = {},
): ClaimVerdict => ({
  quantity,
  measured: verdict === "missing" ? null : 1,
  verdict,
  headline: true,
  ...more,
});

Deno.test("paperStatus: reproduced only when every headline row agrees", () => {
  const s = paperStatus([
    row("a", "agrees"),
    row("b", "agrees"),
    row("side", "differs", { headline: false }), // not a headline row: does not count
  ]);
  equal(s.status, "reproduced");
  deepEqual(s.counts, {
    headline: 2,
    agrees: 2,
    differs: 0,
    inconclusive: 0,
    missing: 0,
    fragile: 0,
  });
  equal(s.undeclared, false);
});

Deno.test("paperStatus: some agree → partly; none agree but some differ → not reproduced", () => {
  equal(paperStatus([row("a", "agrees"), row("b", "differs")]).status, "partly reproduced");
  equal(paperStatus([row("a", "agrees"), row("b", "inconclusive")]).status, "partly reproduced");
  // a key experiment missing keeps it partly, even when every measured row agrees
  const missing = paperStatus([
    row("a", "agrees"),
    row("b", "missing", { missing: "needs a pretrained model" }),
  ]);
  equal(missing.status, "partly reproduced");
  deepEqual(missing.decidedBy.map((r) => r.quantity), ["b"]);
  ok(missing.summary.includes("b: not measured (needs a pretrained model)"));
  // a fragile agreement is not a reproduction
  const fragile = paperStatus([
    row("a", "agrees"),
    row("b", "agrees", { fragile: true, flips: [{ group: "Hindi", value: -0.008 }] }),
  ]);
  equal(fragile.status, "partly reproduced");
  ok(fragile.summary.includes("fragile: flips without Hindi"));
  const not = paperStatus([
    row("a", "differs"),
    row("b", "inconclusive"),
    row("c", "agrees", { headline: false }),
  ]);
  equal(not.status, "not reproduced");
  deepEqual(not.decidedBy.map((r) => r.quantity), ["a", "b"]);
  equal(paperStatus([row("a", "inconclusive")]).status, "inconclusive");
  equal(paperStatus([row("a", "missing", { missing: "GPU" })]).status, "in progress");
  equal(paperStatus([]).status, "in progress");
  equal(paperStatus([]).summary, "In progress: the record has no claim rows.");
  throws(() => paperStatus(undefined as unknown as ClaimVerdict[]), /values\.verdicts/);
});

Deno.test("paperStatus: records without headline rows count every row and never reproduce", () => {
  const legacy = [
    { quantity: "a", measured: 1, verdict: "agrees" as const },
    { quantity: "b", measured: 2, verdict: "differs" as const },
  ];
  const s = paperStatus(legacy);
  equal(s.status, "partly reproduced");
  equal(s.undeclared, true);
  equal(s.counts.headline, 2);
  ok(s.summary.includes("no headline rows declared"), s.summary);
  // every row agreeing is still only partly: nothing was declared before the experiment
  const all = paperStatus([legacy[0], { ...legacy[0], quantity: "c" }]);
  equal(all.status, "partly reproduced");
  equal(all.decidedBy.length, 2);
  equal(paperStatus([legacy[1]]).status, "not reproduced");
});

Deno.test("paperStatus: rows of another paper of the same notebook are left out", () => {
  const rows = [
    row("shared", "agrees"),
    row("for P26", "differs", { paperId: "P26" }),
    row("for P27", "agrees", { paperId: "P27" }),
  ];
  equal(paperStatus(rows, { paperId: "P27" }).status, "reproduced");
  equal(paperStatus(rows, { paperId: "P26" }).status, "partly reproduced");
  equal(paperStatus(rows).counts.headline, 3);
});

Deno.test("paperStatus: the summary is generated from the numbers, software timings labelled", () => {
  const s = paperStatus([
    {
      quantity: "token reduction at 12k",
      measured: 6.992814,
      paper: 33,
      unit: "%",
      verdict: "differs",
      headline: true,
      interval: { low: 5.1234, high: 8.8, level: 0.95 },
    },
    {
      quantity: "prefill speed-up",
      measured: 2.7713,
      paper: 2.3,
      unit: "x",
      verdict: "agrees",
      headline: true,
      backend: "llvmpipe (LLVM 15.0.6, 256 bits)",
      software: true,
    },
  ]);
  equal(
    s.summary,
    "Partly reproduced: 1 of 2 headline rows agree — token reduction at 12k 6.99% [5.12, 8.80] " +
      "vs paper 33%: differs; prefill speed-up 2.77 x vs paper 2.30 x on llvmpipe (LLVM 15.0.6, " +
      "256 bits) (software adapter, not hardware): agrees.",
  );
});

Deno.test("paperStatus: the summary names the deciding rows first, at most four", () => {
  const rows = [
    row("a1", "agrees"),
    row("a2", "agrees"),
    row("a3", "agrees"),
    row("a4", "agrees"),
    row("d1", "differs"),
    row("a5", "agrees"),
  ];
  const s = paperStatus(rows);
  equal(
    s.summary,
    "Partly reproduced: 5 of 6 headline rows agree — d1 1: differs; a1 1: agrees; a2 1: agrees; " +
      "a3 1: agrees; and 2 more.",
  );
});
