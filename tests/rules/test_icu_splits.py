"""Rule icu_splits: patient-level splits stratified on hospital mortality, and train-only
normalization statistics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

BASE = "results/icu/synthetic"


def test_icu_splits(runner, built_branch) -> None:
    built = built_branch("icu")
    runner.stage(
        built.workdir,
        [f"{BASE}/{f}" for f in ("values.npy", "mask.npy", "static.parquet", "labels.parquet",
                                  "metadata.json")],  # fmt: skip
    )
    targets = [
        f"{BASE}/splits/seed{s}/{f}"
        for s in (0, 3)
        for f in ("splits.parquet", "normalization.json")
    ]
    runner.config["seeds"] = [0, 3]
    runner.write_config(runner.config)
    paths = runner.run_rule("icu_splits", targets)
    static = pd.read_parquet(runner.path(f"{BASE}/static.parquet"))
    splits0, splits3 = pd.read_parquet(paths[0]), pd.read_parquet(paths[2])
    for splits in (splits0, splits3):
        assert np.array_equal(splits["stay_id"], static["stay_id"])
        assert set(splits["split"]) == {"train", "val", "test"}
        # no patient appears in two splits
        assert (splits.groupby("patient_id")["split"].nunique() == 1).all()
        frac = splits.drop_duplicates("patient_id")["split"].value_counts(normalize=True)
        assert abs(frac["train"] - 0.7) < 0.02
    assert not splits0["split"].equals(splits3["split"])  # the seed changes the split

    norm = json.loads(paths[1].read_text())
    values = np.load(runner.path(f"{BASE}/values.npy"))
    mask = np.load(runner.path(f"{BASE}/mask.npy"))
    train = (splits0["split"] == "train").to_numpy()
    j = norm["feature_names"].index("hr")
    hr = values[train][:, :, j][mask[train][:, :, j]].astype(np.float64)
    assert (
        norm["mean"][j] == np.float64(hr.mean()).item() or abs(norm["mean"][j] - hr.mean()) < 1e-9
    )
    assert abs(norm["std"][j] - hr.std()) < 1e-9
    every = values[:, :, j][mask[:, :, j]].astype(np.float64)
    assert abs(norm["mean"][j] - every.mean()) > 1e-6  # val/test values did not enter
    assert norm["n_observed"][j] == len(hr) and norm["seed"] == 0
    # stratified on hospital mortality: each split's positive share of its labelled
    # stays is close to the cohort's (a patient counts in one stratum)
    assert norm["stratified_by"] == "mortality_hospital"
    labels = pd.read_parquet(runner.path(f"{BASE}/labels.parquet")).merge(splits0, on="stay_id")
    y = labels.dropna(subset=["mortality_hospital"])
    positives = y.groupby("split")["mortality_hospital"].sum().astype(int).to_dict()
    assert positives == norm["stratum_positives"]
    patients = y.groupby("patient_id").agg(split=("split", "first"), y=("mortality_hospital", "max"))
    share = patients.groupby("split")["y"].sum() / patients["y"].sum()
    size = patients["split"].value_counts(normalize=True)
    assert ((share - size).abs() < 0.06).all(), (share, size)
