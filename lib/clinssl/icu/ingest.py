"""Ingestion: a ricu export or a YAIB cohort → dense tensors, masks, static table, labels.

Outputs (:class:`~clinssl.icu.files.IngestFiles`, the contract the SSL rules consume):

* ``values.npy``  float32 (N, T, D), NaN where nothing was observed (T = input hours, 24);
* ``mask.npy``    bool (N, T, D), True where observed;
* ``static.parquet``  stay_id, patient_id, age, sex, race, los_days, ... one row per tensor
  row, same order (sorted by stay_id);
* ``labels.parquet``  stay_id + one column per task of :data:`ICU_TASKS` (NaN = missing);
* ``metadata.json``  feature names, units, categorical encodings, T, D, counts, exclusions
  (each with its count and why).

Cohort (SLICES): valid LOS (present, ≥ 0), stay ≥ ``min_stay_hours`` (24), at least
``min_observations`` observed values in the input window. Rows at negative hours
(pre-admission data ricu returns) are dropped and counted. Duplicated (stay, hour) rows are
an error: ricu's hourly binning never produces them, so they mean a broken export.

Memory: the timeseries are streamed in record batches and scattered into one float32
(N_candidates, T, D) array — never a float64 copy of the export; only creatinine is kept for
the label horizon (2T hours) because ``aki_kdigo`` needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clinssl.icu.files import IngestFiles
from clinssl.icu.io.ricu import HourlyBatch, RicuExport, RicuExportError
from clinssl.icu.io.ricu_dictionary import CATEGORY_CODES, RICU_CONCEPTS
from clinssl.icu.io.yaib import YaibCohort
from clinssl.icu.labels import ICU_TASKS, aki_pre_hours, build_labels
from clinssl.utils import atomic_path, write_json

log = logging.getLogger(__name__)

STATIC_COLUMNS = ("stay_id", "patient_id", "age", "sex", "race", "los_days")


class CohortError(ValueError):
    """The cohort is empty after the filters (or otherwise unusable)."""


@dataclass(frozen=True)
class IngestOptions:
    """Config ``icu.ingest``: the input window and the cohort filters."""

    input_hours: int = 24
    min_stay_hours: float = 24.0
    min_observations: int = 1
    batch_rows: int = 131_072


@dataclass
class DenseResult:
    values: np.ndarray  # (N_cand, T, D) float32
    mask: np.ndarray  # (N_cand, T, D) bool
    crea: np.ndarray | None  # (N_cand, crea_pre_hours + 2T) float32, from hour -crea_pre_hours
    negative_hour_rows: int
    unknown_stay_rows: int
    rows_read: int
    after_window_rows: int  # rows of cohort stays at hour >= input_hours (not model input)


def densify(
    stay_ids: np.ndarray,
    batches: Iterable[HourlyBatch],
    input_hours: int,
    n_features: int,
    crea_index: int | None,
    label_hours: int,
    crea_pre_hours: int = 0,
) -> DenseResult:
    """Scatter hourly rows of the stays ``stay_ids`` (sorted) into dense arrays.

    Raises on a duplicated (stay, hour) row, naming the file, stay and hour.
    """
    n = len(stay_ids)
    values = np.full((n, input_hours, n_features), np.nan, dtype=np.float32)
    mask = np.zeros((n, input_hours, n_features), dtype=bool)
    horizon = max(input_hours, label_hours if crea_index is not None else 0)
    pre = crea_pre_hours if crea_index is not None else 0
    crea = np.full((n, pre + horizon), np.nan, dtype=np.float32) if crea_index is not None else None
    seen = np.zeros((n, horizon), dtype=bool)
    negative = unknown = rows = after = 0
    for batch in batches:
        rows += len(batch.hour)
        negative += int((batch.hour < 0).sum())
        pos = np.searchsorted(stay_ids, batch.stay_id)
        pos_clipped = np.minimum(pos, max(n - 1, 0))
        known = (
            (pos < n) & (stay_ids[pos_clipped] == batch.stay_id) if n else np.zeros(len(pos), bool)
        )
        unknown += int((~known).sum())
        after += int((known & (batch.hour >= input_hours)).sum())
        sel = known & (batch.hour >= 0) & (batch.hour < horizon)
        r, h = pos_clipped[sel], batch.hour[sel]
        flat = r * horizon + h
        uniq, counts = np.unique(flat, return_counts=True)
        clash = seen.reshape(-1)[flat]
        if (counts > 1).any() or clash.any():
            bad = uniq[counts > 1][0] if (counts > 1).any() else flat[clash][0]
            raise RicuExportError(
                f"{batch.source}: duplicated row for stay_id {int(stay_ids[bad // horizon])}, "
                f"hour {int(bad % horizon)}; expected one row per (stay_id, hour)"
            )
        seen.reshape(-1)[flat] = True
        win = h < input_hours
        values[r[win], h[win]] = batch.values[sel][win]
        mask[r[win], h[win]] = batch.mask[sel][win]
        if crea is not None:  # creatinine also from the pre-admission hours [-pre, 0)
            c_sel = known & (batch.hour >= -pre) & (batch.hour < horizon)
            crea[pos_clipped[c_sel], batch.hour[c_sel] + pre] = batch.values[c_sel, crea_index]
    return DenseResult(values, mask, crea, negative, unknown, rows, after)


def _static_table(stays: pd.DataFrame) -> pd.DataFrame:
    """The contract's static columns first, then any other stays columns (minus internals)."""
    df = stays.rename(columns={"gender": "sex"}).copy()
    df["race"] = df["race"].fillna("Unknown").astype(str) if "race" in df else "Unknown"
    df["sex"] = df["sex"].astype("string").fillna("Unknown").astype(str)
    df["age"] = pd.to_numeric(df["age"], errors="coerce").astype("float64")
    extra = [c for c in df.columns if c not in STATIC_COLUMNS and not c.startswith("_")]
    return df[[*STATIC_COLUMNS, *extra]].reset_index(drop=True)


