// No import cycles among the files of lib/ and kernels/ (type-only imports count), and imports
// only go down DESIGN.md's layers. The parser and the cycle finder are checked on small inputs
// first, so a green run on the real tree means something.
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  findCycles,
  type ImportGraph,
  importGraph,
  layerOf,
  layerViolations,
  relativeSpecifiers,
  ROOT,
} from "./_import_graph.ts";

Deno.test("relativeSpecifiers: every import and re-export form, not comments or bare names", () => {
  const src = [
    `import { a } from "./a.ts";`,
    `import type { B } from "../b.ts";`,
    `import {`,
    `  c,`,
    `  type D,`,
    `} from "./c.ts";`,
    `import * as e from './e.ts';`,
    `import f, { g } from "./f.ts";`,
    `import "./side.ts";`,
    `export * from "./h.ts";`,
    `export type { I } from "./i.ts";`,
    `export { j as k } from "./j.ts";`,
    `const m = await import("./m.ts");`,
    `type N = typeof import("./n.ts");`,
    `import { x } from "node:path";`,
    `import { y } from "@tokenlab/tokenlab/models";`,
    `/**`,
    ` * import { z } from "./in_doc.ts";`,
    ` */`,
    `export function notAnImport() { return "from './nope.ts'"; }`,
  ].join("\n");
  deepEqual(relativeSpecifiers(src), [
    "./a.ts",
    "../b.ts",
    "./c.ts",
    "./e.ts",
    "./f.ts",
    "./side.ts",
    "./h.ts",
    "./i.ts",
    "./j.ts",
    "./m.ts",
    "./n.ts",
  ]);
});

Deno.test("findCycles names every cycle and none on a DAG", () => {
  const dag: ImportGraph = new Map([
    ["a", ["b", "c"]],
    ["b", ["c"]],
    ["c", []],
  ]);
  deepEqual(findCycles(dag), []);
  const cyclic: ImportGraph = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["d", "b"]],
    ["d", ["a"]],
  ]);
  deepEqual(findCycles(cyclic), [["a", "b", "c", "d", "a"], ["b", "c", "b"]]);
  deepEqual(findCycles(new Map([["self", ["self"]]])), [["self", "self"]]);
});

Deno.test("layerViolations flags upward edges and allows same-layer and downward ones", () => {
  equal(layerOf("lib/models/model.ts"), "lib/models");
  equal(layerOf("kernels/matmul.ts"), "kernels");
  equal(layerOf("mod.ts"), null);
  const g: ImportGraph = new Map([
    ["lib/gpu/device.ts", ["lib/util/errors.ts", "lib/tokenizers/mod.ts"]],
    ["kernels/matmul.ts", ["lib/gpu/mod.ts", "lib/models/model.ts"]],
    ["lib/data/files.ts", ["lib/analysis/table.ts"]],
    ["lib/util/rng.ts", ["mod.ts"]],
  ]);
  deepEqual(layerViolations(g), [
    "kernels/matmul.ts → lib/models/model.ts (kernels imports lib/models)",
    "lib/util/rng.ts → mod.ts (outside lib/ and kernels/)",
  ]);
});

Deno.test("lib/ and kernels/: no import cycles, imports only go down the layers", async () => {
  const graph = await importGraph(ROOT);
  ok(graph.size > 50, `only ${graph.size} files found under lib/ and kernels/`);
  ok((graph.get("lib/models/model.ts") ?? []).length > 0, "lib/models/model.ts has no imports?");
  const unresolved = [...graph].flatMap(([f, tos]) =>
    tos.filter((t) => t.endsWith(".ts") && !graph.has(t)).map((t) => `${f} → ${t}`)
  );
  deepEqual(unresolved, [], "imports of .ts files that do not exist");
  const cycles = findCycles(graph).map((c) => c.join(" → "));
  deepEqual(cycles, [], `import cycles:\n${cycles.join("\n")}`);
  deepEqual(layerViolations(graph), [], "imports that go up DESIGN.md's layers");
});
