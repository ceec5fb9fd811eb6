"""PulseDB ``.mat`` files (MATLAB v7.3 = HDF5): reader and a writer in MATLAB's conventions.

Why h5py and not scipy.io: PulseDB ships MATLAB v7.3 files, which are HDF5; scipy reads only
v5. MATLAB stores arrays column-major, so h5py sees every dimension reversed: the subset
``Signals`` that MATLAB shows as (N, 3, 1250) is (1250, 3, N) in HDF5. Struct-array fields and
cells are HDF5 datasets of object references whose targets live in ``#refs#`` (reference §2).

Layouts read here:

* ``Segment_Files/PulseDB_{MIMIC,Vital}/pXXXXXX.mat``: top-level struct array ``Subj_Wins``,
  one element per 10-s window; each field is an HDF5 dataset of object references
  (h5py shape ``(1, N)``), dereferenced per window. Fields used: ``SubjectID``, ``CaseID``,
  ``SegmentID``, the PPG field chosen in config (``PPG_Raw`` by default), ``Age``, ``Gender``,
  and ``T`` when present (v2_0: absolute time, checks the sampling rate).
* ``Subset_Files/<Name>_Subset.mat``: struct ``Subset`` with ``Signals`` (1250, 3, N),
  channels [ECG_F, PPG_F, ABP_Raw]; ``Age``/``SBP``/``DBP`` (1, N); ``Gender`` and
  ``Subject`` (``'pXXXXXX_S'``, last digit = source 0 MIMIC / 1 VitalDB) as cells of chars.

The writer (used by the synthetic generator) produces the same structures, including the
512-byte MATLAB userblock header and ``MATLAB_class`` attributes, so the same files open in
MATLAB, ``mat73`` and this reader.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from clinssl.utils.atomic import atomic_path

PULSEDB_FS = 125.0
PULSEDB_SAMPLES = 1250
SUBSET_CHANNELS = ("ECG_F", "PPG_F", "ABP_Raw")
SEGMENT_SIGNAL_FIELDS = ("PPG_Raw", "PPG_F", "PPG_Record", "PPG_Record_F")


class PulseDBFormatError(ValueError):
    """A PulseDB file that does not have the expected structure (message names file + field)."""


# ----------------------------------------------------------------------------------- reading


def open_v73(path: str | os.PathLike[str]) -> h5py.File:
    """Open a MATLAB v7.3 file read-only; a v5 ``.mat`` or a non-HDF5 file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: PulseDB file not found")
    if not h5py.is_hdf5(path):
        with open(path, "rb") as fh:
            head = fh.read(20)
        kind = "a MATLAB v5/v7 file" if head.startswith(b"MATLAB") else "not an HDF5 file"
        raise PulseDBFormatError(
            f"{path}: expected a MATLAB v7.3 (HDF5) .mat file as PulseDB ships, got {kind}; "
            "re-save it in MATLAB with save(..., '-v7.3')"
        )
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise _corrupt(path, err) from err


def _corrupt(path: Path, err: OSError) -> PulseDBFormatError:
    return PulseDBFormatError(
        f"{path}: truncated or corrupt MATLAB v7.3 file ({err}); a partial download? "
        "Download it again"
    )


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """HDF5 reads that fail mid-file (a truncated or damaged file) name the file."""
    try:
        yield
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise _corrupt(path, err) from err


def _group(f: h5py.File, name: str, path: Path) -> h5py.Group:
    if name not in f or not isinstance(f[name], h5py.Group):
        raise PulseDBFormatError(f"{path}: missing top-level struct {name!r}")
    return f[name]


def _field(group: h5py.Group, name: str, path: Path) -> h5py.Dataset:
    if name not in group:
        raise PulseDBFormatError(
            f"{path}: struct {group.name.strip('/')!r} has no field {name!r} "
            f"(fields: {sorted(group.keys())})"
        )
    return group[name]


def _decode_char(data: np.ndarray) -> str:
    return "".join(chr(int(c)) for c in np.asarray(data).ravel() if int(c) != 0)


def _deref(f: h5py.File, ref: h5py.Reference) -> np.ndarray:
    return f[ref][()]


