"""Extracted events and stays -> padded model tensors, with train-fitted preprocessing.

The extractor writes ``events.parquet`` (one row per event) and ``stays.parquet`` (one row
per ICU stay, with the label ``died`` and the static features); the sequence model wants, per
stay, a fixed-width right-padded matrix of event vectors. This module makes that step, and
everything in it that is *learned* from data is learned on the train split only:

* :func:`split_stays` assigns splits by **patient** (all stays of one ``subject_id`` in one
  split) through :func:`clinssl.io.splits.patient_level_split`, so the test set never holds a
  patient the model was trained on. That function cuts a seeded permutation of the patients
  and has no stratification; with ~10 % mortality and hundreds of patients per split the
  death rate of each split is close to the cohort's, but a tiny cohort can give a split
  without deaths (validation AUROC is then undefined and early stopping has nothing to
  compare; the training loop then keeps the last epoch).
* :class:`StaticEncoder` one-hot encodes the categorical static columns with the categories
  seen in train plus one bucket :data:`UNKNOWN_CATEGORY` (missing values, empty strings,
  categories never seen in train and, with ``min_count``, rare ones), and standardises age
  with the train mean and standard deviation (missing age -> 0, the train mean). Its
  :meth:`~StaticEncoder.groups` are the blocks that feature ablation removes as one.
* :class:`TimeScaler` maps ``minutes_to_end`` to ``(log1p(minutes) - mean) / sd`` with the
  mean and sd of ``log1p`` over the train events: the raw minutes span five orders of
  magnitude with a long right tail (weeks-long stays), and on the log scale ten minutes and
  six hours before the end stay far apart while day 30 and day 31 nearly coincide.

:func:`build_tensors` lays every stay out as ``one-hot type (EVENT_TYPES order) ‖ text
embedding ‖ scaled time`` per event, keeps the ``max_events`` most recent events in
chronological order (most recent last) and pads on the right (``mask`` True = padding, the
model's key-padding convention). The width ``L`` is the longest kept sequence, at most
``max_events`` (at least 1, so a cohort of empty stays still has a valid shape). Events are
ordered by ``event_time`` with ties broken by ``event_type`` then ``event_text`` (the
extractor's order), so the same input always gives the same layout; events of stays that are
not in ``stays`` are ignored, which lets a caller build tensors for a subset of the stays.

``minutes_last`` (the temporal-aware loss's ``m``) is the ``minutes_to_end`` of the stay's
most recent kept event; a stay without events gets the minutes from ``intime`` to its end
(``end_time`` when the column is present and set: the time a death inside the stay ends it,
the same end ``minutes_to_end`` counts to; else ``outtime``): its last information is the
admission itself.

:class:`EventTensors` are saved as one ``.npz`` written by :func:`clinssl.events.model.write_npz`
(sorted entries, fixed zip timestamps: byte-identical reruns) and loaded with
``allow_pickle=False`` (strings are stored as fixed-width unicode, never as objects).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from clinssl.events.model import write_npz
from clinssl.events.tables import EVENT_TYPES
from clinssl.io.splits import SPLITS, patient_level_split

__all__ = [
    "AGE_COLUMN",
    "EVENTS_FILE",
    "STATIC_CATEGORICAL_COLUMNS",
    "STAYS_FILE",
    "UNKNOWN_CATEGORY",
    "EventDataset",
    "EventDatasetError",
    "EventTensors",
    "EventTensorsFileError",
    "StaticEncoder",
    "TimeScaler",
    "build_tensors",
    "collate_events",
    "event_layout",
    "fit_preprocessors",
    "select_rows",
    "split_stays",
]

#: file names used in error messages for tables handed over as DataFrames
EVENTS_FILE = "events.parquet"
STAYS_FILE = "stays.parquet"

#: the categorical static features of ``stays.parquet``, in the order of the static vector
STATIC_CATEGORICAL_COLUMNS: tuple[str, ...] = (
    "gender", "race", "marital_status", "admission_type", "admission_location", "insurance",
    "first_careunit",
)
AGE_COLUMN = "age"

#: the one-hot bucket of missing, unseen (and, with ``min_count``, rare) categories; the
#: brackets keep it apart from real values such as MIMIC's race "UNKNOWN"
UNKNOWN_CATEGORY = "<other/unknown>"

_EVENT_COLUMNS = ("stay_id", "event_time", "event_type", "event_text", "minutes_to_end")
_TENSOR_ARRAYS = (
    "seq", "mask", "static", "label", "minutes_last", "stay_id", "subject_id", "split",
    "event_types", "static_names",
)
_MINUTES_PER_SECOND = 1.0 / 60.0


class EventDatasetError(ValueError):
    """Events, stays or fitted preprocessing do not have the expected columns or values."""


class EventTensorsFileError(EventDatasetError):
    """A saved :class:`EventTensors` file is missing, unreadable or incomplete."""


# --------------------------------------------------------------------------- validation


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EventDatasetError(
            f"{source}: missing column(s) {', '.join(missing)}; expected the columns "
            f"{', '.join(columns)}"
        )


def _unique_stay_ids(stays: pd.DataFrame, source: str) -> np.ndarray:
    ids = stays["stay_id"]
    if ids.isna().any():
        raise EventDatasetError(f"{source}: column stay_id: expected no missing values")
    if ids.duplicated().any():
        first = ids[ids.duplicated()].iloc[0]
        raise EventDatasetError(
            f"{source}: column stay_id: expected one row per stay, {first!r} appears twice"
        )
    return ids.to_numpy()


def _subject_ids(stays: pd.DataFrame, source: str) -> np.ndarray:
    if stays["subject_id"].isna().any():
        raise EventDatasetError(
            f"{source}: column subject_id: expected no missing values (splits and the "
            "bootstrap group stays by patient)"
        )
    return stays["subject_id"].to_numpy()


def _check_seed(seed: Any) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise EventDatasetError(f"seed: expected a non-negative integer, got {seed!r}")
    return seed


# --------------------------------------------------------------------------- splits


def split_stays(
    stays: pd.DataFrame,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    *,
    seed: int,
) -> pd.Series:
    """``"train"``/``"val"``/``"test"`` for every stay (same index), assigned per patient.

    All stays of one ``subject_id`` get the same split; the assignment depends only on
    ``seed`` and the set of patients (not on row order). Not stratified by the label (see the
    module docstring).
    """
    _require_columns(stays, ("stay_id", "subject_id"), STAYS_FILE)
    stay_ids = _unique_stay_ids(stays, STAYS_FILE)
    table = pd.DataFrame(
        {"stay_id": stay_ids, "patient_id": _subject_ids(stays, STAYS_FILE)}
    )
    try:
        assigned = patient_level_split(table, _check_seed(seed), tuple(fractions))
    except ValueError as err:
        raise EventDatasetError(f"split_stays: {err}") from err
    return pd.Series(assigned["split"].to_numpy(), index=stays.index, name="split")


# --------------------------------------------------------------------------- static features


def _category_values(column: pd.Series) -> pd.Series:
    """Text categories with missing values and empty strings as ``<NA>``."""
    values = column.astype("string").str.strip()
    return values.mask(values == "")


def _numeric_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    try:
        return pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise EventDatasetError(
            f"{source}: column {column}: expected numbers (missing allowed), got {err}"
        ) from err


def _finite_sd(values: np.ndarray) -> float:
    """Population sd; 1 when it is zero or undefined, so a constant feature maps to 0."""
    sd = float(np.std(values)) if values.size else float("nan")
    return sd if math.isfinite(sd) and sd > 1e-12 else 1.0


@dataclass(frozen=True)
class StaticEncoder:
    """Train-fitted one-hot categoricals plus standardised age (see the module docstring).

    ``categories[column]`` are the known categories of each categorical column (sorted); the
    static vector holds, per column in :attr:`columns` order, one entry per known category
    then the :data:`UNKNOWN_CATEGORY` bucket, and finally ``age``.
    """

    categories: Mapping[str, tuple[str, ...]]
    age_mean: float
    age_sd: float
    columns: tuple[str, ...] = field(default=STATIC_CATEGORICAL_COLUMNS)

    def __post_init__(self) -> None:
        if tuple(self.categories) != tuple(self.columns):
            raise EventDatasetError(
                f"static encoder: categories: expected one entry per column "
                f"{list(self.columns)} in that order, got {list(self.categories)}"
            )
        for column, known in self.categories.items():
            if UNKNOWN_CATEGORY in known or len(set(known)) != len(known):
                raise EventDatasetError(
                    f"static encoder: categories of {column}: expected distinct values other "
                    f"than {UNKNOWN_CATEGORY!r}, got {list(known)}"
                )
        if not (math.isfinite(self.age_mean) and math.isfinite(self.age_sd) and self.age_sd > 0):
            raise EventDatasetError(
                f"static encoder: age_mean/age_sd: expected finite numbers with sd > 0, "
                f"got {self.age_mean!r}, {self.age_sd!r}"
            )

    @classmethod
    def fit(
        cls,
        train_stays: pd.DataFrame,
        *,
        min_count: int = 1,
        columns: Sequence[str] = STATIC_CATEGORICAL_COLUMNS,
    ) -> StaticEncoder:
        """Learn the categories (seen at least ``min_count`` times) and the age scaling from
        the train stays only."""
        if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
            raise EventDatasetError(f"min_count: expected an integer >= 1, got {min_count!r}")
        _require_columns(train_stays, (*columns, AGE_COLUMN), STAYS_FILE)
        categories: dict[str, tuple[str, ...]] = {}
        for column in columns:
            counts = _category_values(train_stays[column]).value_counts(dropna=True)
            categories[column] = tuple(sorted(str(c) for c, n in counts.items() if n >= min_count))
        age = _numeric_column(train_stays, AGE_COLUMN, STAYS_FILE)
        age = age[np.isfinite(age)]
        if not age.size:
            raise EventDatasetError(
                f"{STAYS_FILE}: column {AGE_COLUMN}: expected at least one numeric age among "
                "the train stays to standardise with"
            )
        return cls(categories, float(age.mean()), _finite_sd(age), tuple(columns))

    @property
    def n_features(self) -> int:
        """Width of the static vector."""
        return sum(len(known) + 1 for known in self.categories.values()) + 1

    def feature_names(self) -> list[str]:
        """``column=category`` per one-hot entry (the bucket as ``column=<other/unknown>``),
        then ``age``."""
        names = [
            f"{column}={category}"
            for column, known in self.categories.items()
            for category in (*known, UNKNOWN_CATEGORY)
        ]
        return [*names, AGE_COLUMN]

    def groups(self) -> dict[str, list[int]]:
        """Static-vector indices of each categorical's one-hot block and of ``age``: every
        index appears in exactly one group (what feature ablation needs)."""
        out: dict[str, list[int]] = {}
        start = 0
        for column, known in self.categories.items():
            out[column] = list(range(start, start + len(known) + 1))
            start += len(known) + 1
        out[AGE_COLUMN] = [start]
        return out

    def transform(self, stays: pd.DataFrame, source: str = STAYS_FILE) -> np.ndarray:
        """float32 ``(n_stays, n_features)`` static vectors, one row per row of ``stays``."""
        _require_columns(stays, (*self.columns, AGE_COLUMN), source)
        out = np.zeros((len(stays), self.n_features), dtype=np.float32)
        rows = np.arange(len(stays))
        start = 0
        for column, known in self.categories.items():
            values = _category_values(stays[column]).to_numpy(dtype=object, na_value=None)
            codes = pd.Index(list(known), dtype=object).get_indexer(values).astype(np.int64)
            codes[codes < 0] = len(known)  # missing or unseen: the bucket
            out[rows, start + codes] = 1.0
            start += len(known) + 1
        age = (_numeric_column(stays, AGE_COLUMN, source) - self.age_mean) / self.age_sd
        out[:, start] = np.where(np.isfinite(age), age, 0.0)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (lists, strings, floats): what :meth:`from_dict` reads."""
        return {
            "columns": list(self.columns),
            "categories": {column: list(known) for column, known in self.categories.items()},
            "age_mean": self.age_mean,
            "age_sd": self.age_sd,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "static encoder") -> StaticEncoder:
        """Rebuild from :meth:`to_dict` output (e.g. read back from JSON)."""
        try:
            columns = tuple(str(c) for c in data["columns"])
            raw = data["categories"]
            categories = {column: tuple(str(v) for v in raw[column]) for column in columns}
            return cls(categories, float(data["age_mean"]), float(data["age_sd"]), columns)
        except (KeyError, TypeError) as err:
            raise EventDatasetError(
                f"{source}: expected the fields columns, categories (one list per column), "
                f"age_mean, age_sd; could not read {err!r}"
            ) from err


