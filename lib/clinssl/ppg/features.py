"""Classical PPG features per window: the baseline a learned encoder has to beat.

Why: a frozen-embedding probe only means something next to what a clinician's feature set
reaches with the same probe. The features are the ones PPG papers report — heart rate,
heart-rate variability, pulse amplitude, rise time and pulse width — plus the two that
capture ectopy directly (the shortest and longest inter-beat interval relative to the
median, and the smallest beat relative to the median beat). Beats come from NeuroKit2
(``ppg_clean`` + ``ppg_findpeaks``, Elgendi's method), the library PPG work uses; feet,
rise times and widths are measured here on the cleaned signal.

A window with fewer than three detected beats gets NaN features (``n_beats`` stays
numeric); the probe imputes NaNs with the training folds' medians.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: columns of the feature matrix, in order
FEATURE_NAMES: tuple[str, ...] = (
    "n_beats",
    "hr_mean",
    "ibi_sd",
    "rmssd",
    "ibi_min_ratio",
    "ibi_max_ratio",
    "amplitude_mean",
    "amplitude_cv",
    "amplitude_min_ratio",
    "rise_time_mean",
    "rise_time_sd",
    "width_mean",
    "width_sd",
)
MIN_BEATS = 3


def beat_features(window: np.ndarray, fs: float) -> np.ndarray:
    """The :data:`FEATURE_NAMES` of one window (NaN-free input, ``fs`` Hz)."""
    import neurokit2 as nk

    out = np.full(len(FEATURE_NAMES), np.nan)
    if not np.ptp(window) > 0:  # constant: no beats (NeuroKit2 fails on it)
        out[0] = 0
        return out
    clean = np.asarray(nk.ppg_clean(window, sampling_rate=fs), dtype=np.float64)
    try:
        peaks = np.asarray(nk.ppg_findpeaks(clean, sampling_rate=fs)["PPG_Peaks"], dtype=int)
    except IndexError:  # NeuroKit2 indexes an empty block list when nothing looks like a beat
        peaks = np.empty(0, dtype=int)
    out[0] = peaks.size
    if peaks.size < MIN_BEATS:
        return out
    # foot of each beat: the minimum between the previous peak (or 0.6 IBI before) and it
    ibi = np.diff(peaks) / fs
    lookback = int(round(0.6 * np.median(ibi) * fs))
    starts = np.concatenate([[max(0, peaks[0] - lookback)], peaks[:-1]])
    feet = np.array(
        [s + int(np.argmin(clean[s : p + 1])) for s, p in zip(starts, peaks, strict=True)]
    )
    amplitude = clean[peaks] - clean[feet]
    rise = (peaks - feet) / fs
    widths = np.array(
        [_half_width(clean, f, p, a, fs) for f, p, a in zip(feet, peaks, amplitude, strict=True)]
    )
    med_ibi, med_amp = float(np.median(ibi)), float(np.median(amplitude))
    out[1:] = [
        60.0 / float(np.mean(ibi)),
        float(np.std(ibi)),
        float(np.sqrt(np.mean(np.diff(ibi) ** 2))) if ibi.size > 1 else 0.0,
        float(ibi.min() / med_ibi),
        float(ibi.max() / med_ibi),
        float(np.mean(amplitude)),
        float(np.std(amplitude) / max(abs(float(np.mean(amplitude))), 1e-12)),
        float(amplitude.min() / med_amp) if med_amp > 0 else np.nan,
        float(np.mean(rise)),
        float(np.std(rise)),
        float(np.nanmean(widths)) if np.isfinite(widths).any() else np.nan,
        float(np.nanstd(widths)) if np.isfinite(widths).any() else np.nan,
    ]
    return out


def _half_width(clean: np.ndarray, foot: int, peak: int, amplitude: float, fs: float) -> float:
    """Seconds the pulse stays above half its foot-to-peak amplitude around ``peak``."""
    level = clean[foot] + 0.5 * amplitude
    left = peak
    while left > foot and clean[left] > level:
        left -= 1
    right, stop = peak, min(clean.size - 1, peak + int(1.5 * fs))
    while right < stop and clean[right] > level:
        right += 1
    if right == stop:
        return float("nan")
    return (right - left) / fs


def window_features(
    windows: np.ndarray, rows: np.ndarray, fs: float, log_every: int = 2000
) -> tuple[np.ndarray, dict[str, Any]]:
    """(N, F) float32 features; rows not in ``rows`` (e.g. QC-rejected) stay NaN."""
    n = windows.shape[0]
    out = np.full((n, len(FEATURE_NAMES)), np.nan, dtype=np.float32)
    started = time.perf_counter()
    for k, i in enumerate(np.asarray(rows, dtype=int)):
        x = np.asarray(windows[i], dtype=np.float64)
        if not np.isfinite(x).all():
            good = np.isfinite(x)
            if good.sum() < 2:
                continue
            x = np.interp(np.arange(x.size), np.flatnonzero(good), x[good])
        out[i] = beat_features(x, fs)
        if log_every and (k + 1) % log_every == 0:
            log.info("features of %d/%d windows", k + 1, len(rows))
    seconds = time.perf_counter() - started
    with_beats = np.isfinite(out[rows, 1]).sum() if len(rows) else 0
    return out, {
        "features": list(FEATURE_NAMES),
        "n_windows": int(n),
        "n_computed": int(len(rows)),
        "n_with_beats": int(with_beats),
        "min_beats": MIN_BEATS,
        "seconds": seconds,
    }