def _ref_array(ds: h5py.Dataset, path: Path) -> np.ndarray:
    refs = ds[()]
    if refs.dtype != h5py.ref_dtype:
        raise PulseDBFormatError(
            f"{path}: field {ds.name!r} is not a struct-array field of object references"
        )
    return refs.ravel()


@dataclass
class PulseDBWindows:
    """Windows of one PulseDB file: ``signals`` (N, n_samples) float64 + per-window ``meta``."""

    signals: np.ndarray
    meta: pd.DataFrame
    fs: float


def read_segment_file(
    path: str | os.PathLike[str], signal_field: str = "PPG_Raw", expected_fs: float = PULSEDB_FS
) -> PulseDBWindows:
    """Read one ``Segment_Files/.../pXXXXXX.mat`` (``Subj_Wins``); see module docstring.

    ``meta`` columns: subject_id, record (CaseID), segment (SegmentID), age, sex.
    """
    path = Path(path)
    with _reading(path), open_v73(path) as f:
        wins = _group(f, "Subj_Wins", path)
        sig_refs = _ref_array(_field(wins, signal_field, path), path)
        n = sig_refs.size
        columns = {}
        for name in ("SubjectID", "CaseID", "SegmentID", "Age", "Gender"):
            refs = _ref_array(_field(wins, name, path), path)
            if refs.size != n:
                raise PulseDBFormatError(
                    f"{path}: field {name!r} has {refs.size} elements, {signal_field!r} has {n}"
                )
            columns[name] = refs
        if "T" in wins:
            t = np.asarray(_deref(f, _ref_array(wins["T"], path)[0]), dtype=float).ravel()
            if t.size > 1:
                fs = 1.0 / float(np.median(np.diff(t)))
                if abs(fs - expected_fs) > 0.01 * expected_fs:
                    raise PulseDBFormatError(
                        f"{path}: field 'T' steps at {fs:.3f} Hz, config expects "
                        f"{expected_fs:g} Hz (ppg.datasets.<name>.fs)"
                    )
        signals = np.empty((n, 0))
        rows = []
        for j in range(n):
            x = np.asarray(_deref(f, sig_refs[j]), dtype=np.float64).ravel()
            if j == 0:
                signals = np.empty((n, x.size))
            if x.size != signals.shape[1]:
                raise PulseDBFormatError(
                    f"{path}: field {signal_field!r} window {j} has {x.size} samples, "
                    f"window 0 has {signals.shape[1]}"
                )
            signals[j] = x
            rows.append(
                {
                    "subject_id": _decode_char(_deref(f, columns["SubjectID"][j])),
                    "record": _decode_char(_deref(f, columns["CaseID"][j])),
                    "segment": int(np.asarray(_deref(f, columns["SegmentID"][j])).ravel()[0]),
                    "age": float(np.asarray(_deref(f, columns["Age"][j])).ravel()[0]),
                    "sex": _decode_char(_deref(f, columns["Gender"][j])) or None,
                }
            )
    if n and signals.shape[1] != int(round(expected_fs * 10)):
        raise PulseDBFormatError(
            f"{path}: field {signal_field!r} windows have {signals.shape[1]} samples; PulseDB "
            f"windows are 10 s at {expected_fs:g} Hz = {int(round(expected_fs * 10))} samples"
        )
    return PulseDBWindows(signals=signals, meta=pd.DataFrame(rows), fs=expected_fs)


