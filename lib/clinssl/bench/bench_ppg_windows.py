"""Streaming proof of the PPG window store: peak RSS at 1× and 10× the default corpus.

The synthetic PulseDB corpus is generated once per size (itself streamed, one subject at a
time); then the window store is built in a *fresh child process* per size so that each peak
RSS (``ru_maxrss``) belongs to that build alone. Target: the 10× build's peak RSS is within
10 % of the 1× build's. ``quick`` uses 0.1× and 1×.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clinssl.bench.core import Measurement

DEFAULT_SUBJECTS = 300
WINDOWS_PER_SUBJECT = 30

_CHILD = """
import json, sys, time
from clinssl.bench.core import peak_rss_mib
from clinssl.ppg.qc import QCThresholds
from clinssl.ppg.windows import build_window_store
root, out = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
report = build_window_store({"format": "pulsedb", "root": root}, out + "/windows.npy",
                            out + "/windows.parquet", QCThresholds(),
                            {"train": 0.7, "val": 0.15, "test": 0.15}, seed=0, chunk_size=2048)
print(json.dumps({"rss_mib": peak_rss_mib(), "seconds": time.perf_counter() - t0,
                  "n_windows": report["n_windows"]}))
"""


def _generate(root: Path, n_subjects: int) -> None:
    from clinssl.ppg.synthetic import PPGCohortConfig, write_pulsedb_corpus

    cfg = PPGCohortConfig(n_subjects=n_subjects, windows_per_subject=WINDOWS_PER_SUBJECT, seed=0)
    write_pulsedb_corpus(cfg, root, subset_subjects=0)


def _build(root: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), str(out)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"window-store build failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(work_dir: Path, scale: str) -> list[Measurement]:
    sizes = (30, 300) if scale == "quick" else (DEFAULT_SUBJECTS, 10 * DEFAULT_SUBJECTS)
    results = {}
    for n in sizes:
        root = work_dir / f"corpus_{n}"
        _generate(root, n)
        results[n] = _build(root, work_dir / f"store_{n}")
        # the corpus of this size is no longer needed: keep the disk footprint bounded
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work_dir / f"store_{n}", ignore_errors=True)
    small, large = results[sizes[0]], results[sizes[1]]
    ratio = large["rss_mib"] / small["rss_mib"]
    return [
        Measurement(
            "window_store_peak_rss_small",
            small["rss_mib"],
            "MiB",
            details={"windows": small["n_windows"], "seconds": small["seconds"]},
        ),  # fmt: skip
        Measurement(
            "window_store_peak_rss_large",
            large["rss_mib"],
            "MiB",
            details={"windows": large["n_windows"], "seconds": large["seconds"]},
        ),  # fmt: skip
        Measurement(
            "window_store_rss_ratio_10x",
            ratio,
            "x",
            target="<= 1.10",
            passed=ratio <= 1.10,
            details={"sizes_subjects": list(sizes)},
        ),  # fmt: skip
        Measurement(
            "window_store_windows_per_s",
            large["n_windows"] / large["seconds"],
            "windows/s",
            details={"windows": large["n_windows"]},
        ),  # fmt: skip
    ]
