"""Signal helpers shared by the waveform branches: NaN filling and rational resampling.

Why shared: PPG windows (125 Hz store, models at other rates) and ECG records (PTB-XL at
100/500 Hz) both need gaps filled before filtering and the same polyphase resampling, so a
window resampled in one branch matches one resampled in another.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

__all__ = ["fill_nan", "resample"]


def fill_nan(signals: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaNs per row (edge NaNs take the nearest value; an all-NaN
    row becomes zeros); float64."""
    out = np.array(signals, dtype=np.float64, copy=True)
    for row in out:
        bad = ~np.isfinite(row)
        if bad.any() and not bad.all():
            idx = np.flatnonzero(~bad)
            row[bad] = np.interp(np.flatnonzero(bad), idx, row[idx])
        elif bad.all():
            row[:] = 0.0
    return out


def resample(x: np.ndarray, fs_in: float, fs_out: float, n_out: int) -> np.ndarray:
    """Rows of ``x`` resampled from ``fs_in`` to ``fs_out`` with ``resample_poly`` (rational
    up/down factors, denominators up to 1000), then cropped or edge-padded to exactly
    ``n_out`` samples. ``x`` must be finite (see :func:`fill_nan`)."""
    y = np.asarray(x, dtype=np.float64)
    if abs(fs_in - fs_out) > 1e-9:
        ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
        y = resample_poly(y, ratio.numerator, ratio.denominator, axis=1)
    if y.shape[1] >= n_out:
        return y[:, :n_out]
    return np.pad(y, ((0, 0), (0, n_out - y.shape[1])), mode="edge")
