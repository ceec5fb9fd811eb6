"""Benchmarks: speed and memory targets live here, never in timed tests.

Each benchmark is a module ``clinssl.bench.bench_<name>`` (found automatically) with a
function ``run(work_dir: Path, scale: str) -> list[Measurement]``. ``python -m clinssl.bench``
(``make bench``) runs each one in a fresh subprocess (so peak RSS is that benchmark's own),
writes ``results/bench/<name>.json`` and a ``summary.json`` + ``summary.md`` table with
metric, value, unit, machine and date.

A benchmark with a device path also defines ``run_device(work_dir, device, scale, budget)``
and ``DEVICE_SIZES``; ``python -m clinssl.bench --device cuda`` (``make bench-gpu``) runs all
of those (:data:`clinssl.bench.gpu.GPU_BENCHMARKS`) in one process into one
``results/bench-gpu/gpu.json`` within an 8-minute cap (see :mod:`clinssl.bench.gpu`).
"""

from __future__ import annotations

from clinssl.bench.core import BENCHMARKS, Measurement, machine_description, peak_rss_mib

__all__ = ["BENCHMARKS", "Measurement", "machine_description", "peak_rss_mib"]
