// Finds the on-disk folder of an npm package that ships data files (not just modules).
import { TokenlabError } from "../util/errors.ts";

const found = new Map<string, string>();

/** The folder of npm package `name` (its package.json must carry `version`). */
export function packageDir(name: string, version: string): string {
  const key = `${name}@${version}`;
  const hit = found.get(key);
  if (hit) return hit;
  const starts = [Deno.cwd()];
  if (import.meta.dirname) starts.push(import.meta.dirname);
  const seen: string[] = [];
  for (const start of starts) {
    let dir = start;
    while (true) {
      for (
        const candidate of [
          `${dir}/node_modules/${name}`,
          `${dir}/node_modules/.deno/${name.replace("/", "+")}@${version}/node_modules/${name}`,
        ]
      ) {
        const v = readVersion(`${candidate}/package.json`);
        if (v !== null) seen.push(`${candidate} (${v})`);
        if (v === version) {
          found.set(key, candidate);
          return candidate;
        }
      }
      const parent = dir.replace(/\/[^/]+$/, "");
      if (parent === dir || parent === "") break;
      dir = parent;
    }
  }
  throw new TokenlabError(
    `npm package ${key} is not installed in a node_modules folder` +
      (seen.length ? `; found other versions: ${seen.join(", ")}` : ""),
    { hint: "run `deno install` in the tokenlab checkout (or `deno task setup`)" },
  );
}

function readVersion(path: string): string | null {
  try {
    return JSON.parse(Deno.readTextFileSync(path)).version ?? null;
  } catch {
    return null;
  }
}
