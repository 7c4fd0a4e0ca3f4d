"""PyTorch peer for bench/models.ts: prefill and greedy-decode tokens/s of the same models in
transformers eager mode (f32), on CUDA when present, else the CPU. Prints JSON keyed by the
names bench/models.ts uses.

    .venv/bin/python bench/peers/models_torch.py [--no-large]
"""
import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

dev = "cuda" if torch.cuda.is_available() else "cpu"
root = os.path.join(os.path.dirname(__file__), "..", "..")


def sync():
    if dev == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def speed(model, prompt_len, decode, reps):
    V = model.config.vocab_size
    prompt = torch.tensor([[(i * 37 + 1) % V for i in range(prompt_len)]], device=dev)
    model(prompt[:, :4])
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        model(prompt)
    sync()
    prefill = reps * prompt_len / (time.perf_counter() - t0)
    out = model(prompt[:, :8], use_cache=True)
    past, nxt = out.past_key_values, prompt[:, 8:9]
    sync()
    t0 = time.perf_counter()
    for _ in range(decode):
        out = model(nxt, past_key_values=past, use_cache=True)
        past = out.past_key_values
        nxt = out.logits[:, -1:].argmax(-1)
    sync()
    return {"prefill": prefill, "decode": decode / (time.perf_counter() - t0),
            "threads": torch.get_num_threads(), "device": dev}


res = {}
fix = os.path.join(root, "tests", "fixtures", "models")
for name in sorted(os.listdir(fix)):
    m = AutoModelForCausalLM.from_pretrained(os.path.join(fix, name), dtype=torch.float32).to(dev).eval()
    res[name] = speed(m, 64, 64, 10)
for name in ["tiny-target", "tiny-draft"]:
    d = os.path.join(root, "data", "models", name)
    if os.path.exists(os.path.join(d, "config.json")):
        m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).to(dev).eval()
        res[name] = speed(m, 128, 64, 4)
if "--no-large" not in sys.argv:
    cfg = LlamaConfig(hidden_size=896, num_hidden_layers=24, num_attention_heads=14,
                      num_key_value_heads=2, intermediate_size=4864, vocab_size=49152,
                      rope_theta=100000.0, tie_word_embeddings=True)
    m = LlamaForCausalLM(cfg).to(dev).eval()
    res["smollm2-360m-shape"] = speed(m, 32, 8, 1)
print(json.dumps(res))
