"""Native tiktoken peer for bench/tokenizers.ts: one cold encode_ordinary pass (fresh process,
no warm-up) over a corpus file, with the ranks the benchmark wrote from tokenlab's vocabulary
and the pattern tiktoken itself states for that encoding. Prints one JSON line.

    python3 bench/peers/tiktoken_cold.py ENCODING RANKS_FILE CORPUS_FILE
"""
import base64
import json
import sys
import time

import tiktoken
import tiktoken_ext.openai_public as public

name, ranks_path, corpus_path = sys.argv[1:4]
public.load_tiktoken_bpe = lambda *args, **kwargs: {}  # the pattern only; ranks come from the file
pattern = getattr(public, name)()["pat_str"]
ranks = {}
with open(ranks_path) as f:
    for line in f:
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
enc = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
with open(corpus_path, newline="") as f:  # keep \r\n as it is
    text = f.read()
t0 = time.perf_counter()
ids = enc.encode_ordinary(text)
seconds = time.perf_counter() - t0
h = 0x811C9DC5
for i in ids:
    h = ((h ^ i) * 16777619) & 0xFFFFFFFF
print(json.dumps({"seconds": seconds, "tokens": len(ids), "hash": h, "version": tiktoken.__version__}))
