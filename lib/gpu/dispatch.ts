/**
 * The kernel dispatch helper: passes name their bindings as the WGSL names its variables, the
 * `params` uniform is packed from named values, outputs are allocated from shapes, temporary
 * buffers are released after the one submit. Every kernel wrapper of tokenlab goes through it,
 * and it is the way to run a kernel of your own.
 *
 * @example A kernel of your own
 * ```ts
 * import { dispatch, getDevice, Tensor } from "@tokenlab/tokenlab/gpu";
 * const source = `struct Params { n: u32, k: f32 }
 * @group(0) @binding(0) var<uniform> params: Params;
 * @group(0) @binding(1) var<storage, read> x: array<f32>;
 * @group(0) @binding(2) var<storage, read_write> out: array<f32>;
 * @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
 *   if (g.x < params.n) { out[g.x] = x[g.x] * params.k; }
 * }`;
 * const gpu = await getDevice();
 * if (gpu) {
 *   const x = Tensor.fromArray([1, 2, 3], { shape: [3], gpu });
 *   const { out } = await dispatch(gpu, {
 *     label: "scale",
 *     source,
 *     uniforms: { n: 3, k: 2 },
 *     bindings: { x },
 *     outputs: { out: { shape: [3] } },
 *     workgroups: [1],
 *   });
 *   console.log(await out.toArray()); // [2, 4, 6]
 * }
 * ```
 *
 * @module
 */

import { check, TokenlabError } from "../util/errors.ts";
import type { BufferBinding, GpuContext, KernelPass } from "./device.ts";
import type { PassTimer } from "./pass_timer.ts";
import { shaderDefinitions } from "./_reflect.ts";
import { type DType, Tensor, type TensorArray } from "./tensor.ts";

/**
 * What a binding name can be given: a GPU tensor (bound with its data size), a buffer (bound
 * whole), a buffer with a size, or host data (a typed array uploaded to a temporary storage
 * buffer that is released after the submit). `undefined` counts as not given.
 */
export type BindingValue = Tensor | GPUBuffer | BufferBinding | TensorArray | undefined;

/** An output tensor {@linkcode dispatch} allocates and returns. */
export interface OutputSpec {
  /** Its shape. */
  shape: readonly number[];
  /** Its element type (default f32). */
  dtype?: DType;
  /** Zero it before the passes run (default: uninitialised). */
  zeroed?: boolean;
}

/**
 * One compute pass of a {@linkcode DispatchKernel}. Fields left out are taken from the kernel
 * (bindings are merged, the pass's winning).
 */
export interface DispatchPass {
  /** Name of the pass for the profiler and errors (default: the kernel's label). */
  label?: string;
  /** WGSL source. */
  source?: string;
  /** Entry point (default "main"). */
  entryPoint?: string;
  /** Values of WGSL `override` constants. */
  constants?: Record<string, number>;
  /**
   * Values of the fields of the WGSL variable `params` (a `var<uniform>`), by field name; every
   * field must be given. Set on the kernel, they go to each pass whose WGSL declares `params`.
   */
  uniforms?: Record<string, unknown>;
  /** Values of the WGSL's `var<storage>` / `var<uniform>` variables, by variable name. */
  bindings?: Record<string, BindingValue>;
  /** Workgroup counts (x, y, z); a zero count skips the pass (its bindings are still checked). */
  workgroups?: [number, number?, number?];
}

/**
 * A kernel launch for {@linkcode dispatch}: one pass (the kernel's own fields) or several
 * (`passes`, encoded in order into one submit).
 */
export interface DispatchKernel<O extends string = string> extends DispatchPass {
  /** Name of the kernel (the default label of its passes). */
  label: string;
  /** The passes, in order; omit for a one-pass kernel. */
  passes?: DispatchPass[];
  /**
   * Output tensors, by binding name, returned by {@linkcode dispatch}: a spec is allocated, a
   * GPU tensor given instead is written into (and returned as it is).
   */
  outputs?: Record<O, OutputSpec | Tensor>;
  /** Temporary storage buffers, by binding name and size in bytes, released after the submit. */
  scratch?: Record<string, number>;
  /** Pass timer (a `Profiler`) recording each pass. */
  profiler?: PassTimer;
}

/** Where a WGSL variable lives and what kind of buffer it is. */
export interface ShaderBinding {
  /** `@group(g)`. */
  group: number;
  /** `@binding(b)`. */
  binding: number;
  /** A `var<uniform>` or a `var<storage>`. */
  kind: "uniform" | "storage";
}

