// Whether a backend name (as timings and claim rows carry it) is a software adapter.
import { isSoftwareAdapter } from "../util/_gpu_env.ts";

/**
 * True for a software rasteriser's name (llvmpipe, lavapipe, SwiftShader, WARP …) or a name
 * that says "software adapter", as `backendName` writes for any adapter flagged software.
 */
export function softwareBackend(name: string): boolean {
  return isSoftwareAdapter(name) || /\bsoftware adapter\b/i.test(name);
}
