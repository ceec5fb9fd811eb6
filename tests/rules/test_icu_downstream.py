"""Rule icu_downstream: metrics of every task × fraction × protocol with CIs, predictions of
the test stays; the planted severity is learned; the SSL job probes the staged encoder.

(Whether pretraining beats a random initialisation is not measurable on the tiny test
cohort after one pretraining epoch; tests/lib/icu_ssl/test_planted_trajectory.py checks it
on the generator's trajectory signal, and the default run's planted_checks.json reports it.)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.icu.labels import ICU_TASKS

DATA = "results/icu/synthetic"
INPUTS = [
    f"{DATA}/{f}"
    for f in ("values.npy", "mask.npy", "static.parquet", "labels.parquet", "metadata.json")
] + [f"{DATA}/splits/seed0/{f}" for f in ("splits.parquet", "normalization.json")]


def test_icu_downstream(runner, built_branch) -> None:
    built = built_branch("icu")
    runner.stage(built.workdir, [*INPUTS, f"{DATA}/ssl/mae/seed0/encoder.pt"])
    targets = [
        f"{DATA}/ssl/{p}/seed0/{f}"
        for p in ("mae", "supervised", "random")
        for f in ("metrics.parquet", "predictions.parquet")
    ]
    outputs = runner.run_rule("icu_downstream", targets)
    metrics = pd.concat([pd.read_parquet(p) for p in outputs[0::2]], ignore_index=True)
    predictions = pd.concat([pd.read_parquet(p) for p in outputs[1::2]], ignore_index=True)
    ssl = runner.config["icu"]["ssl"]
    fractions = set(ssl["downstream"].get("label_fractions", [0.1, 1.0]))
    expected = {
        ("mae", "linear_probe"), ("mae", "finetune"), ("supervised", "supervised"),
        ("random", "linear_probe"),
    }  # fmt: skip
    assert set(zip(metrics["paradigm"], metrics["protocol"], strict=True)) == expected
    for (paradigm, protocol), sub in metrics.groupby(["paradigm", "protocol"]):
        assert set(sub["task"]) == set(ICU_TASKS), (paradigm, protocol)
        assert set(sub["label_fraction"]) == fractions
    binary = metrics[metrics["kind"] == "binary"]
    assert set(binary["metric"]) == {"auroc", "auprc", "brier", "ece"}
    assert set(metrics.loc[metrics["kind"] == "regression", "metric"]) == {"mae", "mse", "r2"}
    # AUROC/AUPRC are undefined (NaN) only where the tiny test split has a single class
    undefined = binary[binary["value"].isna()]
    assert set(undefined["metric"]) <= {"auroc", "auprc"}
    assert set(undefined["task"]) <= {"mortality_24h"}
    assert binary["value"].dropna().between(0, 1).all()
    defined = metrics.dropna(subset=["ci_low", "ci_high"])
    assert len(defined) >= len(metrics) - len(undefined)
    assert (defined["ci_low"] <= defined["ci_high"]).all()
    assert set(np.unique(metrics.loc[metrics["paradigm"] == "random", "encoder"])) == {
        "mart",
        "transformer",
    }
    # predictions are exactly the labeled test stays
    splits = pd.read_parquet(runner.path(f"{DATA}/splits/seed0/splits.parquet"))
    labels = pd.read_parquet(runner.path(f"{DATA}/labels.parquet")).merge(splits, on="stay_id")
    test = labels[labels["split"] == "test"]
    aki = predictions[(predictions["task"] == "aki_kdigo") & (predictions["protocol"] == "supervised")
                      & (predictions["label_fraction"] == 1.0)]  # fmt: skip
    assert set(aki["stay_id"]) == set(test.loc[test["aki_kdigo"].notna(), "stay_id"])
    # planted truth on the tiny test cohort (looser than the default-data thresholds)
    full = metrics[(metrics["label_fraction"] == 1.0) & (metrics["metric"] == "auroc")]
    sup = full[full["protocol"] == "supervised"].set_index("task")["value"]
    assert sup[["mortality_hospital", "aki_kdigo"]].mean() > 0.65, sup
    probe = full[full["protocol"] == "linear_probe"]
    mae_probe = probe[probe["paradigm"] == "mae"].set_index("task")["value"]
    assert mae_probe[["mortality_hospital", "aki_kdigo"]].mean() > 0.65, mae_probe
    # the SSL job probes the staged encoder: not the random transformer's features
    probes = predictions[(predictions["protocol"] == "linear_probe")
                         & (predictions["task"] == "mortality_hospital")]  # fmt: skip
    mae_scores = probes[probes["paradigm"] == "mae"].sort_values(["label_fraction", "stay_id"])
    rnd_scores = probes[(probes["paradigm"] == "random") & (probes["encoder"] == "transformer")]
    rnd_scores = rnd_scores.sort_values(["label_fraction", "stay_id"])
    assert len(mae_scores) == len(rnd_scores) > 0
    assert not np.allclose(mae_scores["y_score"], rnd_scores["y_score"])
    trained = metrics[metrics["protocol"] != "linear_probe"]
    assert trained["epochs_run"].between(1, ssl["downstream"]["epochs"]).all()
    assert metrics.loc[metrics["protocol"] == "linear_probe", "regularization"].notna().all()
    assert runner.path("results/benchmarks/icu/ssl/downstream_synthetic_mae_seed0.tsv").exists()
