#!/usr/bin/env python3
"""PyTorch reference for side-by-side timing (a dev tool; the product never runs Python).

A nanoGPT-equivalent GPT (pre-LN, exact GELU as nanoGPT, tied embeddings, no bias) trained with nanoGPT's
shakespeare_char CPU recipe, and a one-block forward+backward benchmark at the shapes of `mod bench block`.
Written for this project from the recipe's description; needs Debian's python3-torch (1.13):
  apt-get install python3-torch
Usage:
  /usr/bin/python3 scripts/bench-torch-gpt.py recipe --data ../shared/data/tinyshakespeare.txt [--iters 200] [--threads N]
  /usr/bin/python3 scripts/bench-torch-gpt.py recipe --data ... --iters 2000 --eval   # full run with val loss
  /usr/bin/python3 scripts/bench-torch-gpt.py block [--threads N]
Prints one JSON object.
"""
import argparse, json, math, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    def __init__(self, n, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class Block(nn.Module):
    def __init__(self, c, h, bias):
        super().__init__()
        self.h = h
        self.ln_1 = LayerNorm(c, bias)
        self.c_attn = nn.Linear(c, 3 * c, bias=bias)
        self.c_proj = nn.Linear(c, c, bias=bias)
        self.ln_2 = LayerNorm(c, bias)
        self.c_fc = nn.Linear(c, 4 * c, bias=bias)
        self.m_proj = nn.Linear(4 * c, c, bias=bias)

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, 'scaled_dot_product_attention') else None
        if y is None:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
            att = att.masked_fill(~mask, float('-inf')).softmax(dim=-1)
            y = att @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.m_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, block, n_layer, n_head, n_embd, bias):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head, bias) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd, bias)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # tied, as nanoGPT
        self.apply(self._init)
        for n, p in self.named_parameters():
            if n.endswith('c_proj.weight') or n.endswith('m_proj.weight'):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))

    def _init(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def recipe(args):
    text = open(args.data, encoding='utf-8').read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    n = len(data)
    train, val = data[: int(n * 0.9)], data[int(n * 0.9):]
    torch.manual_seed(args.seed)
    B, T = 12, 64
    model = GPT(len(chars), T, 4, 4, 128, False)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    nodecay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': nodecay, 'weight_decay': 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))

    def batch(d):
        ix = torch.randint(len(d) - T, (B,))
        x = torch.stack([torch.from_numpy(d[i:i + T]) for i in ix])
        y = torch.stack([torch.from_numpy(d[i + 1:i + 1 + T]) for i in ix])
        return x, y

    def lr_at(it):
        if it < 100:
            return 1e-3 * it / 100
        if it > 2000:
            return 1e-4
        r = (it - 100) / (2000 - 100)
        return 1e-4 + 0.5 * (1 + math.cos(math.pi * r)) * (1e-3 - 1e-4)

    @torch.no_grad()
    def estimate(d):
        model.eval()
        l = [model(*batch(d)).item() for _ in range(20)]
        model.train()
        return sum(l) / len(l)

    times, evals = [], []
    for it in range(args.iters + 1):
        if args.eval and (it % 250 == 0 or it == args.iters):
            evals.append({'iter': it, 'train': estimate(train), 'val': estimate(val)})
        if it == args.iters:
            break
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g['lr'] = lr_at(it)
        x, y = batch(train)
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append((time.perf_counter() - t0) * 1000)
    w = times[10:] if len(times) > 20 else times
    return {'recipe': 'shakespeare-char-cpu', 'threads': torch.get_num_threads(), 'iters': args.iters,
            'msPerIterMedian': float(np.median(w)), 'evals': evals}


def block(args):
    torch.manual_seed(0)
    B, T, C, H = 8, 256, 256, 4
    blk = Block(C, H, True)
    x = torch.randn(B, T, C, requires_grad=True)
    fwd, fb = [], []
    for i in range(args.repeats + 3):
        t0 = time.perf_counter()
        with torch.no_grad():
            blk(x)
        t1 = time.perf_counter()
        y = blk(x)
        y.sum().backward()
        t2 = time.perf_counter()
        if i >= 3:
            fwd.append((t1 - t0) * 1000)
            fb.append((t2 - t1) * 1000)
    return {'block': {'fwdMs': float(np.median(fwd)), 'fwdBwdMs': float(np.median(fb))}, 'threads': torch.get_num_threads()}


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('what', choices=['recipe', 'block'])
    ap.add_argument('--data')
    ap.add_argument('--iters', type=int, default=200)
    ap.add_argument('--eval', action='store_true')
    ap.add_argument('--threads', type=int, default=0, help='0 = torch default')
    ap.add_argument('--repeats', type=int, default=10)
    ap.add_argument('--seed', type=int, default=1337)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(json.dumps(recipe(a) if a.what == 'recipe' else block(a)))
