"""Logits of exported models in PyTorch, for test/export/torch.test.ts. Argument: a JSON file with a list of jobs
{"dir", "ids", "b", "t", "routing", "scores" (optional), "out"}: ids and scores are raw int32 / float32 files, the
logits (B, T, V) are written to "out" as raw float32."""
import json
import sys

import torch

jobs = json.load(open(sys.argv[1]))
sys.path.insert(0, jobs[0]["dir"])
from modeling_mod import GPT  # noqa: E402


def raw(path, dtype):
    return torch.frombuffer(bytearray(open(path, "rb").read()), dtype=dtype)


for job in jobs:
    b, t = job["b"], job["t"]
    model = GPT.from_pretrained(job["dir"]).eval()
    ids = raw(job["ids"], torch.int32).long().view(b, t)
    scores = raw(job["scores"], torch.float32).view(b, -1, t) if job.get("scores") else None
    with torch.no_grad():
        logits = model(ids, routing=job["routing"], routing_scores=scores).logits
    with open(job["out"], "wb") as f:
        f.write(logits.contiguous().numpy().tobytes())
print(f"{len(jobs)} jobs, torch {torch.__version__}")
