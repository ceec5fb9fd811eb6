"""SSRL-ECG's seven ECG augmentations, as its README documents them, batched on the device.

Why a rewrite rather than a port: the seed's ``ECGAugmentations`` does not do what its README
says (different set, rates and ranges), computes its FFT band-pass for 500 Hz on 100 Hz
data, and draws one random branch per *batch* (BYOL) or augments one sample at a time so
mixup and CutMix never fire (SimCLR). Here every sample of a batch decides every
augmentation with its own Bernoulli draw and draws its own parameters, all in tensor
operations over the batch, and every setting in Hz is converted with the actual ``fs``.

Applied in this order (each with its own probability; :class:`ECGAugmentConfig`):

1. **frequency warp** — the time axis is rescaled by ``s ~ U(1 − warp_max, 1 + warp_max)``
   about the window centre (linear interpolation, ``grid_sample``; the ends are
   reflection-padded when ``s > 1`` reads past them), so heart rate and every frequency
   scale by ``s`` while the length stays ``L``. First, because it models a property of the
   recording (a different heart rate), not a nuisance added to it.
2. **mixup** — ``x ← λ x + (1 − λ) x[partner]``, ``λ = max(u, 1 − u)``, ``u ~ Beta(α, α)``,
   so the view stays mostly itself (λ ≥ 0.5).
3. **segment CutMix** — a segment of ``U(cutmix_fraction)·L`` samples at a uniform position
   is replaced, on all leads, by the same time span of a partner.
   Mixing before filtering and nuisances: the mixed view then gets one filter and one noise
   process, like a single recording would.
4. **band-pass** — an FFT mask per sample with ``f_low ~ U(bandpass_low_hz)`` and ``f_high``
   uniform on ``bandpass_high_hz`` clipped to ``bandpass_max_nyquist · fs / 2`` (0.45 fs by
   default: 40–45 Hz at 100 Hz, 40–60 Hz at 500 Hz), so the cutoff never reaches Nyquist,
   where a 100-Hz record has no content to filter. Each cutoff is a linear ramp one FFT bin
   (``fs / L``) wide rather than a brick wall: on a 2.5-s window the bins are 0.4 Hz apart, so
   a hard mask would collapse ``f_low ~ U(0.5, 1.5)`` onto three outcomes. The FFT treats the
   window as periodic; the straight line from its first to its last sample is removed first
   (it belongs to the band below ``f_low`` anyway), so the jump between the window's ends
   does not ring through the filtered view.
5. **baseline wander** — ``A·sin(2π f t + φ)`` with ``f ~ U(wander_hz)`` shared by the leads
   of a sample (one respiratory or motion source) and per-lead ``A ~ U(wander_mv)`` mV and
   ``φ ~ U(0, 2π)`` (each electrode couples differently). After the band-pass, which would
   otherwise remove it.
6. **per-channel noise** — Gaussian, ``σ = U(noise_fraction) ×`` that lead's standard
   deviation (per lead and sample; a flat lead stays flat).
7. **temporal dropout** — ``U(dropout_fraction)·L`` samples in ``dropout_segments`` equal
   segments (one placed uniformly in each of as many equal slots, so they never overlap and
   the masked total is what was drawn), on all leads, replaced by the straight line between
   the samples either side of the gap; the first and last sample are never masked, so every
   gap has two edges. Last, so a gap is a clean line (a lost signal the recorder bridged),
   not one with noise re-added.

Partners (mixup, CutMix) come from a uniformly random *cyclic* permutation of the batch:
no sample is its own partner, and each sample's partner is uniform over the others. With a
batch of one both are no-ops.

Units: ``wander_mv`` is absolute; every other setting is relative to the signal. Pass
``units_per_mv`` when the batch is not in millivolts — for signals standardised by a global
standard deviation ``std`` mV (:class:`clinssl.ecg.dataset.ECGStore`), ``1 / std``.

Randomness: every draw comes from ``generator``. Small per-sample draws (decisions,
parameters) are made on the generator's device and moved; the one large draw (the noise)
uses the generator directly when it lives on ``x``'s device and otherwise a device generator
seeded from it. So a given generator state gives the same views on every call on CPU, and on
a given GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

__all__ = ["ECGAugmentConfig", "augment_batch", "bandpass_ranges", "cyclic_partners"]

_RANGES = (
    "bandpass_low_hz", "bandpass_high_hz", "cutmix_fraction", "wander_mv", "wander_hz",
    "noise_fraction", "dropout_fraction",
)  # fmt: skip


@dataclass(frozen=True)
class ECGAugmentConfig:
    """Probabilities and ranges (config ``ecg.augment``); the README's table by default.

    ``mixup_alpha = 0.4`` (README: "λ~Beta", no value): fastai's mixup default. The seed's
    code used 0.1, with which ``λ = max(u, 1 − u)`` exceeds 0.9 for 81 % of mixed views and
    has median 0.999 (near-copies, the draw wasted); at 0.4, 48 % and median 0.89, mean 0.84.
    A probability of 0 disables an augmentation (no draws are made for it)."""

    warp_p: float = 0.5
    warp_max: float = 0.05
    mixup_p: float = 0.4
    mixup_alpha: float = 0.4
    bandpass_p: float = 0.3
    bandpass_low_hz: tuple[float, float] = (0.5, 1.5)
    bandpass_high_hz: tuple[float, float] = (40.0, 60.0)
    bandpass_max_nyquist: float = 0.9
    cutmix_p: float = 0.25
    cutmix_fraction: tuple[float, float] = (0.1, 0.3)
    wander_p: float = 0.2
    wander_mv: tuple[float, float] = (0.01, 0.05)
    wander_hz: tuple[float, float] = (0.5, 2.0)
    noise_p: float = 0.6
    noise_fraction: tuple[float, float] = (0.005, 0.02)
    dropout_p: float = 0.3
    dropout_fraction: tuple[float, float] = (0.05, 0.2)
    dropout_segments: int = 3

    def __post_init__(self) -> None:
        for name in _RANGES:  # YAML gives lists; keep hashable, comparable tuples
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValueError(f"ecg.augment.{name} must be a (low, high) pair, got {value!r}")
            lo, hi = (float(v) for v in value)
            if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo <= hi):
                raise ValueError(f"ecg.augment.{name} needs 0 <= low <= high, got {value!r}")
            object.__setattr__(self, name, (lo, hi))
        for f in fields(self):
            if f.name.endswith("_p"):
                self._check(f.name, 0.0 <= float(getattr(self, f.name)) <= 1.0, "in [0, 1]")
        self._check("warp_max", 0.0 <= self.warp_max < 1.0, "in [0, 1)")
        self._check("mixup_alpha", self.mixup_alpha > 0.0, "> 0")
        self._check("bandpass_low_hz", self.bandpass_low_hz[0] > 0.0, "above 0 Hz (a band-pass)")
        self._check(
            "bandpass_high_hz", self.bandpass_high_hz[0] > self.bandpass_low_hz[1],
            "above bandpass_low_hz",
        )  # fmt: skip
        self._check("bandpass_max_nyquist", 0.0 < self.bandpass_max_nyquist <= 1.0, "in (0, 1]")
        low, high = self.cutmix_fraction
        self._check("cutmix_fraction", 0.0 < low and high <= 1.0, "in (0, 1]")
        self._check("dropout_fraction", self.dropout_fraction[1] < 1.0, "below 1")
        self._check(
            "dropout_segments",
            isinstance(self.dropout_segments, int) and self.dropout_segments >= 1, "an int >= 1",
        )  # fmt: skip

    def _check(self, name: str, ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(f"ecg.augment.{name} must be {what}, got {getattr(self, name)!r}")


class _Draws:
    """Random numbers from one generator, on the generator's device, moved to ``device``."""

    def __init__(self, generator: torch.Generator, device: torch.device, dtype: torch.dtype):
        self.gen, self.device, self.dtype = generator, device, dtype

    def uniform(self, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        u = torch.rand(shape, generator=self.gen, device=self.gen.device, dtype=self.dtype)
        return (low + (high - low) * u).to(self.device)

    def rows(self, batch: int, p: float) -> torch.Tensor | None:
        """Indices (on ``device``) of the samples an augmentation of probability ``p`` hits,
        one Bernoulli per sample; ``None`` when none (or ``p == 0``: no draw at all)."""
        if p <= 0.0:
            return None
        hit = torch.rand(batch, generator=self.gen, device=self.gen.device) < p
        idx = hit.nonzero().squeeze(1)
        return idx.to(self.device) if idx.numel() else None

    def beta(self, n: int, alpha: float) -> torch.Tensor:
        """Beta(α, α) as a ratio of Gamma(α) draws (float64: small α underflows float32).

        ``torch._standard_gamma`` because ``torch.distributions.Beta`` takes no generator."""
        conc = torch.full((n, 2), alpha, dtype=torch.float64, device=self.gen.device)
        g = torch._standard_gamma(conc, generator=self.gen)
        lam = g[:, 0] / (g[:, 0] + g[:, 1])
        return torch.nan_to_num(lam, nan=1.0).to(self.device, self.dtype)

    def normal_like(self, x: torch.Tensor) -> torch.Tensor:
        gen = self.gen
        if gen.device != x.device:  # the big draw stays on x's device
            seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device))
            gen = torch.Generator(device=x.device).manual_seed(seed)
        return torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


