"""The PPG window store: ``windows.npy`` + ``windows.parquet``, written and read in chunks.

Contract (consumed by HiMAE pretraining, the PVC probe, the embedding cache and ST-SAE):

* ``windows.npy``: float32 (N, 1250) = 10 s at 125 Hz, resampled with ``resample_poly`` from
  the source rate; NaN gaps linearly interpolated (their share is ``nan_fraction``). Values
  are in source units (no normalisation: each encoder applies its own preprocessing).
  Readers open it with ``np.load(mmap_mode="r")`` (:func:`open_windows`).
* ``windows.parquet``: one row per row of ``windows.npy``, same order, columns
  ``subject_id, record, segment, window_index, start_time`` (s from record start),
  ``age, sex``, the configured label columns (when a labels table is given; numeric labels
  as float64, NaN where the table has no row for the window), the QC scores and flags of
  :mod:`clinssl.ppg.qc`, ``qc_pass`` and ``split`` (train/val/test, patient-level,
  age-stratified).

Windows with no finite sample at all are excluded and counted (they carry no signal to
store); every other rejected window is kept with its flags so that consumers choose.

Streaming: windows go to a temporary raw float32 file chunk by chunk and meta to a
temporary parquet (one row group per chunk); at the end the ``.npy`` is assembled by chunked
copy and the parquet is rewritten row group by row group with the split column. Peak memory
is bounded by the chunk size, not the corpus size (benchmark ``bench_ppg_windows``).
"""

from __future__ import annotations

import logging
import mmap
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clinssl.io.signal import fill_nan, resample
from clinssl.io.splits import age_stratified_split
from clinssl.ppg.qc import (
    QC_FLAG_COLUMNS,
    QC_SCORE_COLUMNS,
    QCThresholds,
    apply_thresholds,
    score_windows,
)
from clinssl.ppg.sources import Exclusions, iter_dataset
from clinssl.utils.atomic import atomic_path

TARGET_FS = 125.0
WINDOW_SAMPLES = 1250
KEY_COLUMNS = ("subject_id", "record", "window_index")
META_COLUMNS = ("subject_id", "record", "segment", "window_index", "start_time", "age", "sex")
REQUIRED_COLUMNS = (*META_COLUMNS, *QC_SCORE_COLUMNS, *QC_FLAG_COLUMNS, "qc_pass", "split")
COPY_CHUNK = 8192

log = logging.getLogger(__name__)


class WindowStoreError(ValueError):
    """A window store file that violates the contract (names the file and the problem)."""


def to_target_rate(
    signals: np.ndarray, fs: float, target_fs: float = TARGET_FS, n_out: int = WINDOW_SAMPLES
) -> np.ndarray:
    """NaN-filled windows resampled to ``target_fs`` with ``resample_poly`` (rational up/down
    factors), cropped/edge-padded to exactly ``n_out`` samples; float32."""
    if abs(fs - target_fs) <= 1e-9 and signals.shape[1] == n_out:
        # already at the store's rate and length: one float32 copy, NaN rows filled in place
        # (no float64 copy of the whole chunk; same values as fill_nan)
        out = np.asarray(signals, dtype=np.float32).copy()
        bad = ~np.isfinite(out).all(axis=1)
        if bad.any():
            out[bad] = fill_nan(signals[bad])
        return out
    return resample(fill_nan(signals), fs, target_fs, n_out).astype(np.float32)


def _join_labels(meta: pd.DataFrame, labels: pd.DataFrame | None, columns: list[str]):
    if labels is None:
        return meta
    joined = meta.merge(labels, on=list(KEY_COLUMNS), how="left", suffixes=("", "_label"))
    for demo in ("age", "sex"):
        extra = f"{demo}_label"
        if extra in joined:
            joined[demo] = joined[demo].where(joined[demo].notna(), joined[extra])
            joined = joined.drop(columns=extra)
    joined = joined[[*meta.columns, *columns]]
    for c in columns:
        if pd.api.types.is_bool_dtype(joined[c]) or pd.api.types.is_numeric_dtype(joined[c]):
            joined[c] = joined[c].astype(np.float64)
    return joined


def load_labels(path: str | os.PathLike[str] | None, columns: list[str]) -> pd.DataFrame | None:
    """Per-window labels keyed by (subject_id, record, window_index); validated."""
    if not path:
        return None
    table = pd.read_parquet(path)
    missing = [c for c in (*KEY_COLUMNS, *columns) if c not in table.columns]
    if missing:
        raise WindowStoreError(
            f"{path}: labels table lacks column(s) {missing}; needs keys {list(KEY_COLUMNS)} "
            f"and the configured label_columns {columns}"
        )
    keep = [*KEY_COLUMNS, *columns, *[c for c in ("age", "sex") if c in table and c not in columns]]
    table = table[keep].copy()
    table["record"] = table["record"].astype(str)
    table["window_index"] = table["window_index"].astype(np.int64)
    if table.duplicated(list(KEY_COLUMNS)).any():
        raise WindowStoreError(f"{path}: duplicate (subject_id, record, window_index) rows")
    return table