def _cohort_candidates(
    stays: pd.DataFrame, opts: IngestOptions, has_los: bool
) -> tuple[pd.DataFrame, dict]:
    exclusions: dict[str, dict[str, Any]] = {}
    if not has_los:
        return stays.sort_values("stay_id").reset_index(drop=True), exclusions
    los = pd.to_numeric(stays["los_days"], errors="coerce")
    invalid = los.isna() | (los < 0)
    short = ~invalid & (los * 24.0 < opts.min_stay_hours)
    exclusions["invalid_los"] = {"count": int(invalid.sum()), "why": "los_days missing or negative"}
    exclusions["short_stay"] = {
        "count": int(short.sum()),
        "why": f"ICU stay shorter than min_stay_hours={opts.min_stay_hours}",
    }
    kept = stays[~invalid & ~short].sort_values("stay_id").reset_index(drop=True)
    return kept, exclusions


def _compact(arr: np.ndarray, keep: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``arr[keep]`` in place (rows only move forward), without a second full-size copy."""
    idx = np.flatnonzero(keep)
    for start in range(0, len(idx), chunk):
        part = idx[start : start + chunk]
        arr[start : start + len(part)] = arr[part]
    return arr[: len(idx)]


def _encodings(feature_names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in feature_names:
        concept = RICU_CONCEPTS.get(name)
        if name in CATEGORY_CODES:
            out[name] = {"type": "categorical", "codes": CATEGORY_CODES[name]}
        elif concept is not None and concept.kind == "lgl":
            out[name] = {"type": "logical", "codes": {"FALSE": 0.0, "TRUE": 1.0}}
    return out


def ingest(
    source: RicuExport | YaibCohort,
    out: IngestFiles,
    opts: IngestOptions = IngestOptions(),  # noqa: B008 - frozen dataclass
    dataset: str = "dataset",
) -> dict[str, Any]:
    """Ingest ``source`` into the files ``out`` (see module docstring); return the metadata."""
    is_ricu = isinstance(source, RicuExport)
    t = opts.input_hours
    feature_names = list(source.feature_names)
    stays = source.stays()
    candidates, exclusions = _cohort_candidates(stays, opts, has_los=is_ricu)
    stay_ids = candidates["stay_id"].to_numpy(dtype=np.int64)
    crea_index = feature_names.index("crea") if (is_ricu and "crea" in feature_names) else None
    if (
        is_ricu
        and source.horizon_hours is not None
        and source.horizon_hours < 2 * t
        and crea_index is not None
    ):
        log.warning(
            "export horizon %sh < %sh: aki_kdigo needs hours [0, %d)",
            source.horizon_hours,
            2 * t,
            2 * t,
        )
    crea_pre = aki_pre_hours(t, t) if crea_index is not None else 0
    dense = densify(
        stay_ids,
        source.batches(opts.batch_rows),
        t,
        len(feature_names),
        crea_index,
        2 * t,
        crea_pre,
    )
    obs = dense.mask.sum(axis=(1, 2))
    keep = obs >= opts.min_observations
    exclusions["too_few_observations"] = {
        "count": int((~keep).sum()),
        "why": f"fewer than min_observations={opts.min_observations} observed values in hours [0, {t})",
    }
    exclusions["negative_hour_rows"] = {
        "count": dense.negative_hour_rows,
        "why": (
            "timeseries rows before ICU admission (hour < 0) are not model input; their "
            "creatinine still enters the AKI baseline (KDIGO: a value known within 7 days)"
        ),
        "unit": "rows",
    }
    exclusions["rows_after_input_window"] = {
        "count": dense.after_window_rows,
        "why": f"timeseries rows at hour >= {t} are not model input (a YAIB cohort's hour-{t} row; "
        f"a ricu export's later hours, whose creatinine up to hour {2 * t} still feeds aki_kdigo)",
        "unit": "rows",
    }
    exclusions["rows_of_unknown_or_excluded_stays"] = {
        "count": dense.unknown_stay_rows,
        "why": "timeseries rows whose stay_id is not in the cohort candidates",
        "unit": "rows",
    }
    n = int(keep.sum())
    if n == 0:
        raise CohortError(
            f"{source.root}: empty cohort after filters ({len(stays)} stays; exclusions: "
            + ", ".join(f"{k}={v['count']}" for k, v in exclusions.items())
            + ")"
        )
    values = _compact(dense.values, keep)
    mask = _compact(dense.mask, keep)
    crea = dense.crea[keep] if dense.crea is not None else None
    cohort = candidates[keep].reset_index(drop=True)
    static = _static_table(cohort)

    if is_ricu:
        labels = build_labels(
            cohort, source.mortality(), crea, obs_hours=t, crea_pre_hours=crea_pre
        )
    else:
        labels = pd.DataFrame({"stay_id": static["stay_id"]})
        task = source.task_labels()
        labels = labels.merge(task, on="stay_id", how="left")
        for name in ICU_TASKS:
            if name not in labels:
                labels[name] = np.nan
        labels = labels[["stay_id", *ICU_TASKS]]

    observed_per_feature = mask.sum(axis=(0, 1))
    metadata = {
        "dataset": dataset,
        "source_format": "ricu" if is_ricu else "yaib",
        "source_root": str(source.root),
        "feature_names": feature_names,
        "units": {name: source.units.get(name) for name in feature_names},
        "encodings": _encodings(feature_names),
        "T": t,
        "D": len(feature_names),
        "label_horizon_hours": 2 * t,
        "tasks": ICU_TASKS,
        "patient_level": is_ricu,
        "counts": {
            "n_stays_in_source": int(len(stays)),
            "n_candidates": int(len(stay_ids)),
            "n_stays": n,
            "n_patients": int(static["patient_id"].nunique()),
            "timeseries_rows_read": dense.rows_read,
            "observed_fraction": float(mask.mean()),
            "observed_per_feature": dict(
                zip(feature_names, observed_per_feature.tolist(), strict=True)
            ),
            "label_counts": {
                name: {
                    "labelled": int(labels[name].notna().sum()),
                    "positive": int((labels[name] == 1).sum()) if kind == "binary" else None,
                }
                for name, kind in ICU_TASKS.items()
            },
        },
        "exclusions": exclusions,
        "options": opts.__dict__,
    }
    if not is_ricu:
        metadata["yaib_task"] = source.task
    with atomic_path(out.values) as tmp:
        np.save(tmp, values)
    with atomic_path(out.mask) as tmp:
        np.save(tmp, mask)
    with atomic_path(out.static) as tmp:
        pq.write_table(pa.Table.from_pandas(static, preserve_index=False), tmp)
    with atomic_path(out.labels) as tmp:
        pq.write_table(pa.Table.from_pandas(labels, preserve_index=False), tmp)
    write_json(out.metadata, metadata)
    log.info(
        "ingested %d stays (%d patients), T=%d, D=%d, observed %.1f%%; exclusions %s",
        n, metadata["counts"]["n_patients"], t, len(feature_names), 100 * metadata["counts"]["observed_fraction"],
        {k: v["count"] for k, v in exclusions.items()},
    )  # fmt: skip
    return metadata


def open_source(
    fmt: str, root: str | Path, task: str | None = None, input_hours: int = 24
) -> RicuExport | YaibCohort:
    """Open a dataset of config format ``synthetic``/``ricu`` (a ricu export) or ``yaib``."""
    if fmt in ("synthetic", "ricu"):
        return RicuExport(root)
    if fmt == "yaib":
        if not task:
            raise ValueError(
                f"YAIB dataset at {root}: config key 'task' is required (e.g. mortality24)"
            )
        return YaibCohort(Path(root), task, input_hours)
    raise ValueError(f"unknown ICU dataset format {fmt!r}; expected synthetic, ricu or yaib")