def cyclic_partners(batch: int, generator: torch.Generator) -> torch.Tensor:
    """A uniformly random cyclic permutation of ``range(batch)`` (on the generator's device):
    ``partner[i] != i`` for ``batch > 1``, each sample's partner uniform over the others."""
    order = torch.randperm(batch, generator=generator, device=generator.device)
    partner = torch.empty_like(order)
    partner[order] = order.roll(-1)
    return partner


def bandpass_ranges(
    fs: float, cfg: ECGAugmentConfig
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The ``(f_low range, f_high range)`` in Hz the band-pass draws from at ``fs``: the high
    range is clipped to ``bandpass_max_nyquist · fs / 2``."""
    cap = cfg.bandpass_max_nyquist * fs / 2.0
    lo, hi = cfg.bandpass_high_hz
    high = (min(lo, cap), min(hi, cap))
    if high[0] <= cfg.bandpass_low_hz[1]:
        raise ValueError(
            f"ecg.augment.bandpass_high_hz: at fs = {fs} Hz the high cutoff is capped at "
            f"{cap:g} Hz, not above bandpass_low_hz {cfg.bandpass_low_hz}"
        )
    return cfg.bandpass_low_hz, high


def _warp(y: torch.Tensor, idx: torch.Tensor, cfg: ECGAugmentConfig, d: _Draws) -> None:
    n, length = idx.numel(), y.shape[-1]
    scale = d.uniform(n, 1, low=1.0 - cfg.warp_max, high=1.0 + cfg.warp_max)
    # align_corners=True: -1 / +1 are the first / last sample, 0 the centre
    pos = scale * torch.linspace(-1.0, 1.0, length, device=y.device, dtype=y.dtype)
    grid = torch.stack([pos, torch.zeros_like(pos)], dim=-1).unsqueeze(1)  # (n, 1, L, 2)
    out = F.grid_sample(
        y[idx].unsqueeze(2), grid, mode="bilinear", padding_mode="reflection", align_corners=True
    )
    y[idx] = out.squeeze(2)


def _mixup(y: torch.Tensor, idx: torch.Tensor, cfg: ECGAugmentConfig, d: _Draws) -> None:
    partner = cyclic_partners(y.shape[0], d.gen).to(y.device)[idx]
    lam = d.beta(idx.numel(), cfg.mixup_alpha)
    lam = torch.maximum(lam, 1.0 - lam)[:, None, None]
    y[idx] = lam * y[idx] + (1.0 - lam) * y[partner]


def _segments(starts: torch.Tensor, lengths: torch.Tensor, length: int) -> torch.Tensor:
    """Boolean masks ``(n, L)``: ``starts <= t < starts + lengths`` (any of the last dim)."""
    t = torch.arange(length, device=starts.device)
    inside = (t >= starts[..., None]) & (t < (starts + lengths)[..., None])
    return inside.any(dim=1) if inside.ndim == 3 else inside


def _cutmix(y: torch.Tensor, idx: torch.Tensor, cfg: ECGAugmentConfig, d: _Draws) -> None:
    partner = cyclic_partners(y.shape[0], d.gen).to(y.device)[idx]
    n, length = idx.numel(), y.shape[-1]
    size = d.uniform(n, low=cfg.cutmix_fraction[0], high=cfg.cutmix_fraction[1]) * length
    size = size.round().long().clamp(1, length)
    start = (d.uniform(n) * (length - size + 1)).long().clamp(max=length - size)
    mask = _segments(start, size, length).unsqueeze(1)  # (n, 1, L), all leads
    y[idx] = torch.where(mask, y[partner], y[idx])


def _bandpass(
    y: torch.Tensor, idx: torch.Tensor, fs: float, cfg: ECGAugmentConfig, d: _Draws
) -> None:
    (low_a, low_b), (high_a, high_b) = bandpass_ranges(fs, cfg)
    n, length = idx.numel(), y.shape[-1]
    f_low = d.uniform(n, 1, 1, low=low_a, high=low_b)
    f_high = d.uniform(n, 1, 1, low=high_a, high=high_b)
    seg = y[idx]
    ramp = torch.linspace(0.0, 1.0, length, device=y.device, dtype=y.dtype)
    seg = seg - (seg[..., :1] + (seg[..., -1:] - seg[..., :1]) * ramp)  # endpoint line
    freq = torch.fft.rfftfreq(length, d=1.0 / fs, device=y.device).to(y.dtype)
    bin_hz = fs / length
    rise = ((freq - f_low) / bin_hz + 0.5).clamp(0.0, 1.0)  # 0 below f_low, 1 above
    fall = ((f_high - freq) / bin_hz + 0.5).clamp(0.0, 1.0)  # 1 below f_high, 0 above
    mask = rise * fall
    y[idx] = torch.fft.irfft(torch.fft.rfft(seg, dim=-1) * mask, n=length, dim=-1)


def _wander(
    y: torch.Tensor, idx: torch.Tensor, fs: float, cfg: ECGAugmentConfig, d: _Draws,
    units_per_mv: float,
) -> None:  # fmt: skip
    n, leads, length = idx.numel(), y.shape[1], y.shape[-1]
    freq = d.uniform(n, 1, 1, low=cfg.wander_hz[0], high=cfg.wander_hz[1])
    amp = d.uniform(n, leads, 1, low=cfg.wander_mv[0], high=cfg.wander_mv[1]) * units_per_mv
    phase = d.uniform(n, leads, 1, high=2.0 * math.pi)
    t = torch.arange(length, device=y.device, dtype=y.dtype) / fs
    y[idx] += amp * torch.sin(2.0 * math.pi * freq * t + phase)


def _noise(y: torch.Tensor, idx: torch.Tensor, cfg: ECGAugmentConfig, d: _Draws) -> None:
    seg = y[idx]
    frac = d.uniform(
        idx.numel(), y.shape[1], 1, low=cfg.noise_fraction[0], high=cfg.noise_fraction[1]
    )
    sigma = frac * seg.std(dim=-1, keepdim=True, correction=0)
    y[idx] = seg + sigma * d.normal_like(seg)


def _dropout(y: torch.Tensor, idx: torch.Tensor, cfg: ECGAugmentConfig, d: _Draws) -> None:
    n, length, k = idx.numel(), y.shape[-1], cfg.dropout_segments
    interior = length - 2  # the first and last sample are never masked
    if interior < k:
        return  # too short to hold a gap per slot
    bounds = 1 + (torch.arange(k + 1, device=y.device) * interior) // k  # slot j: [b_j, b_j+1)
    slot = bounds[1:] - bounds[:-1]  # each >= interior // k (no device sync to know it)
    size = d.uniform(n, 1, low=cfg.dropout_fraction[0], high=cfg.dropout_fraction[1])
    size = (size * length / k).round().long().clamp(0, interior // k)  # (n, 1)
    start = bounds[:-1] + (d.uniform(n, k) * (slot - size + 1)).long().clamp(max=slot - size)
    gap = _segments(start, size.expand(n, k), length)  # (n, L)
    t = torch.arange(length, device=y.device).expand(n, length)
    before = torch.where(gap, -1, t).cummax(dim=1).values  # last kept sample at or before t
    after = (length - 1) - torch.where(gap.flip(1), -1, t).cummax(dim=1).values.flip(1)
    w = ((t - before) / (after - before).clamp(min=1)).to(y.dtype).unsqueeze(1)
    seg = y[idx]
    left = seg.gather(2, before.unsqueeze(1).expand_as(seg))
    right = seg.gather(2, after.unsqueeze(1).expand_as(seg))
    y[idx] = torch.where(gap.unsqueeze(1), left + w * (right - left), seg)


@torch.no_grad()
def augment_batch(
    x: torch.Tensor,
    fs: float,
    cfg: ECGAugmentConfig,
    generator: torch.Generator,
    *,
    units_per_mv: float = 1.0,
) -> torch.Tensor:
    """An augmented copy of ``x (B, C, L)`` at ``fs`` Hz, on ``x``'s device and dtype
    (computed in float32, or float64 for float64 input); ``x`` is left untouched.

    ``units_per_mv``: signal units per millivolt, for the absolute wander amplitude (module
    docstring). Order and semantics of the seven augmentations: module docstring."""
    if x.ndim != 3:
        raise ValueError(f"augment_batch expects leads (B, C, L), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"augment_batch expects a floating-point signal, got {x.dtype}")
    if not fs > 0:
        raise ValueError(f"augment_batch: fs must be > 0 Hz, got {fs}")
    if not (math.isfinite(units_per_mv) and units_per_mv > 0):
        raise ValueError(f"augment_batch: units_per_mv must be > 0, got {units_per_mv}")
    if cfg.bandpass_p > 0:
        bandpass_ranges(float(fs), cfg)  # an fs too low fails on every call, not by chance
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    y = x.to(work, copy=True)
    batch = y.shape[0]
    d = _Draws(generator, y.device, work)
    if (idx := d.rows(batch, cfg.warp_p)) is not None:
        _warp(y, idx, cfg, d)
    if batch > 1 and (idx := d.rows(batch, cfg.mixup_p)) is not None:
        _mixup(y, idx, cfg, d)
    if batch > 1 and (idx := d.rows(batch, cfg.cutmix_p)) is not None:
        _cutmix(y, idx, cfg, d)
    if (idx := d.rows(batch, cfg.bandpass_p)) is not None:
        _bandpass(y, idx, float(fs), cfg, d)
    if (idx := d.rows(batch, cfg.wander_p)) is not None:
        _wander(y, idx, float(fs), cfg, d, units_per_mv)
    if (idx := d.rows(batch, cfg.noise_p)) is not None:
        _noise(y, idx, cfg, d)
    if (idx := d.rows(batch, cfg.dropout_p)) is not None:
        _dropout(y, idx, cfg, d)
    return y.to(x.dtype)
