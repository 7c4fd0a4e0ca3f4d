// A small on-disk JSON cache for derived corpora. Corrupt entries are rebuilt, never fatal.

/** The cache folder: `$TOKENLAB_CACHE`, else `.cache/tokenlab` under the current directory's repo. */
export function cacheDir(): string {
  const fromEnv = Deno.env.get("TOKENLAB_CACHE");
  if (fromEnv) return fromEnv;
  let dir = Deno.cwd();
  while (true) {
    try {
      Deno.statSync(`${dir}/deno.json`);
      return `${dir}/.cache/tokenlab`;
    } catch { /* keep climbing */ }
    const parent = dir.replace(/\/[^/]+$/, "");
    if (parent === dir || parent === "") return `${Deno.cwd()}/.cache/tokenlab`;
    dir = parent;
  }
}

/** Returns the cached value for `key`, or builds, stores and returns it. */
export function cached<T>(key: string, build: () => T, useCache = true): T {
  if (!useCache) return build();
  const path = `${cacheDir()}/${key.replace(/[^A-Za-z0-9._-]/g, "_")}.json`;
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(path));
    if (parsed && parsed.key === key) return parsed.value as T;
  } catch { /* missing or corrupt: rebuild below */ }
  const value = build();
  try {
    Deno.mkdirSync(cacheDir(), { recursive: true });
    const tmp = `${path}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify({ key, value }));
    Deno.renameSync(tmp, path); // atomic: a reader never sees half a file
  } catch { /* a read-only disk only costs the cache */ }
  return value;
}
