import { equal, match, ok } from "node:assert/strict";
import {
  adapterSummaryLine,
  describeEnvironment,
  probeWebGpuAdapter,
} from "../../lib/analysis/mod.ts";
import { isSoftwareAdapter } from "../../lib/gpu/mod.ts";
import { GPU } from "../gpu/_child.ts";

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
    if (isSoftwareAdapter(env.adapter.name)) equal(env.adapter.software, true);
  } else {
    equal(env.adapter, null);
  }
  // The same process gives the same adapter (probed once).
  const again = await describeEnvironment();
  equal(JSON.stringify(again.adapter), JSON.stringify(env.adapter));
  match(JSON.stringify(env), /"deno":/);
});

Deno.test("isSoftwareAdapter recognises software rasterisers only", () => {
  for (
    const n of [
      "llvmpipe (LLVM 15.0.6, 256 bits)",
      "lavapipe",
      "SwiftShader Device",
      "Microsoft Basic Render Driver",
    ]
  ) {
    equal(isSoftwareAdapter(n), true, n);
  }
  for (const n of ["NVIDIA H100 80GB HBM3", "AMD Radeon RX 7900", "Apple M2", "Intel(R) Arc(tm)"]) {
    equal(isSoftwareAdapter(n), false, n);
  }
});

Deno.test("the adapter report names its backend and shader-f16 as the device wrapper sees them", async () => {
  const a = await describeEnvironment({ adapterTimeoutMs: 10_000 }).then((e) => e.adapter);
  // independent reference: tests/gpu/_child.ts asked lib/gpu's getDevice in another process
  equal(a === null, GPU === null);
  if (!a || !GPU) return;
  equal(a.name, GPU.name);
  equal(a.shaderF16, GPU.features.includes("shader-f16"));
  equal(a.shaderF16, a.features.includes("shader-f16"));
  ok(["vulkan", "gl", "metal", "dx12", "unknown"].includes(a.backend), a.backend);
  match(adapterSummaryLine(a), a.shaderF16 ? /, shader-f16\)$/ : /NO shader-f16|masked/);
});

Deno.test({
  name: "probeWebGpuAdapter: DENO_WEBGPU_BACKEND=gl is reported as gl; a masked feature as masked",
  ignore: GPU === null,
  async fn() {
    const saved = {
      backend: Deno.env.get("DENO_WEBGPU_BACKEND"),
      mask: Deno.env.get("TOKENLAB_GPU_MASK_FEATURES"),
    };
    try {
      Deno.env.set("DENO_WEBGPU_BACKEND", "gl");
      const gl = await probeWebGpuAdapter({ adapterTimeoutMs: 10_000 });
      if (gl) equal(gl.backend, "gl"); // Linux with Mesa's GL driver: llvmpipe, no shader-f16
      Deno.env.delete("DENO_WEBGPU_BACKEND");
      Deno.env.delete("TOKENLAB_GPU_MASK_FEATURES");
      const plain = await probeWebGpuAdapter({ adapterTimeoutMs: 10_000 });
      Deno.env.set("TOKENLAB_GPU_MASK_FEATURES", "shader-f16");
      const masked = await probeWebGpuAdapter({ adapterTimeoutMs: 10_000 });
      ok(masked);
      equal(masked.shaderF16, false);
      ok(!masked.features.includes("shader-f16"));
      equal(masked.maskedFeatures.includes("shader-f16"), plain!.features.includes("shader-f16"));
    } finally {
      for (
        const [k, v] of [["DENO_WEBGPU_BACKEND", saved.backend], [
          "TOKENLAB_GPU_MASK_FEATURES",
          saved.mask,
        ]] as const
      ) {
        if (v === undefined) Deno.env.delete(k);
        else Deno.env.set(k, v);
      }
    }
  },
});