/**
 * The buffer variables `source` declares, by name, read from the WGSL with `webgpu-utils`
 * (cached per source).
 *
 * @example
 * ```ts
 * import { shaderBindings } from "@tokenlab/tokenlab/gpu";
 * const b = shaderBindings("@group(0) @binding(3) var<storage, read> x: array<f32>;");
 * console.log(b.get("x")); // { group: 0, binding: 3, kind: "storage" }
 * ```
 */
export function shaderBindings(source: string): ReadonlyMap<string, ShaderBinding> {
  let map = bindingCache.get(source);
  if (!map) {
    const defs = shaderDefinitions(source);
    const m = new Map<string, ShaderBinding>();
    for (const [name, v] of Object.entries(defs.uniforms)) {
      m.set(name, { group: v.group, binding: v.binding, kind: "uniform" });
    }
    for (const [name, v] of Object.entries(defs.storages)) {
      m.set(name, { group: v.group, binding: v.binding, kind: "storage" });
    }
    if (bindingCache.size >= 512) bindingCache.delete(bindingCache.keys().next().value!);
    bindingCache.set(source, map = m);
  }
  return map;
}

const bindingCache = new Map<string, Map<string, ShaderBinding>>();

/** Variable names the entry point uses (directly or through the functions it calls). */
function usedNames(source: string, entryPoint: string, label: string): Set<string> {
  const key = `${entryPoint}\u0000${source}`;
  let used = usedCache.get(key);
  if (!used) {
    const ep = shaderDefinitions(source).entryPoints[entryPoint];
    check(ep, `pass ${label}: the WGSL has no entry point "${entryPoint}"`, {
      hint: `entry points: ${Object.keys(shaderDefinitions(source).entryPoints).join(", ")}`,
    });
    used = new Set(ep.resources.map((r) => r.name));
    if (usedCache.size >= 512) usedCache.delete(usedCache.keys().next().value!);
    usedCache.set(key, used);
  }
  return used;
}

const usedCache = new Map<string, Set<string>>();

interface Resolved {
  label: string;
  source: string;
  entryPoint: string;
  constants?: Record<string, number>;
  uniforms?: Record<string, unknown>;
  own: Record<string, BindingValue>;
  workgroups: [number, number?, number?];
}

function resolvePasses(kernel: DispatchKernel): Resolved[] {
  const list = kernel.passes ?? [{}];
  check(list.length > 0, `kernel ${kernel.label} has an empty passes list`, {
    hint: "give at least one pass, or leave passes out for a one-pass kernel",
  });
  return list.map((p, i) => {
    const label = p.label ?? (list.length > 1 ? `${kernel.label}[${i}]` : kernel.label);
    const source = p.source ?? kernel.source;
    const workgroups = p.workgroups ?? kernel.workgroups;
    check(source, `pass ${label} has no WGSL source`, {
      hint: "set `source` on the pass or on the kernel",
    });
    check(workgroups, `pass ${label} has no workgroup counts`, {
      hint: "set `workgroups` on the pass or on the kernel",
    });
    for (const n of workgroups) {
      check(
        n === undefined || (Number.isInteger(n) && n >= 0),
        `pass ${label}: workgroup counts must be non-negative integers, got [${workgroups}]`,
      );
    }
    return {
      label,
      source,
      entryPoint: p.entryPoint ?? kernel.entryPoint ?? "main",
      constants: p.constants ?? kernel.constants,
      // kernel-level uniforms go to the passes whose WGSL declares `params`
      uniforms: p.uniforms ??
        (kernel.passes && !shaderBindings(source).has("params") ? undefined : kernel.uniforms),
      // a one-pass kernel's bindings are that pass's own (checked against its WGSL)
      own: kernel.passes ? p.bindings ?? {} : kernel.bindings ?? {},
      workgroups,
    };
  });
}

function isTypedArray(v: unknown): v is TensorArray {
  return v instanceof Float32Array || v instanceof Uint32Array || v instanceof Int32Array;
}

