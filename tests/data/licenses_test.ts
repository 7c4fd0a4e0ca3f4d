import { equal, ok, throws } from "node:assert/strict";
import { loadLicenses } from "../../lib/data/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";

Deno.test("loadLicenses: full texts of MIT and Apache-2.0", () => {
  const all = loadLicenses();
  ok(all.length > 500, `only ${all.length} licenses`);
  const [apache, mit] = loadLicenses({ ids: ["Apache-2.0", "MIT"] });
  ok(mit.text.startsWith("MIT License"));
  ok(mit.text.includes("Permission is hereby granted, free of charge"));
  ok(apache.text.includes("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"));
  ok(apache.osiApproved);
  equal(all.filter((l) => l.id === "MIT").length, 1);
  throws(() => loadLicenses({ ids: ["mit-lowercase"] }), TokenlabError);
});
