/**
 * Every GPU measurement and GPU test in one command, for the rare minutes a GPU machine is lent:
 * the adapter and its features, the GPU test files (a missing adapter or shader-f16 fails them),
 * `bench:kernels` beside the PyTorch peer on the same shapes (`bench/peers/kernels_torch.py`),
 * `bench:quant` (quantised matvec, DFloat11 decode) beside PyTorch's fp16 GEMV
 * (`bench/peers/quant_torch.py`), `bench:models` with its peer, each as ratios to the peer and % of the adapter's roofline,
 * and `bench:speculative` on the gpu backend (every method's τ and wall-clock speed-up over plain
 * decoding, each run checked to give plain decoding's ids; issue 16's goal: the best method ≥ 2×
 * with τ ≥ 2.5).
 * Writes one report (`gpu-check.md` and `gpu-check.json`) under `--out` (default `$OUT`, else
 * `results/gpu-check/`). Steps share a 9-minute budget; a step that runs out of time is
 * stopped and reported as such, and the report is written whatever happens.
 *
 * Usage: deno task gpu-check [--out DIR] [--small | --large] [--budget SECONDS]
 * (`--large`, the H100/H200 shapes, is the default on a hardware adapter; `--small` on a
 * software one, where the command is tested).
 *
 * @module
 */
import { adapterSummaryLine, probeWebGpuAdapter } from "../lib/analysis/mod.ts";

interface StepResult {
  name: string;
  command: string;
  seconds: number;
  status: "ok" | "failed" | "timed out" | "skipped";
  summary: string;
  tail: string;
}

const args = Deno.args;
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const out = flag("--out") ?? Deno.env.get("OUT") ?? "results/gpu-check";
const budget = Number(flag("--budget") ?? 540);
const started = performance.now();
const remaining = () => budget - (performance.now() - started) / 1000;
await Deno.mkdir(out, { recursive: true });

const adapter = await probeWebGpuAdapter();
const hardware = adapter !== null && !adapter.software;
const large = args.includes("--large") || (hardware && !args.includes("--small"));
const python = await findPython();
const steps: StepResult[] = [];
const decoder = new TextDecoder();

/** Runs one step with at most `seconds` (less when the budget is nearly spent). */
async function step(
  name: string,
  seconds: number,
  cmd: string,
  cmdArgs: string[],
  env: Record<string, string> = {},
): Promise<StepResult> {
  const limit = Math.min(seconds, Math.floor(remaining()));
  const command = `${cmd} ${cmdArgs.join(" ")}`;
  if (limit < 5) {
    const r: StepResult = {
      name,
      command,
      seconds: 0,
      status: "skipped",
      summary: "no time left in the budget",
      tail: "",
    };
    steps.push(r);
    return r;
  }
  console.error(`gpu-check: ${name} (at most ${limit} s): ${command}`);
  const t0 = performance.now();
  let status: StepResult["status"] = "ok", text = "";
  try {
    const res = await new Deno.Command(cmd, {
      args: cmdArgs,
      env,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(limit * 1000),
    }).output();
    text = decoder.decode(res.stdout) + decoder.decode(res.stderr);
    if (!res.success) status = res.signal ? "timed out" : "failed";
  } catch (e) {
    status = (e as Error).name === "AbortError" || (e as Error).name === "TimeoutError"
      ? "timed out"
      : "failed";
    text = String(e);
  }
  // deno test's closing line, or the last line
  // deno-lint-ignore no-control-regex -- strip the terminal colour codes deno test prints
  const lines = text.replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n");
  const summary = lines.findLast((l) => /passed .*failed/.test(l)) ?? lines.at(-1) ?? "";
  const r: StepResult = {
    name,
    command,
    seconds: (performance.now() - t0) / 1000,
    status,
    summary: summary.trim(),
    tail: lines.slice(-40).join("\n"),
  };
  steps.push(r);
  return r;
}

async function findPython(): Promise<string | null> {
  for (const py of [".venv/bin/python", "python3"]) {
    try {
      const res = await new Deno.Command(py, { args: ["-c", "import torch"], stderr: "null" })
        .output();
      if (res.success) return py;
    } catch { /* absent */ }
  }
  return null;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return null;
  }
}

