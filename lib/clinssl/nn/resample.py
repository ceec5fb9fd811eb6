"""Polyphase resampling in torch, on whatever device the signal is on.

Why: an encoder that runs at another rate than the window store (HiMAE's CPU default runs at
62.5 Hz on a 125 Hz store) would otherwise copy every batch to the CPU, resample with SciPy
and copy it back — on a GPU that round trip, not the encoder, bounds the embedding rate.
This is ``scipy.signal.resample_poly`` (its default Kaiser-windowed FIR, β = 5, zero padding)
computed with one strided ``conv1d``, so results match SciPy's to float32 rounding (a test
checks this); :func:`resample_to` then crops or edge-pads to an exact length like
:func:`clinssl.io.signal.resample`.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import gcd

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["resample_poly", "resample_to"]


@lru_cache(maxsize=32)
def _filter(up: int, down: int, n_in: int) -> tuple[np.ndarray, int, int]:
    """SciPy's polyphase filter for (up, down), its leading offset and the output length."""
    from scipy.signal import firwin

    max_rate = max(up, down)
    half_len = 10 * max_rate
    h = firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * up
    n_out = n_in * up // down + bool(n_in * up % down)
    n_pre_pad = down - half_len % down
    n_pre_remove = (half_len + n_pre_pad) // down
    n_post_pad = 0

    def output_len(len_h: int) -> int:
        return ((n_in - 1) * up + len_h - 1) // down + 1

    while output_len(len(h) + n_pre_pad + n_post_pad) < n_out + n_pre_remove:
        n_post_pad += 1
    h = np.concatenate([np.zeros(n_pre_pad), h, np.zeros(n_post_pad)])
    return h, n_pre_remove, n_out


def resample_poly(x: torch.Tensor, up: int, down: int) -> torch.Tensor:
    """Rows of ``x`` (..., n) resampled by ``up/down`` along the last axis, as SciPy does."""
    g = gcd(up, down)
    up, down = up // g, down // g
    if up == down == 1:
        return x
    lead, n_in = x.shape[:-1], x.shape[-1]
    h, start, n_out = _filter(up, down, n_in)
    rows = x.reshape(-1, 1, n_in)
    if up > 1:  # zero-stuffing: sample i goes to position i * up
        stuffed = rows.new_zeros(rows.shape[0], 1, (n_in - 1) * up + 1)
        stuffed[..., ::up] = rows
        rows = stuffed
    kernel = torch.as_tensor(h[::-1].copy(), dtype=x.dtype, device=x.device).view(1, 1, -1)
    y = F.conv1d(rows, kernel, padding=kernel.shape[-1] - 1, stride=down)
    return y[..., start : start + n_out].reshape(*lead, n_out)


def resample_to(x: torch.Tensor, fs_in: float, fs_out: float, n_out: int) -> torch.Tensor:
    """Rows of ``x`` from ``fs_in`` to ``fs_out`` (rational factors, denominators up to
    1000), cropped or edge-padded to exactly ``n_out`` samples; stays on ``x``'s device."""
    if abs(fs_in - fs_out) > 1e-9:
        ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
        x = resample_poly(x, ratio.numerator, ratio.denominator)
    if x.shape[-1] >= n_out:
        return x[..., :n_out]
    return torch.cat([x, x[..., -1:].expand(*x.shape[:-1], n_out - x.shape[-1])], dim=-1)
