"""ICU time-series encoders and their registry (config picks one by name).

Every encoder maps ``values (B, T, D)`` (normalized, zero-filled) and ``mask (B, T, D)``
(True = observed) to a pooled embedding ``(B, out_dim)`` via ``forward``; the SSL objectives
use the token-level API documented on each class.

* ``transformer`` — SLICES' canonical observation-aware **timestep** Transformer: one token
  per hour from ``values ‖ mask``, pre-LN, sinusoidal time encoding, masked mean pooling over
  valid hours. SSL API: ``tokenize`` → ``encode(tokens, keep)`` runs the layers on a chosen
  subset of hours (the others are neither attended to nor used).
* ``observation`` — one token per *observed measurement* (value + feature embedding + time
  encoding). SLICES dropped it because ~1,660 tokens/sample exhausted GPU memory; here a
  token cap keeps the most recent ``max_tokens`` observations and packing (observed entries
  moved to the front) makes a batch only as long as its fullest sample.
* ``mart`` — SMART's MART encoder: per-(variable, hour) tokens from an MLP on (value, mask),
  alternating temporal attention (with an additive observation bias) and variable attention,
  and per-variable query pooling.
* ``linear`` — supervised-only baseline: per-feature summaries (observed mean, last value,
  observed fraction) → Linear. No SSL API.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ENCODERS",
    "LinearEncoder",
    "MARTEncoder",
    "ObservationTransformerEncoder",
    "TimestepTransformerEncoder",
    "build_encoder",
    "sinusoidal_encoding",
]


def sinusoidal_encoding(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal encoding of (possibly fractional) positions: ``(..., ) -> (..., dim)``."""
    half = dim // 2
    freq = torch.exp(
        -math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half
    )
    angles = positions.float().unsqueeze(-1) * freq
    enc = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if dim % 2:
        enc = F.pad(enc, (0, 1))
    return enc


def safe_keys(keep: torch.Tensor) -> torch.Tensor:
    """Key-padding helper: rows with no kept token keep their first one (avoids NaN softmax)."""
    empty = ~keep.any(dim=1)
    if empty.any():
        keep = keep.clone()
        keep[empty, 0] = True
    return keep


