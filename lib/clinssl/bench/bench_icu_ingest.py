"""Benchmark: ingest a synthetic ricu export at MIMIC-IV scale.

Target: 75,000 stays × 72 h × 84 concepts ingested in ≤ 90 s with peak RSS
≤ 3 GiB on 2 cores. The export is generated in a child process first, so the measured peak
RSS is the ingestion's own; every stay exports all 72 hours (``pad_to_horizon``), so the
ingestion reads exactly stays × 72 rows. ``quick`` uses 5,000 stays (a smoke number).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from clinssl.bench.core import Measurement, peak_rss_mib

SCALES = {"full": 75_000, "quick": 5_000}
HOURS = 72
TARGET_SECONDS = 90.0
TARGET_RSS_MIB = 3 * 1024.0


def _generate(root: Path, n_stays: int) -> float:
    code = (
        "from clinssl.icu.synthetic import SyntheticICUSpec, write_ricu_export;"
        f"write_ricu_export({str(root)!r}, SyntheticICUSpec(n_stays={n_stays}, "
        f"n_patients={n_stays * 2 // 3}, horizon_hours={HOURS}, stays_per_part=10000, seed=0, "
        "pad_to_horizon=True))"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def run(work_dir: Path, scale: str) -> list[Measurement]:
    from clinssl.icu.files import IngestFiles
    from clinssl.icu.ingest import IngestOptions, ingest
    from clinssl.icu.io.ricu import RicuExport

    n_stays = SCALES[scale]
    export_dir = Path(work_dir) / "ricu"
    gen_seconds = _generate(export_dir, n_stays)
    rss_before = peak_rss_mib()
    start = time.perf_counter()
    meta = ingest(RicuExport(export_dir), IngestFiles.under(Path(work_dir) / "out"), IngestOptions(), dataset="bench")
    seconds = time.perf_counter() - start
    rss = peak_rss_mib()
    rows = meta["counts"]["timeseries_rows_read"]
    details = {
        "n_stays_exported": n_stays,
        "n_stays_ingested": meta["counts"]["n_stays"],
        "features": meta["D"],
        "timeseries_rows": rows,
        "generation_seconds": round(gen_seconds, 1),
        "peak_rss_before_ingest_mib": round(rss_before, 1),
    }
    full = scale == "full"
    return [
        Measurement(
            "ingest_seconds",
            seconds,
            "s",
            target=f"<= {TARGET_SECONDS:.0f} s at 75,000 stays" if full else None,
            passed=(seconds <= TARGET_SECONDS) if full else None,
            details=details,
        ),
        Measurement("throughput", rows / seconds, "stay-hours/s", details=details),
        Measurement(
            "peak_rss",
            rss,
            "MiB",
            target=f"<= {TARGET_RSS_MIB:.0f} MiB" if full else None,
            passed=(rss <= TARGET_RSS_MIB) if full else None,
            details=details,
        ),
    ]
