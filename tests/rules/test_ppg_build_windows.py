"""Rule ppg_build_windows: the window store contract, QC vs planted truth, splits, rerun."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from clinssl.ppg.windows import REQUIRED_COLUMNS

RAW = "results/raw/synthetic/pulsedb"
OUT = "results/ppg/synthetic"
TARGETS = [f"{OUT}/windows.npy", f"{OUT}/windows.parquet", f"{OUT}/qc_report.json"]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def staged(runner, built_branch):
    runner.stage(built_branch("ppg").workdir, [f"{RAW}/Segment_Files", f"{RAW}/Subset_Files",
                                                f"{RAW}/truth.parquet"])  # fmt: skip
    return runner


def test_ppg_build_windows(staged) -> None:
    npy, table_path, report_path = staged.run_rule("ppg_build_windows", TARGETS)
    windows = np.load(npy, mmap_mode="r")
    table = pd.read_parquet(table_path)
    truth = pd.read_parquet(staged.path(f"{RAW}/truth.parquet"))
    report = json.loads(report_path.read_text())
    assert windows.dtype == np.float32 and windows.shape == (len(table), 1250)
    assert set(REQUIRED_COLUMNS) <= set(table.columns) and {"pvc", "htn", "diabetes"} <= set(table)
    assert len(table) == len(truth)  # PulseDB windows: none all-NaN... unless planted
    assert report["n_windows"] == len(table) and report["source_fs"] == [125.0]

    merged = table.merge(truth, on=["subject_id", "record", "window_index"], suffixes=("", "_t"))
    assert len(merged) == len(table)
    assert (merged["pvc"] == merged["pvc_t"]).all()
    assert np.allclose(merged["age"], merged["age_t"])
    bad = merged["bad"] == 1
    assert (~merged.loc[bad, "qc_pass"]).mean() >= 0.9
    assert (~merged.loc[~bad, "qc_pass"]).mean() < 0.05
    assert report["qc_rejected"] == int((~table["qc_pass"]).sum())

    splits = table.groupby("subject_id")["split"].nunique()
    assert (splits == 1).all()  # patient-level
    assert set(table["split"]) == {"train", "val", "test"}
    good = table["qc_pass"].to_numpy()
    assert np.isfinite(windows[good]).all() and (np.ptp(windows[good], axis=1) > 0).all()

    first = {p.name: _sha(p) for p in (npy, table_path)}
    staged.run_rule("ppg_build_windows", TARGETS)
    assert first == {p.name: _sha(p) for p in (npy, table_path)}  # byte-identical rerun


def test_ppg_build_windows_mimic3_counts_exclusions(runner) -> None:
    root = "results/raw/synthetic/mimic3_matched"
    outputs = [f"{root}/RECORDS", f"{root}/RECORDS-waveforms", f"{root}/truth.parquet"]
    runner.run_rule("synthetic_ppg_mimic3", outputs + [f"{root}/p{g:02d}" for g in range(10)])
    out = "results/ppg/synthetic_mimic3"
    targets = [f"{out}/windows.npy", f"{out}/windows.parquet", f"{out}/qc_report.json"]
    _, table_path, report_path = runner.run_rule("ppg_build_windows", targets)
    report = json.loads(report_path.read_text())
    table = pd.read_parquet(table_path)
    truth = pd.read_parquet(runner.path(f"{root}/truth.parquet"))
    cfg = runner.config["ppg"]["synthetic"]
    assert report["exclusions"]["records_without_ppg"] == cfg["n_subjects"] // 10
    # gap + no-PLETH slots (2 per record) are all-NaN windows: excluded and counted
    assert report["all_nan_excluded"] >= 2 * cfg["n_subjects"] * cfg["records_per_subject"]
    assert table["age"].notna().all()  # WFDB has no demographics: filled from the labels table
    merged = table.merge(truth, on=["subject_id", "record", "window_index"])
    assert len(merged) == len(table)
    assert merged["segment"].str.contains("_").all()


def test_ppg_build_windows_rejects_a_v5_mat_file(runner) -> None:
    seg = runner.path("data/pulsedb/Segment_Files/PulseDB_MIMIC")
    seg.mkdir(parents=True)
    (seg / "p000001.mat").write_bytes(b"MATLAB 5.0 MAT-file, Platform: GLNXA64" + b"\0" * 200)
    runner.config["ppg"]["datasets"]["bad"] = {"format": "pulsedb", "root": "data/pulsedb"}
    runner.write_config(runner.config)
    proc = runner.run(["results/ppg/bad/windows.npy"], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "p000001.mat" in out and "v7.3" in out
    assert not runner.path("results/ppg/bad/windows.npy").exists()
