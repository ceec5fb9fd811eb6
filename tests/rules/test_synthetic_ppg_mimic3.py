"""Rule synthetic_ppg_mimic3: MIMIC-III matched WFDB tree readable with wfdb + truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import wfdb

from clinssl.io.wfdb import NoPPGChannel, iter_ppg_windows, list_records


def test_synthetic_ppg_mimic3(runner) -> None:
    cfg = runner.config["ppg"]["synthetic"]
    root = "results/raw/synthetic/mimic3_matched"
    outputs = [f"{root}/RECORDS", f"{root}/RECORDS-waveforms", f"{root}/truth.parquet"]
    outputs += [f"{root}/p{g:02d}" for g in range(10)]
    paths = runner.run_rule("synthetic_ppg_mimic3", outputs)
    truth = pd.read_parquet(paths[2])
    records = list_records(paths[0].parent)
    assert len(truth) == cfg["n_subjects"] * cfg["windows_per_subject"]
    # every subject has records_per_subject PLETH records; every 10th one more without PLETH
    n_extra = cfg["n_subjects"] // 10
    assert len(records) == cfg["n_subjects"] * cfg["records_per_subject"] + n_extra

    header = wfdb.rdheader(str(records[0]))
    assert header.seg_name[0].endswith("_layout") and "~" in header.seg_name
    rec = wfdb.rdrecord(str(records[0]), channel_names=["PLETH"], m2s=True)
    assert rec.n_sig == 1 and rec.fs == 125
    assert np.isnan(rec.p_signal).any()  # the gap and the segment without PLETH

    fs, windows, _ = iter_ppg_windows(records[0], ["PLETH"], 125.0)
    got = {w.index: w.signal for w in windows}
    mine = truth[truth["record"] == records[0].name]
    assert set(mine["window_index"]) < set(got)  # gap slots are not in the truth
    for idx in set(got) - set(mine["window_index"]):
        assert np.isnan(got[idx]).all()
    no_ppg = [r for r in records if r.name.endswith("2199-01-01-00-00")]
    assert len(no_ppg) == n_extra
    try:
        iter_ppg_windows(no_ppg[0], ["PLETH"], 125.0)
        raise AssertionError("record without PLETH was read")
    except NoPPGChannel:
        pass
