import { deepEqual, equal, rejects } from "node:assert/strict";
import { dispatch, type GpuContext, shaderBindings } from "../../lib/gpu/mod.ts";
import { TokenlabError } from "../../lib/util/errors.ts";
import { gpuTest } from "./_child.ts";

const SRC = `struct Params { n: u32, a: f32 }
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> y: array<f32>;
fn load(i: u32) -> f32 { return x[i]; }
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < params.n) { out[g.x] = params.a * load(g.x); }
}
@compute @workgroup_size(1) fn other() { out[0] = y[0]; }
`;

// Name errors are raised before the device is touched: a context that throws on any use shows it.
const noDevice = new Proxy({}, {
  get(_t, key) {
    throw new Error(`the device was used (${String(key)}) before the names were checked`);
  },
}) as GpuContext;

Deno.test("shaderBindings maps each buffer variable to its group, slot and kind", () => {
  const b = shaderBindings(SRC);
  deepEqual([...b.keys()].sort(), ["out", "params", "x", "y"]);
  deepEqual(b.get("out"), { group: 0, binding: 2, kind: "storage" });
  deepEqual(b.get("params"), { group: 0, binding: 1, kind: "uniform" });
  equal(b.get("x")?.binding, 0);
  equal(shaderBindings(SRC), b, "cached per source");
});

Deno.test("dispatch: a binding the WGSL does not declare names the pass and the variable", async () => {
  await rejects(
    dispatch(noDevice, {
      label: "scale",
      source: SRC,
      uniforms: { n: 1, a: 2 },
      bindings: { x: Float32Array.of(1), z: Float32Array.of(1) },
      outputs: { out: { shape: [1] } },
      workgroups: [1],
    }),
    (e: Error) => e instanceof TokenlabError && /pass scale binds "z"/.test(e.message),
  );
});

Deno.test("dispatch: a variable the entry point uses with nothing bound is an error", async () => {
  await rejects(
    dispatch(noDevice, {
      label: "scale",
      source: SRC,
      uniforms: { n: 1, a: 2 },
      outputs: { out: { shape: [1] } },
      workgroups: [1],
    }),
    (e: Error) =>
      e instanceof TokenlabError &&
      /pass scale: the WGSL variable "x" \(@group\(0\) @binding\(0\)\) has nothing bound/.test(
        e.message,
      ),
  );
  // `undefined` counts as not bound
  await rejects(
    dispatch(noDevice, {
      label: "scale",
      source: SRC,
      uniforms: { n: 1, a: 2 },
      bindings: { x: undefined },
      outputs: { out: { shape: [1] } },
      workgroups: [1],
    }),
    /"x" .* has nothing bound/,
  );
  // the params uniform left out
  await rejects(
    dispatch(noDevice, {
      label: "scale",
      source: SRC,
      bindings: { x: Float32Array.of(1) },
      outputs: { out: { shape: [1] } },
      workgroups: [1],
    }),
    /"params" .* has nothing bound.*uniforms/,
  );
});

Deno.test("dispatch: only the entry point's variables must be bound", async () => {
  // `other` uses out and y only: x and params may be left out; y may not
  await rejects(
    dispatch(noDevice, {
      label: "copy",
      source: SRC,
      entryPoint: "other",
      outputs: { out: { shape: [1] } },
      workgroups: [1],
    }),
    /pass copy: the WGSL variable "y"/,
  );
  await rejects(
    dispatch(noDevice, {
      label: "copy",
      source: SRC,
      entryPoint: "nope",
      workgroups: [1],
    }),
    /no entry point "nope"/,
  );
});

Deno.test("dispatch: uniform fields are checked by name, both ways", async () => {
  const base = {
    label: "scale",
    source: SRC,
    bindings: { x: Float32Array.of(1) },
    outputs: { out: { shape: [1] } },
    workgroups: [1] as [number],
  };
  await rejects(
    dispatch(noDevice, { ...base, uniforms: { n: 1, a: 2, b: 3 } }),
    /params uniform has no field "b"/,
  );
  await rejects(dispatch(noDevice, { ...base, uniforms: { n: 1 } }), /params uniform needs "a"/);
});

Deno.test("dispatch: kernel-level names must be declared by some pass; passes need a source", async () => {
  await rejects(
    dispatch(noDevice, {
      label: "two",
      scratch: { tmpp: 16 },
      workgroups: [1],
      passes: [{ source: SRC, entryPoint: "other", bindings: { y: Float32Array.of(1) } }],
      outputs: { out: { shape: [1] } },
    }),
    /kernel two has scratch "tmpp", which no pass's WGSL declares/,
  );
  await rejects(
    dispatch(noDevice, {
      label: "two",
      uniforms: { n: 1 },
      workgroups: [1],
      passes: [{ source: SRC, entryPoint: "other", bindings: { y: Float32Array.of(1) } }].map(
        (p) => ({ ...p, source: p.source.replace(/.*var<uniform> params.*\n/, "") }),
      ),
      outputs: { out: { shape: [1] } },
    }),
    /kernel two has uniforms but no pass's WGSL declares/,
  );
  await rejects(
    dispatch(noDevice, { label: "two", passes: [{ workgroups: [1] }] }),
    /pass two has no WGSL source/,
  );
  await rejects(
    dispatch(noDevice, { label: "g", source: SRC, workgroups: [1.5] }),
    /non-negative integers/,
  );
});

gpuTest("dispatch on the device", "tests/gpu/_dispatch_cases.ts", [
  {
    name: "bindings by name, out of slot order, host data uploaded",
    kind: "axpy",
    atol: 0,
    rtol: 0,
  },
  { name: "two passes, shared scratch, zeroed output", kind: "passes", atol: 0, rtol: 0 },
  { name: "a second entry point binds only what it uses", kind: "entryPoint", atol: 0, rtol: 0 },
  { name: "a CPU tensor is refused and nothing leaks", kind: "cpuTensor", atol: 0, rtol: 0 },
]);
