import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { corpusStats, loadCodeFiles, loadElfBinaries, splitTrainTest } from "../../lib/data/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

Deno.test("splitTrainTest: seeded, disjoint, covering, order-preserving", () => {
  const items = [...Array(100).keys()];
  const a = splitTrainTest(items, { testFraction: 0.25, seed: 3 });
  const b = splitTrainTest(items, { testFraction: 0.25, seed: 3 });
  const c = splitTrainTest(items, { testFraction: 0.25, seed: 4 });
  deepEqual(a, b);
  ok(JSON.stringify(a.test) !== JSON.stringify(c.test));
  equal(a.test.length, 25);
  deepEqual([...a.train, ...a.test].sort((x, y) => x - y), items);
  deepEqual(a.train, [...a.train].sort((x, y) => x - y));
  equal(splitTrainTest([1, 2], { testFraction: 0.01 }).test.length, 1);
  throws(() => splitTrainTest(items, { testFraction: 1 }), TokenlabError);
});

Deno.test("corpusStats counts UTF-8 bytes, code points and words", () => {
  deepEqual(corpusStats(["héllo world", "🙂"]), {
    docs: 2,
    chars: 13,
    codePoints: 12,
    bytes: 16,
    words: 3,
  });
  throws(() => corpusStats([1 as unknown as string]), TokenlabError);
});

Deno.test("loadCodeFiles and loadElfBinaries are deterministic and typed", () => {
  const a = loadCodeFiles({ maxFiles: 10 });
  ok(a.length > 0);
  deepEqual(a.map((f) => f.path), loadCodeFiles({ maxFiles: 10 }).map((f) => f.path));
  const bins = loadElfBinaries({ maxFiles: 3 });
  ok(bins.length > 0);
  for (const b of bins) deepEqual([...b.bytes.slice(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  throws(() => loadElfBinaries({ dir: "/no/such/dir" }), TokenlabError);
});
