"""The checks-and-findings report (clinssl.icu.benchmark.checks): a real dataset gets no
planted checks, SMART's probe margin is a finding (not a check), small fairness groups are
"too few patients" with their n, and all_passed covers exactly the checks written."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.icu.benchmark import benchmark_report, paired_versus, planted_checks


def _table() -> pd.DataFrame:
    rows = []
    for paradigm, protocol, encoder, value in [
        ("mae", "linear_probe", "transformer", 0.80), ("smart", "linear_probe", "mart", 0.60),
        ("random", "linear_probe", "transformer", 0.70), ("random", "linear_probe", "mart", 0.66),
        ("supervised", "supervised", "transformer", 0.85), ("mae", "finetune", "transformer", 0.84),
        ("classical", "gradient_boosting", "summary_features", 0.86),
        ("classical", "logistic_regression", "summary_features", 0.83),
    ]:  # fmt: skip
        rows.append({"paradigm": paradigm, "encoder": encoder, "protocol": protocol,
                     "task": "mortality_hospital", "kind": "binary", "label_fraction": 1.0,
                     "metric": "auroc", "mean": value, "sd": 0.01, "n_seeds": 1,
                     "ci_low": value - 0.05, "ci_high": value + 0.05})  # fmt: skip
    return pd.DataFrame(rows)


def _probes() -> pd.DataFrame:
    return pd.DataFrame([
        {"paradigm": "mae", "encoder": "transformer", "metric": "auroc", "delta": 0.1,
         "ci_low": 0.03, "ci_high": 0.17, "n_seeds": 3, "seeds_better": 3},
        {"paradigm": "smart", "encoder": "mart", "metric": "auroc", "delta": -0.06,
         "ci_low": -0.12, "ci_high": 0.01, "n_seeds": 3, "seeds_better": 0},
    ])  # fmt: skip


def _groups() -> pd.DataFrame:
    base = {"paradigm": "mae", "encoder": "transformer", "protocol": "linear_probe",
            "task": "mortality_hospital", "label_fraction": 1.0, "seed": 0, "attribute": "race"}  # fmt: skip
    return pd.DataFrame([
        {**base, "group": "White", "n_patients": 300, "eligible": True, "status": "compared"},
        {**base, "group": "Asian", "n_patients": 12, "eligible": False, "status": "too few patients"},
    ])  # fmt: skip


def _report(planted: bool, objective_passed: bool = True) -> dict:
    table = _table()
    checks = planted_checks(table, pd.DataFrame(), probe_comparison=_probes()) if planted else None
    return benchmark_report(
        planted=planted, planted_checks=checks,
        objective_checks={"mae_learns_its_objective": {"passed": objective_passed}},
        table=table, probes=_probes(), paired_classical=pd.DataFrame(),
        fairness_groups=_groups(), tasks=["mortality_hospital"],
        tasks_left_out={"aki_kdigo": "a YAIB mortality24 cohort has labels for mortality_hospital only"},
    )  # fmt: skip


def test_real_data_mode_writes_no_planted_checks() -> None:
    real = _report(planted=False)
    assert real["planted"] is False and "checks" not in real
    assert real["n_checks"] == 1 and real["all_passed"] is True
    assert real["tasks_left_out"] == {"aki_kdigo": "a YAIB mortality24 cohort has labels for mortality_hospital only"}
    assert set(real["findings"]["probe_vs_random"]) == {"probe_mae_vs_random_transformer", "probe_smart_vs_random_mart"}
    assert real["findings"]["ssl_vs_classical"]["mortality_hospital"]["best_classical"] == "gradient_boosting"
    assert _report(planted=False, objective_passed=False)["all_passed"] is False


def test_smart_margin_is_a_finding_not_a_planted_check() -> None:
    report = _report(planted=True)
    assert "probe_mae_beats_random_mortality_hospital" in report["checks"]
    assert not any("smart" in name for name in report["checks"])
    smart = report["findings"]["probe_vs_random"]["probe_smart_vs_random_mart"]
    assert smart["external_reference"] is True and smart["clear_of_test_noise"] is False
    assert smart["paired_margin_ci95"] == [-0.12, 0.01]
    assert report["n_checks"] == 1 + len(report["checks"])
    assert report["all_passed"] == all(c["passed"] for c in report["checks"].values())


def test_small_fairness_groups_are_reported_with_their_size() -> None:
    fairness = _report(planted=False)["fairness"]
    assert fairness["groups_compared"] == 1 and fairness["groups_too_few_patients"] == 1
    assert fairness["attributes"]["race"]["too_few_patients"] == {"Asian": 12}
    assert fairness["attributes"]["race"]["compared"] == {"White": 300}


def test_paired_versus_classical_reference() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.3).astype(float)
    good = y + rng.normal(0, 0.3, n)
    weak = y + rng.normal(0, 1.5, n)
    frames = []
    for paradigm, protocol, score in (("classical", "gradient_boosting", weak), ("mae", "finetune", good)):
        frames.append(pd.DataFrame({"paradigm": paradigm, "encoder": "e", "protocol": protocol,
                                    "task": "mortality_hospital", "label_fraction": 1.0, "seed": 0,
                                    "stay_id": np.arange(n), "patient_id": np.arange(n) // 2,
                                    "y_true": y, "y_score": score}))  # fmt: skip
    paired = paired_versus(pd.concat(frames), {"mortality_hospital": "binary"}, "classical",
                           "gradient_boosting", n_resamples=200)  # fmt: skip
    assert len(paired) == 1 and paired["reference"].iloc[0] == "classical/gradient_boosting"
    row = paired.iloc[0]
    assert row["paradigm"] == "mae" and row["delta_mean"] > 0 and row["ci_low"] > 0
