"""Waveform-level augmentations of PPG windows (for ``z_aug``, the perturbation-stability
view that ST-SAE trains on: the same window re-encoded after a plausible nuisance change).

Each augmentation mimics a nuisance that should not change physiology: amplitude gain
(sensor contact pressure), baseline wander (respiration), additive noise, and a small time
shift. Per window ``w`` (1-D, ``spread`` = its standard deviation, 1 when flat):

* ``y = w · exp(g)``, ``g ~ N(0, gain_sd)``;
* ``y += wander_amplitude · spread · sin(2π f t + φ)``, ``f ~ U(0.1, 0.4) Hz``, ``φ ~ U(0, 2π)``;
* ``y += ε``, ``ε_t ~ N(0, noise_sd · spread)`` i.i.d.;
* shift by ``s ~ U{−m, …, m}`` samples, ``m = ⌊max_shift_seconds · fs⌋``, holding the edge
  sample (``out[t] = y[clip(t − s, 0, n − 1)]``).

Why a counter-based generator: the whole batch is augmented at once, as tensor operations on
the device that encodes (no per-window Python loop on CPU in front of a GPU encoder), yet
every draw stays a pure function of ``(seed, store row, draw slot, sample)``. So ``z_aug``
of a window does not depend on batch size, order, or device, as with the former per-window
generators, without a stateful generator per row. The draws come from an integer hash
(``lowbias32``) of that counter, computed in int64 with multipliers reduced below 2³¹ so that
no step overflows on any backend; uniforms keep 24 bits (exact in float32), normals come from
Box–Muller pairs. Draws match to float32 rounding across devices (``log``/``sin`` differ
in the last bit between CPU and GPU kernels), exactly on one device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from clinssl.utils.seeding import derive_seed

_MASK32 = 0xFFFFFFFF
# draw slots: each independent quantity of a window reads its own counter stream
_SLOT_GAIN, _SLOT_FREQ, _SLOT_PHASE, _SLOT_SHIFT, _SLOT_NOISE = 0, 2, 3, 4, 5


@dataclass(frozen=True)
class AugmentConfig:
    """Strengths (config ``ppg.embed.augment``)."""

    gain_sd: float = 0.1
    wander_amplitude: float = 0.1
    noise_sd: float = 0.02
    max_shift_seconds: float = 0.2


def _signed32(c: int) -> int:
    """``c`` or ``c − 2³²``, whichever has magnitude < 2³¹: congruent mod 2³², and its product
    with any ``0 ≤ x < 2³²`` fits in int64 (no overflow on any backend)."""
    return c - (1 << 32) if c >= 1 << 31 else c


_C1, _C2 = _signed32(0x7FEB352D), _signed32(0x846CA68B)


def mix32(x: torch.Tensor) -> torch.Tensor:
    """``lowbias32`` integer hash (a bijection of 32-bit values with good avalanche) of an
    int64 tensor holding values in [0, 2³²); in-place on a fresh copy to spare allocations."""
    x = x ^ (x >> 16)
    x.mul_(_C1).bitwise_and_(_MASK32)
    x.bitwise_xor_(x >> 15)
    x.mul_(_C2).bitwise_and_(_MASK32)
    return x.bitwise_xor_(x >> 16)


def row_keys(rows: np.ndarray | torch.Tensor, seed: int, device: torch.device) -> torch.Tensor:
    """Per-window 32-bit keys (int64 tensor) from the config seed and the store rows."""
    rows = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=device)
    if rows.numel() and (int(rows.min()) < 0 or int(rows.max()) > _MASK32):
        raise ValueError("augmentation rows must be store row numbers in [0, 2**32)")
    base = derive_seed(seed, "ppg-augment")
    return mix32((mix32(rows) + base) & _MASK32)


def uniforms(keys: torch.Tensor, slot: int, n: int) -> torch.Tensor:
    """(k, n) float32 uniforms in (0, 1) of draw ``slot`` for windows with ``keys`` (k,).

    Sample ``j`` of a stream hashes ``stream XOR mix32(j)``: a shared offset between two
    streams cannot make one a shifted copy of the other (as ``stream + j`` could)."""
    stream = mix32((keys + slot * 0x9E3779B9) & _MASK32)  # one stream per (window, slot)
    j = mix32(torch.arange(n, device=keys.device, dtype=torch.int64))
    h = mix32(stream[:, None] ^ j[None, :])
    return ((h >> 8).to(torch.float32) + 0.5) * 2.0**-24


def normals(keys: torch.Tensor, slot: int, n: int) -> torch.Tensor:
    """(k, n) standard normals: Box–Muller pairs (cos and sin halves) of the uniforms of
    ``slot`` and ``slot + 1``."""
    half = (n + 1) // 2
    r = torch.sqrt(-2.0 * torch.log(uniforms(keys, slot, half)))
    theta = 2.0 * math.pi * uniforms(keys, slot + 1, half)
    return torch.cat([r * torch.cos(theta), r * torch.sin(theta)], dim=1)[:, :n]


def augment_batch(
    x: torch.Tensor, rows: np.ndarray | torch.Tensor, fs: float, cfg: AugmentConfig, seed: int
) -> torch.Tensor:
    """Augmented copy (float32, on ``x``'s device) of windows ``x`` (k, n) at store ``rows``."""
    if x.ndim != 2:
        raise ValueError(f"augment_batch expects windows (k, n), got shape {tuple(x.shape)}")
    k, n = x.shape
    if len(rows) != k:
        raise ValueError(f"augment_batch: {k} windows but {len(rows)} row numbers")
    x = x.to(torch.float32)
    keys = row_keys(rows, seed, x.device)
    spread = x.std(dim=1, correction=0, keepdim=True)
    spread = torch.where(spread > 0, spread, torch.ones_like(spread))
    gain = torch.exp(cfg.gain_sd * normals(keys, _SLOT_GAIN, 1))
    freq = 0.1 + 0.3 * uniforms(keys, _SLOT_FREQ, 1)
    phase = 2.0 * math.pi * uniforms(keys, _SLOT_PHASE, 1)
    t = torch.arange(n, device=x.device, dtype=torch.float32) / fs
    y = x * gain
    y = y + cfg.wander_amplitude * spread * torch.sin(2.0 * math.pi * freq * t + phase)
    y = y + (cfg.noise_sd * spread) * normals(keys, _SLOT_NOISE, n)
    m = int(cfg.max_shift_seconds * fs)
    if m > 0:
        shift = torch.floor(uniforms(keys, _SLOT_SHIFT, 1) * (2 * m + 1)).long() - m
        src = (torch.arange(n, device=x.device)[None, :] - shift).clamp(0, n - 1)
        y = torch.gather(y, 1, src)
    return y


def augment_rows(x: np.ndarray, rows: np.ndarray, fs: float, cfg: AugmentConfig, seed: int):
    """NumPy convenience wrapper of :func:`augment_batch` (on CPU)."""
    out = augment_batch(torch.from_numpy(np.asarray(x, dtype=np.float32)), rows, fs, cfg, seed)
    return out.numpy()
