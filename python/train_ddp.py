"""Continues training an exported mod model with PyTorch, on one process or many (DistributedDataParallel).

    python3 train_ddp.py --text input.txt --steps 1000 --out trained
    torchrun --standalone --nproc_per_node=8 train_ddp.py --text input.txt --steps 1000 --out trained

Each process draws its own random windows of the text (seed + rank); DDP averages the gradients. The recipe is
mod's: AdamW with weight decay on matrices only, top-k routing, the loss plus auxWeight . the causal rule's BCE,
gradients clipped separately for the model and the causal predictors. One JSON line per step on rank 0.
"""
import argparse
import json
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from modeling_mod import GPT, encode  # noqa: E402


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=here, help="export directory (default: this script's)")
    ap.add_argument("--text", required=True, help="UTF-8 training text")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=8, help="sequences per process and step")
    ap.add_argument("--seq", type=int, default=0, help="tokens per sequence (default: blockSize)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--out", default="", help="where rank 0 saves the trained model (config.json, model.safetensors)")
    args = ap.parse_args()

    ddp = "RANK" in os.environ
    rank, local_rank, world = 0, 0, 1
    if ddp:
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
        rank, local_rank, world = dist.get_rank(), int(os.environ["LOCAL_RANK"]), dist.get_world_size()
    device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed + rank)

    with open(os.path.join(args.model, "config.json")) as f:
        tokenizer = json.load(f)["tokenizer"]
    model = GPT.from_pretrained(args.model).to(device)
    cfg = model.config
    t = args.seq or cfg["blockSize"]
    with open(args.text, encoding="utf-8") as f:
        data = torch.tensor(encode(f.read(), tokenizer), dtype=torch.long)
    if len(data) <= t + 1:
        raise SystemExit(f"{args.text}: {len(data)} tokens, need more than {t + 1}")

    groups = model.clip_groups()
    # Parameters the loss does not reach (the predictors when auxWeight = 0) must be declared to DDP.
    unused = bool(cfg.get("mod")) and cfg["mod"]["auxWeight"] == 0 and len(groups) > 1
    net = DDP(model, device_ids=[local_rank] if device.type == "cuda" else None, find_unused_parameters=unused) if ddp else model
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))

    model.train()
    for step in range(args.steps):
        starts = torch.randint(len(data) - t - 1, (args.batch,))
        x = torch.stack([data[s:s + t] for s in starts]).to(device)
        y = torch.stack([data[s + 1:s + t + 1] for s in starts]).to(device)
        out = net(x, y)
        opt.zero_grad(set_to_none=True)
        out.training_loss.backward()
        for g in groups:
            torch.nn.utils.clip_grad_norm_(g, args.clip)
        opt.step()
        if rank == 0:
            print(json.dumps({"step": step, "loss": out.loss.item(), "world": world}), flush=True)

    if rank == 0 and args.out:
        model.save_pretrained(args.out, tokenizer)
    if ddp:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
