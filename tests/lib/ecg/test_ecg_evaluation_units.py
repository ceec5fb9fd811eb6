"""ECG evaluation pieces: label fractions, macro F1 thresholds, summary and planted checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from clinssl.ecg.evaluation import label_subset
from clinssl.ecg.names import SUPERCLASSES
from clinssl.ecg.summary import paired_table, planted_checks, summary_table
from clinssl.stats.bootstrap import evaluate_macro_f1
from clinssl.stats.metrics import f1_thresholds, macro_f1


def _meta(n_patients: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    patients = np.repeat(np.arange(n_patients), rng.integers(1, 3, n_patients))
    labels = (rng.random((patients.size, 5)) < [0.2, 0.1, 0.25, 0.45, 0.25]).astype(np.int8)
    frame = pd.DataFrame(labels, columns=list(SUPERCLASSES))
    frame.insert(0, "patient_id", patients)
    frame.insert(0, "ecg_id", np.arange(patients.size) * 3 + 1)
    frame["split"] = "train"
    return frame


def test_label_subset_is_patient_respecting_stratified_and_seeded() -> None:
    meta = _meta()
    rows = np.arange(len(meta))
    part = label_subset(meta, rows, 0.1, seed=0)
    assert np.array_equal(part, label_subset(meta, rows, 0.1, seed=0))
    assert not np.array_equal(part, label_subset(meta, rows, 0.1, seed=1))
    chosen = set(meta["patient_id"].iloc[part])
    assert set(meta.index[meta["patient_id"].isin(chosen)]) == set(part)  # whole patients
    n = meta["patient_id"].nunique()
    assert 0.08 * n <= len(chosen) <= 0.1 * n + 6  # ceil per stratum
    assert (meta.iloc[part][list(SUPERCLASSES)].sum() > 0).all()  # every class represented
    assert np.array_equal(label_subset(meta, rows, 1.0, seed=0), rows)


def test_macro_f1_at_validation_thresholds() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((400, 5)) < 0.3).astype(float)
    s = np.clip(0.35 * y + 0.7 * rng.random((400, 5)), 0, 1)
    th = f1_thresholds(y, s)
    ours = float(macro_f1(y, s, th)[0])
    assert ours == pytest.approx(f1_score(y, (s >= th).astype(int), average="macro"))
    for j in range(5):  # the chosen threshold is the best on these data
        best = max(f1_score(y[:, j], (s[:, j] >= t).astype(int)) for t in np.unique(s[:, j]))
        assert f1_score(y[:, j], (s[:, j] >= th[j]).astype(int)) == pytest.approx(best)
    ci = evaluate_macro_f1(y, s, th, groups=np.arange(400) // 2, n_resamples=200, seed=0)
    assert ci["ci_low"] <= ci["value"] <= ci["ci_high"]


def _predictions(method: str, protocol: str, signal: float, seed: int, fraction: float):
    rng = np.random.default_rng(seed)
    n = 300
    y = (np.random.default_rng(99).random((n, 5)) < 0.3).astype(int)
    s = np.clip(signal * y + rng.random((n, 5)), 0, None)
    frame = pd.DataFrame({"ecg_id": np.arange(n), "patient_id": np.arange(n) // 2,
                          "method": method, "protocol": protocol,
                          "label_fraction": fraction, "seed": seed})  # fmt: skip
    for j, c in enumerate(SUPERCLASSES):
        frame[f"label_{c}"], frame[f"score_{c}"] = y[:, j], s[:, j]
    return frame


def test_paired_margins_and_planted_checks() -> None:
    runs = [("simclr", "finetune", 1.0), ("byol", "finetune", 0.3), ("supervised", "scratch", 0.5),
            ("simclr", "linear_probe", 0.8), ("byol", "linear_probe", 0.6),
            ("random", "linear_probe", 0.2)]  # fmt: skip
    preds = pd.concat([_predictions(m, p, sig, seed, f) for m, p, sig in runs
                       for seed in (0, 1) for f in (0.1, 1.0)])  # fmt: skip
    paired = paired_table(preds, n_resamples=100, confidence=0.95)
    assert len(paired) == 4 * 2 * 2  # 4 comparisons x 2 seeds x 2 fractions
    row = paired[(paired["a"] == "simclr/finetune") & (paired["label_fraction"] == 0.1)]
    assert (row["delta"] > 0).all() and (row["ci_low"] > 0).all()
    byol = paired[(paired["a"] == "byol/finetune")]
    assert (byol["delta"] < 0).all()
    metrics = pd.DataFrame([{"method": "supervised", "protocol": "scratch", "label_fraction": 1.0,
                             "seed": s, "metric": "auroc", "value": v, "ci_low": v - 0.02,
                             "ci_high": v + 0.02, "n_train_records": 100}
                            for s, v in ((0, 0.9), (1, 0.86))])  # fmt: skip
    report = planted_checks(summary_table(metrics), paired, [0.1, 1.0])
    checks = report["checks"]
    assert checks["supervised_full_labels_auroc"]["value"] == pytest.approx(0.88)
    assert checks["supervised_full_labels_auroc"]["passed"]
    assert checks["ssl_finetune_beats_supervised_low_labels"]["passed"]
    assert checks["ssl_finetune_beats_supervised_low_labels"]["best"].startswith("simclr")
    assert checks["ssl_probe_beats_random_probe"]["passed"] and report["all_passed"]
    worse = paired.copy()
    worse.loc[worse["a"] == "byol/linear_probe", "delta"] = -0.01
    assert not planted_checks(summary_table(metrics), worse, [0.1, 1.0])["checks"][
        "ssl_probe_beats_random_probe"]["passed"]  # fmt: skip


def test_logistic_head_equals_scikit_learn() -> None:
    import torch
    from sklearn.linear_model import LogisticRegression

    from clinssl.ecg.evaluation import fit_logistic_head

    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 16))
    y = (x @ rng.normal(size=(16, 3)) + rng.normal(size=(800, 3)) > 0).astype(float)
    for c in (0.01, 1.0):
        head = fit_logistic_head(torch.from_numpy(x), torch.from_numpy(y), c)
        for j in range(3):
            ref = LogisticRegression(C=c, max_iter=5000, tol=1e-10).fit(x, y[:, j])
            np.testing.assert_allclose(head.weight.detach().numpy()[j], ref.coef_[0], atol=1e-4)
            assert abs(float(head.bias[j]) - ref.intercept_[0]) < 1e-4
