"""MIMIC-III matched subset and MIMIC-IV waveform (WFDB): PPG reader and layout writers.

Why this module: both databases are WFDB, read with ``wfdb`` (reference §3), but differ in
ways that silently corrupt data if ignored:

* MIMIC-III matched: ``pXX/pXXNNNN/`` directories; the master record is a **multi-segment,
  variable-layout** header (``NNNNNNN_layout`` lists all signals, ``~`` marks gaps); segments
  may lack ``PLETH`` and order their channels differently. Segments are read one by one
  with ``rdrecord(segment, channel_names=[PLETH])``: gaps, segments without PLETH and
  segments the master header lists but that are not on disk (a selective download of a
  record) are NaN, and the missing ones are reported (:class:`RecordWindows`).
* MIMIC-IV waveform: ``waves/pNNN/pNNNNNNNN/<record>/``; the record ``fs`` is a *frame* rate
  (62.4725 Hz) and ``Pleth`` has 2 samples per frame, so it must be read with
  ``smooth_frames=False`` (``e_p_signal``) to keep ≈125 Hz; signals are FLAC (format 516,
  needs ``soundfile``).

:func:`iter_ppg_windows` reads a record in blocks (``sampfrom``/``sampto``) and cuts
non-overlapping 10-s windows on the record's own timeline (the final partial window is
dropped), so memory is bounded by the block size, not the record length.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import wfdb

from clinssl.utils.atomic import atomic_write_text


class WFDBFormatError(ValueError):
    """A WFDB record that cannot be used as asked (message names record and field)."""


class NoPPGChannel(WFDBFormatError):
    """The record has none of the requested PPG channel names (a counted exclusion)."""


_SUBJECT = re.compile(r"^p\d{6,8}$")


def list_records(root: str | os.PathLike[str]) -> list[Path]:
    """Waveform records under ``root`` (without ``.hea``), from the ``RECORDS`` files.

    MIMIC-III: root ``RECORDS`` lists subject dirs, each with its own ``RECORDS`` of master
    records (numerics, names ending in ``n``, are skipped). MIMIC-IV: root ``RECORDS`` lists
    record directories ``waves/pNNN/pNNNNNNNN/<record>/`` whose record is named like the dir.
    """
    root = Path(root)
    listing = root / "RECORDS"
    if not listing.is_file():
        raise FileNotFoundError(f"{root}: no RECORDS file (expected a PhysioNet WFDB database)")
    records: list[Path] = []
    for line in listing.read_text().split():
        entry = root / line.strip().rstrip("/")
        sub = entry / "RECORDS"
        if sub.is_file():
            records += [entry / n for n in sub.read_text().split() if not n.endswith("n")]
        elif entry.is_dir():
            records.append(entry / entry.name)
        else:
            records.append(entry)
    return records


def subject_of(record: Path) -> str:
    """The ``pNNNNNN(NN)`` directory nearest the record (MIMIC subject id)."""
    for part in reversed(record.parts[:-1]):
        if _SUBJECT.match(part):
            return part
    raise WFDBFormatError(f"{record}: no pNNNNNN subject directory in its path")


@dataclass
class RecordWindow:
    """One cut window in source samples (NaN where the record has no PPG)."""

    index: int
    start_time: float
    segment: str
    signal: np.ndarray


def _segment_at(header: wfdb.io.record.MultiRecord | wfdb.Record, sample: int) -> str:
    names = getattr(header, "seg_name", None)
    if not names:
        return header.record_name
    edges = np.cumsum(header.seg_len)
    i = int(np.searchsorted(edges, sample, side="right"))
    return names[min(i, len(names) - 1)]


@dataclass
class Segment:
    """One entry of a multi-segment master header, and whether its files are on disk."""

    name: str
    start: int  # first frame in the master record's timeline
    length: int  # frames
    header: wfdb.Record | None  # None: a gap ('~'), or missing from disk

    @property
    def is_gap(self) -> bool:
        return self.name == "~"

    @property
    def is_layout(self) -> bool:
        return self.name.endswith("_layout")


def _present_header(path: Path) -> wfdb.Record | None:
    """The segment's header when the header and every signal file it names exist."""
    if not Path(f"{path}.hea").is_file():
        return None
    header = wfdb.rdheader(str(path))
    files = {f for f in (header.file_name or []) if f and f != "~"}  # a layout names "~"
    if any(not (path.parent / f).is_file() for f in files):
        return None
    return header


