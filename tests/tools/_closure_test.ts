import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { importSpecifiers, notebookInputs, resolveSpecifier } from "../../tools/_closure.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

function notebook(code: string[]): string {
  return JSON.stringify({
    cells: [
      { cell_type: "markdown", source: '# t\n`import { no } from "./md_only.ts"`' },
      ...code.map((source) => ({ cell_type: "code", source, outputs: [], metadata: {} })),
    ],
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  });
}

/** A tiny fake repository: deno.json with an import map, a library, a data folder. */
function fakeRepo(): string {
  const dir = Deno.makeTempDirSync();
  const w = (p: string, t: string) => {
    Deno.mkdirSync(`${dir}/${p.slice(0, p.lastIndexOf("/"))}`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/${p}`, t);
  };
  w(
    "deno.json",
    JSON.stringify({
      imports: { "@fake/lib": "./lib/mod.ts", "@fake/lib/b": "./lib/b/mod.ts", "pkg": "npm:pkg@1" },
    }),
  );
  w(
    "lib/mod.ts",
    [
      "/**",
      " * @example",
      " * ```ts",
      ' * import { other } from "@fake/lib/b";',
      " * ```",
      " */",
      'export { double } from "./a.ts";',
      'export * from "./types.ts";',
    ].join("\n"),
  );
  w(
    "lib/a.ts",
    [
      "import {",
      "  type Helper,",
      "  helper,",
      '} from "../util/helper.ts";',
      'import type { T } from "./types.ts";',
      'const w = () => new Worker(new URL("./_worker.ts", import.meta.url).href);',
      'const lazy = () => import("pkg/sub");',
      "export function double(x: number): number { return 2 * x; }",
    ].join("\n"),
  );
  w("lib/types.ts", "export type T = number;\n");
  w("lib/_worker.ts", 'import "./side_effect.ts";\n');
  w("lib/side_effect.ts", "globalThis.x = 1;\n");
  w("util/helper.ts", "export type Helper = 1; export const helper = 1;\n");
  w("lib/b/mod.ts", "export const other = 1; const dir = `${root}/data/models/${name}`;\n");
  w("lib/unused.ts", "export const never = 1;\n");
  w("data/models/m1/config.json", '{"a": 1}');
  w("data/papers.json", "[]");
  return dir;
}

Deno.test("importSpecifiers: static, multi-line, type-only, re-exports, dynamic, workers; not doc examples", () => {
  const src = [
    "/**",
    ' * import { fromDoc } from "./doc_only.ts";',
    " */",
    'import { a } from "./a.ts";',
    "import {\n  b, // the b\n  type C,\n} from '../b.ts';",
    'import type { D } from "./d.ts";',
    'export * from "./e.ts";',
    'export { f as g } from "./f.ts";',
    'import "./side.ts";',
    'const m = await import("./lazy.ts");',
    'new Worker(new URL("./w.ts", import.meta.url));',
    'const s = Array.from("abc"); const t = "from \\"./no.ts\\"";',
  ].join("\n");
  deepEqual(importSpecifiers(src), [
    "../b.ts",
    "./a.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./lazy.ts",
    "./side.ts",
    "./w.ts",
  ]);
});

Deno.test("resolveSpecifier: relative, import map (exact and prefix), external", () => {
  const map = { imports: { "@x/y": "/r/lib/mod.ts", "@x/": "/r/lib/", "npmpkg": "npm:p@1" } };
  equal(resolveSpecifier("./a.ts", "/r/lib", map), "/r/lib/a.ts");
  equal(resolveSpecifier("../u/b.ts", "/r/lib", map), "/r/u/b.ts");
  equal(resolveSpecifier("@x/y", "/anywhere", map), "/r/lib/mod.ts");
  equal(resolveSpecifier("@x/z/c.ts", "/anywhere", map), "/r/lib/z/c.ts");
  equal(resolveSpecifier("npmpkg", "/r", map), null);
  equal(resolveSpecifier("node:fs", "/r", map), null);
  equal(resolveSpecifier("jsr:@std/path", "/r", map), null);
});

