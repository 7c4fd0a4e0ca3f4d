// Runs GPU test cases in a child Deno process. A software Vulkan driver (lavapipe) has been
// seen to abort the process that used it at exit with glibc heap corruption; running the GPU
// work in a child keeps the test process itself clean. The child prints one JSON line per
// case and a final {"done": true} line; an abort after "done" is reported, not failed.

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

const cache = new Map<string, ChildRun>();

/** Runs `script` with `cases` on stdin and collects its results. */
export async function runChild(script: string, cases: unknown[]): Promise<ChildRun> {
  const key = script + JSON.stringify(cases);
  const hit = cache.get(key);
  if (hit) return hit;
  const env: Record<string, string> = {};
  if (!Deno.env.get("XDG_RUNTIME_DIR")) env.XDG_RUNTIME_DIR = Deno.makeTempDirSync();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    env,
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

/** Registers one Deno.test that runs `cases` in a child and checks each as a step. */
export function gpuTest(
  name: string,
  script: string,
  cases: { name: string; kind: string; [key: string]: unknown }[],
): void {
  Deno.test(name, async (t) => {
    const run = await runChild(script, cases);
    if (run.skip) {
      console.log(`skipping GPU part: ${run.skip}`);
      return;
    }
    for (const r of run.results) {
      await t.step(r.name, () => {
        if (r.error) throw new Error(`${r.name}: ${r.error}`);
        if (typeof r.worst !== "number" || !(r.worst <= 1)) {
          throw new Error(
            `${r.name}: error ${
              r.worst.toFixed(3)
            }× the tolerance (max abs err ${r.maxAbsErr}, ${r.elements} elements)`,
          );
        }
      });
    }
    if (run.results.length !== cases.length) {
      throw new Error(`expected ${cases.length} results, got ${run.results.length}`);
    }
  });
}
