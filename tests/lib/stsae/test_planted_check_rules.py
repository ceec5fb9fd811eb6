"""The ST-SAE planted checks on hand-made results: each check passes exactly at its
threshold's side, the values are the inputs', real data gets findings only."""

from __future__ import annotations

import pandas as pd
import pytest

from clinssl.stsae.planted import planted_checks

K = 64


def _board(ev_topk: float = 0.85, l0_topk: float = 32.0, stab_st: float = 0.6,
           stab_pca: float = 0.5) -> pd.DataFrame:  # fmt: skip
    rows = []
    for seed in (0, 1):
        rows += [
            {"method": "stsae", "n_concepts": K, "seed": seed, "ev": 0.7, "l0": 20.0,
             "consistency": 0.8, "lag1_autocorr": 0.3, "seed_stability": stab_st},
            {"method": "topk", "n_concepts": K, "seed": seed, "ev": ev_topk, "l0": l0_topk,
             "consistency": 0.7, "lag1_autocorr": 0.2, "seed_stability": float("nan")},
            {"method": "plain", "n_concepts": K, "seed": seed, "ev": 0.75, "l0": 18.0,
             "consistency": 0.6, "lag1_autocorr": 0.1 + 0.1 * seed, "seed_stability": float("nan")},
            {"method": "pca", "n_concepts": K, "seed": seed, "ev": 1.0, "l0": 64.0,
             "consistency": 0.5, "lag1_autocorr": 0.1, "seed_stability": stab_pca},
        ]  # fmt: skip
    return pd.DataFrame(rows)


def _aging(r_truth: float = 0.5, r_age: float = 0.05) -> dict:
    return {"correction": "smith", "headline": {"r_delta_corrected_truth": r_truth,
            "r_delta_corrected_age": r_age, "r_delta_truth": 0.1, "r_delta_age": -0.4}}  # fmt: skip


def _grounding(r: float = 0.6) -> dict:
    return {"planted_parameters": {"reflection_delay": {"concept": 3, "r": r},
                                   "systolic_time": {"concept": 5, "r": 0.1}}}  # fmt: skip


def test_all_pass_on_results_inside_every_threshold() -> None:
    report = planted_checks(_board(), _aging(), _grounding(), K, planted=True)
    assert report["all_passed"] is True
    checks = report["checks"]
    assert checks["ev_at_sparse_l0"]["model"] == "topk" and checks["ev_at_sparse_l0"]["value"] == 0.85
    assert checks["concept_tracks_planted_morphology"]["parameter"] == "reflection_delay"
    assert checks["beats_plain_sae"]["value"]["lag1_autocorr"] == pytest.approx(0.3 - 0.15)
    assert checks["beats_pca_seed_stability"]["value"] == pytest.approx(0.1)


@pytest.mark.parametrize(("inputs", "check"), [
    ({"board": _board(ev_topk=0.79)}, "ev_at_sparse_l0"),
    ({"board": _board(l0_topk=33.0)}, "ev_at_sparse_l0"),  # EV is only credited at L0 <= 32
    ({"aging": _aging(r_truth=0.39)}, "delta_tracks_planted_delta"),
    ({"aging": _aging(r_age=-0.11)}, "delta_uncorrelated_with_age"),
    ({"grounding": _grounding(r=-0.49)}, "concept_tracks_planted_morphology"),
    ({"board": _board(stab_st=0.5, stab_pca=0.5)}, "beats_pca_seed_stability"),
])  # fmt: skip
def test_each_check_fails_just_outside_its_threshold(inputs: dict, check: str) -> None:
    report = planted_checks(inputs.get("board", _board()), inputs.get("aging", _aging()),
                            inputs.get("grounding", _grounding()), K, planted=True)  # fmt: skip
    failed = {name for name, c in report["checks"].items() if not c["passed"]}
    assert failed == {check} and report["all_passed"] is False


def test_a_negative_correlation_counts_by_its_size() -> None:
    report = planted_checks(_board(), _aging(), _grounding(r=-0.51), K, planted=True)
    assert report["checks"]["concept_tracks_planted_morphology"]["passed"] is True


def test_without_truth_the_same_values_are_findings() -> None:
    report = planted_checks(_board(), _aging(r_truth=float("nan")), {}, K, planted=False)
    assert report["planted"] is False and "all_passed" not in report
    assert all("passed" not in c for c in report["checks"].values())
    assert report["checks"]["ev_at_sparse_l0"]["value"] == 0.85
