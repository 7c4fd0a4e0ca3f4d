// Probe for tests/gpu/_child.ts: what tokenlab's device wrapper gets here (the adapter and its
// features after TOKENLAB_GPU_MASK_FEATURES), printed as one JSON line; null without an adapter.
// A child process because a software Vulkan driver has aborted processes at exit.
import { getDevice } from "../../lib/gpu/mod.ts";

const gpu = await getDevice({ quiet: true });
console.log(JSON.stringify(
  gpu
    ? { name: gpu.adapter.name, software: gpu.adapter.software, features: [...gpu.features].sort() }
    : null,
));
