import { equal, ok } from "node:assert/strict";
import { validateNotebook } from "../../tools/run_notebooks.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("committed notebooks are valid nbformat 4 without outputs or execution counts", () => {
  const names = [...Deno.readDirSync(`${root}/notebooks`)].filter((e) => e.name.endsWith(".ipynb"));
  ok(names.length > 0, "no notebooks found");
  for (const { name } of names) {
    const path = `${root}/notebooks/${name}`;
    equal(validateNotebook(path), null, `${name} is not a valid notebook`);
    const nb = JSON.parse(Deno.readTextFileSync(path));
    for (const [i, cell] of nb.cells.entries()) {
      if (cell.cell_type !== "code") continue;
      equal((cell.outputs ?? []).length, 0, `${name} cell ${i} has outputs: strip them`);
      equal(cell.execution_count ?? null, null, `${name} cell ${i} has an execution count`);
    }
    ok(
      nb.cells.some((c: { metadata?: { tags?: string[] } }) =>
        c.metadata?.tags?.includes("parameters")
      ),
      `${name} has no cell tagged "parameters"`,
    );
    equal(nb.cells[0].cell_type, "markdown", `${name} must open with a markdown claim cell`);
  }
});
