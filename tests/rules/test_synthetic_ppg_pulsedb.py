"""Rule synthetic_ppg_pulsedb: PulseDB v7.3 layout + truth, readable by the PulseDB reader."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.ppg.io.pulsedb import iter_subset_file, read_segment_file


def test_synthetic_ppg_pulsedb(runner) -> None:
    cfg = runner.config["ppg"]["synthetic"]
    root = "results/raw/synthetic/pulsedb"
    seg_dir, subset_dir, truth_path = runner.run_rule(
        "synthetic_ppg_pulsedb",
        [f"{root}/Segment_Files", f"{root}/Subset_Files", f"{root}/truth.parquet"],
    )
    truth = pd.read_parquet(truth_path)
    files = sorted((seg_dir / "PulseDB_MIMIC").glob("p*.mat"))
    assert len(files) == cfg["n_subjects"] == truth["subject_id"].nunique()
    assert len(truth) == cfg["n_subjects"] * cfg["windows_per_subject"]
    assert {"age", "vascular_age", "delta", "htn", "diabetes", "pvc", "artifact"} <= set(truth)
    assert truth["pvc"].sum() > 0 and truth["bad"].sum() > 0

    data = read_segment_file(files[0])
    sid = files[0].stem
    mine = truth[truth["subject_id"] == sid]
    assert data.signals.shape == (len(mine), 1250)
    assert set(data.meta["record"]) == set(mine["record"])
    assert np.allclose(data.meta["age"], mine["age"].iloc[0])
    flat = mine["artifact"].to_numpy() == "flat"
    order = np.lexsort((data.meta["segment"], data.meta["record"]))
    assert all(np.ptp(w) == 0 for w in data.signals[order][flat])

    (subset,) = subset_dir.glob("*_Subset.mat")
    chunks = list(iter_subset_file(subset))
    n = sum(len(c.meta) for c in chunks)
    assert n == cfg["subset_subjects"] * cfg["windows_per_subject"]
    assert runner.path("results/logs/synthetic/ppg_pulsedb.log").read_text().strip()
