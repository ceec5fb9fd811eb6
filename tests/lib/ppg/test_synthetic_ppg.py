"""The synthetic PPG cohort: determinism, streaming independence, planted structure."""

from __future__ import annotations

import numpy as np
import pytest

from clinssl.ppg.synthetic import (
    PPGCohortConfig,
    beat_shape,
    draw_subject,
    generate_subject,
    iter_cohort,
)


def test_subject_is_a_pure_function_of_seed_and_index() -> None:
    small = PPGCohortConfig(n_subjects=3, windows_per_subject=6, seed=5)
    large = PPGCohortConfig(n_subjects=50, windows_per_subject=6, seed=5)
    a, b = generate_subject(small, 2), generate_subject(large, 2)
    np.testing.assert_array_equal(a.signals, b.signals)
    assert a.truth.equals(b.truth)
    other = generate_subject(PPGCohortConfig(n_subjects=3, windows_per_subject=6, seed=6), 2)
    assert not np.allclose(a.signals, other.signals)


def test_planted_vascular_age_and_labels() -> None:
    cfg = PPGCohortConfig(n_subjects=400, windows_per_subject=1, records_per_subject=1)
    subj = [draw_subject(cfg, i) for i in range(cfg.n_subjects)]
    age = np.array([s["age"] for s in subj])
    delta = np.array([s["delta"] for s in subj])
    htn = np.array([s["htn"] for s in subj])
    assert 20 <= age.min() and age.max() <= 90
    assert 4.0 < delta.std() < 8.0  # ≈ N(0, 6 y)
    assert abs(delta.mean()) < 1.5
    assert delta[htn == 1].mean() > delta[htn == 0].mean() + 2.0  # δ tracks hypertension
    assert htn[age > 70].mean() > htn[age < 40].mean()


def test_morphology_moves_with_vascular_age() -> None:
    """Pulse shape changes smoothly and monotonically with vascular age (what encoders learn)."""
    tau = np.arange(0, 1.0, 1 / 125)
    beats = {age: beat_shape(tau, float(age)) for age in (25, 30, 55, 85)}

    def dist(a: int, b: int) -> float:
        return float(np.linalg.norm(beats[a] - beats[b]))

    assert dist(25, 30) < dist(25, 55) < dist(25, 85)
    # stiffer arteries: larger reflected-wave share in the late-systolic window
    late = (tau > 0.25) & (tau < 0.4)
    assert beats[85][late].sum() > beats[25][late].sum()


def test_pvc_and_artifacts_are_planted_as_labelled() -> None:
    cfg = PPGCohortConfig(n_subjects=30, windows_per_subject=20, pvc_fraction=0.2,
                          flat_fraction=0.05, nan_fraction=0.05)  # fmt: skip
    truth = np.concatenate(
        [sw.truth[["pvc", "n_pvc", "bad"]].to_numpy() for sw in iter_cohort(cfg)]
    )
    pvc, n_pvc, bad = truth.T
    assert 0.1 < pvc.mean() < 0.3
    assert (n_pvc[pvc == 1] >= 1).all() and (n_pvc[pvc == 0] == 0).all()
    assert not (pvc.astype(bool) & bad.astype(bool)).any()  # exclusive
    sw = next(iter_cohort(cfg))
    for w, art in zip(sw.signals, sw.truth["artifact"], strict=True):
        if art == "flat":
            assert np.ptp(w) == 0
        elif art == "nan":
            assert np.isnan(w).mean() >= 0.6
        else:
            assert np.isfinite(w).all()


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="records_per_subject"):
        PPGCohortConfig(windows_per_subject=2, records_per_subject=3)
    with pytest.raises(ValueError, match="sum to < 1"):
        PPGCohortConfig(pvc_fraction=0.6, flat_fraction=0.5)
