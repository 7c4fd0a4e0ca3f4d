import { equal, ok } from "node:assert/strict";

// The fallback needs a process where getDevice() finds no adapter, so it runs in a child with
// TOKENLAB_NO_GPU=1 (see _cpu_fallback.ts for the checks).
Deno.test("kernels run on CPU tensors when there is no GPU (TOKENLAB_NO_GPU=1)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tests/kernels/_cpu_fallback.ts"],
    env: { TOKENLAB_NO_GPU: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  equal(out.code, 0, `child failed:\n${text}\n${err.slice(-3000)}`);
  ok(text.trim().endsWith("done"), text);
  equal(text.split("\n").filter((l) => l.startsWith("ok ")).length, 10, text);
});
