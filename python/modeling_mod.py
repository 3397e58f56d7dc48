"""Mixture-of-Depths GPT in PyTorch, for checkpoints of `mod` (mixture-of-depths) exported with
`mod export --format torch`. Self-contained: needs torch only.

The forward pass is mod's (src/model/gpt.ts, src/model/mod.ts): a pre-LN GPT (nanoGPT names, learned or rotary
positions, optional biases, optional tied head, tanh GELU, LayerNorm eps 1e-5). Every routed block (layer l > 0
with l % every == every - 1) scores each token with a router r = w . x; under top-k routing the k = ceil(c.T)
tokens with the highest r (ties to the earlier position) run the block among themselves, attending causally by
their original positions (RoPE included), and get x + w(r) . f with f = block(x~) - x~ and w(r) = r or sigmoid(r).
Under the causal rule a token is processed iff z > causal_bias, z being the predictor MLP's output or the router
logit (`aux`). Random routing has no router: pass `routing_scores` (B, routed blocks, T), or uniform scores are
drawn with torch.rand.

    model = GPT.from_pretrained("export-dir")
    out = model(idx)                        # out.logits (B, T, V), top-k routing
    out = model(idx, targets=y)             # + out.loss, out.causal_loss, out.training_loss (what to minimise)
    out = model(idx, routing="causal")      # the causal rule (how mod samples and evaluates)
"""
import json
import math
import os
import struct
from typing import Dict, List, NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

ROPE_BASE = 10000.0
LN_EPS = 1e-5
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


# ----------------------------------------------------------------------------------------------- safetensors (F32)

def load_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """The F32 tensors of a safetensors file (8-byte little-endian header length, JSON header, data)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}; only F32 is supported")
        begin, end = entry["data_offsets"]
        buf = bytearray(data[base + begin:base + end])
        out[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(entry["shape"]) if buf else torch.zeros(entry["shape"])
    return out


def _f32_bytes(t: torch.Tensor) -> bytes:
    """Little-endian float32 bytes of t (through numpy when torch has it, else struct: torch only)."""
    t = t.detach().to("cpu", torch.float32).contiguous()
    try:
        return t.numpy().tobytes()
    except (ImportError, RuntimeError):
        values = t.flatten().tolist()
        return struct.pack(f"<{len(values)}f", *values)


def save_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes F32 tensors in the safetensors layout (header padded to 8 bytes), readable by mod and `safetensors`."""
    header: Dict[str, object] = {"__metadata__": metadata or {}}
    blobs, offset = [], 0
    for name, t in tensors.items():
        b = _f32_bytes(t)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ----------------------------------------------------------------------------------------------------- the model

def routed_k(capacity: float, t: int) -> int:
    """Tokens a routed block processes in a sequence of length t: ceil(capacity . t), clamped to 1..t."""
    return 0 if t == 0 else min(t, max(1, math.ceil(capacity * t - 1e-9)))


def is_routed(cfg: dict, layer: int) -> bool:
    m = cfg.get("mod")
    return bool(m) and layer > 0 and layer % m["every"] == m["every"] - 1


def topk_positions(scores: torch.Tensor, k: int) -> torch.Tensor:
    """(B, T) -> (B, k): the k highest scores per row (ties to the lower position, NaN lowest), in position order."""
    s = torch.nan_to_num(scores.detach(), nan=float("-inf"), posinf=float("inf"), neginf=float("-inf"))
    order = torch.sort(s, dim=-1, descending=True, stable=True).indices[:, :k]
    return torch.sort(order, dim=-1).values


