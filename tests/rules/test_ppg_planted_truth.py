"""Rule ppg_planted_truth: the planted-truth report of the tiny synthetic run."""

from __future__ import annotations

import json

OUT = "results/ppg/synthetic"
TASKS = ("pvc", "age", "htn", "diabetes")


def test_ppg_planted_truth(runner, built_branch) -> None:
    built = built_branch("ppg")
    runner.stage(built.workdir, [f"{OUT}/windows.parquet", f"{OUT}/embeddings/himae/z.npy",
                                 *[f"{OUT}/probes/{t}/metrics.json" for t in TASKS],
                                 "results/raw/synthetic/pulsedb/truth.parquet"])  # fmt: skip
    (path,) = runner.run_rule("ppg_planted_truth", [f"{OUT}/planted_truth.json"])
    report = json.loads(path.read_text())
    checks = report["checks"]
    assert set(checks) == {"bad_rejected", "good_rejected", "pvc_beats_random_init",
                           *[f"{t}_above_chance" for t in TASKS]}  # fmt: skip
    pvc = json.loads(runner.path(f"{OUT}/probes/pvc/metrics.json").read_text())
    margin = pvc["margins"]["1.0"]["himae - himae_random"]
    beat = checks["pvc_beats_random_init"]
    assert beat["value"] == margin["delta"] and beat["ci_low"] == margin["ci_low"]
    assert beat["passed"] == (margin["ci_low"] > 0)
    for task in TASKS:
        metrics = json.loads(runner.path(f"{OUT}/probes/{task}/metrics.json").read_text())
        metric = metrics["margin_metric"]
        full = [by["1.0"][metric]["value"] for by in metrics["results"].values()]
        check = checks[f"{task}_above_chance"]
        assert check["value"] == min(full)
        assert check["passed"] == (min(full) > metrics["chance"])
        assert report["probes"][task] == metrics
    # what the tiny config can show: QC is recovered even at this size
    assert checks["bad_rejected"]["passed"] and checks["good_rejected"]["passed"]
    assert report["qc"]["bad_windows"] > 0
    for artifact, entry in report["qc"]["rejected_by_artifact"].items():
        if artifact != "none":
            assert entry["share"] >= 0.8, artifact
    assert 0 < report["age"]["age_r2"] <= 1 and report["cohort"]["n_subjects"] > 0
