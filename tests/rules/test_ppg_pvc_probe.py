"""Rule ppg_pvc_probe: the grouped-CV probe recovers a signal planted in the embedding (the
null case, no signal → AUC CI covering 0.5, is checked in tests/lib/ppg/test_ppg_probe.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

OUT = "results/ppg/synthetic"
TARGETS = [f"{OUT}/pvc_probe/metrics.json", f"{OUT}/pvc_probe/predictions.csv"]


def _run_with_z(runner, built, z: np.ndarray | None):
    runner.stage(built.workdir, [f"{OUT}/windows.parquet", f"{OUT}/embeddings/himae/z.npy"])
    if z is not None:
        np.save(runner.path(f"{OUT}/embeddings/himae/z.npy"), z.astype(np.float32))
    metrics_path, pred_path = runner.run_rule("ppg_pvc_probe", TARGETS)
    return json.loads(metrics_path.read_text()), pd.read_csv(pred_path)


def test_ppg_pvc_probe(runner, built_branch) -> None:
    built = built_branch("ppg")
    table = pd.read_parquet(built.path(f"{OUT}/windows.parquet"))
    rng = np.random.default_rng(0)
    planted = rng.normal(size=(len(table), 16))
    planted[:, :3] += 2.0 * table["pvc"].to_numpy()[:, None]  # planted PVC direction
    metrics, pred = _run_with_z(runner, built, planted)
    usable = table["qc_pass"]
    assert len(pred) == int(usable.sum()) == metrics["n_windows"]
    assert list(pred.columns[:5]) == ["subject", "record", "window", "label", "p_pvc"]
    assert pred["p_pvc"].between(0, 1).all()
    assert metrics["n_positive"] == int(table.loc[usable, "pvc"].sum())
    auroc = metrics["auroc"]
    assert auroc["value"] >= 0.9
    assert auroc["ci_low"] <= auroc["value"] <= auroc["ci_high"] and auroc["ci_low"] < 1.0
    assert metrics["bootstrap"]["unit"] == "subject"
    assert set(metrics) >= {"auroc", "auprc", "brier", "ece"}
    # every subject's windows are predicted by a model that never saw that subject
    assert (pred.groupby("subject")["fold"].nunique() == 1).all()
