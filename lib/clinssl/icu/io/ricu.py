"""Reader of a ricu export (the output of ``workflow_scripts/icu/extract_with_ricu.R``).

Layout of an export directory::

    metadata.yaml                 dataset, feature_names, units, concept_classes,
                                  raw_export_horizon_hours, n_stays, ricu_version, format
    timeseries/part_XXXX.parquet  stay_id, hour, <concept>..., <concept>_mask...
    stays.parquet                 stay_id, patient_id, hadm_id, intime, outtime, los_days,
                                  age, gender, race, admission_type, first_careunit, ...
    mortality.parquet             stay_id, death_time, death_date, death_time_precision,
                                  hospital_expire_flag, dischtime, discharge_location, ...

Where the R side has no ``arrow`` package it writes gzipped CSV instead
(``part_XXXX.csv.gz``, ``stays.csv.gz``, ...); this reader accepts both. Every problem is
reported with the file, the field and what was expected, because a real export is large and
slow to regenerate: the error must say what to fix.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from clinssl.icu.io.ricu_dictionary import CATEGORY_CODES, RICU_CONCEPTS, unit_matches

log = logging.getLogger(__name__)

STAYS_COLUMNS = ("stay_id", "patient_id", "intime", "outtime", "los_days", "age", "gender")
MORTALITY_COLUMNS = (
    "stay_id",
    "death_time",
    "death_date",
    "death_time_precision",
    "hospital_expire_flag",
    "dischtime",
    "discharge_location",
)


# data.table::fwrite writes NA as an empty field; text columns must read that as missing
CSV_CONVERT = pacsv.ConvertOptions(strings_can_be_null=True)


class RicuExportError(ValueError):
    """A ricu export does not have the documented layout or content."""


@dataclass(frozen=True)
class HourlyBatch:
    """Hourly rows of some stays: ``values``/``mask`` are (rows, D) in feature order."""

    source: str
    stay_id: np.ndarray
    hour: np.ndarray
    values: np.ndarray
    mask: np.ndarray


@contextlib.contextmanager
def unreadable_as_export_error(
    path: Path, error: type[Exception] = RicuExportError
) -> Iterator[None]:
    """A file pyarrow cannot parse (garbage bytes, a truncated download) names itself."""
    try:
        yield
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        kind = "parquet" if path.suffix == ".parquet" else "CSV"
        raise error(
            f"{path}: not a readable {kind} file ({type(err).__name__}: {err}); "
            "truncated or damaged — re-create or copy the file again"
        ) from err


def _load_metadata(path: Path) -> dict[str, Any]:
    """``metadata.yaml`` as plain data: YAML tags that build Python objects are refused."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise RicuExportError(
            f"{path}: not plain YAML ({err.__class__.__name__}: "
            f"{getattr(err, 'problem', None) or err}); ricu writes only mappings, lists, "
            "strings and numbers (no !!python/... tags)"
        ) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RicuExportError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def read_table(root: Path, stem: str) -> tuple[pa.Table, Path]:
    """Read ``<stem>.parquet`` or, failing that, ``<stem>.csv.gz`` / ``<stem>.csv``."""
    for suffix in (".parquet", ".csv.gz", ".csv"):
        path = root / f"{stem}{suffix}"
        if path.exists():
            with unreadable_as_export_error(path):
                if suffix == ".parquet":
                    return pq.read_table(path), path
                return pacsv.read_csv(path, convert_options=CSV_CONVERT), path
    raise RicuExportError(f"{root}: missing {stem}.parquet (or {stem}.csv.gz) of the ricu export")


def require_columns(table: pa.Table | pd.DataFrame, required: tuple[str, ...], path: Path) -> None:
    names = table.column_names if isinstance(table, pa.Table) else list(table.columns)
    missing = [c for c in required if c not in names]
    if missing:
        raise RicuExportError(
            f"{path}: missing column(s) {missing}; expected at least {list(required)}"
        )


def _utc(series: pd.Series) -> pd.Series:
    """Timestamps as tz-naive UTC (R writes POSIXct in UTC; CSV round-trips as strings)."""
    out = pd.to_datetime(series, utc=True, errors="coerce")
    return out.dt.tz_convert(None)


