// Child process for the dispatch-helper tests (see tests/gpu/_child.ts): kernels written for
// the test, bound by name, with expected values worked out by hand in the comments.
import { dispatch, Tensor } from "../../lib/gpu/mod.ts";
import { registerCase, serve } from "../kernels/_gpu_cases.ts";

const fail = (msg: string): never => {
  throw new Error(msg);
};

// bindings declared out of slot order and with a gap (no binding 1, 2 or 4): only names matter
const AXPY = `struct Params { n: u32, a: f32 }
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;
@group(0) @binding(7) var<storage, read_write> unused: array<f32>;
fn load(i: u32) -> f32 { return x[i]; }
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < params.n) { out[g.x] = params.a * load(g.x) + y[g.x]; }
}
@compute @workgroup_size(1) fn fill() { unused[0] = 1.0; }
`;

registerCase("axpy", async (gpu) => {
  const x = Tensor.fromArray([1, 2, 3, 4, 5], { shape: [5], gpu });
  const stats0 = gpu.pool.stats;
  // y as host data: uploaded to a temporary buffer; `unused` is declared but not used by main
  const { out } = await dispatch(gpu, {
    label: "axpy",
    source: AXPY,
    uniforms: { n: 5, a: 3 },
    bindings: { x, y: Float32Array.of(10, 20, 30, 40, 50) },
    outputs: { out: { shape: [5] } },
    workgroups: [1],
  });
  const got = await out.toArray();
  const stats1 = gpu.pool.stats;
  // in use afterwards: the output only (uniform buffer and the uploaded y were released)
  const extra = stats1.inUse - stats0.inUse;
  out.release();
  x.release();
  if (extra !== 1) fail(`${extra} buffers still held after dispatch, want 1 (the output)`);
  // 3·x + y
  return [{ got, want: [13, 26, 39, 52, 65] }];
});

registerCase("passes", async (gpu) => {
  // pass 1 writes tmp[i] = i + 1 into scratch; pass 2 adds 3·tmp[i] into a zeroed output in a
  // single-thread loop: 3·(1+2+3+4) = 30; the u32 output is exact
  const head = `@group(0) @binding(0) var<storage, read_write> tmp: array<u32>;`;
  const { total, copy } = await dispatch(gpu, {
    label: "sum",
    scratch: { tmp: 16 },
    // kernel-level uniforms reach only the pass that declares params (the fill pass has none)
    uniforms: { k: 3 },
    outputs: {
      total: { shape: [1], dtype: "u32", zeroed: true },
      copy: { shape: [4], dtype: "u32" },
    },
    workgroups: [1],
    passes: [
      {
        label: "sum.fill",
        source: `${head}
@group(0) @binding(1) var<storage, read_write> copy: array<u32>;
@compute @workgroup_size(4) fn main(@builtin(local_invocation_index) i: u32) {
  tmp[i] = i + 1u; copy[i] = i + 1u;
}`,
      },
      {
        label: "sum.reduce",
        source: `${head}
@group(0) @binding(1) var<storage, read_write> total: array<u32>;
struct Params { k: u32 }
@group(0) @binding(2) var<uniform> params: Params;
@compute @workgroup_size(1) fn main() {
  for (var i = 0u; i < 4u; i++) { total[0] += tmp[i] * params.k; }
}`,
      },
    ],
  });
  const got = [...await total.toArray(), ...await copy.toArray()];
  total.release();
  copy.release();
  return [{ got, want: [30, 1, 2, 3, 4] }];
});

registerCase("entryPoint", async (gpu) => {
  // the second entry point uses only `unused`; main's x, y, out need not be bound for it
  const buf = Tensor.empty([1], { gpu });
  await dispatch(gpu, {
    label: "fill",
    source: AXPY,
    entryPoint: "fill",
    bindings: { unused: buf },
    workgroups: [1],
  });
  const got = await buf.toArray();
  buf.release();
  return [{ got, want: [1] }];
});

registerCase("cpuTensor", async (gpu) => {
  const cpu = Tensor.fromArray([1], { shape: [1], gpu: null });
  const y = Tensor.fromArray([1], { shape: [1], gpu });
  const before = gpu.pool.stats.inUse;
  let message = "";
  try {
    await dispatch(gpu, {
      label: "axpy",
      source: AXPY,
      uniforms: { n: 1, a: 1 },
      bindings: { x: cpu, y },
      outputs: { out: { shape: [1] } },
      workgroups: [1],
    });
  } catch (e) {
    message = String(e);
  }
  const leaked = gpu.pool.stats.inUse - before;
  y.release();
  if (!/CPU tensor/.test(message)) fail(`expected a CPU-tensor error, got: ${message || "none"}`);
  if (leaked !== 0) fail(`${leaked} buffers leaked by the failed dispatch`);
  return [{ got: [0], want: [0] }];
});

await serve();