def _segments(record: Path, header) -> list[Segment] | None:
    """The master header's segments (None for a single-segment record)."""
    names = getattr(header, "seg_name", None)
    if not names:
        return None
    segments, start = [], 0
    for name, length in zip(names, header.seg_len, strict=True):
        seg_header = None if name == "~" else _present_header(record.parent / name)
        segments.append(Segment(name, start, int(length), seg_header))
        start += int(length)
    return segments


class RecordWindows(NamedTuple):
    """A record's PPG rate, its windows (lazy), and the segments its master header lists
    that are not on disk (e.g. after a selective download)."""

    fs: float
    windows: Iterator[RecordWindow]
    missing_segments: list[str]


def iter_ppg_windows(
    record: str | os.PathLike[str],
    channel_names: Sequence[str],
    expected_fs: float,
    window_seconds: float = 10.0,
    block_windows: int = 360,
    fs_tolerance: float = 0.01,
    strict: bool = False,
) -> RecordWindows:
    """The PPG rate, windows and missing segments of one record; see module docstring.

    Raises :class:`NoPPGChannel` when none of ``channel_names`` is in the record, and
    :class:`WFDBFormatError` when the PPG rate differs from ``expected_fs`` by more than
    ``fs_tolerance`` (relative), when none of a multi-segment record's data segments is on
    disk, or — with ``strict`` — when any segment is missing.
    """
    record = Path(record)
    if not Path(f"{record}.hea").is_file():
        raise FileNotFoundError(f"{record}.hea: WFDB header not found")
    header = wfdb.rdheader(str(record))
    n_frames = int(header.sig_len or 0)
    segments = _segments(record, header)
    if segments is None:
        available = list(header.sig_name or [])
        channel = _pick_channel(record, channel_names, available)
        probe = _read_block(record, channel, 0, min(n_frames, 64))
        spf = probe.size / max(1, min(n_frames, 64))
        frame_fs = float(header.fs)
        missing: list[str] = []

        def read(start: int, stop: int) -> np.ndarray:
            return _read_block(record, channel, start, stop)

    else:
        missing = [s.name for s in segments if not s.is_gap and s.header is None]
        data = [s for s in segments if not s.is_gap and not s.is_layout]
        if missing and strict:
            raise WFDBFormatError(
                f"{record}: {len(missing)} segment(s) listed in the master header are missing "
                f"or incomplete on disk ({', '.join(missing[:5])}"
                f"{', ...' if len(missing) > 5 else ''}); download them, or set "
                "ppg.datasets.<name>.strict: false to read the segments that exist"
            )
        if data and all(s.header is None for s in data):
            raise WFDBFormatError(
                f"{record}: none of its {len(data)} data segments is on disk (e.g. "
                f"{data[0].name}.hea); download the record's segments or remove it from RECORDS"
            )
        layout = next((s.header for s in segments if s.is_layout and s.header is not None), None)
        if layout is not None:
            available = list(layout.sig_name or [])
        else:  # layout header missing too: the channels of the segments that are present
            available = []
            for s in data:
                for name in (s.header.sig_name or []) if s.header is not None else []:
                    if name not in available:
                        available.append(name)
        channel = _pick_channel(record, channel_names, available)
        with_channel = [s for s in data if s.header is not None and channel in s.header.sig_name]
        if not with_channel:
            raise NoPPGChannel(
                f"{record}: no segment on disk holds channel {channel!r} "
                f"({len(missing)} segment(s) missing)"
            )
        first = with_channel[0].header
        spf = float(first.samps_per_frame[first.sig_name.index(channel)])
        frame_fs = float(first.fs)

        def read(start: int, stop: int) -> np.ndarray:
            return _read_segments(record, segments, channel, int(spf), start, stop)

    fs = frame_fs * spf
    if abs(fs - expected_fs) > fs_tolerance * expected_fs:
        raise WFDBFormatError(
            f"{record}: channel {channel!r} is sampled at {fs:.4g} Hz "
            f"({frame_fs:g} frames/s × {spf:g} samples/frame); config expects "
            f"{expected_fs:g} Hz (ppg.datasets.<name>.fs)"
        )
    windows = _cut(read, header, n_frames, fs, spf, frame_fs, window_seconds, block_windows)
    return RecordWindows(fs, windows, missing)


