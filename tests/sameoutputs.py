"""Compare two results trees (a SLURM run and a local run of the same config).

Data stages must be byte-identical; numeric results (JSON/CSV/parquet/npy) must agree to
a tight tolerance, since float reductions may be ordered differently on another process
layout; everything else (figures, model files) must be byte-identical. The run manifest
(``results/manifest.json``) records *where and when* a run happened, so only its config
part is compared, and timing fields inside JSON (``seconds``, ``*_per_s``, ...) are not.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SKIP_DIRS = ("results/logs", "results/benchmarks", "results/bench")
# JSON/model-metadata keys that record how long something took: no rerun reproduces them
TIMING_KEYS = re.compile(r"(^|_)(seconds|secs|elapsed|duration|timestamp|wall_time|per_s)($|_)")
MANIFEST = "results/manifest.json"
RTOL, ATOL = 1e-6, 1e-9


def result_files(root: Path) -> list[str]:
    """Every file under ``root/results`` (relative to ``root``) except logs and benchmarks."""
    files = []
    for path in sorted((root / "results").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not any(rel.startswith(d + "/") for d in SKIP_DIRS):
            files.append(rel)
    return files


def _close_json(a: Any, b: Any, where: str, ignore: re.Pattern[str] | None = None) -> list[str]:
    """Differences between two JSON-like values, floats to RTOL/ATOL; dict keys matching
    ``ignore`` are not compared (timings, which no rerun reproduces)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys differ {sorted(set(a) ^ set(b))}"]
        return [
            m
            for k in a
            if not (ignore and ignore.search(str(k)))
            for m in _close_json(a[k], b[k], f"{where}.{k}", ignore)
        ]
    if hasattr(a, "shape") and hasattr(b, "shape"):  # numpy arrays, torch tensors
        x, y = (np.asarray(v.detach().cpu() if hasattr(v, "detach") else v) for v in (a, b))
        if x.shape == y.shape and np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True):
            return []
        return [f"{where}: arrays differ ({x.shape} vs {y.shape})"]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{where}: lengths {len(a)} != {len(b)}"]
        return [
            m
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for m in _close_json(x, y, f"{where}[{i}]", ignore)
        ]
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        if math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL) or (math.isnan(a) and math.isnan(b)):
            return []
        return [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _close_frames(a: pd.DataFrame, b: pd.DataFrame, where: str) -> list[str]:
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=RTOL, atol=ATOL)
    except AssertionError as err:
        return [f"{where}: {str(err).splitlines()[0:3]}"]
    return []


def compare_file(
    rel: str, actual: Path, expected: Path, ignore: re.Pattern[str] | None = None
) -> list[str]:
    """Differences between two versions of one result file ([] when equivalent); keys
    matching ``ignore`` inside JSON and model files are not compared."""
    if actual.read_bytes() == expected.read_bytes():
        return []
    suffix = actual.suffix.lower()
    if rel == MANIFEST:
        a, b = json.loads(actual.read_text()), json.loads(expected.read_text())
        return _close_json(
            {k: a.get(k) for k in ("config", "config_sha256")},
            {k: b.get(k) for k in ("config", "config_sha256")},
            rel,
        )
    if suffix == ".json":
        return _close_json(
            json.loads(actual.read_text()), json.loads(expected.read_text()), rel, ignore
        )
    if suffix in (".pt", ".pth", ".ckpt"):
        import torch

        a, b = (torch.load(p, map_location="cpu", weights_only=True) for p in (actual, expected))
        return _close_json(a, b, rel, ignore)
    if suffix == ".csv":
        return _close_frames(pd.read_csv(actual), pd.read_csv(expected), rel)
    if suffix == ".parquet":
        return _close_frames(pd.read_parquet(actual), pd.read_parquet(expected), rel)
    if suffix == ".npy":
        a, b = np.load(actual, mmap_mode="r"), np.load(expected, mmap_mode="r")
        if a.shape != b.shape or a.dtype != b.dtype:
            return [f"{rel}: {a.shape}/{a.dtype} != {b.shape}/{b.dtype}"]
        if np.issubdtype(a.dtype, np.number) and np.allclose(
            a, b, rtol=RTOL, atol=ATOL, equal_nan=True
        ):
            return []
        return [f"{rel}: arrays differ"]
    return [f"{rel}: bytes differ ({actual.stat().st_size} vs {expected.stat().st_size} bytes)"]


def compare_trees(
    actual_root: Path,
    expected_root: Path,
    ignore: re.Pattern[str] = TIMING_KEYS,
) -> tuple[list[str], list[str]]:
    """(files compared, differences) between ``actual_root`` and ``expected_root`` results;
    JSON keys matching ``ignore`` (timings by default) are not compared."""
    actual_files = result_files(actual_root)
    expected_files = set(result_files(expected_root))
    problems = [
        f"{rel}: only in the first run" for rel in actual_files if rel not in expected_files
    ]
    problems += [
        f"{rel}: missing from the first run" for rel in sorted(expected_files - set(actual_files))
    ]
    for rel in actual_files:
        if rel in expected_files:
            problems += compare_file(rel, actual_root / rel, expected_root / rel, ignore)
    return actual_files, problems


def _drop_timings(value: Any, ignore: re.Pattern[str]) -> Any:
    if isinstance(value, dict):
        return {k: _drop_timings(v, ignore) for k, v in value.items() if not ignore.search(str(k))}
    if isinstance(value, list):
        return [_drop_timings(v, ignore) for v in value]
    return value


def identical_file(rel: str, actual: Path, expected: Path, ignore: re.Pattern[str] = TIMING_KEYS) -> list[str]:
    """Differences between two reruns of one output on the same machine: the bytes must be
    equal, except JSON files whose only differences are timing fields (``ignore``) and the
    run manifest, whose config must be equal (it also records when and where it ran)."""
    if actual.read_bytes() == expected.read_bytes():
        return []
    if rel == MANIFEST:
        a, b = json.loads(actual.read_text()), json.loads(expected.read_text())
        same = all(a.get(k) == b.get(k) for k in ("config", "config_sha256", "packages"))
        return [] if same else [f"{rel}: config or packages differ"]
    if actual.suffix == ".json":
        a, b = (_drop_timings(json.loads(p.read_text()), ignore) for p in (actual, expected))
        return [] if a == b else [f"{rel}: differs outside its timing fields"]
    return [f"{rel}: bytes differ ({actual.stat().st_size} vs {expected.stat().st_size} bytes)"]
