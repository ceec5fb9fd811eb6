"""PPG window quality control: interpretable per-window scores and threshold flags.

Why these checks: ICU PPG (MIMIC) is full of sensor-off flatlines, ADC clipping, dropouts
(NaN gaps), and motion; a pretraining corpus or an embedding cache polluted by them teaches
encoders noise. Each check is a number stored in ``windows.parquet`` (so a user can re-threshold
without re-reading raw data) and a boolean flag from config thresholds:

* ``nan_fraction``: share of missing samples (gaps, segments without PPG);
* ``flat_fraction``: longest run of exactly repeated samples / window length;
* ``clip_fraction``: share of samples sitting on the window's max or min rail (within 0.1 %
  of the range: ADC saturation repeats the rail value, a clean pulse touches it once);
* ``amplitude``: robust peak-to-peak (95th − 5th percentile), checked against a plausible band;
* ``envelope_ratio``: max/min peak-to-peak over 2-s sub-windows of the raw signal
  (a motion burst covering part of the window makes the envelope jump);
* ``skewness``: skewness of the window (PaPaGei's ``skewness_sqi``): clean pulses are
  right-skewed, motion and noise are near-symmetric;
* ``hr``: beats/min from systolic peaks of the 0.5–8 Hz band-passed signal;
* ``sqi``: template-correlation signal-quality index — median Pearson correlation of each
  beat with the window's mean beat (a few ectopic beats, e.g. PVCs, leave the median high;
  motion breaks the beat-to-beat resemblance).

Thresholds are compared on the window *before* filling NaNs and resampling.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import signal as sps

QC_SCORE_COLUMNS = (
    "nan_fraction",
    "flat_fraction",
    "clip_fraction",
    "amplitude",
    "envelope_ratio",
    "skewness",
    "hr",
    "sqi",
)
QC_FLAG_COLUMNS = (
    "qc_nan",
    "qc_flat",
    "qc_clipped",
    "qc_amplitude",
    "qc_envelope",
    "qc_skewness",
    "qc_hr",
    "qc_sqi",
)


@dataclass(frozen=True)
class QCThresholds:
    """Rejection thresholds (config ``ppg.qc``); a window passes when no flag is raised."""

    max_nan_fraction: float = 0.1
    max_flat_fraction: float = 0.2
    max_clip_fraction: float = 0.1
    min_amplitude: float = 1e-6
    max_amplitude: float = 1e6
    max_envelope_ratio: float = 1.6
    min_skewness: float = 0.3
    min_hr: float = 30.0
    max_hr: float = 200.0
    min_sqi: float = 0.8


def _longest_equal_run(x: np.ndarray) -> int:
    if x.size < 2:
        return x.size
    same = np.concatenate([[False], np.diff(x) == 0, [False]])
    edges = np.flatnonzero(np.diff(same.astype(np.int8)))
    if edges.size == 0:
        return 1
    return int((edges[1::2] - edges[::2]).max()) + 1


@functools.lru_cache(maxsize=16)
def _bandpass_sos(fs: float) -> np.ndarray:
    return sps.butter(2, [0.5, min(8.0, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")


def _bandpass(x: np.ndarray, fs: float) -> np.ndarray:
    return sps.sosfiltfilt(_bandpass_sos(float(fs)), x)


def envelope_ratio(y: np.ndarray, fs: float, seconds: float = 2.0) -> float:
    """Max/min peak-to-peak amplitude over consecutive ``seconds``-long sub-windows."""
    step = max(1, int(seconds * fs))
    n = (y.size // step) * step
    if n < 2 * step:
        return 1.0
    ptp = np.ptp(y[:n].reshape(-1, step), axis=1)
    return float(ptp.max() / ptp.min()) if ptp.min() > 0 else float("inf")


def beat_template_sqi(y: np.ndarray, fs: float) -> tuple[float, float]:
    """(heart rate in bpm, template-correlation SQI) of a band-passed 1-D window ``y``."""
    spread = float(np.subtract(*np.percentile(y, [95, 5])))
    if not np.isfinite(spread) or spread <= 0:
        return float("nan"), 0.0
    peaks, _ = sps.find_peaks(y, distance=max(1, int(0.3 * fs)), prominence=0.35 * spread)
    if peaks.size < 3:
        return float("nan"), 0.0
    hr = 60.0 * (peaks.size - 1) / ((peaks[-1] - peaks[0]) / fs)
    before, after = int(0.25 * fs), int(0.45 * fs)
    keep = peaks[(peaks >= before) & (peaks + after <= y.size)]
    if keep.size < 3:
        return hr, 0.0
    beats = np.stack([y[p - before : p + after] for p in keep])
    template = beats.mean(axis=0)
    b = beats - beats.mean(axis=1, keepdims=True)
    t = template - template.mean()
    denom = np.linalg.norm(b, axis=1) * np.linalg.norm(t)
    corr = np.where(denom > 0, b @ t / np.where(denom > 0, denom, 1), 0.0)
    return float(hr), float(np.median(corr))


def _skewness(v: np.ndarray) -> float:
    """Fisher-Pearson skewness (as ``scipy.stats.skew``, without its per-call overhead)."""
    d = v - v.mean()
    m2 = float(np.mean(d * d))
    return float(np.mean(d * d * d) / m2**1.5) if m2 > 0 else 0.0


def window_scores(x: np.ndarray, fs: float) -> dict[str, float]:
    """QC scores of one window (NaN-aware; see module docstring)."""
    finite = np.isfinite(x)
    nan_fraction = 1.0 - float(finite.mean()) if x.size else 1.0
    out = {"nan_fraction": nan_fraction}
    if finite.sum() < max(8, int(2 * fs)):
        return {**out, "flat_fraction": 1.0, "clip_fraction": 0.0, "amplitude": 0.0,
                "envelope_ratio": float("inf"), "skewness": 0.0,
                "hr": float("nan"), "sqi": 0.0}  # fmt: skip
    v = x[finite]
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo
    tol = 1e-3 * span
    clip = float(((v >= hi - tol) | (v <= lo + tol)).mean()) if span > 0 else 1.0
    if nan_fraction > 0:
        v = np.interp(np.arange(x.size), np.flatnonzero(finite), v)
    if span > 0:
        y = _bandpass(v - v.mean(), fs)
        hr, sqi = beat_template_sqi(y, fs)
        env, skew = envelope_ratio(v - v.mean(), fs), _skewness(v)
    else:
        hr, sqi, env, skew = float("nan"), 0.0, float("inf"), 0.0
    return {
        **out,
        "flat_fraction": _longest_equal_run(x[finite]) / x.size,
        "clip_fraction": clip,
        "amplitude": float(np.subtract(*np.percentile(x[finite], [95, 5]))),
        "envelope_ratio": env,
        "skewness": skew,
        "hr": hr,
        "sqi": sqi,
    }


def score_windows(windows: np.ndarray, fs: float) -> pd.DataFrame:
    """Scores of each row of ``windows`` (k, n)."""
    return pd.DataFrame([window_scores(w, fs) for w in windows], columns=list(QC_SCORE_COLUMNS))


def apply_thresholds(scores: pd.DataFrame, th: QCThresholds) -> pd.DataFrame:
    """Add the ``qc_*`` flags (True = problem) and ``qc_pass`` to a copy of ``scores``."""
    out = scores.copy()
    out["qc_nan"] = out["nan_fraction"] > th.max_nan_fraction
    out["qc_flat"] = out["flat_fraction"] > th.max_flat_fraction
    out["qc_clipped"] = out["clip_fraction"] > th.max_clip_fraction
    out["qc_amplitude"] = (out["amplitude"] < th.min_amplitude) | (
        out["amplitude"] > th.max_amplitude
    )
    out["qc_envelope"] = out["envelope_ratio"] > th.max_envelope_ratio
    out["qc_skewness"] = out["skewness"] < th.min_skewness
    hr = out["hr"]
    out["qc_hr"] = hr.isna() | (hr < th.min_hr) | (hr > th.max_hr)
    out["qc_sqi"] = out["sqi"] < th.min_sqi
    out["qc_pass"] = ~out[list(QC_FLAG_COLUMNS)].any(axis=1)
    return out
