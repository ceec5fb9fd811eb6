"""Label builders of the four SLICES tasks.

Every task predicts from the first ``obs_hours`` (24) after ICU admission, so each builder
marks as missing (NaN) the stays for which the answer is already known or undecidable at
prediction time, rather than guessing:

* ``mortality_24h`` — death in [24 h, 48 h) after ``intime``; NaN if death before 24 h.
  Date-only deaths are the interval [00:00, 24:00) of that day: 1 if it lies inside the
  window, 0 if after it, NaN if it crosses a window boundary or ends before 24 h.
  A recorded in-hospital death without any date is NaN; no death evidence is 0.
* ``mortality_hospital`` — 1 on hospital-death evidence (``hospital_expire_flag = 1``, a
  death-coded discharge location, an exact death time, or a death date on/before the
  discharge date when the flag is unknown); NaN if death happened inside the observation
  window; 0 for an explicit survivor (flag 0 or a non-death discharge location).
* ``aki_kdigo`` — creatinine-only KDIGO stage ≥ 1: baseline = min ``crea`` in [0, 24) h;
  positive if a value in [24, 48) h is ≥ 1.5 × baseline, or rises ≥ 0.3 mg/dL above any
  earlier value (all earlier values are within 48 h of the window). NaN without baseline or
  without creatinine in the window.
* ``los_remaining`` — ``max(los_days − 1, 0)`` (days); NaN when LOS is invalid.

All label columns are float64 with NaN for missing (parquet nulls on disk).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Task name -> type, the interface the SSL/downstream code builds against.
ICU_TASKS = {
    "mortality_24h": "binary",
    "mortality_hospital": "binary",
    "aki_kdigo": "binary",
    "los_remaining": "regression",
}

DEATH_LOCATION_PATTERN = r"DIED|DEATH|EXPIRED|DECEASED|MORGUE"


def _hours_since(times: pd.Series, intime: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(times) - pd.to_datetime(intime)) / pd.Timedelta(hours=1)).to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def death_interval_hours(
    mortality: pd.DataFrame, intime: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) of the death time in hours after ``intime`` (lo == hi for exact times).

    A date-only death spans the whole day; rows without any death time give NaN.
    """
    exact = _hours_since(mortality["death_time"], intime)
    day_start = _hours_since(pd.to_datetime(mortality["death_date"]).dt.normalize(), intime)
    lo = np.where(np.isnan(exact), day_start, exact)
    hi = np.where(np.isnan(exact), day_start + 24.0, exact)
    return lo, hi


