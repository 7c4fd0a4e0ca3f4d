"""PyTorch peer for bench/kernels.ts: the same kernels and shapes, timed with CUDA events.

Run on the GPU machine:  python3 bench/peers/kernels_torch.py [--large] [--iters N]
Without CUDA it runs on the CPU (small shapes only make sense there). FLOP and byte counts
match bench/kernels.ts: matmul 2·M·N·K; causal attention 4·S²·d·H / 2; decode attention
reads K and V once (2·L·Hkv·d·bytes); row kernels count each input read and output written once.
fp32 matmul runs with TF32 disabled so it is comparable to the f32 WGSL kernel.
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
iters = args.iters or (10 if args.large else 3)
dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
DT = {"f32": torch.float32, "f16": torch.float16}


def timed(fn):
    fn()  # warm-up
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


def rand(*shape, dtype="f32"):
    return torch.rand(*shape, device=dev, dtype=DT[dtype]) * 2 - 1


def matmul(m, n, k, dt):
    a, b = rand(m, k, dtype=dt), rand(k, n, dtype=dt)
    nbytes = (m * k + k * n + m * n) * (2 if dt == "f16" else 4)
    return f"matmul {dt}", f"{m}x{n}x{k}", 2 * m * n * k, nbytes, lambda: a @ b


def flash(s, h, d, dt):
    # SDPA wants [batch, heads, seq, dim]
    q, k, v = (rand(1, h, s, d, dtype=dt) for _ in range(3))
    nbytes = 4 * s * h * d * (2 if dt == "f16" else 4)
    fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return f"flash attention causal {dt}", f"H={h} S={s} d={d}", 4 * s * s * d * h / 2, nbytes, fn


def decode(length, hq, hkv, d, dt):
    q = rand(1, hq, 1, d, dtype=dt)
    k, v = rand(1, hkv, length, d, dtype=dt), rand(1, hkv, length, d, dtype=dt)
    nbytes = 2 * length * hkv * d * 2

    def fn():
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    return f"decode attention {dt}", f"KV={length} Hq={hq} Hkv={hkv} d={d}", 4 * length * hq * d, nbytes, fn


def sparse(length, selected, hq, hkv, d):
    # gather the selected positions per kv head, then dense attention over them
    q = rand(1, hq, 1, d, dtype="f16")
    k, v = rand(1, hkv, length, d, dtype="f16"), rand(1, hkv, length, d, dtype="f16")
    idx = torch.randint(0, length, (1, hkv, selected, 1), device=dev).expand(1, hkv, selected, d)
    nbytes = 2 * selected * hkv * d * 2

    def fn():
        ks, vs = k.gather(2, idx), v.gather(2, idx)
        return F.scaled_dot_product_attention(q, ks, vs, enable_gqa=True)

    shape = f"KV={length} sel={selected} Hq={hq} Hkv={hkv} d={d}"
    return "sparse attention f16", shape, 4 * selected * hq * d, nbytes, fn


def row(name, rows, cols, streams):
    x, y, w = rand(rows, cols), rand(rows, cols), rand(cols)
    heads = cols // 128
    pos = torch.arange(rows, device=dev, dtype=torch.float32)
    inv = 10000.0 ** (-torch.arange(0, 128, 2, device=dev, dtype=torch.float32) / 128)
    ang = pos[:, None] * inv[None, :]
    cos, sin = ang.cos()[:, None, :], ang.sin()[:, None, :]

    def rmsnorm(h):
        return h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    def rope():
        xr = x.view(rows, heads, 128)
        a, b = xr[..., :64], xr[..., 64:]
        return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)

    fns = {
        "rmsnorm": lambda: rmsnorm(x),
        "rmsnorm+residual": lambda: rmsnorm(x + y),
        "rope": rope,
        "swiglu": lambda: F.silu(x) * y,
        "softmax": lambda: torch.softmax(x, -1),
    }
    return name, f"{rows}x{cols}", 0, streams * rows * cols * 4, fns[name]


def sampling(name, rows, vocab):
    x = rand(rows, vocab)

    def topk():
        return torch.topk(x, 50, dim=-1)

    def sample():
        # temperature 0.8, top-k 50, then top-p 0.9 over the sorted top-k, one draw per row
        vals, idx = torch.topk(x / 0.8, 50, dim=-1)
        probs = torch.softmax(vals, -1)
        cum = probs.cumsum(-1)
        probs = probs.masked_fill(cum - probs >= 0.9, 0)
        pick = torch.multinomial(probs, 1)
        return idx.gather(-1, pick)

    shape = f"{rows}x{vocab} k=50" + ("" if name == "top-k" else " p=0.9")
    return name, shape, 0, rows * vocab * 4, topk if name == "top-k" else sample


if args.large:
    cases = [
        lambda: matmul(8192, 8192, 8192, "f32"),
        lambda: matmul(8192, 8192, 8192, "f16"),
        lambda: flash(4096, 32, 128, "f32"),
        lambda: flash(4096, 32, 128, "f16"),
        lambda: decode(65536, 32, 8, 128, "f16"),
        lambda: sparse(65536, 4096, 32, 8, 128),
        lambda: row("rmsnorm", 4096, 8192, 2),
        lambda: row("rmsnorm+residual", 4096, 8192, 4),
        lambda: row("rope", 4096, 4096, 2),
        lambda: row("swiglu", 4096, 14336, 3),
        lambda: row("softmax", 4096, 32768, 2),
        lambda: sampling("top-k", 64, 128256),
        lambda: sampling("sample", 64, 128256),
    ]
else:
    cases = [
        lambda: matmul(256, 256, 256, "f32"),
        lambda: matmul(256, 256, 256, "f16"),
        lambda: flash(256, 4, 64, "f32"),
        lambda: flash(256, 4, 64, "f16"),
        lambda: decode(4096, 8, 2, 128, "f16"),
        lambda: sparse(4096, 512, 8, 2, 128),
        lambda: row("rmsnorm", 64, 4096, 2),
        lambda: row("rmsnorm+residual", 64, 4096, 4),
        lambda: row("rope", 64, 4096, 2),
        lambda: row("swiglu", 64, 4096, 3),
        lambda: row("softmax", 64, 4096, 2),
        lambda: sampling("top-k", 8, 32000),
        lambda: sampling("sample", 8, 32000),
    ]

device_name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
print(f"device: {device_name}, torch {torch.__version__}")
results = []
for make in cases:
    name, shape, flops, nbytes, fn = make()
    if dev == "cpu" and "f16" in name:
        continue  # half-precision kernels on the CPU are not a meaningful peer
    ms = timed(fn)
    rate = f"{flops / ms / 1e6:.2f} GFLOP/s" if flops else f"{nbytes / ms / 1e6:.2f} GB/s"
    print(f"{name:32} {shape:24} {ms:10.3f} ms  {rate}")
    results.append({"kernel": name, "shape": shape, "ms": ms,
                    "gflops": flops / ms / 1e6 if flops else None, "gbps": nbytes / ms / 1e6})
if args.json:
    with open(args.json, "w") as f:
        json.dump({"device": device_name, "large": args.large, "iters": iters, "results": results}, f, indent=2)