function checkUniformFields(pass: Resolved): void {
  const def = shaderDefinitions(pass.source).uniforms.params;
  check(def, `pass ${pass.label} has uniforms but its WGSL declares no \`var<uniform> params\``, {
    hint: "declare the struct as `@group(0) @binding(0) var<uniform> params: Params;`",
  });
  const fields = (def.typeDefinition as { fields?: Record<string, unknown> }).fields;
  if (!fields) return;
  const given = Object.keys(pass.uniforms!);
  const unknown = given.filter((k) => !(k in fields));
  const missing = Object.keys(fields).filter((k) => !(k in pass.uniforms!));
  check(
    unknown.length === 0 && missing.length === 0,
    `pass ${pass.label}: the params uniform ${
      unknown.length ? `has no field ${unknown.map((k) => `"${k}"`).join(", ")}` : ""
    }${unknown.length && missing.length ? " and " : ""}${
      missing.length ? `needs ${missing.map((k) => `"${k}"`).join(", ")}` : ""
    }`,
    { hint: `its fields are ${Object.keys(fields).join(", ")}` },
  );
}

/**
 * Runs a kernel: compiles (or finds) each pass's pipeline, packs its `params` uniform from
 * `uniforms`, allocates `outputs`, binds every variable by the name the WGSL gives it, encodes
 * the passes in order into one submit, then releases the temporaries (uniform buffers,
 * `scratch`, uploaded host arrays). Returns the outputs by name.
 *
 * Names are checked before anything is allocated: a binding the WGSL does not declare, or a
 * variable the entry point uses with nothing bound to it, is a {@linkcode TokenlabError} naming
 * the pass and the variable. Kernel-level `bindings`, `outputs` and `scratch` are offered to every
 * pass, and need only be declared by one of them; variables a pass's entry point does not use
 * are not bound in that pass.
 *
 * @example Two passes sharing a scratch buffer
 * ```ts
 * import { dispatch, getDevice } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const head = `@group(0) @binding(0) var<storage, read_write> tmp: array<f32>;`;
 *   const { out } = await dispatch(gpu, {
 *     label: "two_steps",
 *     scratch: { tmp: 4 },
 *     outputs: { out: { shape: [1] } },
 *     workgroups: [1],
 *     passes: [
 *       { source: `${head} @compute @workgroup_size(1) fn main() { tmp[0] = 21.0; }` },
 *       {
 *         source: `${head} @group(0) @binding(1) var<storage, read_write> out: array<f32>;
 *           @compute @workgroup_size(1) fn main() { out[0] = tmp[0] * 2.0; }`,
 *       },
 *     ],
 *   });
 *   console.log(await out.toArray()); // [42]
 * }
 * ```
 */
