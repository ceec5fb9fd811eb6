"""Rule ecg_evaluate: every protocol of a method at every label fraction, fold-10 metrics with
patient-bootstrap CIs, and predictions of exactly the test records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clinssl.ecg.names import METHOD_PROTOCOLS, SUPERCLASSES

OUT = "results/ecg/synthetic"
STORE = [f"{OUT}/signals.npy", f"{OUT}/meta.parquet", f"{OUT}/load_report.json"]


@pytest.mark.parametrize("method", ["simclr", "random", "supervised"])
def test_ecg_evaluate(runner, built_branch, method: str) -> None:
    built = built_branch("ecg")
    extra = [f"{OUT}/ssl/{method}/seed0/encoder.pt"] if method == "simclr" else []
    runner.stage(built.workdir, STORE + extra)
    base = f"{OUT}/eval/{method}/seed0"
    metrics_path, pred_path = runner.run_rule("ecg_evaluate", [f"{base}/metrics.parquet",
                                                               f"{base}/predictions.parquet"])  # fmt: skip
    metrics, pred = pd.read_parquet(metrics_path), pd.read_parquet(pred_path)
    fractions = runner.config["ecg"]["evaluate"]["label_fractions"]
    assert set(metrics["protocol"]) == set(METHOD_PROTOCOLS[method])
    assert sorted(metrics["label_fraction"].unique()) == sorted(fractions)
    assert set(metrics["metric"]) == {"auroc", "auprc", "f1"}
    assert ((metrics["ci_low"] <= metrics["value"]) & (metrics["value"] <= metrics["ci_high"])).all()
    assert metrics["value"].between(0, 1).all()
    meta = pd.read_parquet(runner.path(f"{OUT}/meta.parquet"))
    test = meta[meta["split"] == "test"]
    runs = pred.groupby(["protocol", "label_fraction"])
    assert len(runs) == len(METHOD_PROTOCOLS[method]) * len(fractions)
    for _, run in runs:
        assert sorted(run["ecg_id"]) == sorted(test["ecg_id"])  # fold 10 only
        scores = run[[f"score_{c}" for c in SUPERCLASSES]].to_numpy()
        assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    # fewer labelled records at the smaller fraction, whole patients
    small = metrics[metrics["label_fraction"] == min(fractions)]["n_train_records"].iloc[0]
    full = metrics[metrics["label_fraction"] == max(fractions)]["n_train_records"].iloc[0]
    assert small < full == int((meta["split"] == "train").sum())
