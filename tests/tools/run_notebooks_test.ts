import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { findJupyterPython } from "../../tools/_jupyter.ts";
import { parseArgs, resolveNotebooks, validateNotebook } from "../../tools/run_notebooks.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const fixtures = "tests/fixtures/notebooks";

function requireJupyter(): string {
  const py = findJupyterPython();
  if (!py) {
    throw new Error("Jupyter's executor (nbclient) is missing: run `deno task setup` first");
  }
  return py;
}

async function runner(args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}/tools/run_notebooks.ts`, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("parameter injection rewrites the parameters cell and appends missing names", () => {
  const py = requireJupyter();
  const script = `
import json, sys
sys.path.insert(0, "${root}/tools")
import nbformat
from _execute_notebook import inject_parameters
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell("const a = 1;"),
            nbformat.v4.new_code_cell('const profile = Deno.env.get("X") ?? "quick";\\nlet n: number = 5', metadata={"tags": ["parameters"]})]
idx = inject_parameters(nb, {"profile": "full", "n": 7, "extra": [1, "b"]})
print(json.dumps({"idx": idx, "src": nb.cells[1].source, "first": nb.cells[0].source}))`;
  const out = new Deno.Command(py, { args: ["-c", script], stdout: "piped", stderr: "piped" })
    .outputSync();
  ok(out.success, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  equal(r.idx, 1);
  equal(r.first, "const a = 1;");
  equal(
    r.src,
    'const profile = "full";\nlet n: number = 7\nconst extra = [1, "b"]; // injected by tokenlab\'s runner',
  );
});

Deno.test("runner: a throwing notebook fails naming notebook and cell; others still run", async () => {
  requireJupyter();
  const outDir = await Deno.makeTempDir();
  const before = await Deno.readTextFile(`${root}/${fixtures}/fails.ipynb`);
  const { code, out } = await runner([
    `${fixtures}/fails.ipynb`,
    `${fixtures}/passes.ipynb`,
    "--out",
    outDir,
  ]);
  equal(code, 1, out);
  ok(out.includes("fails.ipynb: failed in code cell 2 of 3"), out);
  ok(out.includes("deliberate failure in cell 2"), out);
  ok(/passes\.ipynb\s+passed/.test(out), out);
  ok(out.includes("1 passed, 1 failed"), out);
  // the source is untouched; the executed copy carries the status and the injected profile
  equal(await Deno.readTextFile(`${root}/${fixtures}/fails.ipynb`), before);
  const executed = JSON.parse(await Deno.readTextFile(`${outDir}/passes.ipynb`));
  equal(executed.metadata.tokenlab.status, "passed");
  deepEqual(executed.metadata.tokenlab.parameters, { profile: "quick" });
  const texts = executed.cells.flatMap((c: { outputs?: { text?: string[] }[] }) =>
    (c.outputs ?? []).map((o) => (o.text ?? []).join(""))
  ).join("");
  ok(texts.includes("profile=quick marker=default"), texts);
  await Deno.remove(outDir, { recursive: true });
});

Deno.test("runner: a cell past the timeout is reported as a timeout in that cell", async () => {
  requireJupyter();
  const outDir = await Deno.makeTempDir();
  const { code, out } = await runner([
    `${fixtures}/sleeps.ipynb`,
    "--timeout",
    "4",
    "--out",
    outDir,
  ]);
  equal(code, 1, out);
  ok(out.includes("sleeps.ipynb: timeout in code cell 2 of 2"), out);
  await Deno.remove(outDir, { recursive: true });
});

Deno.test("runner: malformed notebooks and bad arguments give clear errors", () => {
  ok(validateNotebook(`${root}/${fixtures}/broken.ipynb`)!.includes("is not valid JSON"));
  equal(validateNotebook(`${root}/${fixtures}/passes.ipynb`), null);
  throws(() => parseArgs(["--profile", "huge"]), /quick or full/);
  throws(() => parseArgs(["--bogus"]), /unknown option/);
  throws(() => resolveNotebooks(["99-nope"], root), /no notebook matches "99-nope"/);
  deepEqual(resolveNotebooks(["00"], root), ["notebooks/00-tour.ipynb"]);
});