def iter_subset_file(
    path: str | os.PathLike[str], chunk_size: int = 4096, channel: str = "PPG_F"
) -> Iterator[PulseDBWindows]:
    """Stream a ``<Name>_Subset.mat`` in chunks of windows (``Signals`` is never loaded whole).

    ``meta``: subject_id (7 chars), source (0 MIMIC / 1 VitalDB), record (= subject),
    segment (row order within the subject), age, sex.
    """
    path = Path(path)
    if channel not in SUBSET_CHANNELS:
        raise ValueError(f"subset channel must be one of {SUBSET_CHANNELS}, got {channel!r}")
    with _reading(path), open_v73(path) as f:
        subset = _group(f, "Subset", path)
        signals = _field(subset, "Signals", path)
        if signals.ndim != 3 or signals.shape[1] != 3 or signals.shape[0] != PULSEDB_SAMPLES:
            raise PulseDBFormatError(
                f"{path}: field 'Subset.Signals' has HDF5 shape {signals.shape}; expected "
                f"({PULSEDB_SAMPLES}, 3, N) (MATLAB (N, 3, {PULSEDB_SAMPLES}))"
            )
        n = signals.shape[2]
        age = np.asarray(_field(subset, "Age", path)[()], dtype=float).ravel()
        subj_refs = _ref_array(_field(subset, "Subject", path), path)
        gender_refs = _ref_array(_field(subset, "Gender", path), path)
        if not (age.size == subj_refs.size == gender_refs.size == n):
            raise PulseDBFormatError(
                f"{path}: Subset fields Age/Subject/Gender do not have N={n} elements"
            )
        subjects = [_decode_char(_deref(f, r)) for r in subj_refs]
        genders = [_decode_char(_deref(f, r)) or None for r in gender_refs]
        counter: dict[str, int] = {}
        ch = SUBSET_CHANNELS.index(channel)
        for start in range(0, n, chunk_size):
            stop = min(n, start + chunk_size)
            block = np.asarray(signals[:, ch, start:stop], dtype=np.float64).T
            rows = []
            for j in range(start, stop):
                name = subjects[j]
                sid = name[:7]
                seg = counter.get(sid, 0)
                counter[sid] = seg + 1
                rows.append(
                    {
                        "subject_id": sid,
                        "source": int(name[-1]) if name[-1:].isdigit() else -1,
                        "record": sid,
                        "segment": seg,
                        "age": age[j],
                        "sex": genders[j],
                    }
                )
            yield PulseDBWindows(signals=block, meta=pd.DataFrame(rows), fs=PULSEDB_FS)


# ----------------------------------------------------------------------------------- writing

_USERBLOCK = 512


def _matlab_header() -> bytes:
    text = (
        "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: "
        + time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(0))
        + " HDF5 schema 1.00 ."
    ).encode("ascii")
    header = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    return header.ljust(_USERBLOCK, b"\x00")


def _set_class(obj: h5py.HLObject, cls: str) -> None:
    obj.attrs.create("MATLAB_class", np.bytes_(cls))


def _write_double(parent: h5py.Group, name: str, value: np.ndarray) -> h5py.Dataset:
    """MATLAB array of MATLAB shape ``value.shape`` (written reversed, column-major)."""
    arr = np.asarray(value, dtype=np.float64)
    ds = parent.create_dataset(name, data=arr.T)
    _set_class(ds, "double")
    return ds


def _write_char(parent: h5py.Group, name: str, text: str) -> h5py.Dataset:
    data = np.array([[ord(c)] for c in text] or [[0]], dtype=np.uint16).T  # MATLAB 1×len
    ds = parent.create_dataset(name, data=data.T)
    _set_class(ds, "char")
    ds.attrs.create("MATLAB_int_decode", np.int32(2))
    return ds


class _Refs:
    """Allocator of ``#refs#`` entries (MATLAB keeps cell/struct-array elements there)."""

    def __init__(self, f: h5py.File) -> None:
        self.group = f.require_group("#refs#")
        self.count = 0

    def _name(self) -> str:
        self.count += 1
        return f"r{self.count}"

    def double(self, value) -> h5py.Reference:
        return _write_double(self.group, self._name(), np.atleast_2d(value)).ref

    def char(self, text: str) -> h5py.Reference:
        return _write_char(self.group, self._name(), text).ref


def _write_ref_field(parent: h5py.Group, name: str, refs: Sequence[h5py.Reference], cls: str):
    ds = parent.create_dataset(name, data=np.array([list(refs)], dtype=h5py.ref_dtype))
    _set_class(ds, cls)
    return ds


