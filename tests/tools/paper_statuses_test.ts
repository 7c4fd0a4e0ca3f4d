import { deepEqual } from "node:assert/strict";
import { statusReport } from "../../tools/paper_statuses.ts";

Deno.test("statusReport: committed vs derived status, with missing and stale records named", () => {
  const root = Deno.makeTempDirSync();
  Deno.mkdirSync(`${root}/data`);
  Deno.mkdirSync(`${root}/notebooks`);
  Deno.mkdirSync(`${root}/results`);
  const paper = (id: string, nb: string) => ({
    id,
    title: id,
    family: "f",
    tier: "A",
    status: "partly reproduced",
    notebook: `notebooks/${nb}.ipynb`,
  });
  Deno.writeTextFileSync(
    `${root}/data/papers.json`,
    JSON.stringify([paper("P01", "01-a"), paper("P02", "02-b"), paper("P03", "03-c")]),
  );
  const nb = (name: string) =>
    Deno.writeTextFileSync(
      `${root}/notebooks/${name}.ipynb`,
      JSON.stringify({
        cells: [{ cell_type: "code", source: `await writeRecord("${name}", { values: {} });` }],
      }),
    );
  nb("01-a");
  nb("02-b");
  nb("03-c");
  const future = new Date(Date.now() + 60_000).toISOString();
  Deno.writeTextFileSync(
    `${root}/results/01-a.json`,
    JSON.stringify({
      name: "01-a",
      date: future,
      values: {
        verdicts: [{ quantity: "q", measured: 1, verdict: "differs", headline: true }],
      },
    }),
  );
  Deno.writeTextFileSync(
    `${root}/results/03-c.json`,
    JSON.stringify({ name: "03-c", date: "2000-01-01T00:00:00Z", values: { verdicts: [] } }),
  );
  deepEqual(statusReport(root), [
    { id: "P01", committed: "partly reproduced", derived: "not reproduced", why: "q: differs" },
    { id: "P02", committed: "partly reproduced", derived: null, why: "no results/02-b.json" },
    {
      id: "P03",
      committed: "partly reproduced",
      derived: null,
      why: "results/03-c.json is older than notebooks/03-c.ipynb",
    },
  ]);
  Deno.removeSync(root, { recursive: true });
});
