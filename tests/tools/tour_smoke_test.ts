import { equal, ok } from "node:assert/strict";
import { findJupyterPython } from "../../tools/_jupyter.ts";

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
  await Deno.remove(outDir, { recursive: true });
});
