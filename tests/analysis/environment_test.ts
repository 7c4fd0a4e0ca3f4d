import { equal, match, ok } from "node:assert/strict";
import { describeEnvironment, isSoftwareAdapterName } from "../../lib/analysis/mod.ts";

Deno.test("describeEnvironment reports Deno, the machine, the commit and a probed adapter", async () => {
  const env = await describeEnvironment({ adapterTimeoutMs: 10_000 });
  equal(env.deno, Deno.version.deno);
  equal(env.v8, Deno.version.v8);
  equal(env.os, Deno.build.os);
  equal(env.arch, Deno.build.arch);
  ok(Number.isInteger(env.cpus) && env.cpus >= 1);
  ok(!Number.isNaN(Date.parse(env.date)));
  // Independent reference for the commit: ask git directly.
  const git = await new Deno.Command("git", {
    args: ["rev-parse", "--short", "HEAD"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  const expected = git?.success ? new TextDecoder().decode(git.stdout).trim() : null;
  equal(env.commit, expected);
  if (env.adapter) {
    equal(typeof env.adapter.name, "string");
    equal(typeof env.adapter.description, "string");
    equal(typeof env.adapter.software, "boolean");
    if (isSoftwareAdapterName(env.adapter.name)) equal(env.adapter.software, true);
  } else {
    equal(env.adapter, null);
  }
  // The same process gives the same adapter (probed once).
  const again = await describeEnvironment();
  equal(JSON.stringify(again.adapter), JSON.stringify(env.adapter));
  match(JSON.stringify(env), /"deno":/);
});

Deno.test("isSoftwareAdapterName recognises software rasterisers only", () => {
  for (
    const n of [
      "llvmpipe (LLVM 15.0.6, 256 bits)",
      "lavapipe",
      "SwiftShader Device",
      "Microsoft Basic Render Driver",
    ]
  ) {
    equal(isSoftwareAdapterName(n), true, n);
  }
  for (const n of ["NVIDIA H100 80GB HBM3", "AMD Radeon RX 7900", "Apple M2", "Intel(R) Arc(tm)"]) {
    equal(isSoftwareAdapterName(n), false, n);
  }
});