def _categorical_codes(column: pa.ChunkedArray | pa.Array, name: str, path: Path) -> np.ndarray:
    """Encode a factor/character concept with :data:`CATEGORY_CODES`; unknown levels fail."""
    levels = CATEGORY_CODES.get(name)
    if levels is None:
        raise RicuExportError(
            f"{path}: column {name!r} is text but {name!r} is not a known categorical concept "
            f"(known: {sorted(CATEGORY_CODES)})"
        )
    keys = pa.array(list(levels), pa.string())
    idx = pc.index_in(pc.cast(column, pa.string()), value_set=keys)
    unknown = pc.and_(pc.is_null(idx), pc.is_valid(column))
    if pc.any(unknown).as_py():
        bad = pc.unique(pc.filter(column, unknown)).to_pylist()[:5]
        raise RicuExportError(
            f"{path}: column {name!r} has unknown level(s) {bad}; expected one of {list(levels)}"
        )
    codes = np.asarray(list(levels.values()), dtype=np.float32)
    pos = idx.to_numpy(zero_copy_only=False)
    out = np.full(len(pos), np.nan, dtype=np.float32)
    ok = ~pd.isna(pos)
    out[ok] = codes[pos[ok].astype(np.int64)]
    return out


def column_to_float32(column: pa.ChunkedArray | pa.Array, name: str, path: Path) -> np.ndarray:
    """A concept column as float32 with NaN for missing (logical → 0/1, factor → codes)."""
    typ = column.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_dictionary(typ):
        return _categorical_codes(column, name, path)
    if pa.types.is_boolean(typ):
        column = pc.cast(column, pa.float32())
    elif pa.types.is_null(typ):
        return np.full(len(column), np.nan, dtype=np.float32)
    elif not (pa.types.is_floating(typ) or pa.types.is_integer(typ)):
        raise RicuExportError(
            f"{path}: column {name!r} has type {typ}; expected numeric, logical or text"
        )
    return pc.cast(column, pa.float32()).to_numpy(zero_copy_only=False)


def mask_to_bool(column: pa.ChunkedArray | pa.Array, name: str, path: Path) -> np.ndarray:
    if not pa.types.is_boolean(column.type):
        if pa.types.is_integer(column.type):
            column = pc.cast(column, pa.bool_())
        else:
            raise RicuExportError(
                f"{path}: column {name!r} has type {column.type}; expected logical"
            )
    if column.null_count:
        raise RicuExportError(
            f"{path}: column {name!r} has {column.null_count} missing values; a mask is TRUE/FALSE"
        )
    return column.to_numpy(zero_copy_only=False)


