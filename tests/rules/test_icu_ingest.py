"""Rule icu_ingest: synthetic ricu export (and a YAIB cohort) -> tensors, labels, metadata."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from clinssl.icu.labels import ICU_TASKS

RAW = "results/raw/synthetic/ricu"
OUT = ["values.npy", "mask.npy", "static.parquet", "labels.parquet", "metadata.json"]


def test_icu_ingest(runner, built_branch) -> None:
    built = built_branch("icu")
    runner.stage(built.workdir, [RAW])
    paths = runner.run_rule("icu_ingest", [f"results/icu/synthetic/{f}" for f in OUT])
    values, mask = np.load(paths[0], mmap_mode="r"), np.load(paths[1], mmap_mode="r")
    static, labels = pd.read_parquet(paths[2]), pd.read_parquet(paths[3])
    meta = json.loads(paths[4].read_text())
    n = len(static)
    assert values.shape == (n, 24, meta["D"]) and mask.shape == values.shape
    assert values.dtype == np.float32 and mask.dtype == bool
    assert np.array_equal(np.isnan(values), ~mask)
    assert 0.12 < meta["counts"]["observed_fraction"] < 0.3
    assert list(labels.columns) == ["stay_id", *ICU_TASKS]
    assert np.array_equal(labels["stay_id"], static["stay_id"])

    truth = pd.read_parquet(runner.path(f"{RAW}/truth.parquet"))
    cohort = truth[truth["los_hours"] >= 24]
    assert n == len(cohort)  # every stay >= 24 h has observations in the synthetic data
    assert meta["exclusions"]["short_stay"]["count"] == len(truth) - len(cohort)
    # label prevalences match the planted truth within tolerance
    t = truth.set_index("stay_id").loc[labels["stay_id"]]
    assert abs(labels["mortality_hospital"].mean() - t["died_in_hospital"].mean()) < 0.02
    d = t["death_hours"]
    planted_24h = ((d >= 24) & (d < 48)).mean()
    assert abs(labels["mortality_24h"].mean() - planted_24h) < 0.02
    aki_ok = labels["aki_kdigo"].notna()
    planted_aki = t["aki_planted"][aki_ok.to_numpy()].mean()
    assert abs(labels["aki_kdigo"].mean() - planted_aki) < 0.06
    np.testing.assert_allclose(
        labels["los_remaining"], np.maximum(t["los_hours"] / 24 - 1, 0), atol=1e-3
    )
    assert runner.path("results/logs/icu/ingest_synthetic.log").read_text().strip()


def test_icu_ingest_yaib_cohort(runner, built_branch) -> None:
    built = built_branch("icu")
    runner.stage(built.workdir, ["results/raw/synthetic/yaib"])
    root = "results/raw/synthetic/yaib/mortality24/synthetic"
    runner.config["icu"]["datasets"]["yaib_m24"] = {
        "format": "yaib",
        "root": root,
        "task": "mortality24",
    }
    runner.write_config(runner.config)
    paths = runner.run_rule("icu_ingest", [f"results/icu/yaib_m24/{f}" for f in OUT])
    labels = pd.read_parquet(paths[3])
    outc = pd.read_parquet(runner.path(f"{root}/outc.parquet"))
    assert len(labels) == len(outc)
    merged = labels.merge(outc, on="stay_id")
    np.testing.assert_array_equal(merged["mortality_hospital"], merged["label"])
    meta = json.loads(paths[4].read_text())
    assert meta["source_format"] == "yaib" and meta["yaib_task"] == "mortality24"
