"""Waveform-level augmentations of PPG windows (for ``z_aug``, the perturbation-stability
view that ST-SAE trains on: the same window re-encoded after a plausible nuisance change).

Each augmentation mimics a nuisance that should not change physiology: amplitude gain
(sensor contact pressure), baseline wander (respiration), additive noise, and a small time
shift. Draws come from a generator derived from the config seed and the window's row
number, so ``z_aug`` of a window does not depend on batch size or order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinssl.utils.seeding import derive_seed


@dataclass(frozen=True)
class AugmentConfig:
    """Strengths (config ``ppg.embed.augment``)."""

    gain_sd: float = 0.1
    wander_amplitude: float = 0.1
    noise_sd: float = 0.02
    max_shift_seconds: float = 0.2


def augment_rows(x: np.ndarray, rows: np.ndarray, fs: float, cfg: AugmentConfig, seed: int):
    """Augmented copy of windows ``x`` (k, n) whose store rows are ``rows``."""
    out = np.empty_like(x, dtype=np.float32)
    t = np.arange(x.shape[1]) / fs
    for i, (w, row) in enumerate(zip(x, rows, strict=True)):
        rng = np.random.default_rng(derive_seed(seed, "ppg-augment", int(row)))
        spread = float(np.std(w)) or 1.0
        y = w.astype(np.float64) * float(np.exp(rng.normal(0.0, cfg.gain_sd)))
        freq, phase = rng.uniform(0.1, 0.4), rng.uniform(0, 2 * np.pi)
        y = y + cfg.wander_amplitude * spread * np.sin(2 * np.pi * freq * t + phase)
        y = y + rng.normal(0.0, cfg.noise_sd * spread, y.size)
        shift = int(
            rng.integers(-int(cfg.max_shift_seconds * fs), int(cfg.max_shift_seconds * fs) + 1)
        )
        if shift:
            y = np.roll(y, shift)
            if shift > 0:
                y[:shift] = y[shift]
            else:
                y[shift:] = y[shift - 1]
        out[i] = y
    return out
