import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { brownText, loadBrown } from "../../lib/data/mod.ts";
import { untagBrown } from "../../lib/data/brown.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

Deno.test("loadBrown: 500 documents in 15 categories, tags stripped", () => {
  const docs = loadBrown();
  equal(docs.length, 500);
  equal(new Set(docs.map((d) => d.category)).size, 15);
  equal(docs[0].id, "ca01");
  equal(docs[0].categoryName, "news");
  for (const d of docs) {
    // a tag is a slash followed by a lowercase tag name right after a word character
    ok(!/\w\/(at|nn|vbd|in|jj|np)\b/.test(d.text), `tag left in ${d.id}`);
    ok(!/(^|\s)(``|'')(\s|$)/m.test(d.text), `raw quote tokens left in ${d.id}`);
  }
});

Deno.test("loadBrown: first sentence rejoined from the raw tagged file", () => {
  const first = loadBrown({ categories: ["news"] })[0].text.split("\n")[0];
  equal(
    first,
    "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary " +
      'election produced "no evidence" that any irregularities took place.',
  );
});

Deno.test("untagBrown: punctuation attaches, brackets and quotes glue inward", () => {
  equal(
    untagBrown("\tHe/pps said/vbd (/( so/rb )/) ,/, ``/`` yes/rb ''/'' ;/. ok/uh ?/."),
    'He said (so), "yes"; ok?',
  );
  equal(untagBrown("\n\n\tA/at b/nn ./.\n\n\n\tC/np ./.\n"), "A b.\nC.");
});

Deno.test("loadBrown: deterministic, filters by name or letter, rejects unknown", () => {
  deepEqual(loadBrown({ categories: ["a"] }), loadBrown({ categories: ["news"] }));
  equal(brownText({ cache: false }), brownText());
  throws(() => loadBrown({ categories: ["poetry"] }), TokenlabError);
});

Deno.test("loadBrown: a corrupt cache entry is rebuilt", () => {
  const dir = Deno.makeTempDirSync();
  const old = Deno.env.get("TOKENLAB_CACHE");
  Deno.env.set("TOKENLAB_CACHE", dir);
  try {
    const fresh = loadBrown().length;
    for (const e of Deno.readDirSync(dir)) Deno.writeTextFileSync(`${dir}/${e.name}`, "{not json");
    equal(loadBrown().length, fresh);
  } finally {
    if (old === undefined) Deno.env.delete("TOKENLAB_CACHE");
    else Deno.env.set("TOKENLAB_CACHE", old);
    Deno.removeSync(dir, { recursive: true });
  }
});
