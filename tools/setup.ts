/**
 * Setup, run by `deno task reproduce` and `deno task test`: installs what is missing and
 * reports the environment. Idempotent; says what it installs.
 *
 * Usage: deno task setup [--for-tests] [--quiet]
 *
 * @module
 */
import {
  findJupyterPython,
  jupyterVersions,
  kernelSpecIsCurrent,
  kernelSpecPath,
  repoRoot,
} from "./_jupyter.ts";
import {
  type AdapterReport,
  adapterSummaryLine,
  probeWebGpuAdapter,
} from "../lib/analysis/environment.ts";

const JUPYTER_DEBS = [
  "jupyter-nbconvert",
  "python3-nbclient",
  "jupyter-client",
  "python3-ipykernel",
];
/** Mesa's software Vulkan driver (lavapipe) and the Vulkan loader it is found through. */
const VULKAN_DEBS = ["mesa-vulkan-drivers", "libvulkan1"];
const PIP_COMMAND = "python3 -m pip install --user nbclient nbconvert jupyter-client ipykernel";

const quiet = Deno.args.includes("--quiet");
const say = (s: string) => !quiet && console.log(s);

function run(cmd: string, args: string[], opts: { cwd?: string; show?: boolean } = {}): boolean {
  try {
    const out = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      stdout: opts.show ? "inherit" : "piped",
      stderr: opts.show ? "inherit" : "piped",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).outputSync();
    if (!out.success && !opts.show) {
      console.error(new TextDecoder().decode(out.stderr).trim().split("\n").slice(-10).join("\n"));
    }
    return out.success;
  } catch (e) {
    console.error(`could not run ${cmd}: ${(e as Error).message}`);
    return false;
  }
}

function isRootOnDebian(): boolean {
  try {
    Deno.statSync("/etc/debian_version");
  } catch {
    return false;
  }
  return Deno.uid?.() === 0;
}

let aptUpdated = false;
function aptInstall(packages: string[]): boolean {
  say(`setup: installing Debian packages: ${packages.join(" ")}`);
  if (!aptUpdated) {
    if (!run("apt-get", ["update", "-qq"])) return false;
    aptUpdated = true;
  }
  return run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages]);
}

/** Whether a Debian package is installed (dpkg says "install ok installed"). */
function debInstalled(name: string): boolean {
  try {
    const out = new Deno.Command("dpkg-query", {
      args: ["-W", "-f=${Status}", name],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return out.success && new TextDecoder().decode(out.stdout).includes("ok installed");
  } catch {
    return false;
  }
}

/** Probes WebGPU in child processes (see probeWebGpuAdapter) so a broken driver cannot hang setup. */
function probeAdapter(): Promise<AdapterReport | null> {
  return probeWebGpuAdapter({ adapterTimeoutMs: 20_000 });
}

/**
 * Whether the adapter is one that Mesa's Vulkan driver would improve on: none at all, or a
 * software one without shader-f16 (Mesa's OpenGL llvmpipe, which Deno finds when only Mesa's GL
 * driver is installed: no f16 and far slower kernels than lavapipe through Vulkan). A masked
 * feature counts as present: the adapter has it.
 */
function wantsVulkanDriver(a: AdapterReport | null): boolean {
  if (!a) return true;
  return a.software && !a.shaderF16 && !a.maskedFeatures.includes("shader-f16");
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const root = repoRoot();

// 1. npm packages (corpora, Plot, Arquero …) into node_modules/.
say("setup: deno install (npm packages pinned in deno.json)");
if (!run(Deno.execPath(), ["install", "--quiet"], { cwd: root })) {
  console.error("setup: `deno install` failed; the npm registry must be reachable once.");
  Deno.exit(1);
}

// 2. Jupyter's executor and kernel machinery.
let python = findJupyterPython();
if (!python) {
  if (isRootOnDebian()) {
    if (!aptInstall(JUPYTER_DEBS)) {
      console.error("setup: apt-get could not install Jupyter's packages.");
      Deno.exit(1);
    }
    python = findJupyterPython();
  }
  if (!python) {
    console.error(
      "setup: Jupyter's executor (nbclient, jupyter_client, ipykernel) is missing and cannot be " +
        "installed from Debian packages here (needs root on Debian).\n" +
        `Install it with:\n  ${PIP_COMMAND}\nthen run this command again.`,
    );
    Deno.exit(1);
  }
}

// 3. The Deno kernelspec, pointing at this Deno.
if (!kernelSpecIsCurrent()) {
  say(`setup: installing the Deno Jupyter kernelspec for ${Deno.execPath()}`);
  if (!run(Deno.execPath(), ["jupyter", "--install", "--force"])) {
    console.error("setup: `deno jupyter --install` failed.");
    Deno.exit(1);
  }
}

// 4. A WebGPU adapter with shader-f16: Mesa's software Vulkan driver (lavapipe) on Linux when
// there is no GPU, also when the adapter found is a software one without shader-f16.
let adapter = await probeAdapter();
let vulkanNote = "";
if (Deno.build.os === "linux" && wantsVulkanDriver(adapter)) {
  const found = adapter ? `${adapterSummaryLine(adapter)}` : "no WebGPU adapter";
  if (VULKAN_DEBS.every(debInstalled)) {
    vulkanNote = `${VULKAN_DEBS.join(" and ")} are installed, yet Deno finds ${found}`;
  } else if (isRootOnDebian()) {
    say(`setup: found ${found}; Mesa's Vulkan driver gives a faster adapter with shader-f16`);
    if (aptInstall(VULKAN_DEBS)) adapter = await probeAdapter();
    else vulkanNote = `apt-get could not install ${VULKAN_DEBS.join(" ")}`;
  } else {
    vulkanNote = `found ${found}; to get an adapter with shader-f16, run as root:\n` +
      `    apt-get install ${VULKAN_DEBS.join(" ")}`;
  }
}

// 5. Data packages the notebooks read: the Turkish hunspell dictionary (P26/P27).
const hunspellTr = "/usr/share/hunspell/tr_TR.dic";
let haveHunspellTr = exists(hunspellTr);
if (!haveHunspellTr && isRootOnDebian()) {
  say("setup: installing hunspell-tr (Turkish dictionary for the P26/P27 notebook)");
  haveHunspellTr = aptInstall(["hunspell-tr"]) && exists(hunspellTr);
}

// 6. Report.
if (adapter && !adapter.shaderF16 && !vulkanNote) {
  vulkanNote = adapter.maskedFeatures.includes("shader-f16")
    ? "shader-f16 is masked (TOKENLAB_GPU_MASK_FEATURES): f16 tests are ignored"
    : "this adapter lacks shader-f16: f16 kernels are refused and their tests ignored";
}
console.log(
  [
    "environment:",
    `  deno     ${Deno.version.deno}`,
    `  jupyter  ${jupyterVersions(python)} via ${python}; kernelspec ${kernelSpecPath()}`,
    `  webgpu   ${adapterSummaryLine(adapter)}${vulkanNote ? `\n           ${vulkanNote}` : ""}`,
    `  hunspell ${
      haveHunspellTr
        ? hunspellTr
        : "tr_TR missing (apt-get install hunspell-tr) — the Turkish notebook will fail"
    }`,
  ].join("\n"),
);
