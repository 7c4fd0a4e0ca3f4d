/**
 * The main job: setup, every notebook headlessly with the quick profile, then the site.
 *
 * Usage: deno task reproduce [--profile quick|full]
 *
 * @module
 */
import { parseArgs, resolveNotebooks, runNotebooks, summaryTable } from "./run_notebooks.ts";
import { buildSite } from "./build_site.ts";

const started = performance.now();
const setup = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./setup.ts", import.meta.url).pathname],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!setup.success) Deno.exit(setup.code || 1);

const args = parseArgs(Deno.args);
const results = await runNotebooks(resolveNotebooks(args.notebooks), args);
console.log("\n" + summaryTable(results));
const { index } = await buildSite();
console.log(
  `\nreproduce: done in ${((performance.now() - started) / 1000).toFixed(0)} s; open ${index}`,
);
Deno.exit(results.every((r) => r.status === "passed") ? 0 : 1);