const deno = Deno.execPath();
const requireGpu = { TOKENLAB_REQUIRE_GPU: "1", TOKENLAB_REQUIRE_GPU_FEATURES: "shader-f16" };

// 1. The GPU tests: kernels against their CPU references, the device layer, the GPU models.
await step(
  "GPU tests",
  200,
  deno,
  ["test", "-A", "--no-check=remote", "tests/gpu", "tests/kernels", "tests/models", "tests/quant"],
  requireGpu,
);

// 2. Kernels on the adapter, then the same shapes in PyTorch.
const kernelsJson = `${out}/kernels.json`, torchJson = `${out}/kernels_torch.json`;
await step("bench:kernels", 120, deno, [
  "run",
  "-A",
  "bench/kernels.ts",
  ...(large ? ["--large"] : []),
  "--json",
  kernelsJson,
]);
if (python) {
  await step("PyTorch kernels peer", 90, python, [
    "bench/peers/kernels_torch.py",
    ...(large ? ["--large"] : []),
    "--json",
    torchJson,
  ]);
} else {
  steps.push({
    name: "PyTorch kernels peer",
    command: "python3 bench/peers/kernels_torch.py",
    seconds: 0,
    status: "skipped",
    summary: "no Python with torch here",
    tail: "",
  });
}

// 3. Quantised matvec and DFloat11 decode, then PyTorch's fp16 GEMV on the same shapes.
const quantJson = `${out}/quant.json`, quantTorchJson = `${out}/quant_torch.json`;
await step("bench:quant", 90, deno, [
  "run",
  "-A",
  "bench/quant.ts",
  large ? "--large" : "--small",
  "--json",
  quantJson,
]);
if (python) {
  await step("PyTorch quant peer", 60, python, [
    "bench/peers/quant_torch.py",
    ...(large ? ["--large"] : []),
    "--json",
    quantTorchJson,
  ]);
}

// 4. Model prefill/decode, with the transformers peer when torch is there.
const modelsJson = `${out}/models.json`;
await step("bench:models", 120, deno, [
  "run",
  "-A",
  "bench/models.ts",
  ...(python ? ["--peer"] : []),
  ...(large ? [] : ["--no-large"]),
  "--json",
  modelsJson,
]);

// 5. Speculative decoding on the gpu backend: every method, τ and speed-up, lossless checked.
const specJson = `${out}/speculative.json`;
await step("bench:speculative (gpu backend)", 120, deno, [
  "run",
  "-A",
  "bench/speculative.ts",
  "--backend",
  "gpu",
  "--per-category",
  "1",
  "--tokens",
  "32",
  "--json",
  specJson,
]);

// The report.
interface KernelRow {
  kernel: string;
  shape: string;
  ms: number;
  gflops: number | null;
  gbps: number;
  rooflinePercent: number;
  bound: string;
}
const kernels = (await readJson(kernelsJson)) as { results?: KernelRow[] } | null;
const torch = (await readJson(torchJson)) as
  | { device?: string; results?: { kernel: string; shape: string; ms: number }[] }
  | null;
const lines: string[] = [
  "# gpu-check",
  "",
  `- when: ${new Date().toISOString()}`,
  `- adapter: ${adapter ? adapterSummaryLine(adapter) : "none"}`,
  `- shapes: ${large ? "large (H100/H200)" : "small (software adapter)"}`,
  `- PyTorch: ${torch?.device ?? (python ? "peer did not report" : "absent")}`,
  `- total: ${((performance.now() - started) / 1000).toFixed(0)} s of a ${budget} s budget`,
  "",
  "| step | status | seconds | summary |",
  "|---|---|---:|---|",
  ...steps.map((s) =>
    `| ${s.name} | ${s.status} | ${s.seconds.toFixed(1)} | ${s.summary.replaceAll("|", "\\|")} |`
  ),
];
if (kernels?.results?.length) {
  lines.push(
    "",
    "## Kernels",
    "",
    "| kernel | shape | ms | GFLOP/s | GB/s | % roofline | bound | PyTorch ms | PyTorch ÷ ours (speed) |",
    "|---|---|---:|---:|---:|---:|---|---:|---:|",
  );
  for (const k of kernels.results) {
    const peer = torch?.results?.find((p) => p.kernel === k.kernel);
    lines.push(
      `| ${k.kernel} | ${k.shape} | ${k.ms} | ${
        k.gflops ?? "—"
      } | ${k.gbps} | ${k.rooflinePercent} | ` +
        `${k.bound} | ${peer ? peer.ms.toFixed(3) : "—"} | ${
          peer ? (peer.ms / k.ms).toFixed(3) + "×" : "—"
        } |`,
    );
  }
}
interface QuantRow {
  kernel: string;
  shape: string;
  ms: number;
  gbps: number;
  bandwidthPercent: number;
}
const quant = (await readJson(quantJson)) as { results?: QuantRow[] } | null;
const quantTorch = (await readJson(quantTorchJson)) as
  | { results?: { kernel: string; shape: string; ms: number; gbps: number }[] }
  | null;
