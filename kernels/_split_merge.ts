// The second pass of split-K attention (decode and sparse attention): one 64-thread workgroup
// per (query, head) row merges the splits' partial states (m_s, l_s, o_s) into
// Σ 2^(m_s−M) o_s / Σ 2^(m_s−M) l_s; a row whose sum is 0 (no visible key) is written as zeros.

import { enables } from "./_common.ts";

/**
 * WGSL of the merge pass. `paramsWgsl` declares the uniform `params` at binding 0 with at least
 * `nq`, `Hq` and `splits`; po [splits, rows, D] and pml [splits, rows, 2] are the split pass's
 * partial outputs and (max, sum) pairs.
 */
export function splitMergeWgsl(
  paramsWgsl: string,
  config: { headDim: number; dtype?: "f32" | "f16" },
): string {
  const T = config.dtype ?? "f32", D = config.headDim;
  return `${enables(T)}${paramsWgsl}
@group(0) @binding(1) var<storage, read> po: array<f32>;
@group(0) @binding(2) var<storage, read> pml: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<${T}>;
const D = ${D}u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * 65535u;
  let rows = params.nq * params.Hq;
  if (row >= rows) { return; }
  var M = -1.0e30;
  for (var s = 0u; s < params.splits; s++) { M = max(M, pml[(s * rows + row) * 2u]); }
  var L = 0.0;
  for (var s = 0u; s < params.splits; s++) {
    L += exp2(pml[(s * rows + row) * 2u] - M) * pml[(s * rows + row) * 2u + 1u];
  }
  let inv = select(0.0, 1.0 / L, L > 0.0);
  for (var d = tid; d < D; d += 64u) {
    var o = 0.0;
    for (var s = 0u; s < params.splits; s++) {
      o += exp2(pml[(s * rows + row) * 2u] - M) * po[(s * rows + row) * D + d];
    }
    out[row * D + d] = ${T}(o * inv);
  }
}
`;
}
