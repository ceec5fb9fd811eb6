"""Window sources: one iterator of raw PPG windows per dataset format.

Why a common shape: the window store (:mod:`clinssl.ppg.windows`) must not care whether
windows come from PulseDB ``.mat`` files or WFDB records. Every source yields
:class:`WindowChunk` objects (a few thousand windows at most), in a deterministic order
(sorted file/record names), with the windows still at the *source* rate and with NaNs where
the source has no samples; QC, NaN filling and resampling happen downstream.

Formats (config ``ppg.datasets.<name>.format``):

* ``pulsedb``: ``<root>/Segment_Files/PulseDB_{MIMIC,Vital}/*.mat`` (``Subj_Wins``), or,
  with ``subset_files`` set, ``<root>/Subset_Files/<Name>_Subset.mat``.
* ``mimic3_matched``: ``<root>/RECORDS`` → ``pXX/pXXNNNN/`` master records, channel ``PLETH``.
* ``mimic4_waveform``: ``<root>/RECORDS`` → ``waves/pNNN/pNNNNNNNN/<rec>/``, channel ``Pleth``.

Records/files that cannot be used (no PPG channel) are *counted exclusions*, reported in
``Exclusions``, as are the segments of a WFDB record that its master header lists but that
are not on disk (a selective download; read as gaps, or an error with ``strict: true``);
anything else malformed is an error naming the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clinssl.io.wfdb import NoPPGChannel, iter_ppg_windows, list_records, subject_of
from clinssl.ppg.io.pulsedb import iter_subset_file, read_segment_file

log = logging.getLogger(__name__)

FORMATS = ("pulsedb", "mimic3_matched", "mimic4_waveform")
DEFAULT_CHANNELS = {
    "mimic3_matched": ["PLETH"],
    "mimic4_waveform": ["Pleth", "PLETH"],
}


@dataclass
class WindowChunk:
    """Windows (k, n_source) at ``fs`` plus meta (subject_id, record, segment, window_index,
    start_time, age, sex)."""

    signals: np.ndarray
    meta: pd.DataFrame
    fs: float


@dataclass
class Exclusions:
    """Counted exclusions while reading a source (reported in the QC report)."""

    records_without_ppg: list[str] = field(default_factory=list)
    #: record -> segments its master header lists that are not on disk (read as NaN)
    missing_segments: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records_without_ppg": len(self.records_without_ppg),
            "records_without_ppg_examples": self.records_without_ppg[:20],
            "records_with_missing_segments": len(self.missing_segments),
            "missing_segments": sum(len(v) for v in self.missing_segments.values()),
            "missing_segments_examples": {
                record: names[:5] for record, names in list(self.missing_segments.items())[:20]
            },
        }


def iter_dataset(spec: dict[str, Any], exclusions: Exclusions, chunk_size: int = 2048):
    """Iterate :class:`WindowChunk` of the dataset described by ``spec`` (a config entry)."""
    fmt = spec.get("format")
    if fmt == "pulsedb":
        yield from _iter_pulsedb(spec, chunk_size)
    elif fmt in ("mimic3_matched", "mimic4_waveform"):
        yield from _iter_wfdb(spec, exclusions, chunk_size)
    else:
        raise ValueError(f"ppg dataset format {fmt!r} is not one of {FORMATS}")


def _iter_pulsedb(spec: dict[str, Any], chunk_size: int) -> Iterator[WindowChunk]:
    root = Path(spec["root"])
    fs = float(spec.get("fs", 125.0))
    subset_files = spec.get("subset_files") or []
    if subset_files:
        for name in subset_files:
            path = root / "Subset_Files" / f"{name}_Subset.mat"
            for chunk in iter_subset_file(
                path, chunk_size, channel=spec.get("subset_channel", "PPG_F")
            ):
                meta = chunk.meta.drop(columns=["source"])
                meta["record"] = meta["record"].astype(str)
                meta["window_index"] = meta["segment"].astype(np.int64)
                meta["segment"] = meta["segment"].astype(str)
                meta["start_time"] = meta["window_index"] * 10.0
                yield WindowChunk(chunk.signals, meta, chunk.fs)
        return
    seg_dir = root / "Segment_Files"
    files = sorted(seg_dir.glob("PulseDB_*/*.mat"))
    if not files:
        raise FileNotFoundError(
            f"{seg_dir}: no PulseDB_*/pXXXXXX.mat segment files (ppg.datasets.<name>.root)"
        )
    buffer: list[WindowChunk] = []
    buffered = 0
    for path in files:
        data = read_segment_file(path, spec.get("signal_field", "PPG_Raw"), fs)
        meta = data.meta.copy()
        order = np.lexsort((meta["segment"].to_numpy(), meta["record"].to_numpy()))
        meta = meta.iloc[order].reset_index(drop=True)
        signals = data.signals[order]
        meta["window_index"] = meta.groupby("record").cumcount().astype(np.int64)
        meta["start_time"] = meta["window_index"] * 10.0
        meta["segment"] = meta["segment"].astype(str)
        buffer.append(WindowChunk(signals, meta, data.fs))
        buffered += len(meta)
        if buffered >= chunk_size:
            # drop the per-file pieces before yielding: held across the yield they would
            # double the chunk's memory while the consumer works on the merged copy
            merged, buffer, buffered = _merge(buffer), [], 0
            yield merged
            del merged
    if buffer:
        yield _merge(buffer)


def _merge(chunks: list[WindowChunk]) -> WindowChunk:
    return WindowChunk(
        np.concatenate([c.signals for c in chunks]),
        pd.concat([c.meta for c in chunks], ignore_index=True),
        chunks[0].fs,
    )


def _iter_wfdb(spec: dict[str, Any], exclusions: Exclusions, chunk_size: int):
    root = Path(spec["root"])
    channels = spec.get("channels") or DEFAULT_CHANNELS[spec["format"]]
    fs_expected = float(spec.get("fs", 125.0))
    strict = bool(spec.get("strict", False))
    for record in sorted(list_records(root)):
        try:
            fs, windows, missing = iter_ppg_windows(record, channels, fs_expected, strict=strict)
        except NoPPGChannel as err:
            log.warning("excluded: %s", err)
            exclusions.records_without_ppg.append(str(record.relative_to(root)))
            continue
        if missing:
            log.warning("%s: %d segment(s) missing on disk, read as gaps: %s", record,
                        len(missing), ", ".join(missing[:5]))  # fmt: skip
            exclusions.missing_segments[str(record.relative_to(root))] = missing
        subject = subject_of(record)
        sigs, rows = [], []
        for w in windows:
            sigs.append(w.signal)
            rows.append(
                {
                    "subject_id": subject,
                    "record": record.name,
                    "segment": w.segment,
                    "window_index": w.index,
                    "start_time": w.start_time,
                    "age": np.nan,
                    "sex": None,
                }
            )
            if len(rows) >= chunk_size:
                yield _wfdb_chunk(sigs, rows, fs)
                sigs, rows = [], []
        if rows:
            yield _wfdb_chunk(sigs, rows, fs)


def _wfdb_chunk(sigs: list[np.ndarray], rows: list[dict], fs: float) -> WindowChunk:
    n = max(s.size for s in sigs)
    out = np.full((len(sigs), n), np.nan)
    for i, s in enumerate(sigs):  # windows at a fractional rate differ by one sample
        out[i, : s.size] = s
        if s.size < n:
            out[i, s.size :] = s[-1]
    return WindowChunk(out, pd.DataFrame(rows), fs)
