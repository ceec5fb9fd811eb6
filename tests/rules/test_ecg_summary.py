"""Rule ecg_summary: tables over seeds, paired margins of the documented comparisons, and the
planted checks computed from them."""

from __future__ import annotations

import json

import pandas as pd

from clinssl.ecg.names import METHODS

OUT = "results/ecg/synthetic"


def test_ecg_summary(runner, built_branch) -> None:
    built = built_branch("ecg")
    seeds = runner.config["seeds"]
    runner.stage(built.workdir, [f"{OUT}/eval/{m}/seed{s}/{f}" for m in METHODS for s in seeds
                                 for f in ("metrics.parquet", "predictions.parquet")])  # fmt: skip
    summary_path, md, paired_path, checks_path = runner.run_rule(
        "ecg_summary", [f"{OUT}/summary.csv", f"{OUT}/summary.md", f"{OUT}/paired.csv",
                        f"{OUT}/planted_checks.json"])  # fmt: skip
    summary, paired = pd.read_csv(summary_path), pd.read_csv(paired_path)
    metrics = pd.concat(pd.read_parquet(runner.path(f"{OUT}/eval/{m}/seed{s}/metrics.parquet"))
                        for m in METHODS for s in seeds)  # fmt: skip
    row = summary[(summary["method"] == "supervised") & (summary["metric"] == "auroc")
                  & (summary["label_fraction"] == 1.0)]  # fmt: skip
    ref = metrics[(metrics["method"] == "supervised") & (metrics["metric"] == "auroc")
                  & (metrics["label_fraction"] == 1.0)]["value"].mean()  # fmt: skip
    assert abs(row["value"].iloc[0] - ref) < 1e-12
    assert set(paired["a"]) == {"simclr/finetune", "byol/finetune", "simclr/linear_probe",
                                "byol/linear_probe"}  # fmt: skip
    assert ((paired["ci_low"] <= paired["delta"]) & (paired["delta"] <= paired["ci_high"])).all()
    report = json.loads(checks_path.read_text())
    assert report["planted"] is True
    checks = report["checks"]
    assert set(checks) == {"supervised_full_labels_auroc", "ssl_finetune_beats_supervised_low_labels",
                           "ssl_probe_beats_random_probe"}  # fmt: skip
    assert checks["supervised_full_labels_auroc"]["value"] == row["value"].iloc[0]
    assert checks["supervised_full_labels_auroc"]["passed"] == (row["value"].iloc[0] >= 0.85)
    probe = paired[paired["a"].str.endswith("linear_probe")]
    worst = probe.groupby(["a", "label_fraction"])["delta"].mean().min()
    assert abs(checks["ssl_probe_beats_random_probe"]["value"] - worst) < 1e-12
    assert "| supervised | scratch |" in md.read_text()
