"""PTB-XL load time: :func:`clinssl.ecg.io.ptbxl.load_ptbxl` against plain ``wfdb.rdsamp``.

A synthetic PTB-XL of the real size (``full``: 21,799 records at 100 Hz; ``quick``: 500) is
written with :func:`clinssl.ecg.synthetic.write_ptbxl_corpus`, then loaded into
``signals.npy`` + ``meta.parquet`` (target for ``full``: <= 30 s). The same records are then
read one by one with ``wfdb.rdsamp``, the way most PTB-XL code loads them; for ``full`` a
2,000-record sample spread over the corpus is timed and the time extrapolated to all loaded
records. Both runs read a corpus that was just written, so both see a warm page cache.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from clinssl.bench.core import Measurement, peak_rss_mib

FULL_RECORDS = 21_799
FULL_PATIENTS = 18_869
QUICK_RECORDS = 500
RDSAMP_SAMPLE = 2_000
LOAD_TARGET_S = 30.0


def run(work_dir: Path, scale: str) -> list[Measurement]:
    import pandas as pd
    import wfdb

    from clinssl.ecg.io.ptbxl import LoadOptions, load_ptbxl
    from clinssl.ecg.synthetic import PTBXLCohortConfig, write_ptbxl_corpus

    n = FULL_RECORDS if scale == "full" else QUICK_RECORDS
    n_patients = round(n * FULL_PATIENTS / FULL_RECORDS)
    root, out = work_dir / "ptbxl", work_dir / "loaded"
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    write_ptbxl_corpus(PTBXLCohortConfig(n_records=n, n_patients=n_patients, seed=0), root)
    generate_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = load_ptbxl(
        root, out / "signals.npy", out / "meta.parquet", out / "load_report.json", LoadOptions()
    )
    load_s = time.perf_counter() - t0
    load_rss = peak_rss_mib()
    names = pd.read_parquet(out / "meta.parquet")["filename"].tolist()
    n_loaded = len(names)

    sample = names
    if scale == "full" and n_loaded > RDSAMP_SAMPLE:
        picks = np.linspace(0, n_loaded - 1, RDSAMP_SAMPLE).round().astype(int)
        sample = [names[i] for i in picks]
    t0 = time.perf_counter()
    for name in sample:
        wfdb.rdsamp(str(root / name))
    sample_s = time.perf_counter() - t0
    rdsamp_s = sample_s * n_loaded / len(sample)
    extrapolated = len(sample) < n_loaded
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)

    full = scale == "full"
    rdsamp_details = {
        "records_timed": len(sample),
        "records_loaded": n_loaded,
        "timed_seconds": round(sample_s, 3),
        "ms_per_record": round(1000 * sample_s / len(sample), 3),
        "extrapolated": extrapolated,
        "note": (
            f"rdsamp timed on {len(sample)} records spread over the corpus and extrapolated "
            f"to all {n_loaded}"
            if extrapolated
            else "rdsamp timed on every loaded record"
        ),
    }
    return [
        Measurement(
            "ptbxl_generate_seconds",
            generate_s,
            "s",
            target="<= 120" if full else None,
            passed=generate_s <= 120.0 if full else None,
            details={"records": n, "patients": n_patients, "rate_hz": 100},
        ),
        Measurement(
            "ptbxl_load_seconds",
            load_s,
            "s",
            target=f"<= {LOAD_TARGET_S:g}" if full else None,
            passed=load_s <= LOAD_TARGET_S if full else None,
            details={
                "records_database": report["n_database"],
                "records_loaded": n_loaded,
                "dropped_no_diagnostic": report["dropped_no_diagnostic"],
                "rate_hz": report["rate"],
                "peak_rss_mib": round(load_rss, 1),
            },
        ),
        Measurement("ptbxl_load_records_per_s", n_loaded / load_s, "records/s"),
        Measurement("ptbxl_rdsamp_seconds", rdsamp_s, "s", details=rdsamp_details),
        Measurement(
            "ptbxl_rdsamp_over_load_ratio",
            rdsamp_s / load_s,
            "x",
            details={
                "load_seconds": round(load_s, 3),
                "rdsamp_seconds": round(rdsamp_s, 3),
                "rdsamp_extrapolated": extrapolated,
            },
        ),
    ]
