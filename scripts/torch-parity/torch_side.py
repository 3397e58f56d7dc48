#!/usr/bin/env python3
"""PyTorch half of the parity check (a dev tool; see run.sh): trains the nanoGPT-equivalent model of
../bench-torch-gpt.py (with tanh GELU, as ours) for 300 steps of the shakespeare-char-cpu recipe and writes its
initial weights, the batches it drew and its losses into the current directory."""
import json, math, os, sys, numpy as np, torch, torch.nn.functional as F, importlib.util
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('b', os.path.join(here, '..', 'bench-torch-gpt.py')); b = importlib.util.module_from_spec(spec); spec.loader.exec_module(b)
F.gelu = lambda x, _gelu=F.gelu: _gelu(x, approximate='tanh')  # our GELU is the tanh approximation
text = open(sys.argv[1]).read(); chars = sorted(set(text)); stoi = {c:i for i,c in enumerate(chars)}
data = np.array([stoi[c] for c in text], dtype=np.int64); train = data[:int(len(data)*0.9)]
torch.manual_seed(0)
m = b.GPT(65, 64, 4, 4, 128, False)
for n, p in m.named_parameters(): p.detach().numpy().astype(np.float32).tofile(f'w_{n}.bin')
decay = [p for p in m.parameters() if p.dim() >= 2]; nodecay = [p for p in m.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': nodecay, 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.99))
g = torch.Generator().manual_seed(5)
N = 300; xs = []; ys = []; losses = []
def lr_at(it): return 1e-3 * (it + 1) / 101 if it < 100 else 1e-4 + 0.5 * (1 + math.cos(math.pi * (it - 100) / 1900)) * 9e-4
for it in range(N):
    ix = torch.randint(len(train) - 64, (12,), generator=g)
    x = torch.stack([torch.from_numpy(train[i:i+64]) for i in ix]); y = torch.stack([torch.from_numpy(train[i+1:i+65]) for i in ix])
    xs.append(x.numpy()); ys.append(y.numpy())
    for gr in opt.param_groups: gr['lr'] = lr_at(it)
    loss = m(x, y); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); opt.zero_grad(set_to_none=True)
    losses.append(loss.item())
np.stack(xs).astype(np.int32).tofile('bx.bin'); np.stack(ys).astype(np.int32).tofile('by.bin')
json.dump({'names': {n: list(p.shape) for n, p in m.named_parameters()}, 'losses': losses}, open('meta.json', 'w'))
print([round(l, 4) for l in losses[::50]], losses[-1])
