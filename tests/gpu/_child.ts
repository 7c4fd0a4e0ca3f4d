// Runs GPU test cases in a child Deno process. A software Vulkan driver (lavapipe) has been
// seen to abort the process that used it at exit with glibc heap corruption; running the GPU
// work in a child keeps the test process itself clean. The child prints one JSON line per
// case and a final {"done": true} line; an abort after "done" is reported, not failed.
//
// Whether there is an adapter, and which features tokenlab's device gets there, is probed once
// per test process before any GPU test is registered, so a test that cannot run is registered
// as ignored (with the reason in its name) instead of passing without running:
// - no adapter: every GPU test is ignored; with TOKENLAB_REQUIRE_GPU=1 it fails instead;
// - a case that needs a feature the device lacks (f16 cases need shader-f16) is an ignored
//   step; with the feature named in TOKENLAB_REQUIRE_GPU_FEATURES (comma-separated) it fails.

/** One compared output of a case. */
export interface CaseResult {
  name: string;
  /** max over elements of |got - want| / (atol + rtol·|want|); ≤ 1 passes (null in JSON = Infinity: fails). */
  worst: number;
  maxAbsErr: number;
  elements: number;
  error?: string;
  /** extra facts reported by the case (e.g. pool stats). */
  info?: Record<string, unknown>;
}

export interface ChildRun {
  skip?: string;
  adapter?: string;
  results: CaseResult[];
  exitCode: number;
  stderr: string;
}

/** What tokenlab's device wrapper gets in this environment (features after masking). */
export interface GpuProbe {
  name: string;
  software: boolean;
  features: string[];
}

/** A case for {@linkcode gpuTest}: `requires` lists WebGPU features it needs beyond the basics. */
export interface GpuCase {
  name: string;
  kind: string;
  /** Features the case needs; an f16 `dtype` implies `shader-f16`. */
  requires?: string[];
  [key: string]: unknown;
}

/** Environment of the GPU children: Mesa's Vulkan loader wants an XDG_RUNTIME_DIR. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  if (!Deno.env.get("XDG_RUNTIME_DIR")) env.XDG_RUNTIME_DIR = Deno.makeTempDirSync();
  return env;
}

async function probe(): Promise<GpuProbe | null> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_probe_child.ts", import.meta.url).pathname],
    env: childEnv(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => /^(\{|null)/.test(l));
  if (line === undefined) {
    throw new Error(
      `the GPU probe printed nothing (exit ${out.code}):\n${
        new TextDecoder().decode(out.stderr).slice(-2000)
      }`,
    );
  }
  return JSON.parse(line);
}

/** The adapter GPU tests run on here, probed once per test process; null when there is none. */
export const GPU: GpuProbe | null = await probe();

const requireGpu = Deno.env.get("TOKENLAB_REQUIRE_GPU") === "1";
const requiredFeatures = (Deno.env.get("TOKENLAB_REQUIRE_GPU_FEATURES") ?? "").split(",")
  .map((s) => s.trim()).filter(Boolean);

/** Features a case needs: its `requires`, and shader-f16 for an f16 dtype. */
export function caseRequires(c: GpuCase): string[] {
  const need = new Set(c.requires ?? []);
  if (c.dtype === "f16") need.add("shader-f16");
  return [...need];
}

/** Why a case cannot run here (a missing feature), or null when it can. */
export function missingFeatures(c: GpuCase): string[] {
  return GPU ? caseRequires(c).filter((f) => !GPU.features.includes(f)) : caseRequires(c);
}

const cache = new Map<string, ChildRun>();

