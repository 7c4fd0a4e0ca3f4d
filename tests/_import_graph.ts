// The import graph of the library's own files (lib/ and kernels/), for the cycle and layering
// test in tests/import_graph_test.ts. Every relative specifier counts as an edge: static
// imports and re-exports (type-only ones too), side-effect imports and dynamic `import("…")`.
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Relative specifiers a TypeScript source imports or re-exports, in order of appearance. */
export function relativeSpecifiers(source: string): string[] {
  const out: string[] = [];
  // an import/export clause: `type`? then a default name, `{ … }`, `* as x` or `*`, then `from`
  const clause = String
    .raw`(?:type\s+)?(?:[\w$]+\s*,\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?|[\w$]+)`;
  const patterns = [
    new RegExp(String.raw`^[ \t]*(?:import|export)\s+${clause}\s*from\s*["']([^"']+)["']`, "gm"),
    /^[ \t]*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']/g,
  ];
  const found: { at: number; spec: string }[] = [];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) found.push({ at: m.index!, spec: m[1] });
  }
  found.sort((a, b) => a.at - b.at);
  for (const f of found) if (f.spec.startsWith("./") || f.spec.startsWith("../")) out.push(f.spec);
  return out;
}

/** File → files it imports, paths relative to the repository root with forward slashes. */
export type ImportGraph = Map<string, string[]>;

/**
 * Cycles of the graph, one per back edge of a depth-first search in sorted order (each a path
 * that starts and ends at the same file); empty for a DAG.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const state = new Map<string, 1 | 2>(); // 1: on the stack, 2: done
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      const s = state.get(g);
      if (s === 1) cycles.push([...stack.slice(stack.indexOf(g)), g]);
      else if (s === undefined) visit(g);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return cycles;
}

/**
 * DESIGN.md's layers, low to high: lib/util < lib/data, lib/analysis < lib/tokenizers, lib/gpu <
 * kernels < lib/quant < lib/models < lib/decoding. A file may import its own layer or lower ones.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  "lib/util": 0,
  "lib/data": 1,
  "lib/analysis": 1,
  "lib/tokenizers": 2,
  "lib/gpu": 2,
  "kernels": 3,
  "lib/quant": 4,
  "lib/models": 5,
  "lib/decoding": 6,
};

/** The layer folder of a file (`lib/models`, `kernels`…), or null outside the layers. */
export function layerOf(file: string): string | null {
  const parts = file.split("/");
  const key = parts[0] === "lib" ? `lib/${parts[1]}` : parts[0];
  return key in LAYERS && parts.length > (parts[0] === "lib" ? 2 : 1) ? key : null;
}

/** Every edge that goes up the layers, as "from → to (layer → layer)". */
export function layerViolations(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [from, tos] of graph) {
    const a = layerOf(from);
    if (a === null) continue;
    for (const to of tos) {
      const b = layerOf(to);
      if (b === null) {
        out.push(`${from} → ${to} (outside lib/ and kernels/)`);
      } else if (LAYERS[b] > LAYERS[a]) out.push(`${from} → ${to} (${a} imports ${b})`);
    }
  }
  return out.sort();
}

/** The graph of every .ts file under `dirs` (relative to `root`), edges within the same set. */
export async function importGraph(
  root: string,
  dirs: readonly string[] = ["lib", "kernels"],
): Promise<ImportGraph> {
  const graph: ImportGraph = new Map();
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(join(root, dir))) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else if (e.isFile && e.name.endsWith(".ts")) {
        const src = await Deno.readTextFile(join(root, rel));
        graph.set(
          rel,
          relativeSpecifiers(src).map((s) =>
            relative(root, normalize(join(root, dirname(rel), s))).replaceAll("\\", "/")
          ),
        );
      }
    }
  };
  for (const d of dirs) await walk(d);
  return graph;
}

/** The repository root (the folder above tests/). */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));
