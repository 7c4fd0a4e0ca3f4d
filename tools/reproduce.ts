/**
 * The main job: setup, every notebook headlessly with the quick profile (several at once,
 * only those whose inputs changed since their cached run), then the site.
 *
 * Usage: deno task reproduce [--profile quick|full] [--jobs N] [--force] [--no-cache]
 *   [--shard K/N] [--out DIR] [ids | paths | globs …]
 *
 * `--out DIR` (default `site`) receives the executed copies (`DIR/notebooks/`), the records the
 * runs wrote (`DIR/records/`), a manifest (`DIR/reproduce.json`) and the site. With
 * `--shard K/N` only that share of the notebooks runs; `deno task site --from DIR …` merges the
 * shards' folders into one site.
 *
 * @module
 */
import {
  parseArgs,
  resolveNotebooks,
  runNotebooks,
  selectShard,
  summaryTable,
} from "./run_notebooks.ts";
import { buildSite } from "./build_site.ts";
import { repoRoot } from "./_jupyter.ts";

const started = performance.now();
let args;
try {
  args = parseArgs(Deno.args);
  args.notebooks = resolveNotebooks(args.notebooks);
  if (args.shard) args.notebooks = selectShard(args.notebooks, args.shard);
} catch (e) {
  console.error(`reproduce: ${(e as Error).message}`);
  Deno.exit(2);
}
const setup = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./setup.ts", import.meta.url).pathname],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!setup.success) Deno.exit(setup.code || 1);
const setupSeconds = (performance.now() - started) / 1000;

const root = repoRoot();
const siteDir = args.outDir ?? `${root}/site`;
const shardNote = args.shard ? ` (shard ${args.shard.index}/${args.shard.count})` : "";
console.log(
  `reproduce: ${args.notebooks.length} notebook(s)${shardNote}, up to ${args.jobs} at once` +
    `${args.force ? ", --force" : ""}${args.cache === false ? ", no cache" : ""}`,
);
const results = await runNotebooks(args.notebooks, {
  ...args,
  outDir: `${siteDir}/notebooks`,
  recordsDir: `${siteDir}/records`,
});
console.log("\n" + summaryTable(results));
await Deno.writeTextFile(
  `${siteDir}/reproduce.json`,
  JSON.stringify(
    {
      shard: args.shard ?? null,
      profile: args.profile,
      jobs: args.jobs,
      finished: new Date().toISOString(),
      results: results.map((r) => ({
        notebook: r.notebook,
        status: r.status,
        cached: r.cached,
        reason: r.reason,
        seconds: +r.seconds.toFixed(2),
      })),
    },
    null,
    1,
  ) + "\n",
);
const { index } = await buildSite({ root, siteDir });
const executed = results.filter((r) => !r.cached).length;
console.log(
  `\nreproduce: done in ${((performance.now() - started) / 1000).toFixed(0)} s ` +
    `(setup ${setupSeconds.toFixed(0)} s; ${executed} executed, ${
      results.length - executed
    } from the cache); open ${index}`,
);
Deno.exit(results.every((r) => r.status === "passed") ? 0 : 1);
