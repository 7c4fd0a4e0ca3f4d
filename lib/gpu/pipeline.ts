/**
 * Compute pipelines cached by WGSL source and override constants, uniform buffers laid out by
 * `webgpu-utils` from the WGSL struct itself.
 *
 * @module
 */

import { makeStructuredView } from "webgpu-utils";
import type { StructuredView } from "webgpu-utils";
import { check, TokenlabError } from "../util/errors.ts";
import { needsShaderF16, requireShaderF16 } from "./_features.ts";
import { shaderDefinitions } from "./_reflect.ts";

/** Options for {@linkcode PipelineCache.get}. */
export interface PipelineOptions {
  /** Entry point (default "main"). */
  entryPoint?: string;
  /** Values of WGSL `override` constants. */
  constants?: Record<string, number>;
  /** Label for driver messages. */
  label?: string;
}

/**
 * Compute pipelines keyed by (WGSL source, entry point, override constants); a shader compiles
 * once per process. Compilation errors are thrown as {@linkcode TokenlabError} with the
 * compiler's messages and line numbers; a source with `enable f16;` on a device without
 * `shader-f16` is refused before compiling, with the feature named.
 *
 * @example
 * ```ts
 * import { getDevice, PipelineCache } from "@tokenlab/tokenlab/gpu";
 * const gpu = await getDevice();
 * if (gpu) {
 *   const cache = new PipelineCache(gpu.device);
 *   const src = "@compute @workgroup_size(1) fn main() {}";
 *   console.log((await cache.get(src)) === (await cache.get(src))); // true
 * }
 * ```
 */
export class PipelineCache {
  /** The device pipelines are created on. */
  readonly device: GPUDevice;
  #pipelines = new Map<string, Promise<GPUComputePipeline>>();

  /** Creates an empty cache for `device`. */
  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** Pipelines compiled so far (or being compiled). */
  get size(): number {
    return this.#pipelines.size;
  }

  /** The pipeline for `source`, compiled on first use; throws when it needs a missing feature. */
  get(source: string, options: PipelineOptions = {}): Promise<GPUComputePipeline> {
    if (needsShaderF16(source)) {
      requireShaderF16(this.device, `the shader ${options.label ?? "(unlabelled)"}`);
    }
    const entryPoint = options.entryPoint ?? "main";
    const constants = options.constants ?? {};
    const constKey = JSON.stringify(Object.keys(constants).sort().map((k) => [k, constants[k]]));
    const key = `${entryPoint}\u0000${constKey}\u0000${source}`;
    let p = this.#pipelines.get(key);
    if (!p) {
      p = this.#compile(source, entryPoint, constants, options.label);
      this.#pipelines.set(key, p);
      p.catch(() => this.#pipelines.delete(key));
    }
    return p;
  }

  async #compile(
    source: string,
    entryPoint: string,
    constants: Record<string, number>,
    label?: string,
  ): Promise<GPUComputePipeline> {
    const module = this.device.createShaderModule({ code: source, label });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length) {
      const lines = source.split("\n");
      const text = errors.map((m) =>
        `line ${m.lineNum}: ${m.message}\n    ${lines[m.lineNum - 1]?.trim() ?? ""}`
      ).join("\n");
      throw new TokenlabError(`WGSL compilation failed for ${label ?? "a shader"}:\n${text}`, {
        hint: "this is a bug in the kernel source or its generator; report it with the shapes used",
      });
    }
    try {
      return await this.device.createComputePipelineAsync({
        label,
        layout: "auto",
        compute: { module, entryPoint, constants },
      });
    } catch (cause) {
      throw new TokenlabError(`could not create the compute pipeline ${label ?? ""}`, {
        cause,
        hint: "the adapter may lack a limit the kernel needs (workgroup size or memory)",
      });
    }
  }
}

/**
 * Packs `values` into the byte layout of the WGSL uniform variable `name` declared in
 * `wgsl` (a snippet with the struct and its `var<uniform>` is enough), using
 * `webgpu-utils` so that offsets and padding follow the WGSL rules.
 *
 * @example
 * ```ts
 * import { packUniforms } from "@tokenlab/tokenlab/gpu";
 * const wgsl = "struct P { n: u32, scale: f32 } @group(0) @binding(0) var<uniform> params: P;";
 * console.log(packUniforms(wgsl, { values: { n: 3, scale: 0.5 } }).byteLength); // 8
 * ```
 */
export function packUniforms(
  wgsl: string,
  options: { values: Record<string, unknown>; name?: string },
): ArrayBuffer {
  const defs = shaderDefinitions(wgsl);
  const name = options.name ?? "params";
  const def = defs.uniforms[name];
  check(def, `no uniform variable "${name}" in the WGSL given`, {
    hint: `declare it as \`@group(0) @binding(0) var<uniform> ${name}: SomeStruct;\``,
  });
  const view: StructuredView = makeStructuredView(def);
  view.set(options.values);
  return view.arrayBuffer;
}
