"""Reader of a YAIB cohort directory (``rvandewater/YAIB-cohorts`` output).

Layout (one directory per task and source)::

    dyn.parquet   stay_id (int32), time (duration since ICU admission), one float64
                  column per ricu concept (YAIB's 48 dynamic variables)
    sta.parquet   stay_id, age, sex (string), height, weight
    outc.parquet  stay_id, label                (one label per stay, e.g. mortality24)
                  stay_id, time, label          (hourly labels, e.g. aki, los)

YAIB cohorts carry no patient identifier: ``patient_id`` is set to ``stay_id``, so splits of
a YAIB cohort are stay-level (as in YAIB itself) and the metadata says so. YAIB has no race
column (``race`` is ``Unknown``) and no LOS, so the minimum-stay filter of the ricu path does
not apply: the cohort was already defined by YAIB's own exclusions.

The task's label is mapped to one of clinssl's label columns (``YAIB_TASK_LABELS``); the
other label columns are missing. Hourly labels are reduced to the prediction made at the
end of the input window: ``aki`` → 1 if any hourly label in [T, 2T) is positive, null if a
positive label already occurs before T (AKI during the input window) or no label rows fall
in the window; ``los`` → the remaining LOS (hours) at time T, in days.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clinssl.icu.io.ricu import HourlyBatch, RicuExportError, unreadable_as_export_error
from clinssl.icu.io.ricu_dictionary import RICU_CONCEPTS
from clinssl.icu.names import YAIB_TASK_LABELS

_NS_PER_HOUR = 3_600_000_000_000


def _iter_batches(path: Path, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream record batches; a file pyarrow cannot parse is named."""
    with unreadable_as_export_error(path, YaibCohortError):
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns)


class YaibCohortError(RicuExportError):
    """A YAIB cohort directory does not have YAIB's layout or dtypes."""


def _hours(column: pa.ChunkedArray, path: Path) -> np.ndarray:
    """YAIB ``time`` (a duration) as float hours since admission."""
    if pa.types.is_duration(column.type):
        ns = column.cast(pa.duration("ns")).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return ns / _NS_PER_HOUR
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.to_numpy(zero_copy_only=False).astype(np.float64)  # already hours
    raise YaibCohortError(f"{path}: column 'time' has type {column.type}; expected a duration")


class YaibCohort:
    """An opened YAIB cohort for one task (see module docstring)."""

    def __init__(self, root: str | Path, task: str, input_hours: int = 24) -> None:
        self.root = Path(root)
        if task not in YAIB_TASK_LABELS:
            raise YaibCohortError(
                f"{self.root}: YAIB task {task!r} has no clinssl label; known: {sorted(YAIB_TASK_LABELS)}"
            )
        self.task = task
        self.label_column = YAIB_TASK_LABELS[task]
        self.input_hours = input_hours
        self.paths = {name: self.root / f"{name}.parquet" for name in ("dyn", "sta", "outc")}
        for name, path in self.paths.items():
            if not path.exists():
                raise YaibCohortError(f"{self.root}: missing {name}.parquet of the YAIB cohort")
        with unreadable_as_export_error(self.paths["dyn"], YaibCohortError):
            schema = pq.read_schema(self.paths["dyn"])
        for col in ("stay_id", "time"):
            if col not in schema.names:
                raise YaibCohortError(f"{self.paths['dyn']}: missing column {col!r}")
        self.feature_names = [c for c in schema.names if c not in ("stay_id", "time")]
        if not self.feature_names:
            raise YaibCohortError(f"{self.paths['dyn']}: no concept columns besides stay_id, time")
        self.units = {
            c: RICU_CONCEPTS[c].unit if c in RICU_CONCEPTS else "-" for c in self.feature_names
        }

    def stays(self) -> pd.DataFrame:
        path = self.paths["sta"]
        with unreadable_as_export_error(path, YaibCohortError):
            df = pq.read_table(path).to_pandas()
        for col in ("stay_id", "age", "sex"):
            if col not in df.columns:
                raise YaibCohortError(
                    f"{path}: missing column {col!r}; expected stay_id, age, sex, height, weight"
                )
        if df["stay_id"].duplicated().any():
            raise YaibCohortError(f"{path}: stay_id is not unique")
        sex = df["sex"].astype("string").str.strip().str.lower()
        mapped = sex.map({"male": "M", "m": "M", "female": "F", "f": "F"})
        bad = sex[mapped.isna() & sex.notna()]
        if len(bad):
            raise YaibCohortError(
                f"{path}: column 'sex' has value(s) {sorted(set(bad))[:5]}; expected Male/Female"
            )
        out = pd.DataFrame(
            {
                "stay_id": df["stay_id"].astype("int64"),
                "patient_id": df["stay_id"].astype("int64"),
                "los_days": np.nan,
                "age": df["age"].astype("float64"),
                "gender": mapped.astype(object),
                "race": "Unknown",
            }
        )
        for col in ("height", "weight"):
            if col in df.columns:
                out[col] = df[col].astype("float64")
        return out

    def batches(self, batch_rows: int = 131_072) -> Iterator[HourlyBatch]:
        path = self.paths["dyn"]
        for rb in _iter_batches(path, ["stay_id", "time", *self.feature_names], batch_rows):
            hours = _hours(rb.column("time"), path)
            values = np.empty((rb.num_rows, len(self.feature_names)), dtype=np.float32)
            for j, name in enumerate(self.feature_names):
                col = rb.column(name)
                if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
                    raise YaibCohortError(
                        f"{path}: column {name!r} has type {col.type}; expected float64"
                    )
                values[:, j] = col.cast(pa.float32()).to_numpy(zero_copy_only=False)
            yield HourlyBatch(
                source=str(path),
                stay_id=rb.column("stay_id").to_numpy(zero_copy_only=False).astype(np.int64),
                hour=np.floor(hours).astype(np.int64),
                values=values,
                mask=~np.isnan(values),
            )

    def task_labels(self) -> pd.DataFrame:
        """``stay_id`` + the task's clinssl label column (see module docstring)."""
        path = self.paths["outc"]
        with unreadable_as_export_error(path, YaibCohortError):
            df = pq.read_table(path).to_pandas()
        for col in ("stay_id", "label"):
            if col not in df.columns:
                raise YaibCohortError(f"{path}: missing column {col!r}")
        if "time" not in df.columns:
            if df["stay_id"].duplicated().any():
                raise YaibCohortError(f"{path}: several labels per stay_id but no 'time' column")
            label = df["label"].astype("float64")
            return pd.DataFrame(
                {"stay_id": df["stay_id"].astype("int64"), self.label_column: label}
            )
        hours = _hours(pa.chunked_array([pa.array(df["time"])]), path)
        t = self.input_hours
        df = df.assign(_h=hours, label=df["label"].astype("float64"))
        if self.task == "los":
            at_t = df[(df["_h"] >= t) & (df["_h"] < t + 1)].groupby("stay_id")["label"].first()
            return pd.DataFrame(
                {"stay_id": at_t.index.astype("int64"), self.label_column: at_t.to_numpy() / 24.0}
            )
        before = df[df["_h"] < t].groupby("stay_id")["label"].max()
        window = df[(df["_h"] >= t) & (df["_h"] < 2 * t)].groupby("stay_id")["label"].max()
        out = pd.DataFrame({"stay_id": df["stay_id"].unique().astype("int64")})
        lab = out["stay_id"].map(window).astype("float64")
        lab[out["stay_id"].map(before).fillna(0).to_numpy() > 0] = np.nan
        out[self.label_column] = lab.to_numpy()
        return out