def _finish_userblock(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.write(_matlab_header())


def write_segment_file(
    path: str | os.PathLike[str],
    subject_id: str,
    records: Sequence[str],
    segments: Sequence[int],
    ppg_raw: np.ndarray,
    ppg_f: np.ndarray,
    age: float,
    sex: str,
    fs: float = PULSEDB_FS,
) -> None:
    """Write ``Segment_Files/.../<subject_id>.mat`` with a ``Subj_Wins`` struct array.

    ``ppg_raw``/``ppg_f``: (N, 1250). Fields as PulseDB v2_0 (subset used by the reader plus
    ``T``, ``PPG_Record``); ECG/ABP fields are omitted: this branch reads PPG only.
    """
    path = Path(path)
    n = len(records)
    t = np.arange(ppg_raw.shape[1]) / fs
    fields = ("SubjectID", "CaseID", "SegmentID", "PPG_Raw", "PPG_F", "PPG_Record", "T")
    fields += ("Age", "Gender")
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", userblock_size=_USERBLOCK, libver="earliest") as f:
            refs = _Refs(f)
            wins = f.create_group("Subj_Wins")
            _set_class(wins, "struct")
            wins.attrs.create(
                "MATLAB_fields",
                np.array([np.frombuffer(k.encode(), "S1") for k in fields], dtype=object),
                dtype=h5py.vlen_dtype(np.dtype("S1")),
            )
            raw01 = _rescale01(ppg_raw)
            per_field = {
                "SubjectID": [refs.char(subject_id) for _ in range(n)],
                "CaseID": [refs.char(r) for r in records],
                "SegmentID": [refs.double(float(s)) for s in segments],
                "PPG_Raw": [refs.double(raw01[j][None, :]) for j in range(n)],
                "PPG_F": [refs.double(ppg_f[j][None, :]) for j in range(n)],
                "PPG_Record": [refs.double(ppg_raw[j][None, :]) for j in range(n)],
                "T": [refs.double((t + 10.0 * j)[None, :]) for j in range(n)],
                "Age": [refs.double(float(age)) for _ in range(n)],
                "Gender": [refs.char(sex) for _ in range(n)],
            }
            for name in fields:
                _write_ref_field(wins, name, per_field[name], "cell")
        _finish_userblock(tmp)


def _rescale01(x: np.ndarray) -> np.ndarray:
    """PulseDB ``PPG_Raw``: each window linearly rescaled to [0, 1] (constant → 0, NaN kept)."""
    lo = np.nanmin(np.where(np.isnan(x), np.inf, x), axis=1, keepdims=True)
    hi = np.nanmax(np.where(np.isnan(x), -np.inf, x), axis=1, keepdims=True)
    span = hi - lo
    ok = np.isfinite(span) & (span > 0)
    out = np.where(ok, (x - np.where(ok, lo, 0)) / np.where(ok, span, 1), 0.0)
    return np.where(np.isnan(x), np.nan, out)


def write_subset_file(
    path: str | os.PathLike[str],
    signals: np.ndarray,
    subjects: Sequence[str],
    age: np.ndarray,
    gender: Sequence[str],
    sbp: np.ndarray | None = None,
    dbp: np.ndarray | None = None,
) -> None:
    """Write ``<Name>_Subset.mat``: ``signals`` is MATLAB-shaped (N, 3, 1250), channels
    [ECG_F, PPG_F, ABP_Raw]; ``subjects`` are ``'pXXXXXX_S'``."""
    path = Path(path)
    signals = np.asarray(signals, dtype=np.float64)
    if signals.ndim != 3 or signals.shape[1:] != (3, PULSEDB_SAMPLES):
        raise ValueError(f"signals must be (N, 3, {PULSEDB_SAMPLES}), got {signals.shape}")
    n = signals.shape[0]
    sbp = np.full(n, np.nan) if sbp is None else sbp
    dbp = np.full(n, np.nan) if dbp is None else dbp
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", userblock_size=_USERBLOCK, libver="earliest") as f:
            refs = _Refs(f)
            subset = f.create_group("Subset")
            _set_class(subset, "struct")
            _write_double(subset, "Signals", signals)  # HDF5 (1250, 3, N)
            for name, value in (("Age", age), ("SBP", sbp), ("DBP", dbp)):
                _write_double(subset, name, np.asarray(value, dtype=float).reshape(n, 1))
            for name in ("Height", "Weight", "BMI"):
                _write_double(subset, name, np.full((n, 1), np.nan))
            _write_ref_field(subset, "Subject", [refs.char(s) for s in subjects], "cell")
            _write_ref_field(subset, "Gender", [refs.char(g) for g in gender], "cell")
        _finish_userblock(tmp)