class RicuExport:
    """An opened, validated ricu export directory (see module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        meta_path = self.root / "metadata.yaml"
        if not meta_path.exists():
            raise RicuExportError(
                f"{self.root}: no metadata.yaml; is this a ricu export directory?"
            )
        self.metadata = _load_metadata(meta_path)
        names = self.metadata.get("feature_names")
        if not isinstance(names, list) or not names:
            raise RicuExportError(f"{meta_path}: field 'feature_names' must be a non-empty list")
        self.feature_names: list[str] = [str(n) for n in names]
        self.units: dict[str, str] = {
            str(k): str(v) for k, v in (self.metadata.get("units") or {}).items()
        }
        self._check_units(meta_path)
        self.parts = sorted((self.root / "timeseries").glob("part_*.parquet")) or sorted(
            (self.root / "timeseries").glob("part_*.csv*")
        )
        if not self.parts:
            raise RicuExportError(
                f"{self.root / 'timeseries'}: no part_*.parquet or part_*.csv.gz files"
            )
        for part in self.parts:
            self._check_part_columns(part)

    def _check_units(self, meta_path: Path) -> None:
        for name in self.feature_names:
            unit = self.units.get(name)
            if name in RICU_CONCEPTS and not unit_matches(name, unit):
                raise RicuExportError(
                    f"{meta_path}: units[{name!r}] is {unit!r}; expected ricu's unit "
                    f"{RICU_CONCEPTS[name].unit!r} (convert the values or fix the concept dictionary)"
                )
            if name not in RICU_CONCEPTS:
                log.warning(
                    "%s: concept %r is not in clinssl's ricu table; unit %r not checked",
                    meta_path,
                    name,
                    unit,
                )

    def _part_columns(self, part: Path) -> list[str]:
        with unreadable_as_export_error(part):
            if part.suffix == ".parquet":
                return pq.read_schema(part).names
            with pacsv.open_csv(part) as reader:
                return reader.schema.names

    def _check_part_columns(self, part: Path) -> None:
        cols = set(self._part_columns(part))
        missing = [c for c in ("stay_id", "hour", *self.feature_names) if c not in cols]
        if missing:
            raise RicuExportError(
                f"{part}: missing column(s) {missing[:10]} (listed in metadata.yaml feature_names)"
            )
        no_mask = [c for c in self.feature_names if f"{c}_mask" not in cols]
        if no_mask:
            raise RicuExportError(
                f"{part}: concept column(s) {no_mask[:10]} without their '<concept>_mask' column"
            )

    @property
    def horizon_hours(self) -> int | None:
        value = self.metadata.get("raw_export_horizon_hours")
        return None if value is None else int(value)

    def stays(self) -> pd.DataFrame:
        """``stays`` with timestamps as tz-naive UTC; stay_id unique and patient_id present."""
        table, path = read_table(self.root, "stays")
        require_columns(table, STAYS_COLUMNS, path)
        df = table.to_pandas()
        for col in ("intime", "outtime"):
            df[col] = _utc(df[col])
        dup = df["stay_id"][df["stay_id"].duplicated()]
        if len(dup):
            raise RicuExportError(f"{path}: stay_id is not unique (e.g. {dup.iloc[:3].tolist()})")
        no_pid = df["stay_id"][df["patient_id"].isna()]
        if len(no_pid):
            raise RicuExportError(
                f"{path}: patient_id is missing for {len(no_pid)} stay(s) (e.g. stay_id "
                f"{no_pid.iloc[:3].tolist()}); patient-level splits need every stay's patient"
            )
        df["stay_id"] = df["stay_id"].astype("int64")
        if pd.api.types.is_integer_dtype(df["patient_id"]):
            df["patient_id"] = df["patient_id"].astype("int64")
        return df

    def mortality(self) -> pd.DataFrame:
        table, path = read_table(self.root, "mortality")
        require_columns(table, MORTALITY_COLUMNS, path)
        df = table.to_pandas()
        for col in ("death_time", "dischtime"):
            df[col] = _utc(df[col])
        df["death_date"] = pd.to_datetime(df["death_date"], errors="coerce")
        if df["stay_id"].duplicated().any():
            raise RicuExportError(f"{path}: stay_id is not unique")
        df["stay_id"] = df["stay_id"].astype("int64")
        return df

    def batches(self, batch_rows: int = 131_072) -> Iterator[HourlyBatch]:
        """Stream the timeseries parts as :class:`HourlyBatch` (float32, never the whole export)."""
        columns = [
            "stay_id",
            "hour",
            *self.feature_names,
            *(f"{c}_mask" for c in self.feature_names),
        ]
        for part in self.parts:
            with unreadable_as_export_error(part):
                if part.suffix == ".parquet":
                    record_batches = pq.ParquetFile(part).iter_batches(
                        batch_size=batch_rows, columns=columns
                    )
                else:
                    record_batches = (
                        pacsv.read_csv(part, convert_options=CSV_CONVERT)
                        .select(columns)
                        .to_batches(batch_rows)
                    )
                for rb in record_batches:
                    yield self._convert(rb, part)

    def _convert(self, rb: pa.RecordBatch, part: Path) -> HourlyBatch:
        n, d = rb.num_rows, len(self.feature_names)
        for key in ("stay_id", "hour"):
            if rb.column(key).null_count:
                raise RicuExportError(f"{part}: column {key!r} has missing values")
        # column-major: each concept column is written contiguously
        values = np.empty((n, d), dtype=np.float32, order="F")
        mask = np.empty((n, d), dtype=bool, order="F")
        for j, name in enumerate(self.feature_names):
            values[:, j] = column_to_float32(rb.column(name), name, part)
            mask[:, j] = mask_to_bool(rb.column(f"{name}_mask"), f"{name}_mask", part)
        observed = ~np.isnan(values)
        if not np.array_equal(observed, mask):
            j = int(np.argmax((observed != mask).any(axis=0)))
            raise RicuExportError(
                f"{part}: column {self.feature_names[j]!r} disagrees with "
                f"'{self.feature_names[j]}_mask' (mask must be TRUE exactly where a value is present)"
            )
        return HourlyBatch(
            source=str(part),
            stay_id=rb.column("stay_id").to_numpy(zero_copy_only=False).astype(np.int64),
            hour=pc.cast(rb.column("hour"), pa.int64()).to_numpy(zero_copy_only=False),
            values=values,
            mask=mask,
        )