def _pick_channel(record: Path, channel_names: Sequence[str], available: list[str]) -> str:
    found = [c for c in channel_names if c in available]
    if not found:
        raise NoPPGChannel(f"{record}: no PPG channel {list(channel_names)} (signals: {available})")
    return found[0]


def _read_block(record: Path, channel: str, start: int, stop: int) -> np.ndarray:
    if stop <= start:
        return np.empty(0)
    try:
        rec = wfdb.rdrecord(
            str(record),
            sampfrom=start,
            sampto=stop,
            channel_names=[channel],
            m2s=True,
            smooth_frames=False,
        )
    except ValueError as err:  # wfdb: "Samples were not loaded correctly" on a short .dat
        raise WFDBFormatError(
            f"{record}: samples {start}-{stop} of channel {channel!r} cannot be read ({err}); "
            "a signal (.dat) file of the record is truncated or damaged — download it again"
        ) from err
    if rec.n_sig == 0 or rec.e_p_signal is None:
        return np.full(stop - start, np.nan)
    return np.asarray(rec.e_p_signal[0], dtype=np.float64)


def _read_segments(
    record: Path, segments: list[Segment], channel: str, spf: int, start: int, stop: int
) -> np.ndarray:
    """Frames ``[start, stop)`` of a multi-segment record, segment by segment: NaN for gaps,
    missing segments and segments without ``channel``."""
    parts = []
    for seg in segments:
        lo, hi = max(start, seg.start), min(stop, seg.start + seg.length)
        if hi <= lo:
            continue
        if seg.header is None or channel not in (seg.header.sig_name or []):
            parts.append(np.full((hi - lo) * spf, np.nan))
            continue
        parts.append(_read_block(record.parent / seg.name, channel, lo - seg.start, hi - seg.start))
    return np.concatenate(parts) if parts else np.empty(0)


def _cut(read, header, n_frames, fs, spf, frame_fs, window_seconds, block_windows):
    length = window_seconds * fs
    block = max(1, int(round(block_windows * window_seconds * frame_fs)))
    buffer, buffer_start, k = np.empty(0), 0, 0
    for start in range(0, n_frames, block):
        buffer = np.concatenate([buffer, read(start, min(n_frames, start + block))])
        while True:
            lo, hi = int(round(k * length)), int(round((k + 1) * length))
            if hi - buffer_start > buffer.size:
                break
            x = buffer[lo - buffer_start : hi - buffer_start]
            yield RecordWindow(
                index=k,
                start_time=lo / fs,
                segment=_segment_at(header, int(lo / spf)),
                signal=x,
            )
            k += 1
        drop = int(round(k * length)) - buffer_start
        buffer, buffer_start = buffer[drop:], buffer_start + drop


# ----------------------------------------------------------------------------------- writing


@dataclass
class SegmentSpec:
    """One segment of a multi-segment record: ``signals`` {name: array} or None for a gap."""

    length: int
    signals: dict[str, np.ndarray] | None


UNITS = {"PLETH": "NU", "Pleth": "NU", "II": "mV", "V": "mV", "ABP": "mmHg", "Resp": "Ohm"}


