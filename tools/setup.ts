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

const JUPYTER_DEBS = [
  "jupyter-nbconvert",
  "python3-nbclient",
  "jupyter-client",
  "python3-ipykernel",
];
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

/** Probes WebGPU in a child process so a broken driver cannot hang or crash setup. */
function probeAdapter(): { name: string; software: boolean } | null {
  const code = `
    if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", "/tmp");
    const a = await navigator.gpu?.requestAdapter();
    const i = a?.info;
    console.log(JSON.stringify(i ? { name: i.description || i.device || i.vendor, fallback: !!i.isFallbackAdapter } : null));`;
  try {
    const out = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(20_000),
    }).outputSync();
    const parsed = JSON.parse(new TextDecoder().decode(out.stdout).trim() || "null");
    if (!parsed) return null;
    return {
      name: parsed.name,
      software: parsed.fallback || /llvmpipe|lavapipe|swiftshader|softpipe/i.test(parsed.name),
    };
  } catch {
    return null;
  }
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

// 4. A WebGPU adapter: Mesa's software Vulkan driver when there is no GPU.
let adapter = probeAdapter();
if (!adapter && isRootOnDebian()) {
  aptInstall(["mesa-vulkan-drivers"]);
  adapter = probeAdapter();
}

// 5. Data packages the notebooks read: the Turkish hunspell dictionary (P26/P27).
const hunspellTr = "/usr/share/hunspell/tr_TR.dic";
let haveHunspellTr = exists(hunspellTr);
if (!haveHunspellTr && isRootOnDebian()) {
  say("setup: installing hunspell-tr (Turkish dictionary for the P26/P27 notebook)");
  haveHunspellTr = aptInstall(["hunspell-tr"]) && exists(hunspellTr);
}

// 6. Report.
const adapterText = adapter
  ? `${adapter.name} (${adapter.software ? "software fallback" : "hardware"})`
  : "none — kernels run on their CPU reference path";
console.log(
  [
    "environment:",
    `  deno     ${Deno.version.deno}`,
    `  jupyter  ${jupyterVersions(python)} via ${python}; kernelspec ${kernelSpecPath()}`,
    `  webgpu   ${adapterText}`,
    `  hunspell ${
      haveHunspellTr
        ? hunspellTr
        : "tr_TR missing (apt-get install hunspell-tr) — the Turkish notebook will fail"
    }`,
  ].join("\n"),
);
