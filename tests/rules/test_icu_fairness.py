"""Rule icu_fairness: per-group metrics for sex, age group and race of every prediction set,
eligibility by unique patients, and gap/parity summaries."""

from __future__ import annotations

import pandas as pd

DATA = "results/icu/synthetic"
PARADIGMS = ("mae", "jepa", "contrastive", "smart", "supervised", "random")


def test_icu_fairness(runner, built_branch) -> None:
    preds = [f"{DATA}/ssl/{p}/seed0/predictions.parquet" for p in PARADIGMS]
    preds.append(f"{DATA}/ssl/classical/predictions.parquet")
    runner.stage(built_branch("icu").workdir, [f"{DATA}/static.parquet", *preds])
    groups_path, summary_path = runner.run_rule(
        "icu_fairness",
        [f"{DATA}/ssl/fairness_groups.parquet", f"{DATA}/ssl/fairness_summary.parquet"],
    )
    groups = pd.read_parquet(groups_path)
    summary = pd.read_parquet(summary_path)
    fair = runner.config["icu"]["ssl"]["fairness"]
    assert set(groups["attribute"]) == {"sex", "age_group", "race"}
    assert set(groups.loc[groups["attribute"] == "age_group", "group"]) <= {
        "18-44",
        "45-64",
        "65-79",
        "80+",
    }
    assert (groups["eligible"] == (groups["n_patients"] >= fair["min_group_size"])).all()
    assert (groups["status"] == groups["eligible"].map({True: "compared", False: "too few patients"})).all()
    assert "classical" in set(summary["paradigm"])
    n_sets = sum(
        pd.read_parquet(runner.path(p))
        .groupby(["paradigm", "encoder", "protocol", "task", "label_fraction"])
        .ngroups
        for p in preds
    )
    assert (
        summary.groupby(["paradigm", "encoder", "protocol", "task", "label_fraction"]).ngroups
        == n_sets
    )
    binary = summary[summary["task"] != "los_remaining"]
    assert {
        "auroc_gap",
        "worst_group_auroc",
        "demographic_parity_diff",
        "equalized_odds_diff",
    } <= set(binary.columns)
    two_groups = binary[binary["n_groups"] >= 2]
    assert two_groups["demographic_parity_diff"].between(0, 1).all()
    assert (two_groups["auroc_gap"].dropna() >= 0).all()
    los = summary[summary["task"] == "los_remaining"]
    assert los["mae_gap"].notna().any()
