"""Rule synthetic_ptbxl: PTB-XL's layout (28 columns, scp_statements, records100 read by
wfdb) and the planted truth."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import wfdb

from clinssl.ecg.io.ptbxl import DATABASE_COLUMNS
from clinssl.ecg.names import LEADS
from clinssl.ecg.synthetic import PTBXLCohortConfig, ecg_ids

ROOT = "results/raw/synthetic/ptbxl"


def test_synthetic_ptbxl(runner) -> None:
    cfg = runner.config["ecg"]["synthetic"]
    database, statements, truth_path, records = runner.run_rule(
        "synthetic_ptbxl", [f"{ROOT}/ptbxl_database.csv", f"{ROOT}/scp_statements.csv",
                            f"{ROOT}/truth.parquet", f"{ROOT}/records100"])  # fmt: skip
    db = pd.read_csv(database)
    assert list(db.columns) == list(DATABASE_COLUMNS) and len(db) == cfg["n_records"]
    assert db["patient_id"].dtype == float and db["age"].dtype == float
    # ecg_ids increase with the generator's gaps (as in PTB-XL; how often: unit tests)
    expected = ecg_ids(PTBXLCohortConfig(**cfg, seed=runner.config["seed"]))
    assert np.array_equal(db["ecg_id"].to_numpy(), expected) and (np.diff(expected) >= 1).all()
    assert db.groupby("patient_id")["strat_fold"].nunique().max() == 1  # patient-respecting
    assert set(db["strat_fold"]) == set(range(1, 11))
    codes = [ast.literal_eval(s) for s in db["scp_codes"]]
    assert all(isinstance(c, dict) for c in codes) and any(0.0 in c.values() for c in codes)
    scp = pd.read_csv(statements, index_col=0)
    assert set(scp.loc[scp["diagnostic"] == 1.0, "diagnostic_class"]) == {"NORM", "MI", "STTC", "CD", "HYP"}
    first = db.iloc[0]
    signal, fields = wfdb.rdsamp(str(runner.path(f"{ROOT}/{first['filename_lr']}")))
    assert signal.shape == (1000, 12) and fields["fs"] == 100 and fields["units"] == ["mV"] * 12
    assert fields["sig_name"] == list(LEADS)
    assert np.abs(signal[:, 2] - (signal[:, 1] - signal[:, 0])).max() < 2e-3  # III = II - I
    truth = pd.read_parquet(truth_path)
    assert len(truth) == len(db) and {"MI", "CD", "HYP", "STTC", "NORM"} <= set(truth.columns)
    assert records.is_dir() and len(list(records.rglob("*_lr.dat"))) == len(db)