def rope(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Rotates the pairs (x[2i], x[2i+1]) of x (B, H, N, hs) by pos . base^(-2i/hs); pos (B, N)."""
    hs = x.shape[-1]
    inv = ROPE_BASE ** (-torch.arange(0, hs, 2, dtype=torch.float64, device=x.device) / hs)
    ang = pos.to(torch.float64)[..., None] * inv  # (B, N, hs/2)
    cos, sin = torch.cos(ang).to(x.dtype)[:, None], torch.sin(ang).to(x.dtype)[:, None]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (nn.LayerNorm has no bias=False before torch 2.1)."""

    def __init__(self, dim: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, LN_EPS)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        c = cfg["nEmbd"]
        self.n_head = cfg["nHead"]
        self.rope = cfg["positions"] == "rope"
        self.c_attn = nn.Linear(c, 3 * c, bias=cfg["bias"])
        self.c_proj = nn.Linear(c, c, bias=cfg["bias"])

    def forward(self, x, pos, keys=None):
        """x (B, N, C) at positions pos (B, N): row i sees row j iff pos[j] <= pos[i] (and keys[b, j], if given)."""
        b, n, c = x.shape
        hs = c // self.n_head
        q, k, v = (t.view(b, n, self.n_head, hs).transpose(1, 2) for t in self.c_attn(x).split(c, dim=2))
        if self.rope:
            q, k = rope(q, pos), rope(k, pos)
        visible = pos[:, None, :] <= pos[:, :, None]  # (B, N, N)
        if keys is not None:
            visible = visible & keys[:, None, :]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = F.softmax(att.masked_fill(~visible[:, None], float("-inf")), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(b, n, c))


class MLP(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        c, h = cfg["nEmbd"], round(cfg["mlpRatio"] * cfg["nEmbd"])
        self.c_fc = nn.Linear(c, h, bias=cfg["bias"])
        self.c_proj = nn.Linear(h, c, bias=cfg["bias"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.ln_1 = LayerNorm(cfg["nEmbd"], cfg["bias"])
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = LayerNorm(cfg["nEmbd"], cfg["bias"])
        self.mlp = MLP(cfg)

    def forward(self, x, pos, routing="topk", scores=None):
        x = x + self.attn(self.ln_1(x), pos)
        return x + self.mlp(self.ln_2(x)), None

    def update(self, x, pos, keys=None):
        """f = block(x) - x = attn(ln_1(x)) + mlp(ln_2(x + attn(ln_1(x))))."""
        a = self.attn(self.ln_1(x), pos, keys)
        return a + self.mlp(self.ln_2(x + a))


class CausalPredictor(nn.Module):
    """C -> hidden -> 1 with GELU, reading the block input through a stop-gradient."""

    def __init__(self, c: int, hidden: int):
        super().__init__()
        self.fc = nn.Linear(c, hidden)
        self.proj = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x.detach()), approximate="tanh")).squeeze(-1)


class RoutedBlock(Block):
    def __init__(self, cfg: dict, causal_bias: float = 0.0):
        super().__init__(cfg)
        self.mod = cfg["mod"]
        self.router = nn.Linear(cfg["nEmbd"], 1, bias=False) if self.mod["routing"] == "learned" else None
        self.predictor = CausalPredictor(cfg["nEmbd"], self.mod["predictorHidden"]) if self.mod["causal"] == "predictor" else None
        self.causal_bias = causal_bias

    def weight(self, r):
        return torch.sigmoid(r) if self.mod["routerWeight"] == "sigmoid" else r

    def causal_logits(self, x, r):
        return self.predictor(x) if self.predictor is not None else r

    def forward(self, x, pos, routing="topk", scores=None):
        """-> (x (B, T, C), the causal rule's BCE against top-k membership or None)."""
        r = self.router(x).squeeze(-1) if self.router is not None else None  # (B, T)
        if routing == "causal":
            return self.causal_forward(x, pos, r), None
        b, t, c = x.shape
        k = routed_k(self.mod["capacity"], t)
        s = r if r is not None else (scores if scores is not None else torch.rand(b, t, device=x.device))
        idx = topk_positions(s, k)  # (B, K)
        aux = None
        if torch.is_grad_enabled() and self.mod["auxWeight"] > 0:
            member = torch.zeros(b, t, device=x.device).scatter_(1, idx, 1.0)
            aux = F.binary_cross_entropy_with_logits(self.causal_logits(x, s), member)
        rows = idx[..., None].expand(b, k, c)
        f = self.update(torch.gather(x, 1, rows), torch.gather(pos, 1, idx))  # (B, K, C)
        if r is not None:
            f = f * self.weight(torch.gather(r, 1, idx))[..., None]
        return x.scatter_add(1, rows, f), aux

    def causal_forward(self, x, pos, r):
        """Per sequence, the tokens with z > causal_bias run the block among themselves (a variable number)."""
        keep = self.causal_logits(x, r) > self.causal_bias  # (B, T)
        out = []
        for i in range(x.shape[0]):
            idx = keep[i].nonzero().squeeze(-1)
            xi = x[i]
            if idx.numel() > 0:
                f = self.update(xi[idx][None], pos[i][idx][None])[0]
                if r is not None:
                    f = f * self.weight(r[i][idx])[:, None]
                xi = xi.index_add(0, idx, f)
            out.append(xi)
        return torch.stack(out)


class GPTOutput(NamedTuple):
    """A tuple, so that DistributedDataParallel finds its tensors."""
    logits: torch.Tensor
    loss: Optional[torch.Tensor] = None
    causal_loss: Optional[torch.Tensor] = None
    training_loss: Optional[torch.Tensor] = None


class GPT(nn.Module):
    def __init__(self, cfg: dict, causal_bias: Optional[List[float]] = None):
        super().__init__()
        self.config = cfg
        routed = [l for l in range(cfg["nLayer"]) if is_routed(cfg, l)]
        bias = causal_bias or [0.0] * len(routed)
        v, c = cfg["vocabSize"], cfg["nEmbd"]
        h = [RoutedBlock(cfg, bias[routed.index(l)]) if l in routed else Block(cfg) for l in range(cfg["nLayer"])]
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(v, c),
            **({"wpe": nn.Embedding(cfg["blockSize"], c)} if cfg["positions"] == "learned" else {}),
            h=nn.ModuleList(h),
            ln_f=LayerNorm(c, cfg["bias"]),
        ))
        self.lm_head = None if cfg["tiedEmbeddings"] else nn.Linear(c, v, bias=False)

    def routed_blocks(self) -> List[RoutedBlock]:
        return [b for b in self.transformer.h if isinstance(b, RoutedBlock)]

    def forward(self, idx, targets=None, routing="topk", routing_scores=None) -> GPTOutput:
        """idx (B, T) int64; targets (B, T) (< 0 ignored); routing 'topk' or 'causal';
        routing_scores (B, routed blocks, T) for random routing."""
        b, t = idx.shape
        if t > self.config["blockSize"]:
            raise ValueError(f"sequence length {t} exceeds blockSize {self.config['blockSize']}")
        pos = torch.arange(t, device=idx.device).expand(b, t)
        x = self.transformer.wte(idx)
        if "wpe" in self.transformer:
            x = x + self.transformer.wpe(pos)
        aux, j = [], 0
        for block in self.transformer.h:
            scores = None
            if isinstance(block, RoutedBlock):
                scores = routing_scores[:, j] if routing_scores is not None else None
                j += 1
            x, a = block(x, pos, routing, scores)
            if a is not None:
                aux.append(a)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x) if self.lm_head is not None else F.linear(x, self.transformer.wte.weight)
        if targets is None:
            return GPTOutput(logits)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        if not aux:
            return GPTOutput(logits, loss, None, loss)
        causal = torch.stack(aux).sum()
        return GPTOutput(logits, loss, causal, loss + self.config["mod"]["auxWeight"] * causal)

    def clip_groups(self) -> List[List[nn.Parameter]]:
        """The parameter groups mod clips separately: the model's, then the causal predictors' (if any)."""
        pred = {id(p) for blk in self.routed_blocks() if blk.predictor is not None for p in blk.predictor.parameters()}
        model = [p for p in self.parameters() if id(p) not in pred]
        return [model, [p for p in self.parameters() if id(p) in pred]] if pred else [model]

    @classmethod
    def from_pretrained(cls, directory: str, map_location="cpu") -> "GPT":
        with open(os.path.join(directory, CONFIG_FILE)) as f:
            doc = json.load(f)
        model = cls(doc["model"], doc.get("causalBias"))
        state = load_safetensors(os.path.join(directory, WEIGHTS_FILE))
        model.load_state_dict({k: v.to(map_location) for k, v in state.items()}, strict=True)
        return model

    def save_pretrained(self, directory: str, tokenizer=None) -> None:
        """config.json and model.safetensors under mod's names (what `from_pretrained` reads)."""
        os.makedirs(directory, exist_ok=True)
        doc = {"format": "mod-torch", "formatVersion": 1, "model": self.config,
               "causalBias": [b.causal_bias for b in self.routed_blocks()], "tokenizer": tokenizer}
        with open(os.path.join(directory, CONFIG_FILE), "w") as f:
            json.dump(doc, f, indent=2)
        save_safetensors(os.path.join(directory, WEIGHTS_FILE), self.state_dict(), {"format": "mod-torch"})


def encode(text: str, tokenizer: dict) -> List[int]:
    """Token ids of text under mod's tokenizer spec: {"kind": "byte"} or {"kind": "char", "chars": [...]}."""
    if tokenizer["kind"] == "byte":
        return list(text.encode("utf-8"))
    ids = {ch: i for i, ch in enumerate(tokenizer["chars"])}
    missing = sorted({ch for ch in text if ch not in ids})
    if missing:
        raise ValueError(f"characters {missing[:5]} are not in the char tokenizer's vocabulary")
    return [ids[ch] for ch in text]
