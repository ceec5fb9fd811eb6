"""Rule ecg_load: the signal store of the synthetic PTB-XL with the benchmark's labels and
folds, and the counted drop of records without a diagnostic statement."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import wfdb

from clinssl.ecg.names import SUPERCLASSES

ROOT = "results/raw/synthetic/ptbxl"
OUT = "results/ecg/synthetic"


def test_ecg_load(runner, built_branch) -> None:
    built = built_branch("ecg")
    runner.stage(built.workdir, [f"{ROOT}/ptbxl_database.csv", f"{ROOT}/scp_statements.csv",
                                 f"{ROOT}/records100", f"{ROOT}/truth.parquet"])  # fmt: skip
    signals, meta_path, report_path = runner.run_rule(
        "ecg_load", [f"{OUT}/signals.npy", f"{OUT}/meta.parquet", f"{OUT}/load_report.json"])
    x = np.load(signals, mmap_mode="r")
    meta = pd.read_parquet(meta_path)
    report = json.loads(report_path.read_text())
    db = pd.read_csv(runner.path(f"{ROOT}/ptbxl_database.csv"))
    assert x.dtype == np.float32 and x.shape == (len(meta), 12, 1000)
    assert report["n_database"] == len(db) == len(meta) + report["dropped_no_diagnostic"]
    assert report["dropped_no_diagnostic"] > 0
    assert set(meta["split"]) == {"train", "val", "test"}
    folds = meta.groupby("split")["strat_fold"].agg(["min", "max"])
    assert folds.loc["train", "max"] <= 8 and folds.loc["val"].tolist() == [9, 9]
    assert folds.loc["test"].tolist() == [10, 10]
    assert (meta[list(SUPERCLASSES)].sum(axis=1) > 0).all()  # every kept record has a label
    truth = pd.read_parquet(runner.path(f"{ROOT}/truth.parquet")).set_index("ecg_id")
    for c in SUPERCLASSES:  # the benchmark's labels are the planted ones
        assert (meta[c].to_numpy() == truth.loc[meta["ecg_id"], c].to_numpy()).all(), c
    row = db.set_index("ecg_id").loc[int(meta["ecg_id"].iloc[3])]
    ref, _ = wfdb.rdsamp(str(runner.path(f"{ROOT}/{row['filename_lr']}")))
    np.testing.assert_allclose(x[3].T, ref, atol=1e-6)  # equal to wfdb's reading