def masked_mean(h: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Mean of ``h (B, L, d)`` over positions where ``keep (B, L)``; zeros where none."""
    w = keep.to(h.dtype).unsqueeze(-1)
    return (h * w).sum(dim=1) / w.sum(dim=1).clamp(min=1.0)


def transformer_stack(d_model: int, n_layers: int, n_heads: int, d_ff: int, dropout: float):
    """Pre-LN GELU Transformer layers + final LayerNorm (SLICES' layer recipe)."""
    layer = nn.TransformerEncoderLayer(
        d_model, n_heads, d_ff, dropout, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False), nn.LayerNorm(d_model)


class TimestepTransformerEncoder(nn.Module):
    """Observation-aware timestep Transformer (see module docstring; ~170K parameters)."""

    ssl_tokens = True

    def __init__(
        self,
        n_features: int,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        d_ff: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.n_features, self.d_model, self.out_dim = n_features, d_model, d_model
        self.embed = nn.Sequential(
            nn.Linear(2 * n_features, d_ff),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(d_ff, d_model),
        )
        self.layers, self.norm = transformer_stack(d_model, n_layers, n_heads, d_ff, dropout)

    def tokenize(
        self, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens (B, T, d) with time encoding, valid (B, T))``; valid = any observation."""
        x = torch.cat([values, mask.to(values.dtype)], dim=-1)
        steps = torch.arange(values.shape[1], device=values.device)
        tokens = self.embed(x) + sinusoidal_encoding(steps, self.d_model).to(values.dtype)
        return tokens, mask.bool().any(dim=-1)

    def encode(self, tokens: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Run the layers on the hours where ``keep``; others are not attended to.

        Outputs at non-kept positions are meaningless and must be ignored by the caller.
        """
        return self.norm(self.layers(tokens, src_key_padding_mask=~safe_keys(keep)))

    def forward_tokens(self, values: torch.Tensor, mask: torch.Tensor):
        """``(h (B, T, d), valid (B, T))`` with every valid hour visible."""
        tokens, valid = self.tokenize(values, mask)
        return self.encode(tokens, valid), valid

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h, valid = self.forward_tokens(values, mask)
        return masked_mean(h, valid)


class ObservationTransformerEncoder(nn.Module):
    """One token per observed measurement, with a token cap and packing (module docstring)."""

    ssl_tokens = False

    def __init__(
        self,
        n_features: int,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        d_ff: int = 256,
        dropout: float = 0.1,
        max_tokens: int = 256,
    ) -> None:
        super().__init__()
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self.n_features, self.d_model, self.out_dim = n_features, d_model, d_model
        self.max_tokens = max_tokens
        self.value_proj = nn.Linear(1, d_model)
        self.feature_embed = nn.Embedding(n_features, d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers, self.norm = transformer_stack(d_model, n_layers, n_heads, d_ff, dropout)

    def pack(self, values: torch.Tensor, mask: torch.Tensor):
        """Gather observed entries into ``(value, feature, hour, keep)`` of length ``L``.

        ``L = min(max observations in the batch, max_tokens)``; when a sample has more
        observations than the cap, its most recent ones are kept (latest hours matter most
        for the 24 h-ahead tasks).
        """
        batch, steps, feats = values.shape
        flat_mask = mask.bool().reshape(batch, steps * feats)
        order = torch.arange(steps * feats, device=values.device)
        # observed first, most recent first: key = observed * (1 + position)
        key = torch.where(flat_mask, order + 1, torch.zeros_like(order))
        idx = key.argsort(dim=1, descending=True, stable=True)
        length = int(min(max(int(flat_mask.sum(dim=1).max()), 1), self.max_tokens))
        idx = idx[:, :length]
        keep = flat_mask.gather(1, idx)
        vals = values.reshape(batch, -1).gather(1, idx)
        return vals, idx % feats, idx // feats, keep

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        vals, feat, hour, keep = self.pack(values, mask)
        tokens = (
            self.value_proj(vals.unsqueeze(-1))
            + self.feature_embed(feat)
            + sinusoidal_encoding(hour, self.d_model).to(vals.dtype)
        )
        h = self.norm(self.layers(self.dropout(tokens), src_key_padding_mask=~safe_keys(keep)))
        return masked_mean(h, keep)


def _attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """Softmax attention ``(N, H, L, dh)`` through PyTorch's fused kernel.

    No dropout on the attention probabilities: MART attends over ``B·V`` temporal and
    ``B·T`` variable sequences, so that dropout draws a Bernoulli mask of
    ``B·H·(V·T² + T·V²)`` elements per layer, which was ~30 % of a CPU training step; the
    residual and feed-forward dropout (``dropout``) still regularise every block."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)


class _MARTBlock(nn.Module):
    """Temporal attention with an additive observation bias, then variable attention, then FFN."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.norm_t, self.norm_v, self.norm_f = (nn.LayerNorm(d_model) for _ in range(3))
        self.qkv_t = nn.Linear(d_model, 3 * d_model)
        self.out_t = nn.Linear(d_model, d_model)
        self.qkv_v = nn.Linear(d_model, 3 * d_model)
        self.out_v = nn.Linear(d_model, d_model)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )
        self.drop = nn.Dropout(dropout)

    def _attend(self, h: torch.Tensor, qkv: nn.Linear, out: nn.Linear, bias) -> torch.Tensor:
        n, length, dim = h.shape
        heads = self.n_heads
        q, k, v = (
            t.reshape(n, length, heads, dim // heads).transpose(1, 2)
            for t in qkv(h).chunk(3, dim=-1)
        )
        att = _attention(q, k, v, bias)
        return out(att.transpose(1, 2).reshape(n, length, dim))

    def forward(self, x: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        # x: (B, V, T, d); obs: (B, V, T) observed entries
        batch, nvar, steps, dim = x.shape
        o = obs.reshape(batch * nvar, steps).to(x.dtype)
        bias = (o[:, :, None] + o[:, None, :]).unsqueeze(1)  # mask[i] + mask[j]
        h = self.norm_t(x).reshape(batch * nvar, steps, dim)
        x = x + self.drop(self._attend(h, self.qkv_t, self.out_t, bias)).reshape(x.shape)
        h = self.norm_v(x).transpose(1, 2).reshape(batch * steps, nvar, dim)
        h = self._attend(h, self.qkv_v, self.out_v, None)
        x = x + self.drop(h.reshape(batch, steps, nvar, dim).transpose(1, 2))
        return x + self.drop(self.ffn(self.norm_f(x)))


class MARTEncoder(nn.Module):
    """SMART's MART encoder (see module docstring). ``forward_tokens`` gives ``(B, V, T, d)``."""

    ssl_tokens = False

    def __init__(
        self,
        n_features: int,
        d_model: int = 32,
        n_layers: int = 2,
        n_heads: int = 4,
        d_ff: int = 128,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.n_features, self.d_model, self.out_dim = n_features, d_model, d_model
        self.embed = nn.Sequential(nn.Linear(2, d_model), nn.Linear(d_model, d_model))
        self.var_embed = nn.Parameter(torch.zeros(n_features, d_model))
        self.blocks = nn.ModuleList(
            _MARTBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.query = nn.Parameter(torch.randn(n_features, d_model) * 0.02)
        nn.init.normal_(self.var_embed, std=0.02)

    def forward_tokens(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Token representations ``(B, V, T, d)`` for the given (possibly masked) input."""
        obs = mask.bool().transpose(1, 2)  # (B, V, T)
        x = torch.stack([values.transpose(1, 2), obs.to(values.dtype)], dim=-1)
        steps = torch.arange(values.shape[1], device=values.device)
        x = self.embed(x) + sinusoidal_encoding(steps, self.d_model).to(values.dtype)
        x = x + self.var_embed[None, :, None, :]
        for block in self.blocks:
            x = block(x, obs)
        return self.norm(x)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.forward_tokens(values, mask)  # (B, V, T, d)
        scores = (h * self.query[None, :, None, :]).sum(-1) / math.sqrt(self.d_model)
        weights = torch.softmax(scores, dim=-1)  # per-variable query over hours
        per_var = (weights.unsqueeze(-1) * h).sum(dim=2)  # (B, V, d)
        return per_var.mean(dim=1)


class LinearEncoder(nn.Module):
    """Supervised-only baseline: per-feature summaries → Linear (see module docstring)."""

    ssl_tokens = False

    def __init__(self, n_features: int, d_model: int = 64, **_: Any) -> None:
        super().__init__()
        self.n_features, self.d_model, self.out_dim = n_features, d_model, d_model
        self.proj = nn.Linear(3 * n_features, d_model)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(values.dtype)
        count = m.sum(dim=1)
        mean = (values * m).sum(dim=1) / count.clamp(min=1.0)
        steps = torch.arange(values.shape[1], device=values.device, dtype=values.dtype)
        last_idx = (m * (steps[None, :, None] + 1)).argmax(dim=1, keepdim=True)
        last = values.gather(1, last_idx).squeeze(1) * (count > 0).to(values.dtype)
        frac = count / values.shape[1]
        return self.proj(torch.cat([mean, last, frac], dim=-1))


ENCODERS: dict[str, type[nn.Module]] = {
    "transformer": TimestepTransformerEncoder,
    "observation": ObservationTransformerEncoder,
    "mart": MARTEncoder,
    "linear": LinearEncoder,
}


def build_encoder(name: str, n_features: int, **kwargs: Any) -> nn.Module:
    """Instantiate encoder ``name`` from the registry with its config keyword arguments."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; known: {sorted(ENCODERS)}")
    if n_features < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}")
    return ENCODERS[name](n_features, **kwargs)