if (quant?.results?.length) {
  lines.push(
    "",
    "## Quantised matvec and DFloat11 decode",
    "",
    "Goals (issue 15, H200): nf4 matvec 8192² in ≤ 0.4× PyTorch's fp16 GEMV time; DFloat11 " +
      "decode ≥ 200 GB/s of bf16 output.",
    "",
    "| kernel | shape | ms | GB/s | % bandwidth | PyTorch fp16 GEMV ms | ours ÷ PyTorch (time) |",
    "|---|---|---:|---:|---:|---:|---:|",
  );
  for (const q of quant.results) {
    const peer = quantTorch?.results?.find((p) => p.kernel === "fp16 gemv" && p.shape === q.shape);
    const ratio = peer && q.kernel.includes("matvec") ? (q.ms / peer.ms).toFixed(3) + "×" : "—";
    lines.push(
      `| ${q.kernel} | ${q.shape} | ${q.ms.toFixed(4)} | ${q.gbps.toPrecision(3)} | ${
        q.bandwidthPercent.toFixed(1)
      } | ${peer ? peer.ms.toFixed(4) : "—"} | ${ratio} |`,
    );
  }
}
const models = await readJson(modelsJson);
if (Array.isArray(models) && models.length) {
  lines.push("", "## Models", "", "```json", JSON.stringify(models, null, 1), "```");
}
interface SpecSummary {
  arm: string;
  category: string;
  tau: { estimate: number };
  speedup: { estimate: number; low: number; high: number };
  lossless: boolean | null;
}
const spec = (await readJson(specJson)) as { summaries?: SpecSummary[] } | null;
const specAll = spec?.summaries?.filter((r) => r.category === "all") ?? [];
if (specAll.length) {
  lines.push(
    "",
    "## Speculative decoding (gpu backend, all categories)",
    "",
    "Goal (issue 16, real GPU): the best method ≥ 2× wall-clock over plain decoding with τ ≥ 2.5.",
    "",
    "| method | τ | speed-up [95% CI] | lossless |",
    "|---|---:|---|---|",
    ...specAll.map((r) =>
      `| ${r.arm} | ${r.tau.estimate.toFixed(2)} | ${r.speedup.estimate.toFixed(2)}× [${
        r.speedup.low.toFixed(2)
      }, ${r.speedup.high.toFixed(2)}] | ${r.lossless === null ? "—" : r.lossless ? "yes" : "NO"} |`
    ),
  );
}
for (const s of steps.filter((s) => s.status !== "ok" && s.tail)) {
  lines.push("", `## ${s.name}: ${s.status}`, "", "```", s.tail, "```");
}
await Deno.writeTextFile(`${out}/gpu-check.md`, lines.join("\n") + "\n");
await Deno.writeTextFile(
  `${out}/gpu-check.json`,
  JSON.stringify(
    { adapter, large, budget, steps, kernels, torch, quant, quantTorch, models, spec },
    null,
    1,
  ),
);
console.log(lines.join("\n"));
console.log(`\ngpu-check: report in ${out}/gpu-check.md`);
if (steps.some((s) => s.status === "failed" || s.status === "timed out")) Deno.exit(1);
