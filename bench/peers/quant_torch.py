"""PyTorch peer for bench/quant.ts: fp16 GEMV (one activation row times an [N, K] weight, the
HF linear layout y = x W^T, as F.linear computes it) and a bf16 copy on the same shapes,
timed with CUDA events.

Run on the GPU machine:  python3 bench/peers/quant_torch.py [--large] [--iters N] [--json F]
Without CUDA it runs on the CPU (small shapes only make sense there). Bytes are the weight
bytes read (2 N K for fp16), as bench/quant.ts counts the quantised weight bytes, so GB/s and
times compare directly; the ratio bench:quant reports is ours / PyTorch's fp16 time.
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--large", action="store_true")
parser.add_argument("--iters", type=int, default=None)
parser.add_argument("--json", default=None)
args = parser.parse_args()
iters = args.iters or (50 if args.large else 3)
dev = "cuda" if torch.cuda.is_available() else "cpu"
sizes = [4096, 8192] if args.large else [512, 1024]


def timed(fn):
    for _ in range(3):  # warm-up
        fn()
    if dev == "cuda":
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / iters
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) * 1000 / iters


results = []
gen = torch.Generator(device=dev).manual_seed(7)
for n in sizes:
    shape = f"{n}×{n}"
    # fp16 on the CPU is slow or missing for some ops; the CPU run is only a smoke test
    dt = torch.float16 if dev == "cuda" else torch.float32
    w = (torch.randn(n, n, device=dev, generator=gen) * 0.02).to(dt)
    x = torch.randn(1, n, device=dev, generator=gen).to(dt)
    ms = timed(lambda: F.linear(x, w))
    nbytes = 2 * n * n
    results.append({"kernel": "fp16 gemv", "shape": shape, "ms": ms, "bytes": nbytes,
                    "gbps": nbytes / (ms * 1e6)})
    src = w.to(torch.bfloat16)
    dst = torch.empty_like(src)
    ms = timed(lambda: dst.copy_(src))
    results.append({"kernel": "bf16 copy", "shape": shape, "ms": ms, "bytes": nbytes,
                    "gbps": nbytes / (ms * 1e6)})
    del w, x, src, dst

device = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
for r in results:
    print(f"{r['kernel']:12} {r['shape']:12} {r['ms']:10.4f} ms {r['gbps']:9.1f} GB/s")
if args.json:
    with open(args.json, "w") as f:
        json.dump({"device": device, "torch": torch.__version__, "iters": iters,
                   "results": results}, f, indent=1)
