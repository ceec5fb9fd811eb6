"""Benchmarks: speed and memory targets live here, never in timed tests.

Each benchmark is a module ``clinssl.bench.bench_<name>`` (found automatically) with a
function ``run(work_dir: Path, scale: str) -> list[Measurement]``. ``python -m clinssl.bench``
(``make bench``) runs each one in a fresh subprocess (so peak RSS is that benchmark's own),
writes ``results/bench/<name>.json`` and a ``summary.json`` + ``summary.md`` table with
metric, value, unit, machine and date.
"""

from __future__ import annotations

from clinssl.bench.core import BENCHMARKS, Measurement, machine_description, peak_rss_mib

__all__ = ["BENCHMARKS", "Measurement", "machine_description", "peak_rss_mib"]