# --------------------------------------------------------------------------- time


def _checked_minutes(minutes: Any, source: str) -> np.ndarray:
    values = pd.to_numeric(pd.Series(np.asarray(minutes).ravel()), errors="coerce")
    values = values.to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise EventDatasetError(
            f"{source}: column minutes_to_end: expected finite numbers >= 0 (minutes from the "
            "event to the end of the stay)"
        )
    return values


@dataclass(frozen=True)
class TimeScaler:
    """``(log1p(minutes) - mean) / sd`` with the mean and population sd of ``log1p`` over
    the train events (see the module docstring)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.sd) and self.sd > 0):
            raise EventDatasetError(
                f"time scaler: mean/sd: expected finite numbers with sd > 0, "
                f"got {self.mean!r}, {self.sd!r}"
            )

    @classmethod
    def fit(cls, train_minutes: Any, source: str = EVENTS_FILE) -> TimeScaler:
        """Fit on the ``minutes_to_end`` of the train events."""
        logs = np.log1p(_checked_minutes(train_minutes, source))
        if not logs.size:
            raise EventDatasetError(
                f"{source}: column minutes_to_end: expected at least one train event to fit "
                "the time scaling on"
            )
        return cls(float(logs.mean()), _finite_sd(logs))

    def transform(self, minutes: Any, source: str = EVENTS_FILE) -> np.ndarray:
        """Scaled times, float32, same length as ``minutes``."""
        logs = np.log1p(_checked_minutes(minutes, source))
        return ((logs - self.mean) / self.sd).astype(np.float32)

    def to_dict(self) -> dict[str, float]:
        """JSON-able form."""
        return {"mean": self.mean, "sd": self.sd}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "time scaler") -> TimeScaler:
        """Rebuild from :meth:`to_dict` output."""
        try:
            return cls(float(data["mean"]), float(data["sd"]))
        except (KeyError, TypeError, ValueError) as err:
            raise EventDatasetError(
                f"{source}: expected numeric fields mean and sd, could not read {err!r}"
            ) from err


def fit_preprocessors(
    events: pd.DataFrame, stays: pd.DataFrame, split: Any, *, min_count: int = 1
) -> tuple[StaticEncoder, TimeScaler]:
    """Fit the :class:`StaticEncoder` on the train stays and the :class:`TimeScaler` on the
    events of the train stays (``split`` aligned with the rows of ``stays``)."""
    _require_columns(stays, ("stay_id",), STAYS_FILE)
    _require_columns(events, ("stay_id", "minutes_to_end"), EVENTS_FILE)
    is_train = _split_array(split, len(stays)) == "train"
    if not is_train.any():
        raise EventDatasetError(f"{STAYS_FILE}: split: expected at least one 'train' stay")
    train_stays = stays.loc[is_train]
    train_events = events["stay_id"].isin(train_stays["stay_id"]).to_numpy()
    encoder = StaticEncoder.fit(train_stays, min_count=min_count)
    scaler = TimeScaler.fit(events.loc[train_events, "minutes_to_end"].to_numpy())
    return encoder, scaler


# --------------------------------------------------------------------------- tensors


@dataclass
class EventTensors:
    """Model-ready arrays, one row per stay (``N`` stays, ``L`` event slots, ``F`` features).

    ``seq`` float32 ``(N, L, F)`` with ``F = len(event_types) + text_dim + 1``; ``mask`` bool
    ``(N, L)``, True = padding (right-padded); ``static`` float32 ``(N, S)``; ``label``
    float32 ``(N,)`` (died = 1); ``minutes_last`` float32 ``(N,)``; ``stay_id`` and
    ``subject_id`` int64; ``split`` unicode. ``static_names`` label the static columns.
    """

    seq: np.ndarray
    mask: np.ndarray
    static: np.ndarray
    label: np.ndarray
    minutes_last: np.ndarray
    stay_id: np.ndarray
    subject_id: np.ndarray
    split: np.ndarray
    event_types: tuple[str, ...] = EVENT_TYPES
    static_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.event_types = tuple(str(t) for t in self.event_types)
        self.static_names = tuple(str(s) for s in self.static_names)
        n = self.seq.shape[0] if self.seq.ndim == 3 else -1
        expected = {
            "seq": (self.seq.ndim == 3 and self.seq.shape[2] >= len(self.event_types) + 1),
            "mask": self.mask.shape == self.seq.shape[:2] and self.mask.dtype == np.bool_,
            "static": self.static.ndim == 2 and self.static.shape[0] == n,
        }
        for name in ("label", "minutes_last", "stay_id", "subject_id", "split"):
            expected[name] = getattr(self, name).shape == (n,)
        bad = [name for name, ok in expected.items() if not ok]
        if bad:
            raise EventDatasetError(
                f"event tensors: {', '.join(bad)}: expected seq (N, L, n_types + text_dim + 1), "
                f"mask bool (N, L), static (N, S) and 1-D arrays of length N, got "
                f"seq {self.seq.shape}, mask {self.mask.dtype} {self.mask.shape}, static "
                f"{self.static.shape}, label {self.label.shape}"
            )
        if self.static_names and len(self.static_names) != self.static.shape[1]:
            raise EventDatasetError(
                f"event tensors: static_names: expected {self.static.shape[1]} names, "
                f"got {len(self.static_names)}"
            )

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    @property
    def n_types(self) -> int:
        """Width of the event-type one-hot."""
        return len(self.event_types)

    @property
    def text_dim(self) -> int:
        """Width of the text embedding inside each event vector."""
        return int(self.seq.shape[2]) - self.n_types - 1

    @property
    def static_dim(self) -> int:
        """Width of the static vector."""
        return int(self.static.shape[1])

    def lengths(self) -> np.ndarray:
        """Number of real (non-padding) events per stay."""
        return (~self.mask).sum(axis=1)

    def rows(self, split: str) -> np.ndarray:
        """Row indices (ascending) of the stays in ``split``."""
        return np.flatnonzero(self.split == split)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write one ``.npz`` atomically and byte-identically across reruns."""
        numeric = ("seq", "mask", "static", "label", "minutes_last", "stay_id", "subject_id")
        arrays = {name: np.asarray(getattr(self, name)) for name in numeric}
        arrays["split"] = np.asarray(self.split).astype(str)
        arrays["event_types"] = np.array(self.event_types, dtype=str)
        arrays["static_names"] = np.array(self.static_names, dtype=str).reshape(-1)
        write_npz(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EventTensors:
        """Read a file written by :meth:`save` (``allow_pickle=False``)."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                missing = [name for name in _TENSOR_ARRAYS if name not in archive.files]
                if missing:
                    raise EventTensorsFileError(
                        f"{path}: missing array(s) {', '.join(missing)}; expected an event "
                        f"tensors file with {', '.join(_TENSOR_ARRAYS)}"
                    )
                arrays = {name: archive[name] for name in _TENSOR_ARRAYS}
        except EventTensorsFileError:
            raise
        except (OSError, ValueError) as err:
            raise EventTensorsFileError(
                f"{path}: not a readable event tensors .npz ({type(err).__name__}: {err})"
            ) from err
        arrays["event_types"] = tuple(arrays["event_types"].tolist())
        arrays["static_names"] = tuple(arrays["static_names"].tolist())
        try:
            return cls(**arrays)
        except EventDatasetError as err:
            raise EventTensorsFileError(f"{path}: {err}") from err


def _split_array(split: Any, n: int) -> np.ndarray:
    values = np.asarray(split.to_numpy() if isinstance(split, pd.Series) else split)
    if values.shape != (n,):
        raise EventDatasetError(
            f"{STAYS_FILE}: split: expected one split name per stay ({n}), got shape "
            f"{values.shape}"
        )
    values = values.astype(str)
    unknown = sorted(set(values.tolist()) - set(SPLITS))
    if unknown:
        raise EventDatasetError(
            f"{STAYS_FILE}: split: expected values in {', '.join(SPLITS)}, got {unknown[:5]}"
        )
    return values


def _labels(stays: pd.DataFrame) -> np.ndarray:
    _require_columns(stays, ("died",), STAYS_FILE)
    died = pd.to_numeric(stays["died"], errors="coerce").astype("Float64")
    values = died.to_numpy(dtype=float, na_value=np.nan)
    if not np.isin(values, (0.0, 1.0)).all():
        raise EventDatasetError(
            f"{STAYS_FILE}: column died: expected booleans or 0/1 without missing values"
        )
    return values.astype(np.float32)


def _int_ids(values: np.ndarray, column: str) -> np.ndarray:
    try:
        ids = np.asarray(values).astype(np.int64)
    except (TypeError, ValueError) as err:
        raise EventDatasetError(
            f"{STAYS_FILE}: column {column}: expected integer ids, got {err}"
        ) from err
    if not np.array_equal(ids, np.asarray(values)):
        raise EventDatasetError(f"{STAYS_FILE}: column {column}: expected integer ids")
    return ids


def _checked_embeddings(text_embeddings: Any, n_events: int) -> np.ndarray:
    emb = np.asarray(text_embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != n_events:
        raise EventDatasetError(
            f"text_embeddings: expected shape ({n_events}, text_dim), one row per row of "
            f"{EVENTS_FILE}, got {emb.shape}"
        )
    if not np.isfinite(emb).all():
        raise EventDatasetError("text_embeddings: expected finite values")
    return emb


@dataclass(frozen=True)
class _KeptEvents:
    """The events that make it into the tensors, in layout order."""

    stay_row: np.ndarray  # row of the stay in ``stays``
    position: np.ndarray  # slot within the stay (0 = oldest kept)
    type_index: np.ndarray  # index into EVENT_TYPES
    source_row: np.ndarray  # row in ``events`` (and in the text embeddings)
    minutes: np.ndarray  # minutes_to_end
    counts: np.ndarray  # kept events per stay, (N,)


def _event_order(events: pd.DataFrame, stay_row: np.ndarray) -> np.ndarray:
    """Source rows of the attached events sorted by stay, time, type, text (stable)."""
    attached = np.flatnonzero(stay_row >= 0)
    try:
        times = pd.to_datetime(events["event_time"].iloc[attached]).to_numpy()
    except (TypeError, ValueError) as err:
        raise EventDatasetError(
            f"{EVENTS_FILE}: column event_time: expected timestamps, got {err}"
        ) from err
    if pd.isna(times).any():
        raise EventDatasetError(f"{EVENTS_FILE}: column event_time: expected no missing times")
    frame = pd.DataFrame(
        {
            "stay_row": stay_row[attached],
            "time": times,
            "type": events["event_type"].iloc[attached].astype(str).to_numpy(),
            "text": events["event_text"].iloc[attached].fillna("").astype(str).to_numpy(),
            "source": attached,
        }
    )
    ordered = frame.sort_values(["stay_row", "time", "type", "text", "source"], kind="stable")
    return ordered["source"].to_numpy()


def _recent_events(
    events: pd.DataFrame, stay_ids: np.ndarray, max_events: int
) -> _KeptEvents:
    """Sort the attached events chronologically and keep each stay's ``max_events`` last."""
    _require_columns(events, _EVENT_COLUMNS, EVENTS_FILE)
    n_stays = len(stay_ids)
    stay_row = pd.Index(stay_ids).get_indexer(events["stay_id"])
    order = _event_order(events, stay_row)
    rows = stay_row[order]
    counts = np.bincount(rows, minlength=n_stays)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(rows.size) - starts[rows]  # position among all of the stay's events
    skipped = np.maximum(counts - max_events, 0)
    keep = rank >= skipped[rows]
    source = order[keep]
    types = events["event_type"].to_numpy()[order]
    type_index = pd.Index(EVENT_TYPES).get_indexer(types)
    if (type_index < 0).any():
        bad = sorted({str(t) for t in types[type_index < 0]})
        raise EventDatasetError(
            f"{EVENTS_FILE}: column event_type: expected one of {', '.join(EVENT_TYPES)}, "
            f"got {bad[:5]}"
        )
    minutes = _checked_minutes(events["minutes_to_end"].to_numpy()[source], EVENTS_FILE)
    return _KeptEvents(
        stay_row=rows[keep],
        position=(rank - skipped[rows])[keep],
        type_index=type_index[keep],
        source_row=source,
        minutes=minutes,
        counts=np.minimum(counts, max_events),
    )


def event_layout(events: pd.DataFrame, stays: pd.DataFrame, max_events: int) -> pd.DataFrame:
    """Where each kept event sits in the tensors :func:`build_tensors` makes from the same
    inputs: ``stay_row`` (row of ``stays``), ``stay_id``, ``position`` (slot), ``event_row``
    (row of ``events``), ``event_type``, ``event_text`` and raw ``minutes_to_end``, in layout
    order. Attributions and attention weights are per slot; this maps them back to the
    recorded events and their text."""
    if not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 1:
        raise EventDatasetError(f"max_events: expected an integer >= 1, got {max_events!r}")
    stay_ids = _unique_stay_ids(stays, STAYS_FILE)
    kept = _recent_events(events, stay_ids, max_events)
    return pd.DataFrame(
        {
            "stay_row": kept.stay_row.astype(np.int64),
            "stay_id": stay_ids[kept.stay_row].astype(np.int64),
            "position": kept.position.astype(np.int64),
            "event_row": kept.source_row.astype(np.int64),
            "event_type": np.asarray(EVENT_TYPES, dtype=object)[kept.type_index],
            "event_text": events["event_text"].fillna("").astype(str).to_numpy()[kept.source_row],
            "minutes_to_end": kept.minutes.astype(np.float64),
        }
    )


def _stay_minutes(stays: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Minutes from ``intime`` to the end (``end_time`` if set, else ``outtime``) of the
    stays at ``rows``."""
    if not rows.size:
        return np.empty(0)
    _require_columns(stays, ("intime", "outtime"), STAYS_FILE)
    subset = stays.iloc[rows]
    try:
        start = pd.to_datetime(subset["intime"])
        end = pd.to_datetime(subset["outtime"])
        if "end_time" in stays.columns:
            end = pd.to_datetime(subset["end_time"]).fillna(end)
    except (TypeError, ValueError) as err:
        raise EventDatasetError(
            f"{STAYS_FILE}: columns intime/outtime/end_time: expected timestamps, got {err}"
        ) from err
    minutes = ((end - start).dt.total_seconds() * _MINUTES_PER_SECOND).to_numpy(dtype=float)
    if not np.isfinite(minutes).all() or (minutes < 0).any():
        raise EventDatasetError(
            f"{STAYS_FILE}: columns intime/outtime: expected both set with outtime >= intime "
            "for every stay without events (its length is its minutes_last)"
        )
    return minutes


def build_tensors(
    events: pd.DataFrame,
    stays: pd.DataFrame,
    text_embeddings: Any,
    static_encoder: StaticEncoder,
    time_scaler: TimeScaler,
    max_events: int,
    *,
    split: Any = None,
) -> EventTensors:
    """Lay out every stay of ``stays`` (in its row order) as model tensors.

    ``text_embeddings`` has one row per row of ``events``; ``split`` one split name per row
    of ``stays`` (default: the ``split`` column of ``stays``). See the module docstring for
    ordering, truncation, padding and ``minutes_last``.
    """
    if not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 1:
        raise EventDatasetError(f"max_events: expected an integer >= 1, got {max_events!r}")
    _require_columns(stays, ("stay_id", "subject_id"), STAYS_FILE)
    if split is None:
        _require_columns(stays, ("split",), STAYS_FILE)
        split = stays["split"]
    stay_ids = _unique_stay_ids(stays, STAYS_FILE)
    splits = _split_array(split, len(stays))
    emb = _checked_embeddings(text_embeddings, len(events))
    kept = _recent_events(events, stay_ids, max_events)

    n_stays, n_types, text_dim = len(stays), len(EVENT_TYPES), emb.shape[1]
    width = max(1, int(kept.counts.max(initial=0)))
    seq = np.zeros((n_stays, width, n_types + text_dim + 1), dtype=np.float32)
    mask = np.ones((n_stays, width), dtype=bool)
    r, p = kept.stay_row, kept.position
    seq[r, p, kept.type_index] = 1.0
    seq[r, p, n_types : n_types + text_dim] = emb[kept.source_row]
    seq[r, p, -1] = time_scaler.transform(kept.minutes)
    mask[r, p] = False

    minutes_last = np.empty(n_stays, dtype=float)
    has_events = kept.counts > 0
    last = np.cumsum(kept.counts)[has_events] - 1  # the most recent kept event of each stay
    minutes_last[has_events] = kept.minutes[last]
    empty = np.flatnonzero(~has_events)
    minutes_last[empty] = _stay_minutes(stays, empty)

    return EventTensors(
        seq=seq,
        mask=mask,
        static=static_encoder.transform(stays),
        label=_labels(stays),
        minutes_last=minutes_last.astype(np.float32),
        stay_id=_int_ids(stay_ids, "stay_id"),
        subject_id=_int_ids(_subject_ids(stays, STAYS_FILE), "subject_id"),
        split=splits,
        event_types=EVENT_TYPES,
        static_names=tuple(static_encoder.feature_names()),
    )


# --------------------------------------------------------------------------- torch


def select_rows(tensors: EventTensors, rows: Any = None) -> np.ndarray:
    """Row indices: ``None`` = all, a split name, a boolean mask or integer indices."""
    n = len(tensors)
    if rows is None:
        return np.arange(n)
    if isinstance(rows, str):
        if rows not in SPLITS:
            raise EventDatasetError(f"rows: expected a split name in {SPLITS}, got {rows!r}")
        return tensors.rows(rows)
    index = np.asarray(rows)
    if index.dtype == np.bool_:
        if index.shape != (n,):
            raise EventDatasetError(f"rows: expected a boolean mask of length {n}")
        return np.flatnonzero(index)
    if index.ndim != 1 or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise EventDatasetError(f"rows: expected 1-D integer row indices, got {index.dtype}")
    index = index.astype(np.int64)
    if index.size and (index.min() < 0 or index.max() >= n):
        raise EventDatasetError(
            f"rows: expected indices in [0, {n}), got values from {index.min()} to {index.max()}"
        )
    return index


class EventDataset(Dataset):
    """Rows of :class:`EventTensors` as dicts of tensors (``seq``, ``mask``, ``static``,
    ``label``, ``minutes_last``, ``row``); batch them with :func:`collate_events`."""

    def __init__(self, tensors: EventTensors, rows: Any = None) -> None:
        self.tensors = tensors
        self.rows = select_rows(tensors, rows)

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        row = int(self.rows[index])
        t = self.tensors
        return {
            "seq": torch.from_numpy(np.ascontiguousarray(t.seq[row])),
            "mask": torch.from_numpy(np.ascontiguousarray(t.mask[row])),
            "static": torch.from_numpy(np.ascontiguousarray(t.static[row])),
            "label": torch.tensor(float(t.label[row]), dtype=torch.float32),
            "minutes_last": torch.tensor(float(t.minutes_last[row]), dtype=torch.float32),
            "row": torch.tensor(row, dtype=torch.long),
        }


def collate_events(items: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items and cut trailing all-padding slots (at least one slot stays).

    Cutting is exact: sequences are right-padded and padding never affects the model's
    output, so a batch costs what its longest stay needs rather than ``L``.
    """
    batch = {key: torch.stack([item[key] for item in items]) for key in items[0]}
    real = (~batch["mask"]).sum(dim=1)
    width = max(1, int(real.max()))
    batch["seq"] = batch["seq"][:, :width]
    batch["mask"] = batch["mask"][:, :width]
    return batch
