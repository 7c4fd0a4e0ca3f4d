/**
 * What ran an experiment: Deno, the WebGPU adapter, the commit, the machine.
 *
 * @module
 */

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

/** Options for {@linkcode describeEnvironment}. */
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
  cachedAdapter ??= probeAdapter(options.adapterTimeoutMs ?? 5000);
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
 * Whether an adapter description names a software rasteriser.
 *
 * @example
 * ```ts
 * import { isSoftwareAdapterName } from "@tokenlab/tokenlab/analysis";
 * console.log(isSoftwareAdapterName("llvmpipe (LLVM 15.0.6, 256 bits)")); // true
 * ```
 */
export function isSoftwareAdapterName(name: string): boolean {
  return /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|warp/i.test(name);
}

/**
 * Probes WebGPU in a child Deno process: the report only needs the adapter's name, and a
 * software Vulkan driver torn down at exit has been seen to abort the process that used it
 * (heap corruption in the driver), which must not take a test run or a notebook with it.
 * Without permission to run a subprocess, the probe runs in this process instead.
 */
async function probeAdapter(timeoutMs: number): Promise<AdapterReport | null> {
  const code = `
    const a = await navigator.gpu?.requestAdapter();
    const i = a?.info;
    console.log(JSON.stringify(i ? { name: i.description || i.device || i.vendor || "unknown adapter",
      vendor: i.vendor, architecture: i.architecture, description: i.description ?? "",
      fallback: i.isFallbackAdapter === true } : null));`;
  const env: Record<string, string> = {};
  if (!Deno.env.get("XDG_RUNTIME_DIR")) {
    // Mesa's Vulkan loader complains on stderr when this is unset; any writable dir will do.
    const dir = systemTempDir();
    if (dir) env.XDG_RUNTIME_DIR = dir;
  }
  let parsed: {
    name: string;
    vendor: string;
    architecture: string;
    description: string;
    fallback: boolean;
  } | null;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env,
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    parsed = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) || "null");
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return probeInProcess(timeoutMs);
    }
    return null;
  }
  if (!parsed) return null;
  return {
    name: parsed.name,
    vendor: parsed.vendor,
    architecture: parsed.architecture,
    description: parsed.description,
    software: parsed.fallback || isSoftwareAdapterName(parsed.name),
  };
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
    const name = info.description || info.device || info.vendor || "unknown adapter";
    const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
    return {
      name,
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description ?? "",
      software: fallback || isSoftwareAdapterName(name),
    };
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