export async function dispatch<O extends string = never>(
  gpu: GpuContext,
  kernel: DispatchKernel<O>,
): Promise<Record<O, Tensor>> {
  const passes = resolvePasses(kernel);
  const shared: Record<string, "binding" | "output" | "scratch"> = {};
  const sharedBindings = kernel.passes ? kernel.bindings ?? {} : {};
  for (const k of Object.keys(sharedBindings)) shared[k] = "binding";
  for (const k of Object.keys(kernel.outputs ?? {})) {
    check(!(k in shared), `kernel ${kernel.label} names "${k}" twice (bindings and outputs)`);
    shared[k] = "output";
  }
  for (const k of Object.keys(kernel.scratch ?? {})) {
    check(!(k in shared), `kernel ${kernel.label} names "${k}" twice (scratch and another)`);
    shared[k] = "scratch";
  }
  check(
    !kernel.passes || kernel.uniforms === undefined || passes.some((p) => p.uniforms),
    `kernel ${kernel.label} has uniforms but no pass's WGSL declares \`var<uniform> params\``,
  );
  // 1. names, before anything is allocated
  const declaredSomewhere = new Set<string>();
  const uses: { bind: string[] }[] = [];
  for (const p of passes) {
    const decl = shaderBindings(p.source);
    const used = usedNames(p.source, p.entryPoint, p.label);
    for (const name of decl.keys()) declaredSomewhere.add(name);
    for (const [name, v] of Object.entries(p.own)) {
      if (v === undefined) continue;
      if (!decl.has(name)) {
        throw new TokenlabError(
          `pass ${p.label} binds "${name}", which its WGSL does not declare`,
          { hint: `the WGSL declares ${[...decl.keys()].join(", ") || "no buffers"}` },
        );
      }
    }
    if (p.uniforms) checkUniformFields(p);
    const bind: string[] = [];
    for (const name of used) {
      const where = decl.get(name);
      check(where, `pass ${p.label}: "${name}" is not a buffer; dispatch binds buffers only`);
      check(
        where.group === 0,
        `pass ${p.label}: "${name}" is in @group(${where.group}); dispatch binds group 0 only`,
        { hint: "declare every buffer in @group(0)" },
      );
      const given = p.own[name] !== undefined ||
        (name === "params" && p.uniforms !== undefined) ||
        (shared[name] === "binding" ? sharedBindings[name] !== undefined : name in shared);
      if (!given) {
        throw new TokenlabError(
          `pass ${p.label}: the WGSL variable "${name}" (@group(0) @binding(${where.binding})) ` +
            "has nothing bound to it",
          {
            hint: name === "params"
              ? "give the params values as `uniforms`"
              : `bind it by name in \`bindings\`${
                where.kind === "storage" ? ", `outputs` or `scratch`" : ""
              }`,
          },
        );
      }
      bind.push(name);
    }
    uses.push({ bind });
  }
  for (const name of Object.keys(shared)) {
    if (shared[name] === "binding" && sharedBindings[name] === undefined) continue;
    check(
      declaredSomewhere.has(name),
      `kernel ${kernel.label} has ${shared[name]} "${name}", which no pass's WGSL declares`,
      { hint: `the passes declare ${[...declaredSomewhere].join(", ")}` },
    );
  }
  // 2. pipelines (compiled in parallel, cached per source, entry point and constants)
  const pipelines = await Promise.all(passes.map((p) =>
    gpu.pipelines.get(p.source, {
      label: p.label,
      entryPoint: p.entryPoint,
      constants: p.constants,
    })
  ));
  // 3. buffers
  const release: GPUBuffer[] = [];
  const outputs = {} as Record<O, Tensor>;
  const allocated: Tensor[] = [];
  const sharedBuf: Record<string, BufferBinding> = {};
  const uploaded = new Map<TensorArray, BufferBinding>();
  const asBinding = (v: Exclude<BindingValue, undefined>, where: string): BufferBinding => {
    if (v instanceof Tensor) {
      check(!v.isCpu, `pass ${where} was given a CPU tensor`, {
        hint: "a GPU kernel needs GPU tensors; the wrappers run CPU tensors on their references",
      });
      check(v.gpu === gpu, `pass ${where} was given a tensor of another device`, {
        hint: "create all tensors from one getDevice() context",
      });
      return { buffer: v.buffer, size: v.bindingSize };
    }
    if (isTypedArray(v)) {
      let b = uploaded.get(v);
      if (!b) {
        const buf = gpu.scratch(v.byteLength);
        if (v.byteLength) gpu.device.queue.writeBuffer(buf, 0, v as ArrayBufferView<ArrayBuffer>);
        release.push(buf);
        uploaded.set(v, b = { buffer: buf, size: Math.max(4, v.byteLength) });
      }
      return b;
    }
    // a BufferBinding has a `buffer` field, a GPUBuffer does not
    return "buffer" in v ? v : { buffer: v };
  };
  try {
    for (const [name, spec] of Object.entries(kernel.outputs ?? {}) as [O, OutputSpec | Tensor][]) {
      if (spec instanceof Tensor) {
        sharedBuf[name] = asBinding(spec, kernel.label);
        outputs[name] = spec;
        continue;
      }
      const opts = { dtype: spec.dtype ?? "f32", gpu };
      const t = spec.zeroed ? Tensor.zeros(spec.shape, opts) : Tensor.empty(spec.shape, opts);
      allocated.push(t);
      outputs[name] = t;
      sharedBuf[name] = { buffer: t.buffer, size: t.bindingSize };
    }
    for (const [name, bytes] of Object.entries(kernel.scratch ?? {})) {
      const buf = gpu.scratch(bytes);
      release.push(buf);
      sharedBuf[name] = { buffer: buf, size: Math.max(4, Math.ceil(bytes / 4) * 4) };
    }
    for (const [name, v] of Object.entries(sharedBindings)) {
      if (v !== undefined) sharedBuf[name] = asBinding(v, kernel.label);
    }
    const runPasses: KernelPass[] = passes.map((p, i) => {
      const bindings: BufferBinding[] = [];
      for (const name of uses[i].bind) {
        const slot = shaderBindings(p.source).get(name)!.binding;
        const own = p.own[name];
        if (own !== undefined) bindings[slot] = asBinding(own, p.label);
        else if (name === "params" && p.uniforms) {
          const buf = gpu.uniformBuffer(p.source, p.uniforms);
          release.push(buf);
          bindings[slot] = { buffer: buf };
        } else bindings[slot] = sharedBuf[name];
      }
      return { pipeline: pipelines[i], label: p.label, bindings, workgroups: p.workgroups };
    });
    gpu.run(runPasses, { profiler: kernel.profiler, release });
  } catch (e) {
    for (const b of release) gpu.pool.release(b);
    for (const t of allocated) t.release();
    throw e;
  }
  return outputs;
}
