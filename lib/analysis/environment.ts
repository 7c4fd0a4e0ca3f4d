/**
 * What ran an experiment: Deno, the WebGPU adapter, the commit, the machine.
 *
 * @module
 */

import { GPU_MASK_ENV, isSoftwareAdapter, maskedGpuFeatures } from "../util/_gpu_env.ts";

/** The WebGPU adapter found, if any. */
export interface AdapterReport {
  /** Human-readable adapter name: description, else device, else vendor (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" or "NVIDIA H100 80GB HBM3"). */
  name: string;
  /** Vendor string. */
  vendor: string;
  /** Architecture string. */
  architecture: string;
  /** The adapter's own description string (may be empty on some back ends). */
  description: string;
  /** True for a software rasteriser (lavapipe/llvmpipe, SwiftShader, WARP) or a fallback adapter. */
  software: boolean;
  /**
   * The native API behind the adapter: "vulkan", "gl", "metal" or "dx12", found by probing each
   * backend on its own (`DENO_WEBGPU_BACKEND`); "unknown" when no single-backend probe matched.
   * Mesa's llvmpipe through "gl" lacks shader-f16; lavapipe through "vulkan" has it.
   */
  backend: string;
  /** Whether tokenlab's device gets `shader-f16` (f16 storage and arithmetic in WGSL). */
  shaderF16: boolean;
  /** The adapter's features, sorted, less those masked by `TOKENLAB_GPU_MASK_FEATURES`. */
  features: string[];
  /** Features the adapter offers that `TOKENLAB_GPU_MASK_FEATURES` hides from tokenlab. */
  maskedFeatures: string[];
}

/** The environment of a run. */
export interface EnvironmentReport {
  /** Deno version. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** TypeScript version. */
  typescript: string;
  /** Operating system. */
  os: string;
  /** CPU architecture. */
  arch: string;
  /** Logical CPU cores. */
  cpus: number;
  /** WebGPU adapter, or null when there is none. */
  adapter: AdapterReport | null;
  /** Short git commit of the working directory's checkout, or null. */
  commit: string | null;
  /** ISO date-time of the report. */
  date: string;
}

/** Options for {@linkcode describeEnvironment} and {@linkcode probeWebGpuAdapter}. */
export interface DescribeEnvironmentOptions {
  /** Give up on the adapter probe after this many ms (default 5000). */
  adapterTimeoutMs?: number;
}

let cachedAdapter: Promise<AdapterReport | null> | null = null;

/**
 * Describes the environment of this run. The adapter probe is done once per process.
 *
 * @example
 * ```ts
 * import { describeEnvironment } from "@tokenlab/tokenlab/analysis";
 * const env = await describeEnvironment();
 * console.log(env.deno, env.adapter?.name ?? "no WebGPU adapter");
 * ```
 */
export async function describeEnvironment(
  options: DescribeEnvironmentOptions = {},
): Promise<EnvironmentReport> {
  cachedAdapter ??= probeWebGpuAdapter(options);
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency ?? 1,
    adapter: await cachedAdapter,
    commit: gitCommit(),
    date: new Date().toISOString(),
  };
}

/**
 * Whether an adapter name is a software rasteriser.
 *
 * @deprecated Use `isSoftwareAdapter` from `@tokenlab/tokenlab/gpu` (one name for one check).
 *
 * @example
 * ```ts
 * import { isSoftwareAdapterName } from "@tokenlab/tokenlab/analysis";
 * console.log(isSoftwareAdapterName("llvmpipe (LLVM 15.0.6, 256 bits)")); // true
 * ```
 */
export function isSoftwareAdapterName(name: string): boolean {
  return isSoftwareAdapter(name);
}

/**
 * Probes the WebGPU adapter afresh (no caching, unlike {@linkcode describeEnvironment}): its
 * name, whether it is a software rasteriser, its backend (Vulkan, GL, …) and whether it has
 * `shader-f16`. The probe runs in child Deno processes: a software Vulkan driver torn down at
 * exit has been seen to abort the process that used it (heap corruption in the driver), which
 * must not take a test run or a notebook with it. Without permission to run a subprocess, the
 * probe runs in this process instead (backend then "unknown"). Null when there is no adapter.
 *
 * @example
 * ```ts
 * import { probeWebGpuAdapter } from "@tokenlab/tokenlab/analysis";
 * const a = await probeWebGpuAdapter();
 * console.log(a ? `${a.name} via ${a.backend}, shader-f16: ${a.shaderF16}` : "no adapter");
 * ```
 */
export async function probeWebGpuAdapter(
  options: DescribeEnvironmentOptions = {},
): Promise<AdapterReport | null> {
  const timeoutMs = options.adapterTimeoutMs ?? 5000;
  const fixed = envBackend();
  // the adapter Deno picks with every backend allowed, and alongside it one probe per backend
  const candidates = fixed ? [] : BACKENDS[Deno.build.os] ?? ["vulkan", "gl"];
  let all: (RawAdapter | null | "no-subprocess")[];
  try {
    all = await Promise.all([undefined, ...candidates].map((b) => probeChild(timeoutMs, b)));
  } catch {
    return null;
  }
  const [first, ...perBackend] = all;
  if (first === "no-subprocess") return probeInProcess(timeoutMs);
  if (!first) return null;
  const key = rawKey(first);
  const i = perBackend.findIndex((r) => r && r !== "no-subprocess" && rawKey(r) === key);
  return report(first, fixed ?? (i >= 0 ? candidates[i] : "unknown"));
}