def write_mimic3_record(
    subject_dir: str | os.PathLike[str],
    master_name: str,
    segment_prefix: str,
    segments: Sequence[SegmentSpec],
    fs: float = 125.0,
) -> None:
    """Write a MIMIC-III-matched multi-segment variable-layout record in ``subject_dir``.

    Writes ``<prefix>_NNNN.{hea,dat}`` per segment (format 16), ``<prefix>_layout.hea``
    (zero length, every signal) and the master ``<master_name>.hea`` (``~`` for gaps). The
    master header is written last, so a half-written record has no master.
    """
    subject_dir = Path(subject_dir)
    subject_dir.mkdir(parents=True, exist_ok=True)
    all_names: list[str] = []
    for seg in segments:
        for name in seg.signals or {}:
            if name not in all_names:
                all_names.append(name)
    lines = []
    number = 0
    for seg in segments:
        if seg.signals is None:
            lines.append(f"~ {seg.length}")
            continue
        number += 1  # data segments are numbered consecutively; gaps have no file
        name = f"{segment_prefix}_{number:04d}"
        sig_names = list(seg.signals)
        p_signal = np.column_stack([seg.signals[s] for s in sig_names]).astype(np.float64)
        wfdb.wrsamp(
            name,
            fs=fs,
            units=[UNITS.get(s, "NU") for s in sig_names],
            sig_name=sig_names,
            p_signal=p_signal,
            fmt=["16"] * len(sig_names),
            write_dir=str(subject_dir),
        )
        lines.append(f"{name} {seg.length}")
    layout = [f"{segment_prefix}_layout {len(all_names)} {fs:g} 0"]
    layout += [f"~ 0 1/{UNITS.get(s, 'NU')} 16 0 0 0 0 {s}" for s in all_names]
    atomic_write_text(subject_dir / f"{segment_prefix}_layout.hea", "\n".join(layout) + "\n")
    total = sum(seg.length for seg in segments)
    master = [f"{master_name}/{len(segments) + 1} {len(all_names)} {fs:g} {total}"]
    master.append(f"{segment_prefix}_layout 0")
    master += lines
    atomic_write_text(subject_dir / f"{master_name}.hea", "\n".join(master) + "\n")


_FILE_SUFFIX = {4: "e", 2: "p", 1: "r"}


def write_mimic4_record(
    record_dir: str | os.PathLike[str],
    record_name: str,
    signals: dict[str, np.ndarray],
    samps_per_frame: dict[str, int],
    frame_fs: float = 62.4725,
) -> None:
    """Write a single-segment MIMIC-IV-style record: FLAC (format 516), several samples per
    frame (e.g. ``II`` 4, ``Pleth`` 2), written with ``expanded=True``."""
    record_dir = Path(record_dir)
    record_dir.mkdir(parents=True, exist_ok=True)
    names = list(signals)
    spf = [int(samps_per_frame[n]) for n in names]
    n_frames = min(signals[n].size // s for n, s in zip(names, spf, strict=True))
    e_p = [
        np.asarray(signals[n][: n_frames * s], dtype=np.float64)
        for n, s in zip(names, spf, strict=True)
    ]
    rec = wfdb.Record(
        record_name=record_name,
        n_sig=len(names),
        fs=frame_fs,
        sig_len=n_frames,
        sig_name=names,
        units=[UNITS.get(n, "NU") for n in names],
        fmt=["516"] * len(names),
        samps_per_frame=spf,
        e_p_signal=e_p,
        # FLAC files hold channels of one rate: ECG (4/frame) in 'e', PPG/ABP (2) in 'p', ...
        file_name=[f"{record_name}{_FILE_SUFFIX.get(s, f'x{s}')}.dat" for s in spf],
    )
    rec.set_d_features(do_adc=True, expanded=True)
    rec.set_defaults()
    rec.wrsamp(expanded=True, write_dir=str(record_dir))


def write_records_file(root: str | os.PathLike[str], entries: Sequence[str]) -> None:
    """``RECORDS`` listing (one entry per line), written atomically."""
    atomic_write_text(Path(root) / "RECORDS", "".join(f"{e}\n" for e in entries))
