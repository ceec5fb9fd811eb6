"""QC catches the planted bad windows and spares good (and PVC) windows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.ppg.qc import QCThresholds, apply_thresholds, score_windows, window_scores
from clinssl.ppg.synthetic import PPGCohortConfig, beat_shape, iter_cohort


def test_planted_bad_windows_are_rejected_good_ones_kept() -> None:
    cfg = PPGCohortConfig(n_subjects=80, windows_per_subject=16, seed=3, pvc_fraction=0.1,
                          flat_fraction=0.04, clipped_fraction=0.04, motion_fraction=0.06,
                          nan_fraction=0.04)  # fmt: skip
    frames = []
    for sw in iter_cohort(cfg):
        scores = apply_thresholds(score_windows(sw.signals, cfg.fs), QCThresholds())
        frames.append(pd.concat([sw.truth[["artifact", "pvc"]], scores], axis=1))
    df = pd.concat(frames, ignore_index=True)
    rejected = ~df["qc_pass"]
    bad = df["artifact"] != "none"
    assert bad.sum() >= 30
    assert rejected[bad].mean() >= 0.9
    assert rejected[~bad].mean() < 0.05
    assert rejected[df["pvc"] == 1].mean() < 0.1  # ectopic beats are not artifacts
    for artifact in ("flat", "clipped", "motion", "nan"):
        assert rejected[df["artifact"] == artifact].mean() >= 0.8, artifact


def test_scores_of_simple_signals() -> None:
    fs = 125.0
    t = np.arange(1250) / fs
    pulse = sum(beat_shape(t - onset, 50.0) for onset in np.arange(-1.0, 10.0, 1.0))
    pulse = pulse + np.random.default_rng(0).normal(0, 0.01, t.size)  # sensor noise
    s = window_scores(pulse, fs)
    assert abs(s["hr"] - 60.0) < 3 and s["sqi"] > 0.95 and s["nan_fraction"] == 0
    flat = window_scores(np.full(1250, 3.0), fs)
    assert flat["flat_fraction"] == 1.0 and flat["amplitude"] == 0.0
    gappy = pulse.copy()
    gappy[:500] = np.nan
    assert window_scores(gappy, fs)["nan_fraction"] == 0.4
    assert window_scores(np.full(1250, np.nan), fs)["nan_fraction"] == 1.0
    flags = apply_thresholds(
        score_windows(np.stack([pulse, np.full(1250, 3.0)]), fs), QCThresholds()
    )
    assert flags["qc_pass"].tolist() == [True, False]
    assert flags.loc[1, "qc_flat"] and flags.loc[1, "qc_amplitude"]