def _flag(mortality: pd.DataFrame) -> np.ndarray:
    """``hospital_expire_flag`` as float (1, 0 or NaN)."""
    return pd.to_numeric(mortality["hospital_expire_flag"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def mortality_24h(
    mortality: pd.DataFrame, intime: pd.Series, obs_hours: float = 24.0, window_hours: float = 24.0
) -> np.ndarray:
    """Death in [obs, obs + window) hours after admission (see module docstring)."""
    lo, hi = death_interval_hours(mortality, intime)
    start, end = obs_hours, obs_hours + window_hours
    has_time = ~np.isnan(lo)
    flag = _flag(mortality)
    label = np.where(flag == 1, np.nan, 0.0)  # died in hospital, time unknown -> undecidable
    exact = has_time & (lo == hi)
    label[has_time] = np.nan
    with np.errstate(invalid="ignore"):
        label[exact & (lo >= start) & (lo < end)] = 1.0
        label[exact & (lo >= end)] = 0.0
        interval = has_time & ~exact
        label[interval & (lo >= start) & (hi <= end)] = 1.0
        label[interval & (lo >= end)] = 0.0
    return label


def mortality_hospital(
    mortality: pd.DataFrame, intime: pd.Series, obs_hours: float = 24.0
) -> np.ndarray:
    """In-hospital death (see module docstring)."""
    flag = _flag(mortality)
    location = mortality["discharge_location"].astype("string").str.upper()
    death_location = (
        location.str.contains(DEATH_LOCATION_PATTERN, regex=True).fillna(False).to_numpy(bool)
    )
    exact = mortality["death_time"].notna().to_numpy()
    death_day = pd.to_datetime(mortality["death_date"]).dt.normalize()
    disch_day = pd.to_datetime(mortality["dischtime"]).dt.normalize()
    dod_before_discharge = (death_day <= disch_day).fillna(False).to_numpy(bool) & np.isnan(flag)
    died = (flag == 1) | death_location | exact | dod_before_discharge
    survivor = ~died & ((flag == 0) | (location.notna().to_numpy() & ~death_location))
    label = np.full(len(mortality), np.nan)
    label[died] = 1.0
    label[survivor] = 0.0
    _, hi = death_interval_hours(mortality, intime)
    with np.errstate(invalid="ignore"):
        label[died & (hi < obs_hours)] = np.nan  # died during the observation window
    return label


def aki_kdigo(
    crea: np.ndarray, baseline_hours: int = 24, window_hours: int = 24, rise_mg_dl: float = 0.3
) -> np.ndarray:
    """KDIGO ≥ 1 from hourly creatinine ``crea`` (N, ≥ baseline+window hours, NaN = none)."""
    crea = np.asarray(crea, dtype=np.float64)
    end = baseline_hours + window_hours
    if crea.ndim != 2 or crea.shape[1] < end:
        raise ValueError(f"aki_kdigo: crea must be (N, >= {end}) hourly values, got {crea.shape}")
    base_block = crea[:, :baseline_hours]
    window = crea[:, baseline_hours:end]
    has_base = ~np.isnan(base_block).all(axis=1)
    has_window = ~np.isnan(window).all(axis=1)
    with np.errstate(invalid="ignore", all="ignore"):
        baseline = np.where(
            has_base, np.nanmin(np.where(has_base[:, None], base_block, 0), axis=1), np.nan
        )
        ratio = (window >= 1.5 * baseline[:, None]).any(axis=1)
        # lowest earlier value before each window hour (running min of fmin ignores NaN)
        running = np.fmin.accumulate(
            np.where(np.isnan(crea[:, :end]), np.inf, crea[:, :end]), axis=1
        )
        earlier = running[:, baseline_hours - 1 : end - 1]
        rise = ((window - earlier) >= rise_mg_dl - 1e-9).any(axis=1)
    label = (ratio | rise).astype(np.float64)
    label[~(has_base & has_window)] = np.nan
    return label


def los_remaining(los_days: pd.Series | np.ndarray, obs_days: float = 1.0) -> np.ndarray:
    """Remaining ICU length of stay after the observation window, in days."""
    los = pd.to_numeric(pd.Series(los_days), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    out = np.maximum(los - obs_days, 0.0)
    out[~(los >= 0)] = np.nan
    return out


def build_labels(
    stays: pd.DataFrame,
    mortality: pd.DataFrame | None,
    crea: np.ndarray | None,
    obs_hours: int = 24,
) -> pd.DataFrame:
    """``labels.parquet`` for the cohort ``stays`` (same row order): one column per task.

    ``mortality`` is aligned to ``stays`` by ``stay_id``; stays without a mortality row get
    missing mortality labels. ``crea`` is (N, 2·obs_hours) hourly creatinine or None.
    """
    out = pd.DataFrame({"stay_id": stays["stay_id"].to_numpy()})
    n = len(stays)
    if mortality is not None:
        aligned = stays[["stay_id"]].merge(
            mortality, on="stay_id", how="left", validate="one_to_one"
        )
        present = stays["stay_id"].isin(mortality["stay_id"]).to_numpy()
        m24 = mortality_24h(aligned, stays["intime"], obs_hours, obs_hours)
        mh = mortality_hospital(aligned, stays["intime"], obs_hours)
        m24[~present] = np.nan
        mh[~present] = np.nan
        out["mortality_24h"], out["mortality_hospital"] = m24, mh
    else:
        out["mortality_24h"] = out["mortality_hospital"] = np.full(n, np.nan)
    out["aki_kdigo"] = (
        aki_kdigo(crea, obs_hours, obs_hours) if crea is not None else np.full(n, np.nan)
    )
    out["los_remaining"] = los_remaining(stays["los_days"].to_numpy(), obs_hours / 24.0)
    return out