Deno.test("notebookInputs: the transitive closure of a fake library, its data, nothing else", async () => {
  const dir = fakeRepo();
  Deno.writeTextFileSync(
    `${dir}/nb.ipynb`,
    notebook([
      'import { double } from "@fake/lib";\nimport x from "pkg";',
      "const root = '..';\nconst p = JSON.parse(Deno.readTextFileSync(`${root}/data/papers.json`));",
    ]),
  );
  const inputs = await notebookInputs(`${dir}/nb.ipynb`, { root: dir });
  deepEqual(inputs.modules.map((m) => m.path), [
    "lib/_worker.ts",
    "lib/a.ts",
    "lib/mod.ts",
    "lib/side_effect.ts",
    "lib/types.ts",
    "util/helper.ts",
  ]);
  deepEqual(inputs.external, ["pkg", "pkg/sub"]);
  deepEqual(inputs.data.map((d) => d.path), ["data/papers.json"]);
  // a notebook importing the other entry point picks up the folder its code names
  Deno.writeTextFileSync(`${dir}/nb2.ipynb`, notebook(['import { other } from "@fake/lib/b";']));
  const second = await notebookInputs(`${dir}/nb2.ipynb`, { root: dir });
  deepEqual(second.modules.map((m) => m.path), ["lib/b/mod.ts"]);
  deepEqual(second.data.map((d) => d.path), ["data/models"]);
  // hashes follow content: touching a file deep in the closure or in the data changes them
  const before = new Map(inputs.modules.map((m) => [m.path, m.sha256]));
  Deno.writeTextFileSync(`${dir}/util/helper.ts`, "// touched\n", { append: true });
  Deno.writeTextFileSync(`${dir}/data/models/m1/config.json`, '{"a": 2}');
  const after = await notebookInputs(`${dir}/nb.ipynb`, { root: dir });
  for (const m of after.modules) {
    if (m.path === "util/helper.ts") notEqual(m.sha256, before.get(m.path));
    else equal(m.sha256, before.get(m.path), m.path);
  }
  const second2 = await notebookInputs(`${dir}/nb2.ipynb`, { root: dir });
  notEqual(second2.data[0].sha256, second.data[0].sha256);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("notebookInputs: the real library's closure holds every local module deno info finds", async () => {
  // one `deno info` over an entry that imports every local entry point of the import map
  const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
  const entries = Object.entries(config.imports as Record<string, string>)
    .filter(([, v]) => v.startsWith("./")).map(([k]) => k);
  const tmp = `${root}/.cache/closure_probe_${Deno.pid}.ts`;
  Deno.mkdirSync(`${root}/.cache`, { recursive: true });
  Deno.writeTextFileSync(tmp, entries.map((e) => `import "${e}";`).join("\n") + "\n");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", tmp],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  Deno.removeSync(tmp);
  ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout));
  const fromDeno = new Set<string>(
    graph.modules.map((m: { specifier: string }) => m.specifier)
      .filter((s: string) => s.startsWith(`file://${root}/`) && !s.includes("/node_modules/"))
      .map((s: string) => decodeURIComponent(s.slice(`file://${root}/`.length)))
      .filter((p: string) => !p.startsWith(".cache/")),
  );
  ok(fromDeno.size > 20, `deno info found only ${fromDeno.size} modules`);
  const nbDir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    `${nbDir}/all.ipynb`,
    notebook([entries.map((e) => `import * as m${entries.indexOf(e)} from "${e}";`).join("\n")]),
  );
  const ours = new Set(
    (await notebookInputs(`${nbDir}/all.ipynb`, { root })).modules.map((m) => m.path),
  );
  const missed = [...fromDeno].filter((p) => !ours.has(p));
  deepEqual(missed, [], "modules deno info resolves but the scanner missed");
  Deno.removeSync(nbDir, { recursive: true });
});
