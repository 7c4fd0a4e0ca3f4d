// Finding the Python that has Jupyter's executor, and the Deno kernelspec.

/** Interpreters to try, Debian's first (its packages install there; pyenv may shadow it). */
const PYTHONS = ["/usr/bin/python3", "python3"];

/** The first Python that can import nbclient, nbformat and jupyter_client, or null. */
export function findJupyterPython(): string | null {
  for (const py of PYTHONS) {
    try {
      const out = new Deno.Command(py, {
        args: ["-c", "import nbclient, nbformat, jupyter_client, ipykernel"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (out.success) return py;
    } catch { /* not installed */ }
  }
  return null;
}

/** Versions of nbclient and jupyter_client under `python`. */
export function jupyterVersions(python: string): string {
  const out = new Deno.Command(python, {
    args: [
      "-c",
      "import nbclient, jupyter_client; print(f'nbclient {nbclient.__version__}, jupyter_client {jupyter_client.__version__}')",
    ],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return new TextDecoder().decode(out.stdout).trim();
}

/** Path of the Deno kernelspec's kernel.json for `name`. */
export function kernelSpecPath(name = "deno"): string {
  const home = Deno.env.get("HOME") ?? "/root";
  const dataDir = Deno.env.get("JUPYTER_DATA_DIR") ?? `${home}/.local/share/jupyter`;
  return `${dataDir}/kernels/${name}/kernel.json`;
}

/** Whether the kernelspec exists and starts this very Deno binary. */
export function kernelSpecIsCurrent(name = "deno"): boolean {
  try {
    const spec = JSON.parse(Deno.readTextFileSync(kernelSpecPath(name)));
    const exe = spec.argv?.[0];
    if (typeof exe !== "string") return false;
    return Deno.realPathSync(exe) === Deno.realPathSync(Deno.execPath());
  } catch {
    return false;
  }
}

/** The repository root (the folder holding deno.json), from this file's location. */
export function repoRoot(): string {
  return new URL("..", import.meta.url).pathname.replace(/\/$/, "");
}
