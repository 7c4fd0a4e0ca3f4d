/**
 * WGSL reflection shared by the uniform packer and the dispatch helper: `webgpu-utils`' shader
 * data definitions, parsed once per source.
 *
 * @module
 */

import { makeShaderDataDefinitions } from "webgpu-utils";
import type { ShaderDataDefinitions } from "webgpu-utils";

const cache = new Map<string, ShaderDataDefinitions>();

/** The data definitions (uniforms, storages, structs, entry points) of `source`, cached. */
export function shaderDefinitions(source: string): ShaderDataDefinitions {
  let defs = cache.get(source);
  if (!defs) {
    defs = makeShaderDataDefinitions(source);
    // generated sources differ per shape only through a few configs; still, bound the cache
    if (cache.size >= 512) cache.delete(cache.keys().next().value!);
    cache.set(source, defs);
  }
  return defs;
}