def _label_type(column: pd.Series) -> pa.DataType:
    """Arrow type of a label column: numbers and booleans become float64 so that windows
    the labels table does not cover hold NaN (missing), everything else a string."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return pa.float64()
    return pa.string()


def _schema(label_types: dict[str, pa.DataType]) -> pa.Schema:
    fields = [
        ("subject_id", pa.string()),
        ("record", pa.string()),
        ("segment", pa.string()),
        ("window_index", pa.int64()),
        ("start_time", pa.float64()),
        ("age", pa.float64()),
        ("sex", pa.string()),
        *label_types.items(),
        *[(c, pa.float64()) for c in QC_SCORE_COLUMNS],
        *[(c, pa.bool_()) for c in QC_FLAG_COLUMNS],
        ("qc_pass", pa.bool_()),
    ]
    return pa.schema(fields)


def build_window_store(
    spec: dict[str, Any],
    npy_path: str | os.PathLike[str],
    parquet_path: str | os.PathLike[str],
    thresholds: QCThresholds,
    split_fractions: dict[str, float],
    seed: int,
    labels: pd.DataFrame | None = None,
    label_columns: list[str] | None = None,
    chunk_size: int = 2048,
) -> dict[str, Any]:
    """Read the dataset ``spec`` and write the window store (see module docstring).

    Returns the QC report (counts per flag, exclusions, split sizes).
    """
    npy_path, parquet_path = Path(npy_path), Path(parquet_path)
    label_columns = list(label_columns or [])
    label_types = {c: _label_type(labels[c]) for c in label_columns} if labels is not None else {}
    schema = _schema(label_types)
    exclusions = Exclusions()
    counts = {"windows_read": 0, "all_nan_excluded": 0}
    subject_age: dict[str, float] = {}
    source_fs: set[float] = set()
    n_rows = 0
    npy_path.parent.mkdir(parents=True, exist_ok=True)
    raw_tmp = npy_path.with_name(f".{npy_path.name}.raw.tmp")
    meta_tmp = parquet_path.with_name(f".{parquet_path.name}.meta.tmp")
    try:
        with open(raw_tmp, "wb") as raw, pq.ParquetWriter(meta_tmp, schema) as meta_writer:
            for chunk in iter_dataset(spec, exclusions, chunk_size):
                counts["windows_read"] += len(chunk.meta)
                source_fs.add(round(chunk.fs, 4))
                empty = ~np.isfinite(chunk.signals).any(axis=1)
                counts["all_nan_excluded"] += int(empty.sum())
                if empty.all():
                    continue
                signals = chunk.signals[~empty] if empty.any() else chunk.signals
                meta = chunk.meta.loc[~empty].reset_index(drop=True)
                fs = chunk.fs
                del chunk  # the chunk's arrays go as soon as this iteration is done with them
                scores = apply_thresholds(score_windows(signals, fs), thresholds)
                meta = _join_labels(meta, labels, label_columns)
                table = pd.concat([meta, scores.reset_index(drop=True)], axis=1)
                for sid, age in zip(table["subject_id"], table["age"], strict=True):
                    subject_age.setdefault(sid, age)
                raw.write(memoryview(to_target_rate(signals, fs)))  # no bytes copy
                del signals
                meta_writer.write_table(
                    pa.Table.from_pandas(table[schema.names], schema=schema, preserve_index=False)
                )
                n_rows += len(table)
        if n_rows == 0:
            raise WindowStoreError(
                f"dataset at {spec.get('root')}: no usable PPG windows (read "
                f"{counts['windows_read']}, all-NaN {counts['all_nan_excluded']}, records "
                f"without PPG {len(exclusions.records_without_ppg)})"
            )
        subjects = pd.DataFrame(
            {"subject_id": list(subject_age), "age": list(subject_age.values())}
        )
        split = age_stratified_split(subjects, split_fractions, seed)
        _assemble_npy(raw_tmp, npy_path, n_rows)
        report = _assemble_parquet(meta_tmp, parquet_path, split)
    finally:
        raw_tmp.unlink(missing_ok=True)
        meta_tmp.unlink(missing_ok=True)
    report.update(counts)
    report["exclusions"] = exclusions.to_dict()
    report["source_fs"] = sorted(source_fs)
    report["n_windows"] = n_rows
    report["n_subjects"] = len(subject_age)
    report["thresholds"] = thresholds.__dict__
    return report


def _assemble_npy(raw_tmp: Path, npy_path: Path, n_rows: int) -> None:
    """Prefix the raw float32 rows with an ``.npy`` header by streaming file I/O.

    Plain reads/writes (not memmaps) so that the copy's pages live in the page cache, not in
    this process's resident set: peak RSS stays flat however large the store is.
    """
    with atomic_path(npy_path) as tmp, open(tmp, "wb") as out, open(raw_tmp, "rb") as src:
        header = {"descr": "<f4", "fortran_order": False, "shape": (n_rows, WINDOW_SAMPLES)}
        np.lib.format.write_array_header_1_0(out, header)
        shutil.copyfileobj(src, out, length=COPY_CHUNK * WINDOW_SAMPLES * 4 // 8)


def drop_resident(arr: np.ndarray) -> None:
    """Tell the kernel this process no longer needs the pages of a memmap it has touched.

    Pages of a file mapping count in the resident set once read or written; after a chunk is
    done they are only page cache. ``MADV_DONTNEED`` on a shared file mapping unmaps them
    from this process (written data stays in the page cache and reaches the file), which keeps
    peak RSS independent of the corpus size when whole stores are streamed through memmaps.
    """
    mm = getattr(arr, "_mmap", None)
    base = arr
    while mm is None and getattr(base, "base", None) is not None:
        base = base.base
        mm = getattr(base, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        if isinstance(arr, np.memmap) and arr.mode in ("r+", "w+"):
            arr.flush()
        mm.madvise(mmap.MADV_DONTNEED)


def _assemble_parquet(meta_tmp: Path, parquet_path: Path, split: pd.Series) -> dict[str, Any]:
    source = pq.ParquetFile(meta_tmp)
    schema = source.schema_arrow.append(pa.field("split", pa.string()))
    flag_counts = dict.fromkeys([*QC_FLAG_COLUMNS, "qc_pass"], 0)
    per_split: dict[str, dict[str, Any]] = {}
    with atomic_path(parquet_path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        # row group by row group (one per streamed chunk, so bounded by the chunk size):
        # ``iter_batches`` reads ahead across row groups and its memory grew with the file
        for group in range(source.num_row_groups):
            frame = source.read_row_group(group).to_pandas()
            frame["split"] = split.loc[frame["subject_id"]].to_numpy()
            for col in flag_counts:
                flag_counts[col] += int(frame[col].sum())
            for name, group in frame.groupby("split"):
                entry = per_split.setdefault(name, {"windows": 0, "qc_pass": 0, "subjects": set()})
                entry["windows"] += len(group)
                entry["qc_pass"] += int(group["qc_pass"].sum())
                entry["subjects"].update(group["subject_id"])
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
    for entry in per_split.values():
        entry["subjects"] = len(entry["subjects"])
    return {
        "flag_counts": flag_counts,
        "qc_rejected": sum(e["windows"] for e in per_split.values()) - flag_counts["qc_pass"],
        "splits": per_split,
    }


def open_windows(path: str | os.PathLike[str]) -> np.ndarray:
    """Memory-map ``windows.npy``; validates dtype and shape."""
    arr = np.load(path, mmap_mode="r")
    if arr.dtype != np.float32 or arr.ndim != 2 or arr.shape[1] != WINDOW_SAMPLES:
        raise WindowStoreError(
            f"{path}: expected float32 (N, {WINDOW_SAMPLES}) windows, got {arr.dtype} {arr.shape}"
        )
    return arr


def read_windows_table(path: str | os.PathLike[str], n_windows: int | None = None) -> pd.DataFrame:
    """Read ``windows.parquet``; validates the required columns and the row count."""
    table = pd.read_parquet(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise WindowStoreError(f"{path}: missing column(s) {missing} of the window-store contract")
    if n_windows is not None and len(table) != n_windows:
        raise WindowStoreError(f"{path}: {len(table)} rows but windows.npy has {n_windows} windows")
    return table


def successor_index(table: pd.DataFrame) -> np.ndarray:
    """For each row, the row of the next window (window_index + 1) of the same record and
    subject, or -1 when there is none (contiguity matters: a gap breaks the chain)."""
    key = pd.MultiIndex.from_frame(table[["subject_id", "record", "window_index"]])
    rows = pd.Series(np.arange(len(table)), index=key)
    nxt = pd.MultiIndex.from_arrays(
        [table["subject_id"], table["record"], table["window_index"] + 1]
    )
    found = rows.reindex(nxt)
    return found.fillna(-1).to_numpy(dtype=np.int64)
