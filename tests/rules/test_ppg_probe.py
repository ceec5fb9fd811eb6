"""Rule ppg_probe: every feature set at every label fraction on the same rows, with paired
margins pretrained − floor; a signal planted in HiMAE's z is found and the margin says so
(probe statistics on their own: tests/lib/ppg/test_ppg_probe.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

OUT = "results/ppg/synthetic"
INPUTS = [f"{OUT}/windows.parquet", f"{OUT}/embeddings/himae/z.npy",
          f"{OUT}/embeddings/himae_random/z.npy", f"{OUT}/features/classical.npy"]  # fmt: skip


def _run(runner, built, task: str, z: np.ndarray | None = None):
    runner.stage(built.workdir, INPUTS)
    if z is not None:
        np.save(runner.path(f"{OUT}/embeddings/himae/z.npy"), z.astype(np.float32))
    targets = [f"{OUT}/probes/{task}/metrics.json", f"{OUT}/probes/{task}/predictions.csv"]
    metrics_path, pred_path = runner.run_rule("ppg_probe", targets)
    return json.loads(metrics_path.read_text()), pd.read_csv(pred_path)


def test_ppg_probe_pvc_with_a_planted_signal(runner, built_branch) -> None:
    built = built_branch("ppg")
    table = pd.read_parquet(built.path(f"{OUT}/windows.parquet"))
    planted = np.random.default_rng(0).normal(size=(len(table), 16))
    planted[:, :3] += 2.0 * table["pvc"].to_numpy()[:, None]  # planted PVC direction
    metrics, pred = _run(runner, built, "pvc", planted)
    fractions = runner.config["ppg"]["probe"].get("label_fractions", [0.1, 1.0])
    keys = {str(float(f)) for f in fractions}
    usable = table["qc_pass"]
    assert metrics["n_rows"] == int(usable.sum()) and metrics["level"] == "window"
    assert metrics["n_positive"] == int(table.loc[usable, "pvc"].sum())
    assert set(metrics["results"]) == {"himae", "himae_random", "classical"}
    full = metrics["results"]["himae"]["1.0"]["auroc"]
    assert full["value"] >= 0.9 and full["ci_low"] <= full["value"] <= full["ci_high"] < 1.0 + 1e-9
    assert all(set(by) == keys for by in metrics["results"].values())
    assert metrics["bootstrap"]["unit"] == "subject"
    for by_fraction in metrics["results"].values():
        assert set(by_fraction["1.0"]) >= {"auroc", "auprc", "brier", "ece", "C"}
    margin = metrics["margins"]["1.0"]["himae - himae_random"]
    assert margin["metric"] == "auroc" and margin["ci_low"] > 0
    assert set(metrics["margins"]["1.0"]) == {"himae - himae_random", "himae - classical"}
    assert len(pred) == metrics["n_rows"] * 3 * len(keys)
    assert pred["score"].between(0, 1).all()
    # every subject's windows are predicted by a model that never saw that subject
    assert (pred.groupby("subject")["fold"].nunique() == 1).all()


def test_ppg_probe_subject_level_task(runner, built_branch) -> None:
    built = built_branch("ppg")
    metrics, pred = _run(runner, built, "htn")
    table = pd.read_parquet(built.path(f"{OUT}/windows.parquet"))
    subjects = table.loc[table["qc_pass"], "subject_id"].nunique()
    assert metrics["level"] == "subject" and metrics["n_rows"] == subjects
    assert metrics["kind"] == "binary" and 0 < metrics["prevalence"] < 1
    one = pred[(pred["encoder"] == "himae") & (pred["label_fraction"] == 1.0)]
    assert len(one) == subjects and one["subject"].is_unique


def test_ppg_probe_age_is_a_regression(runner, built_branch) -> None:
    metrics, _ = _run(runner, built_branch("ppg"), "age")
    assert metrics["kind"] == "regression" and metrics["margin_metric"] == "r2"
    assert set(metrics["results"]["himae"]["1.0"]) >= {"mae", "r2", "alpha"}
