import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { findJupyterPython } from "../../tools/_jupyter.ts";
import {
  parseArgs,
  parseShard,
  resolveNotebooks,
  selectShard,
  validateNotebook,
} from "../../tools/run_notebooks.ts";

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
    "--no-cache",
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
    "--no-cache",
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
  throws(() => parseArgs(["--jobs", "0"]), /--jobs must be a whole number/);
  throws(() => parseArgs(["--shard", "3/2"]), /--shard must be k\/n/);
  throws(() => parseShard("0/4"), /1 ≤ k ≤ n/);
  throws(() => parseShard("a/b"), /--shard/);
  const parsed = parseArgs(["--jobs=3", "--force", "--shard", "2/5", "--no-cache", "00"]);
  deepEqual(
    [parsed.jobs, parsed.force, parsed.shard, parsed.cache, parsed.notebooks],
    [3, true, { index: 2, count: 5 }, false, ["00"]],
  );
  equal(parseArgs([]).jobs, navigator.hardwareConcurrency);
});

Deno.test("--shard k/n: deterministic, disjoint, complete and balanced", () => {
  const all = resolveNotebooks([], root);
  ok(all.length >= 2);
  const synthetic = Array.from(
    { length: 23 },
    (_, i) => `notebooks/${String(i).padStart(2, "0")}-x.ipynb`,
  );
  for (const list of [all, synthetic]) {
    for (let n = 1; n <= 7; n++) {
      const shards = Array.from(
        { length: n },
        (_, k) => selectShard(list, { index: k + 1, count: n }),
      );
      const union = shards.flat();
      deepEqual(
        [...union].sort(),
        [...list].sort(),
        `n=${n}: shards must cover every notebook once`,
      );
      equal(new Set(union).size, list.length, `n=${n}: a notebook in two shards`);
      const sizes = shards.map((s) => s.length);
      ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n}: sizes ${sizes}`);
      // the order the notebooks were listed in does not matter
      const shuffled = [...list].reverse();
      for (let k = 1; k <= n; k++) {
        deepEqual(selectShard(shuffled, { index: k, count: n }), shards[k - 1]);
      }
    }
  }
  // a known split, written out: every third of the sorted list
  deepEqual(selectShard(["c", "a", "e", "b", "d"], { index: 2, count: 3 }), ["b", "e"]);
});

/** A temp folder with a notebook that imports a tiny library and one that imports nothing. */
function cacheFixture(): { dir: string; uses: string; plain: string } {
  const dir = Deno.makeTempDirSync();
  Deno.mkdirSync(`${dir}/tiny_lib`);
  Deno.writeTextFileSync(`${dir}/tiny_lib/mod.ts`, 'export { double } from "./double.ts";\n');
  Deno.writeTextFileSync(
    `${dir}/tiny_lib/double.ts`,
    "export function double(x: number): number {\n  return 2 * x;\n}\n",
  );
  const nb = (code: string) =>
    JSON.stringify({
      cells: [
        { cell_type: "markdown", id: "m", metadata: {}, source: "# cache fixture" },
        {
          cell_type: "code",
          id: "p",
          metadata: { tags: ["parameters"] },
          source: 'const profile = "quick";',
          outputs: [],
          execution_count: null,
        },
        {
          cell_type: "code",
          id: "c",
          metadata: {},
          source: code,
          outputs: [],
          execution_count: null,
        },
      ],
      metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 5,
    });
  Deno.writeTextFileSync(
    `${dir}/uses_lib.ipynb`,
    nb('import { double } from "./tiny_lib/mod.ts";\nconsole.log(`double=${double(21)}`);'),
  );
  Deno.writeTextFileSync(`${dir}/plain.ipynb`, nb("console.log(`plain ${profile}`);"));
  return { dir, uses: `${dir}/uses_lib.ipynb`, plain: `${dir}/plain.ipynb` };
}

Deno.test("runner cache: second run executes nothing; a touched module reruns its importer only; a corrupt entry reruns with a notice", async () => {
  requireJupyter();
  const { dir, uses, plain } = cacheFixture();
  const cache = `${dir}/cache`, out = `${dir}/out`;
  const run = (...extra: string[]) =>
    runner([uses, plain, "--cache", cache, "--out", out, "--jobs", "2", ...extra]);
  const executed = (log: string) =>
    ["uses_lib", "plain"].filter((n) => new RegExp(`${n}\\.ipynb \\(profile quick`).test(log));

  const first = await run();
  equal(first.code, 0, first.out);
  deepEqual(executed(first.out), ["uses_lib", "plain"], first.out);
  ok(first.out.includes("2 executed, 0 from the cache"), first.out);
  const copy = JSON.parse(await Deno.readTextFile(`${out}/uses_lib.ipynb`));
  ok(JSON.stringify(copy.cells).includes("double=42"), "the executed copy has the output");
  ok(copy.metadata.tokenlab.cache_key?.length === 64, "the executed copy names its cache key");

  await Deno.remove(out, { recursive: true });
  const second = await run();
  equal(second.code, 0, second.out);
  deepEqual(executed(second.out), [], second.out);
  ok(second.out.includes("0 executed, 2 from the cache"), second.out);
  ok(
    JSON.stringify(JSON.parse(await Deno.readTextFile(`${out}/uses_lib.ipynb`)).cells)
      .includes("double=42"),
    "a cache hit restores the executed copy",
  );

  Deno.writeTextFileSync(`${dir}/tiny_lib/double.ts`, "// touched\n", { append: true });
  const third = await run();
  equal(third.code, 0, third.out);
  deepEqual(executed(third.out), ["uses_lib"], third.out);
  ok(third.out.includes(`changed: ${dir}/tiny_lib/double.ts`), third.out);

  const plainDir = `${cache}/plain`;
  const [entry] = [...Deno.readDirSync(plainDir)].map((e) => e.name);
  Deno.writeTextFileSync(`${plainDir}/${entry}/entry.json`, "{ not json");
  const fourth = await run();
  equal(fourth.code, 0, fourth.out);
  deepEqual(executed(fourth.out), ["plain"], fourth.out);
  ok(
    fourth.out.includes(`cache: ignoring entry plain/${entry}: entry.json is unreadable`),
    fourth.out,
  );

  const forced = await run("--force");
  deepEqual(executed(forced.out), ["uses_lib", "plain"], forced.out);
  await Deno.remove(dir, { recursive: true });
});
