import { equal, ok } from "node:assert/strict";
import { findJupyterPython } from "../../tools/_jupyter.ts";
import { type ClaimVerdict, paperStatus } from "../../lib/analysis/mod.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("smoke: the tour notebook executes headlessly and writes its record", async () => {
  ok(findJupyterPython(), "Jupyter's executor is missing: run `deno task setup` first");
  const outDir = await Deno.makeTempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "tools/run_notebooks.ts",
      "00-tour",
      "--out",
      outDir,
      "--timeout",
      "300",
      "--no-cache",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  equal(out.code, 0, log);
  const nb = JSON.parse(await Deno.readTextFile(`${outDir}/00-tour.ipynb`));
  equal(nb.metadata.tokenlab.status, "passed");
  const outputs = nb.cells.flatMap((c: { outputs?: unknown[] }) => c.outputs ?? []);
  const html = JSON.stringify(outputs);
  ok(html.includes("<svg"), "the tour shows at least one figure");
  ok(html.includes("agrees") || html.includes("differs"), "the tour shows a claim table");
  const record = JSON.parse(await Deno.readTextFile(`${root}/results/00-tour.json`));
  equal(record.values.brown.docs, 500);
  // the tour shows the notebook rules: declared headline rows, an interval with its
  // leave-one-out check on the aggregate, and a status derived from the record
  const rows = record.values.verdicts as ClaimVerdict[];
  ok(rows.some((r) => r.headline === true && r.declared === true), "declared headline rows");
  ok(
    rows.some((r) => r.headline && r.interval && r.leaveOneOutOver),
    "an interval and a leave-one-out",
  );
  ok(rows.some((r) => !r.headline), "a non-headline row");
  const status = paperStatus(rows);
  ok(html.includes(status.summary.slice(0, 40)), "the tour prints the generated summary");
  await Deno.remove(outDir, { recursive: true });
});
