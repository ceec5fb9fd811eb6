"""Rule events_evaluate: test and validation metrics with patient-cluster bootstrap CIs that
match a recomputation from the written predictions, and the calibration curve."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from eventsinputs import MODEL, ROOT, TENSORS, settings

from clinssl.stats.metrics import auroc


def test_events_evaluate(runner, built_branch) -> None:
    built = built_branch("events")
    st = settings(built)
    runner.stage(built.workdir, [str(TENSORS.tensors), str(MODEL.model)])
    metrics_path, summary_path, predictions_path, calibration_path = runner.run_rule(
        "events_evaluate", [f"{ROOT}/evaluation/{n}" for n in
                            ("metrics.csv", "metrics.json", "predictions.parquet", "calibration.csv")])  # fmt: skip
    metrics = pd.read_csv(metrics_path)
    assert list(metrics.columns[:5]) == ["split", "metric", "value", "ci_low", "ci_high"]
    assert set(metrics["split"]) == {"val", "test"}
    assert set(metrics["metric"]) == {"auroc", "auprc", "brier", "ece"}
    predictions = pd.read_parquet(predictions_path)
    test = predictions[predictions["split"] == "test"]
    row = metrics.set_index(["split", "metric"]).loc[("test", "auroc")]
    assert abs(row["value"] - auroc(test["label"].to_numpy(), test["probability"].to_numpy())[0]) < 1e-9
    assert row["ci_low"] <= row["value"] <= row["ci_high"]
    assert row["n_stays"] == len(test) and row["n_patients"] == test["subject_id"].nunique()
    brier = metrics.set_index(["split", "metric"]).loc[("test", "brier"), "value"]
    assert np.isclose(brier, ((test["probability"] - test["label"]) ** 2).mean())
    curve = pd.read_csv(calibration_path)
    assert len(curve) == st["evaluate"]["calibration_bins"] and curve["n"].sum() == len(test)
    summary = json.loads(summary_path.read_text())
    assert summary["n_bootstrap"] == st["evaluate"]["n_bootstrap"] and summary["cluster"] == "subject_id"
