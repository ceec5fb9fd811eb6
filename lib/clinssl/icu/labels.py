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
  discharge date when the flag is unknown); 0 for an explicit survivor (flag 0 or a
  non-death discharge location). NaN when the death may lie inside the observation window,
  i.e. when the *start* of its possible interval is before ``obs_hours``: an exact death
  time before 24 h, or a date-only death whose day [00:00, 24:00) begins before 24 h —
  whether that day ends before 24 h (died while observed) or straddles 24 h (the patient may
  have been dead at prediction time, so the outcome may already be known). Only a death day
  lying wholly at/after 24 h is 1. Same rule as SLICES; a death with evidence but no date
  or time at all stays 1.
* ``aki_kdigo`` — creatinine-only KDIGO stage ≥ 1 (no urine criterion, as in SLICES),
  judged on the values in the window [24, 48) h. Baseline = min ``crea`` before 24 h,
  *including pre-admission hours* when the caller passes them (``pre_hours``; ricu exports
  pre-ICU labs at negative hours): KDIGO's baseline is the known value within the prior
  7 days, and anything before 24 h is known at prediction time. ``pre_hours`` is capped
  (:func:`aki_pre_hours`, 121 h) so every baseline value is ≤ 168 h before every window
  value. Positive if a window value is ≥ 1.5 × baseline, or is ≥ 0.3 mg/dL above any value
  ≤ 48 h earlier (window values included). Both thresholds allow ``CREA_TOL_MG_DL``
  (ingestion keeps creatinine as float32: 1.0 → 1.3 would otherwise miss). NaN without a
  baseline or without creatinine in the window.
* ``los_remaining`` — ``max(los_days − 1, 0)`` (days); NaN when LOS is invalid.

All label columns are float64 with NaN for missing (parquet nulls on disk).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.icu.names import TASK_KINDS

#: Task name -> type, the interface the SSL/downstream code builds against.
ICU_TASKS: dict[str, str] = dict(TASK_KINDS)

DEATH_LOCATION_PATTERN = r"DIED|DEATH|EXPIRED|DECEASED|MORGUE"

#: KDIGO: a rise of ≥ 0.3 mg/dL within 48 h, or ≥ 1.5 × a baseline from the prior 7 days.
KDIGO_RISE_MG_DL = 0.3
KDIGO_RISE_HOURS = 48
KDIGO_RATIO = 1.5
KDIGO_BASELINE_HOURS = 168
#: Slack on both creatinine thresholds (mg/dL): far above float32 rounding (~1e-6 at
#: 10 mg/dL), far below the 0.01 mg/dL reporting resolution of creatinine.
CREA_TOL_MG_DL = 1e-4


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
    # NaN as soon as the death may precede the prediction time: an exact time before obs, or a
    # death day that begins before obs (ends before it, or straddles it). ``hi`` is not the
    # test: a day [14 h, 38 h) has hi >= 24 but may hold a death at hour 20.
    lo, _ = death_interval_hours(mortality, intime)
    with np.errstate(invalid="ignore"):
        label[died & (lo < obs_hours)] = np.nan
    return label


def aki_pre_hours(
    baseline_hours: int = 24, window_hours: int = 24, baseline_max_hours: int = KDIGO_BASELINE_HOURS
) -> int:
    """Most pre-admission hours :func:`aki_kdigo` accepts (121 with the defaults): every
    baseline value then lies within KDIGO's 7 days (``baseline_max_hours``) of every window
    hour, so one baseline serves the whole window."""
    return baseline_max_hours - (baseline_hours + window_hours - 1)


def aki_kdigo(
    crea: np.ndarray,
    baseline_hours: int = 24,
    window_hours: int = 24,
    rise_mg_dl: float = KDIGO_RISE_MG_DL,
    pre_hours: int = 0,
    ratio: float = KDIGO_RATIO,
    rise_hours: int = KDIGO_RISE_HOURS,
    tol: float = CREA_TOL_MG_DL,
) -> np.ndarray:
    """KDIGO ≥ 1 from hourly creatinine (see module docstring).

    ``crea`` is (N, ≥ pre_hours + baseline + window) hourly values, NaN = none; column ``c``
    is hour ``c − pre_hours`` (so with ``pre_hours = 0`` column 0 is ICU admission).
    """
    crea = np.asarray(crea, dtype=np.float64)
    end = baseline_hours + window_hours
    max_pre = aki_pre_hours(baseline_hours, window_hours)
    if not 0 <= pre_hours <= max_pre:
        raise ValueError(
            f"aki_kdigo: pre_hours must be in [0, {max_pre}] (baseline within 7 days of the "
            f"window), got {pre_hours}"
        )
    width = pre_hours + end
    if crea.ndim != 2 or crea.shape[1] < width:
        raise ValueError(f"aki_kdigo: crea must be (N, >= {width}) hourly values, got {crea.shape}")
    filled = np.where(np.isnan(crea[:, :width]), np.inf, crea[:, :width])  # inf = no value
    zero = pre_hours  # column of hour 0
    baseline = filled[:, : zero + baseline_hours].min(axis=1)  # inf where no baseline
    window = crea[:, zero + baseline_hours : zero + end]
    has_base = np.isfinite(baseline)
    has_window = ~np.isnan(window).all(axis=1)
    with np.errstate(invalid="ignore"):
        hit = (window >= ratio * baseline[:, None] - tol).any(axis=1)
        for k in range(window_hours):
            col = zero + baseline_hours + k
            earlier = filled[:, max(col - rise_hours, 0) : col].min(axis=1)  # ≤ 48 h before
            hit |= window[:, k] - earlier >= rise_mg_dl - tol
    label = hit.astype(np.float64)
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
    crea_pre_hours: int = 0,
) -> pd.DataFrame:
    """``labels.parquet`` for the cohort ``stays`` (same row order): one column per task.

    ``mortality`` is aligned to ``stays`` by ``stay_id``; stays without a mortality row get
    missing mortality labels. ``crea`` is (N, crea_pre_hours + 2·obs_hours) hourly
    creatinine from hour ``−crea_pre_hours`` (pre-admission labs feed the AKI baseline;
    at most :func:`aki_pre_hours`), or None.
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
        aki_kdigo(crea, obs_hours, obs_hours, pre_hours=crea_pre_hours)
        if crea is not None
        else np.full(n, np.nan)
    )
    out["los_remaining"] = los_remaining(stays["los_days"].to_numpy(), obs_hours / 24.0)
    return out
