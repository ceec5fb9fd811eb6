"""Layers shared by branches: positional encodings, key-padding and masked pooling, the
pre-LN Transformer stack.

Mask convention (every branch): ``True`` = observed / visible / kept. A position whose mask is
False is neither attended to nor pooled.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["masked_mean", "safe_keys", "sinusoidal_encoding", "transformer_stack"]


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
