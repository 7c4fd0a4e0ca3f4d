// The committed statuses in data/papers.json against the last run's records (results/, where
// the notebooks write them and tools/reproduce.ts leaves them), and the check itself on fixtures.
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  committedStatusProblems,
  loadCatalogue,
  type Paper,
  recordNamesOf,
} from "../../tools/_catalogue.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

const fixture: Paper = {
  id: "P99",
  title: "fixture",
  family: "f",
  tier: "A",
  status: "reproduced",
  notebook: "notebooks/99-fixture.ipynb",
};
const rec = (rows: unknown[]) => ({ values: { verdicts: rows } });
const agrees = { quantity: "a", measured: 1, verdict: "agrees", headline: true };
const differs = { quantity: "b", measured: 7, verdict: "differs", headline: true };
const missing = {
  quantity: "c",
  measured: null,
  verdict: "missing",
  headline: true,
  missing: "GPU",
};

Deno.test("committedStatusProblems: a committed status or summary that the record contradicts", () => {
  deepEqual(committedStatusProblems(fixture, [rec([agrees, { ...differs, headline: false }])]), []);
  const [p] = committedStatusProblems(fixture, [rec([agrees, differs])]);
  ok(p.includes('says "reproduced" but the record gives "partly reproduced"'), p);
  ok(p.includes("decided by b: differs"), p);
  equal(
    committedStatusProblems({ ...fixture, status: "partly reproduced" }, [rec([agrees, missing])])
      .length,
    0,
  );
  ok(
    committedStatusProblems({ ...fixture, status: "partly reproduced" }, [rec([differs])])[0]
      .includes('gives "not reproduced"'),
  );
  // a committed summary must be the generated one, word for word
  const stale = { ...fixture, summary: "Reproduced: 2.3× faster." };
  ok(committedStatusProblems(stale, [rec([agrees])])[0].includes("committed summary differs"));
  // rows of the other paper of a shared notebook do not count
  equal(
    committedStatusProblems(fixture, [rec([agrees, { ...differs, paperId: "P98" }])]).length,
    0,
  );
});

for (const paper of loadCatalogue(`${root}/data/papers.json`).filter((p) => p.notebook)) {
  const notebook = `${root}/${paper.notebook}`;
  const names = recordNamesOf(notebook);
  const paths = names.map((n) => `results/${n}.json`);
  const present = paths.filter((p) => {
    try {
      return Deno.statSync(`${root}/${p}`).isFile;
    } catch {
      return false;
    }
  });
  const name = `${paper.id}: papers.json status "${paper.status}" matches ${paths.join(", ")}`;
  const rerun = `rerun it: deno task reproduce --out /tmp/site ${paper.notebook}`;
  if (names.length === 0) {
    Deno.test({
      name: `${name} — skipped: ${paper.notebook} writes no record`,
      ignore: true,
      fn() {},
    });
    continue;
  }
  if (present.length < paths.length) {
    Deno.test({
      name: `${name} — skipped: no ${
        paths.filter((p) => !present.includes(p)).join(", ")
      } (${rerun})`,
      ignore: true,
      fn() {},
    });
    continue;
  }
  const records = present.map((p) => JSON.parse(Deno.readTextFileSync(`${root}/${p}`)));
  const edited = Deno.statSync(notebook).mtime?.getTime() ?? 0;
  const stale = records.find((r) => Date.parse(r.date) < edited - 1000);
  if (stale) {
    Deno.test({
      name: `${name} — skipped: results/${stale.name}.json (${stale.date}) is older than the ` +
        `notebook's last edit (${rerun})`,
      ignore: true,
      fn() {},
    });
    continue;
  }
  Deno.test(name, () => {
    const problems = committedStatusProblems(paper, records);
    equal(problems.length, 0, problems.join("\n"));
  });
}
