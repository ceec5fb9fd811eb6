"""Classical beat features: known heart rate, ectopy ratios, rise time; NaN where no beats."""

from __future__ import annotations

import numpy as np

from clinssl.ppg.features import FEATURE_NAMES, beat_features, window_features
from clinssl.ppg.synthetic import beat_shape

FS = 125.0
T = np.arange(1250) / FS
COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _pulses(onsets, scales=None) -> np.ndarray:
    scales = np.ones(len(onsets)) if scales is None else scales
    x = sum(beat_shape(T - o, 50.0, scale=s) for o, s in zip(onsets, scales, strict=True))
    return x + np.random.default_rng(0).normal(0, 0.005, T.size)


def test_regular_rhythm_gives_its_rate_and_no_ectopy() -> None:
    f = beat_features(_pulses(np.arange(-1.0, 10.5, 0.8)), FS)  # 75 bpm
    assert abs(f[COL["hr_mean"]] - 75.0) < 2.0
    assert f[COL["ibi_sd"]] < 0.02 and f[COL["rmssd"]] < 0.03
    assert 0.95 < f[COL["ibi_min_ratio"]] <= 1.0 <= f[COL["ibi_max_ratio"]] < 1.05
    assert f[COL["amplitude_min_ratio"]] > 0.9 and f[COL["amplitude_cv"]] < 0.05
    # the systolic peak of beat_shape(·, 50) sits ~0.157 s after the onset
    assert 0.08 < f[COL["rise_time_mean"]] < 0.2
    assert 0.05 < f[COL["width_mean"]] < 0.4


def test_a_premature_small_beat_moves_the_ectopy_ratios() -> None:
    onsets = list(np.arange(-1.0, 10.5, 0.8))
    onsets[6] = onsets[5] + 0.45  # premature, then a compensatory pause
    scales = np.ones(len(onsets))
    scales[6] = 0.45
    f = beat_features(_pulses(np.array(onsets), scales), FS)
    regular = beat_features(_pulses(np.arange(-1.0, 10.5, 0.8)), FS)
    assert f[COL["ibi_min_ratio"]] < 0.75 and f[COL["ibi_max_ratio"]] > 1.2
    assert f[COL["amplitude_min_ratio"]] < 0.7
    assert f[COL["rmssd"]] > 5 * regular[COL["rmssd"]]


def test_window_features_fill_requested_rows_only() -> None:
    windows = np.stack([_pulses(np.arange(-1.0, 10.5, 0.8)), np.zeros(1250),
                        _pulses(np.arange(-1.0, 10.5, 1.0))]).astype(np.float32)  # fmt: skip
    gappy = windows[2].copy()
    gappy[100:130] = np.nan  # a short gap is interpolated
    windows = np.concatenate([windows, gappy[None]])
    out, meta = window_features(windows, np.array([0, 1, 3]), FS)
    assert out.shape == (4, len(FEATURE_NAMES)) and out.dtype == np.float32
    assert np.isnan(out[2]).all()  # not requested
    assert out[1, COL["n_beats"]] < 3 and np.isnan(out[1, 1:]).all()  # flat: no beats
    assert abs(out[3, COL["hr_mean"]] - 60.0) < 2.0
    assert meta["n_computed"] == 3 and meta["n_with_beats"] == 2
    assert meta["features"] == list(FEATURE_NAMES)
