"""The events benchmark at ``quick`` scale: every measurement is there and sane, the extraction
read exactly the rows that were generated, and densifying labevents keeps every row's stay.

Why a test of a benchmark: the full run takes minutes on a machine of its own, so a broken
input builder (a header that extract_events refuses, copies that drift out of their stay) or a
renamed measurement would otherwise be found only there. Numbers are not judged here (timing
targets belong to the benchmark, never to tests)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import torch

from clinssl.bench.bench_events import SCALES, densify_labevents, run
from clinssl.bench.bench_events_train import run as run_training
from clinssl.bench.core import Measurement
from clinssl.events.extract import extract_events
from clinssl.events.synthetic import MIMIC4CohortConfig, write_mimic4
from clinssl.events.tables import TABLES

EXPECTED = {
    "extract_seconds", "extract_peak_rss_mib", "extract_lab_rows_per_s",
    "pandas_read_labevents_seconds", "pandas_read_labevents_peak_rss_mib",
    "extract_time_ratio_pandas_read_over_duckdb", "extract_rss_ratio_pandas_read_over_duckdb",
    "text_cache_hit_texts_per_s", "text_cache_miss_texts_per_s",
    "text_cache_hit_over_miss_ratio", "text_cache_cold_stream_texts_per_s",
}  # fmt: skip


def _csv_rows(path: Path) -> int:
    with duckdb.connect(":memory:") as con:
        (n,) = con.execute(
            f"SELECT count(*) FROM read_csv('{path}', header = true, all_varchar = true)"
        ).fetchone()
    return int(n)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Measurement]]:
    work = tmp_path_factory.mktemp("bench-events")
    results = run(work, "quick")
    return work, {m.metric: m for m in results}


def test_quick_measurements_are_complete_and_finite(quick) -> None:
    _, results = quick
    assert set(results) == EXPECTED
    for m in results.values():
        assert math.isfinite(m.value) and m.value > 0, m
        json.dumps(m.to_dict())  # the runner writes every record as JSON
    # the extraction targets are judged at full scale only; the cache target at every scale
    assert results["extract_seconds"].passed is None
    assert isinstance(results["text_cache_hit_texts_per_s"].passed, bool)


def test_quick_training_rates(tmp_path: Path) -> None:
    results = {m.metric: m for m in run_training(tmp_path, "quick")}
    expected = {"train_cpu_samples_per_s"} | ({"train_gpu_samples_per_s"} if torch.cuda.is_available() else set())
    assert set(results) == expected
    cpu = results["train_cpu_samples_per_s"]
    assert math.isfinite(cpu.value) and cpu.value > 0 and cpu.details["max_events"] == 64
    assert cpu.details["stays"] == SCALES["quick"].model_stays


def test_quick_extraction_read_what_was_generated(quick) -> None:
    work, results = quick
    details = results["extract_seconds"].details
    scale = SCALES["quick"]
    lab_rows = _csv_rows(work / "mimic4" / "hosp" / "labevents.csv.gz")
    assert details["lab_rows"] == lab_rows == details["base_lab_rows"] * details["lab_copies"]
    assert scale.lab_rows <= lab_rows < scale.lab_rows + details["base_lab_rows"]
    stays = _csv_rows(work / "mimic4" / "icu" / "icustays.csv.gz")
    assert details["stays"] == details["stays_read"] == stays == scale.n_stays
    # every lab row is a candidate (rows inside two overlapping stays count twice)
    assert details["lab_candidates"] >= lab_rows
    assert details["lab_attached"] + details["lab_outside_stay_window"] <= details["lab_candidates"]
    events = pq.ParquetFile(work / "extracted" / "events.parquet").metadata.num_rows
    assert details["events_written"] == events > 0
    pandas = results["pandas_read_labevents_seconds"].details
    assert pandas["rows_read"] == lab_rows and pandas["extrapolated"] is False


def test_densified_labevents_keep_header_and_stays(tmp_path: Path) -> None:
    """k copies of every lab row: the file keeps the generator's header, ids stay unique and
    every count of the extraction's lab report is exactly k times the undensified one."""
    root = tmp_path / "mimic4"
    write_mimic4(MIMIC4CohortConfig(n_stays=60, n_patients=48), root)
    path = root / "hosp" / "labevents.csv.gz"
    before = extract_events(root, tmp_path / "before")["events"]["sources"]["lab"]
    with gzip.open(path, "rt") as handle:
        header = handle.readline()
    counts = densify_labevents(path, 3 * _csv_rows(path) + 1)
    assert counts["lab_copies"] == 4 and counts["lab_rows"] == 4 * counts["base_lab_rows"]
    with gzip.open(path, "rt") as handle:
        assert handle.readline() == header == ",".join(TABLES["labevents"].columns) + "\n"
    with duckdb.connect(":memory:") as con:
        (distinct,) = con.execute(
            f"SELECT count(DISTINCT labevent_id) FROM read_csv('{path}', all_varchar = true)"
        ).fetchone()
    assert distinct == counts["lab_rows"]
    after = extract_events(root, tmp_path / "after")["events"]["sources"]["lab"]
    assert after["candidates"] == 4 * before["candidates"]
    assert after["attached"] == 4 * before["attached"]
    assert after["dropped"] == {k: 4 * v for k, v in before["dropped"].items()}