/** Runs `script` with `cases` on stdin (and `env` added to its environment); collects results. */
export async function runChild(
  script: string,
  options: { cases: unknown[]; env?: Record<string, string> },
): Promise<ChildRun> {
  const { cases, env = {} } = options;
  const key = script + JSON.stringify(cases) + JSON.stringify(env);
  const hit = cache.get(key);
  if (hit) return hit;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    env: { ...childEnv(), ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(cases)));
  await w.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const run: ChildRun = { results: [], exitCode: out.code, stderr };
  let done = false;
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    const obj = JSON.parse(line);
    if (obj.skip) run.skip = obj.skip;
    else if (obj.done) {
      done = true;
      run.adapter = obj.adapter;
    } else run.results.push(obj);
  }
  if (!done && !run.skip) {
    throw new Error(
      `GPU child ${script} exited with ${out.code} before finishing:\n${stderr.slice(-3000)}`,
    );
  }
  if (out.code !== 0) {
    console.warn(`note: GPU child exited with code ${out.code} after reporting all results`);
  }
  cache.set(key, run);
  return run;
}

function checkResult(r: CaseResult): void {
  if (r.error) throw new Error(`${r.name}: ${r.error}`);
  if (typeof r.worst !== "number" || !(r.worst <= 1)) {
    throw new Error(
      `${r.name}: error ${
        Number(r.worst).toFixed(3)
      }× the tolerance (max abs err ${r.maxAbsErr}, ${r.elements} elements)`,
    );
  }
}

/**
 * Registers one Deno.test that runs `cases` in a child and checks each as a step. Without an
 * adapter the test is ignored (failed with TOKENLAB_REQUIRE_GPU=1); a case needing a feature
 * the device lacks is an ignored step (failed when TOKENLAB_REQUIRE_GPU_FEATURES names it).
 */
export function gpuTest(name: string, script: string, cases: GpuCase[]): void {
  if (!GPU) {
    if (requireGpu) {
      Deno.test(`${name} (TOKENLAB_REQUIRE_GPU=1)`, () => {
        throw new Error(
          "no WebGPU adapter, and TOKENLAB_REQUIRE_GPU=1 says the GPU tests must run " +
            "(on Linux without a GPU: apt-get install mesa-vulkan-drivers, or deno task setup)",
        );
      });
    } else {
      Deno.test({ name: `${name} (ignored: no WebGPU adapter)`, ignore: true, fn() {} });
    }
    return;
  }
  const runnable = cases.filter((c) => missingFeatures(c).length === 0);
  const label = (c: GpuCase) =>
    `${c.name} (ignored: adapter lacks ${missingFeatures(c).join(", ")})`;
  Deno.test({
    name: runnable.length
      ? name
      : `${name} (ignored: adapter lacks ${
        [...new Set(cases.flatMap(missingFeatures))].join(", ")
      })`,
    ignore: runnable.length === 0 && !cases.some(mustRun),
    async fn(t) {
      const run = runnable.length ? await runChild(script, { cases: runnable }) : null;
      if (run?.skip) {
        throw new Error(
          `the GPU child found no adapter (${run.skip}) but the probe found ${GPU.name}`,
        );
      }
      const results = run?.results ?? [];
      let next = 0; // the child reports the runnable cases in order
      for (const c of cases) {
        if (missingFeatures(c).length) {
          if (mustRun(c)) {
            await t.step(`${c.name} (TOKENLAB_REQUIRE_GPU_FEATURES)`, () => {
              throw new Error(
                `the adapter ${GPU.name} lacks ${missingFeatures(c).join(", ")}, which ` +
                  "TOKENLAB_REQUIRE_GPU_FEATURES requires (Mesa's Vulkan driver has shader-f16: " +
                  "apt-get install mesa-vulkan-drivers)",
              );
            });
          } else await t.step({ name: label(c), ignore: true, fn() {} });
          continue;
        }
        const r = results[next++];
        await t.step(c.name, () => {
          if (!r || r.name !== c.name) {
            throw new Error(`${c.name}: the GPU child reported ${r ? `"${r.name}"` : "nothing"}`);
          }
          checkResult(r);
        });
      }
      if (run && run.results.length !== runnable.length) {
        throw new Error(`expected ${runnable.length} results, got ${run.results.length}`);
      }
    },
  });
}

/** Whether a case that cannot run here must fail rather than be ignored. */
function mustRun(c: GpuCase): boolean {
  return missingFeatures(c).some((f) => requiredFeatures.includes(f));
}
