"""The synthetic PPG cohort's difficulty knobs: each one is its own effect, 0 switches it off,
and all at 0 give the easy cohort (probes near their ceiling) while the defaults do not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from clinssl.ppg.features import window_features
from clinssl.ppg.synthetic import (
    BEAT_TRUTH_COLUMNS,
    DIFFICULTY_KNOBS,
    NO_MORPHOLOGY,
    PPGCohortConfig,
    draw_subject,
    generate_subject,
    iter_cohort,
)
from clinssl.stats.probes import grouped_probe_predictions, grouped_ridge_r2

BASE = PPGCohortConfig(n_subjects=4, windows_per_subject=8, seed=11, pvc_fraction=0.3,
                       flat_fraction=0, clipped_fraction=0, motion_fraction=0,
                       nan_fraction=0)  # fmt: skip
EASY = replace(BASE, **{k: 0.0 for k in DIFFICULTY_KNOBS})


def test_knobs_change_the_signal_but_never_the_planted_truth() -> None:
    easy = [generate_subject(EASY, i) for i in range(BASE.n_subjects)]
    for knob in DIFFICULTY_KNOBS:
        cfg = replace(EASY, **{knob: getattr(BASE, knob)})
        changed = 0.0
        for i, ref in enumerate(easy):
            sw = generate_subject(cfg, i)
            # labels, ages, the PVC plan unchanged (pvc_overlap may drop one PVC beat); the
            # planted beat shape moves with morphology_sd only, which is what that knob does
            shape = list(BEAT_TRUTH_COLUMNS) if knob == "morphology_sd" else []
            same = [c for c in ref.truth.columns if c != "n_pvc" and c not in shape]
            assert sw.truth[same].equals(ref.truth[same]), knob
            if shape:
                assert not sw.truth[shape].equals(ref.truth[shape])
            diff = np.abs(sw.signals - ref.signals).max(axis=1)
            if knob == "pvc_overlap":  # only PVC windows change
                assert (diff[ref.truth["pvc"].to_numpy() == 0] == 0).all()
            changed = max(changed, float(diff.max()))
        assert changed > 0.01, knob


def test_motion_is_the_configured_level() -> None:
    """Every draw happens whatever the knobs, so the difference of two cohorts that differ in
    motion_sd only is the motion itself: RMS = motion_sd x the subject's gain."""
    cfg = replace(EASY, motion_sd=0.1)
    for i in range(BASE.n_subjects):
        a, b = generate_subject(EASY, i), generate_subject(cfg, i)
        rms = np.sqrt(np.mean((b.signals - a.signals) ** 2, axis=1)) / a.subject["gain"]
        np.testing.assert_allclose(rms, 0.1, rtol=1e-6)


def test_morphology_at_zero_is_the_age_only_beat() -> None:
    assert draw_subject(EASY, 0)["morphology"] == NO_MORPHOLOGY
    shapes = [draw_subject(BASE, i)["morphology"] for i in range(50)]
    delays = np.array([m["reflect_delay"] for m in shapes])
    gains = np.array([m["reflect_gain"] for m in shapes])
    # one geometry factor moves both: later reflection with a weaker reflected wave
    assert np.corrcoef(delays, gains)[0, 1] < -0.7
    assert 0.03 < delays.std() < 0.09


@pytest.mark.parametrize("knob", ["pvc_overlap", "morphology_sd", "respiration"])
def test_knobs_are_validated(knob: str) -> None:
    with pytest.raises(ValueError, match=knob):
        replace(BASE, **{knob: -0.1})
    if knob == "pvc_overlap":
        with pytest.raises(ValueError, match=knob):
            replace(BASE, pvc_overlap=1.5)


def _classical_probes(cfg: PPGCohortConfig) -> tuple[float, float]:
    """PVC AUROC and age R² of the classical features with the grouped linear probes."""
    signals, truth = [], []
    for sw in iter_cohort(cfg):
        signals.append(sw.signals)
        truth.append(sw.truth)
    x, table = np.concatenate(signals), pd.concat(truth, ignore_index=True)
    feats, _ = window_features(x, np.arange(len(x)), cfg.fs)
    f = np.where(np.isfinite(feats), feats, np.nanmedian(feats, axis=0)).astype(float)
    groups = table["subject_id"].to_numpy()
    p, _ = grouped_probe_predictions(f, table["pvc"].to_numpy(), groups, 5, seed=0)
    return roc_auc_score(table["pvc"], p), grouped_ridge_r2(f, table["age"].to_numpy(), groups)


def test_all_knobs_at_zero_restore_an_easy_cohort_and_defaults_are_harder() -> None:
    base = replace(BASE, n_subjects=60, windows_per_subject=20, pvc_fraction=0.1)
    easy_auc, easy_r2 = _classical_probes(replace(base, **{k: 0.0 for k in DIFFICULTY_KNOBS}))
    hard_auc, hard_r2 = _classical_probes(base)
    assert easy_auc > 0.97 and easy_r2 > 0.75
    assert hard_auc < easy_auc - 0.02
    assert hard_r2 < easy_r2 - 0.1
    assert hard_auc > 0.6 and hard_r2 > 0.2  # harder, still learnable