/** Backends wgpu can use on each OS, in the order it prefers them. */
const BACKENDS: Record<string, string[]> = {
  linux: ["vulkan", "gl"],
  windows: ["dx12", "vulkan", "gl"],
  darwin: ["metal"],
};

/** What the probe child prints. */
interface RawAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  fallback: boolean;
  features: string[];
}

const PROBE_CODE = `
  const a = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
  const i = a?.info;
  console.log(JSON.stringify(i ? { vendor: i.vendor ?? "", architecture: i.architecture ?? "",
    device: i.device ?? "", description: i.description ?? "", fallback: i.isFallbackAdapter === true,
    features: [...a.features].sort() } : null));`;

/** A single backend named by `DENO_WEBGPU_BACKEND`, if the user set one. */
function envBackend(): string | null {
  const b = Deno.env.get("DENO_WEBGPU_BACKEND")?.trim().toLowerCase();
  return b && !b.includes(",") ? b : null;
}

function rawKey(r: RawAdapter): string {
  return JSON.stringify([r.vendor, r.architecture, r.device, r.description, r.features]);
}

async function probeChild(
  timeoutMs: number,
  backend: string | undefined,
): Promise<RawAdapter | null | "no-subprocess"> {
  const env: Record<string, string> = {};
  if (!Deno.env.get("XDG_RUNTIME_DIR")) {
    // Mesa's Vulkan loader complains on stderr when this is unset; any writable dir will do.
    const dir = systemTempDir();
    if (dir) env.XDG_RUNTIME_DIR = dir;
  }
  if (backend) env.DENO_WEBGPU_BACKEND = backend;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", PROBE_CODE],
      env,
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    // the last line: a driver may abort after printing, which is no reason to lose the answer
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) || "null");
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return "no-subprocess";
    }
    return null;
  }
}

function report(r: RawAdapter, backend: string): AdapterReport {
  const name = r.description || r.device || r.vendor || "unknown adapter";
  const mask = maskedGpuFeatures();
  const features = r.features.filter((f) => !mask.includes(f));
  return {
    name,
    vendor: r.vendor,
    architecture: r.architecture,
    description: r.description,
    software: r.fallback || isSoftwareAdapter(name),
    backend,
    shaderF16: features.includes("shader-f16"),
    features,
    maskedFeatures: r.features.filter((f) => mask.includes(f)),
  };
}

/**
 * One line about an adapter report for people: name, software or hardware, backend, and
 * shader-f16 present or missing (with why, when masked).
 *
 * @example
 * ```ts
 * import { adapterSummaryLine, probeWebGpuAdapter } from "@tokenlab/tokenlab/analysis";
 * console.log(adapterSummaryLine(await probeWebGpuAdapter()));
 * ```
 */
export function adapterSummaryLine(adapter: AdapterReport | null): string {
  if (!adapter) return "none — kernels run on their CPU reference path";
  const f16 = adapter.shaderF16
    ? "shader-f16"
    : adapter.maskedFeatures.includes("shader-f16")
    ? `shader-f16 masked by ${GPU_MASK_ENV}`
    : "NO shader-f16 (f16 kernels refused)";
  return `${adapter.name} (${
    adapter.software ? "software" : "hardware"
  }, ${adapter.backend}, ${f16})`;
}

async function probeInProcess(timeoutMs: number): Promise<AdapterReport | null> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (!gpu) return null;
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const adapter = await Promise.race([gpu.requestAdapter(), timeout]);
    clearTimeout(timer);
    if (!adapter) return null;
    const info = adapter.info;
    return report({
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description ?? "",
      fallback: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
      features: [...adapter.features].sort(),
    }, envBackend() ?? "unknown");
  } catch {
    return null;
  }
}

/** The system's temporary folder (found via a temp file, which is removed again). */
function systemTempDir(): string | null {
  try {
    const file = Deno.makeTempFileSync();
    Deno.removeSync(file);
    return file.replace(/[\\/][^\\/]+$/, "") || null;
  } catch {
    return null;
  }
}

function gitCommit(): string | null {
  try {
    const out = new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/**
 * The name a timing should carry for work run on `adapter`: the adapter's name and whether it
 * is a software adapter (e.g. `"llvmpipe (LLVM 15.0.6, 256 bits) (software adapter, vulkan)"`,
 * `"NVIDIA H200 (hardware GPU, vulkan)"`), or the CPU path when there is none. Pass it as
 * `backend` to `timeRuns`: timings and claim rows then recognise a software adapter from it.
 *
 * @example
 * ```ts
 * import { backendName, describeEnvironment, timeRun } from "@tokenlab/tokenlab/analysis";
 * const env = await describeEnvironment();
 * const t = await timeRun(() => 1, { iters: 3, backend: backendName(env.adapter) });
 * console.log(t.backend, t.software);
 * ```
 */
export function backendName(adapter: AdapterReport | null): string {
  if (!adapter) return "CPU reference path (JavaScript, no WebGPU adapter)";
  return `${adapter.name} (${
    adapter.software ? "software adapter" : "hardware GPU"
  }, ${adapter.backend})`;
}
