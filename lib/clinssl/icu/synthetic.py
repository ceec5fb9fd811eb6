"""Synthetic ICU cohort written as a ricu export (and as YAIB cohorts) with planted truth.

Why: the embedded default must run the ICU branch end to end with metrics that mean
something. Every stay has a latent severity trajectory (a level at hour 12 + a slope per
24 h + AR(1) noise) that drives vitals and labs, so the planted outcomes are learnable from
the 24-h input window:

* in-hospital death (~10 %) with a risk driven mostly by the *direction* of the trajectory
  (deteriorating vs recovering) and only weakly by the level, plus age; the death time comes
  earlier for riskier stays (so some deaths fall in hours 24–48); about a quarter of deaths
  are date-only (``patients.dod``-style), a few patients die after hospital discharge.
  Why the direction: the mean of per-hour features over the window (what a randomly
  initialised encoder's pooled embedding exposes to a linear probe) carries the level but not
  the sign of the slope, which only a representation that models the time series' dynamics
  makes linearly readable, so the SSL-vs-random-encoder probe comparison measures something;
  hand-crafted trend features (last − first) and supervised training also recover it;
* KDIGO AKI (~15 %): creatinine rises from a per-stay baseline from an onset in 6–34 h
  (urine output falls and BUN rises with it);
* ICU length of stay that grows with severity (some stays are shorter than 24 h and
  are excluded by the ingestion's cohort filter);
* a planted subgroup effect: patients aged 80+ carry extra risk that is *not* visible in
  their time series, so a model is less accurate for them (fairness metrics find a gap).

Nuisance that carries no outcome information: per-stay, per-concept baseline offsets
(``stay_offset_sd``), hourly measurement noise, and severity-independent measurement rates
(``observation_severity_coupling`` 0) so that missingness does not leak the outcome.
Every knob is a field of :class:`SyntheticICUSpec` (config ``icu.synthetic.planted``).

The export has exactly the layout of ``workflow_scripts/icu/extract_with_ricu.R``:
``timeseries/part_XXXX.parquet`` (stay_id, hour, concept, ``<concept>_mask``),
``stays.parquet``, ``mortality.parquet``, ``metadata.yaml``; plus ``truth.parquet``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from clinssl.icu.io.ricu_dictionary import DEFAULT_CONCEPTS, RICU_CONCEPTS, YAIB_CONCEPTS
from clinssl.utils import atomic_directory

log = logging.getLogger(__name__)

RACES = ("White", "Black", "Hispanic", "Asian", "Other")
RACE_P = (0.65, 0.12, 0.07, 0.04, 0.12)
EPOCH = np.datetime64("2150-01-01T00:00:00", "s")
PRE_ADMISSION_HOURS = 2  # some stays have pre-ICU labs at negative hours, as ricu returns them


@dataclass(frozen=True)
class SyntheticICUSpec:
    """Size and shape of the synthetic cohort (config ``icu.synthetic``)."""

    n_stays: int = 3000
    n_patients: int = 2000
    horizon_hours: int = 72
    concepts: tuple[str, ...] = DEFAULT_CONCEPTS
    stays_per_part: int = 1000
    seed: int = 0
    elderly_hidden_risk_sd: float = 1.5
    #: spread of the per-stay severity slope (per 24 h) and its weight in the mortality risk
    slope_sd: float = 1.0
    mortality_slope_weight: float = 1.5
    #: weight of the severity level (at ``slope_center_hour``) in the mortality risk
    mortality_level_weight: float = 0.3
    #: hour at which ``severity0`` is the stay's level (0 = admission)
    slope_center_hour: float = 12.0
    #: steepness of the mortality link (log-odds per unit of risk); the intercept is solved
    #: so that the expected in-hospital mortality equals ``mortality_rate``
    mortality_link: float = 2.5
    mortality_rate: float = 0.10
    #: per-stay, per-concept baseline offset (in concept SDs): patient-specific nuisance that
    #: persists over the stay and carries no outcome information
    stay_offset_sd: float = 0.3
    #: scale of every concept's severity loading (how loudly each measurement reflects the
    #: latent severity; smaller = the state must be pooled from many noisy channels)
    severity_loading: float = 1.0
    #: how strongly severity raises measurement frequency (log rate per unit severity)
    observation_severity_coupling: float = 0.0
    #: export every stay's full horizon (rows after ICU discharge stay empty); for the
    #: "N stays x 72 h" ingestion benchmark, where each stay must contribute 72 rows
    pad_to_horizon: bool = False

    def __post_init__(self) -> None:
        if self.n_patients < 1 or self.n_stays < self.n_patients:
            raise ValueError(
                f"synthetic ICU: need 1 <= n_patients <= n_stays, got n_patients="
                f"{self.n_patients}, n_stays={self.n_stays}"
            )
        unknown = [c for c in self.concepts if c not in RICU_CONCEPTS]
        if unknown:
            raise ValueError(f"synthetic ICU: concepts not in the ricu dictionary: {unknown}")
        if "crea" not in self.concepts:
            raise ValueError("synthetic ICU: 'crea' must be among the concepts (AKI labels)")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _intercept_for_rate(logit: np.ndarray, rate: float) -> float:
    """The intercept ``b`` with ``mean(sigmoid(b + logit)) == rate`` (bisection; monotone in b).

    Why: the planted risk model's weights are config knobs; solving the intercept keeps the
    outcome's prevalence where the config says whatever the weights are."""
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _sigmoid(mid + logit).mean() < rate else (lo, mid)
    return 0.5 * (lo + hi)


def generate_cohort(spec: SyntheticICUSpec) -> pd.DataFrame:
    """Per-stay latent parameters and planted outcomes (the content of ``truth.parquet``)."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 1]))
    n, p = spec.n_stays, spec.n_patients
    # every patient has at least one stay; the rest are repeat admissions
    patient_of_stay = np.concatenate([np.arange(p), rng.integers(0, p, n - p)])
    rng.shuffle(patient_of_stay)
    age_p = np.clip(rng.normal(64, 16, p), 18, 95).round()
    male_p = rng.random(p) < 0.56
    race_p = rng.choice(len(RACES), size=p, p=RACE_P)

    age = age_p[patient_of_stay]
    elderly = age >= 80
    s0 = rng.normal(0, 1, n) + 0.01 * (age - 64)
    slope = rng.normal(0, spec.slope_sd, n)
    hidden = rng.normal(0, 1, n) * np.where(elderly, spec.elderly_hidden_risk_sd, 0.3)
    risk = (
        spec.mortality_level_weight * s0
        + spec.mortality_slope_weight * slope
        + 0.015 * (age - 64)
        + hidden
    )
    logit = spec.mortality_link * risk
    died = rng.random(n) < _sigmoid(_intercept_for_rate(logit, spec.mortality_rate) + logit)
    death_hours = 4 + rng.gamma(1.5, 45 * np.exp(-0.7 * (risk - 1.5)))
    # ICU discharge: survivors by a severity-dependent LOS; most deaths happen in the ICU
    los_hours = 24 * np.exp(rng.normal(np.log(2.2) + 0.3 * s0 + 0.2 * slope, 0.6))
    icu_death = died & (rng.random(n) < 0.8)
    los_hours = np.where(icu_death, death_hours, los_hours)
    los_hours = np.where(died & ~icu_death, np.minimum(los_hours, 0.7 * death_hours), los_hours)
    los_hours = np.maximum(los_hours, 2.0)
    hosp_discharge = np.where(died, death_hours, los_hours + 24 * rng.uniform(1, 10, n))
    # a few survivors die after hospital discharge (date-only, not a hospital death)
    late_death = ~died & (rng.random(n) < 0.03)
    death_hours = np.where(late_death, hosp_discharge + 24 * rng.uniform(5, 200, n), death_hours)
    date_only = (died & (rng.random(n) < 0.25)) | late_death

    aki = rng.random(n) < _sigmoid(-2.7 + 1.9 * s0 + 0.8 * slope + 0.3 * (age > 70))
    aki_onset = rng.uniform(6, 34, n)
    crea_base = np.exp(rng.normal(np.log(0.95) + 0.15 * male_p[patient_of_stay] + 0.1 * s0, 0.3))

    stay_ids = np.sort(rng.choice(np.arange(30_000_000, 39_999_999), n, replace=False))
    return pd.DataFrame(
        {
            "stay_id": stay_ids.astype(np.int32),
            "patient_id": (10_000_000 + patient_of_stay).astype(np.int32),
            "hadm_id": (20_000_000 + rng.choice(9_999_999, n, replace=False)).astype(np.int32),
            "intime_offset_min": rng.integers(0, 10 * 365 * 24 * 60, n),
            "age": age,
            "male": male_p[patient_of_stay],
            "race": np.array(RACES)[race_p[patient_of_stay]],
            "severity0": s0,
            "severity_slope": slope,
            "hidden_risk": hidden,
            "risk": risk,
            "subgroup_elderly_hidden_risk": elderly,
            "died_in_hospital": died,
            "died_after_discharge": late_death,
            "death_hours": np.where(died | late_death, death_hours, np.nan),
            "death_date_only": date_only,
            "los_hours": los_hours,
            "hospital_discharge_hours": hosp_discharge,
            "aki_planted": aki,
            "aki_onset_hours": np.where(aki, aki_onset, np.nan),
            "crea_baseline": crea_base,
            "pre_admission_rows": rng.random(n) < 0.05,
        }
    )


def _severity_paths(
    part: pd.DataFrame, hours: np.ndarray, rng: np.random.Generator, center: float = 0.0
) -> np.ndarray:
    """Latent severity (n, L) = level + slope·(t − center)/24 + AR(1) noise."""
    n, length = len(part), len(hours)
    noise = np.empty((n, length), dtype=np.float32)
    e = rng.normal(0, 0.3, n)
    for t in range(length):
        e = 0.8 * e + rng.normal(0, 0.18, n)
        noise[:, t] = e
    base = part["severity0"].to_numpy()[:, None] + part["severity_slope"].to_numpy()[:, None] * (
        (hours[None, :] - center) / 24.0
    )
    return (base + noise).astype(np.float32)


def _concept_values(
    name: str,
    sev: np.ndarray,
    hours: np.ndarray,
    part: pd.DataFrame,
    rng: np.random.Generator,
    spec: SyntheticICUSpec,
) -> tuple[np.ndarray, np.ndarray]:
    """(values, observed) for one concept over the part's (n, L) grid."""
    c = RICU_CONCEPTS[name]
    n, length = sev.shape
    coupling = spec.observation_severity_coupling
    rate = np.clip(c.rate * np.exp(coupling * np.clip(sev, -2, 2)), 0, 1)
    observed = rng.random((n, length), dtype=np.float32) < rate
    noise = rng.standard_normal((n, length), dtype=np.float32)
    aki = part["aki_planted"].to_numpy()[:, None]
    onset = np.nan_to_num(part["aki_onset_hours"].to_numpy(), nan=1e9)[:, None]
    ramp = np.clip((hours[None, :] - onset) / 10.0, 0, 1) * aki  # 0 before AKI onset, 1 after
    if c.kind == "lgl":
        values = (0.6 * noise + c.severity * sev > 0) if name == "supp_o2" else np.ones_like(sev)
        return values.astype(np.float32), observed
    if c.kind == "fct":
        score = sev + 0.5 * noise
        if name == "avpu":
            return np.digitize(score, [1.2, 1.8, 2.4]).astype(np.float32), observed
        levels = np.where(score > 1.2, 2.0, 1.0)  # mech_vent: invasive / noninvasive
        return levels.astype(np.float32), observed & (score > 0.3)
    if name == "crea":
        base = part["crea_baseline"].to_numpy()[:, None]
        factor = 1 + (part_peak(part)[:, None] - 1) * ramp
        values = base * factor * (1 + 0.03 * noise)
    else:
        offset = rng.normal(0, spec.stay_offset_sd, (n, 1)).astype(np.float32)
        z = spec.severity_loading * c.severity * sev + 0.6 * noise + offset
        if name == "urine":
            z = z - 1.5 * ramp
        elif name == "bun":
            z = z + 1.5 * ramp
        values = c.mean + c.sd * z
    return np.clip(values, c.lo, c.hi).astype(np.float32), observed


def part_peak(part: pd.DataFrame) -> np.ndarray:
    """Per-stay peak creatinine factor of planted AKI (a deterministic function of stay_id)."""
    ids = part["stay_id"].to_numpy().astype(np.uint64)
    return 1.8 + 1.2 * ((ids * np.uint64(2654435761)) % np.uint64(1000)).astype(float) / 1000.0


def timeseries_part(
    part: pd.DataFrame, spec: SyntheticICUSpec, rng: np.random.Generator
) -> pa.Table:
    """One ``timeseries/part_XXXX.parquet`` table: a dense hourly grid per stay, as ricu's
    ``fill_gaps`` writes it (rows from the stay window's start to min(LOS, horizon))."""
    hours = np.arange(-PRE_ADMISSION_HOURS, spec.horizon_hours, dtype=np.int32)
    sev = _severity_paths(part, hours, rng, spec.slope_center_hour)
    start = np.where(part["pre_admission_rows"].to_numpy(), -PRE_ADMISSION_HOURS, 0)
    end = np.minimum(np.ceil(part["los_hours"].to_numpy()), spec.horizon_hours)
    if spec.pad_to_horizon:
        end = np.full(len(part), spec.horizon_hours)
    exists = (hours[None, :] >= start[:, None]) & (hours[None, :] < end[:, None])
    stay_col = np.broadcast_to(part["stay_id"].to_numpy()[:, None], exists.shape)[exists]
    hour_col = np.broadcast_to(hours[None, :], exists.shape)[exists]
    columns: dict[str, pa.Array] = {
        "stay_id": pa.array(stay_col, pa.int32()),
        "hour": pa.array(hour_col, pa.int32()),
    }
    masks: dict[str, pa.Array] = {}
    for name in spec.concepts:
        values, observed = _concept_values(name, sev, hours, part, rng, spec)
        if name != "crea" and RICU_CONCEPTS[name].kind != "lgl":
            observed &= hours[None, :] >= 0  # only labs are drawn before admission
        obs = observed[exists]
        vals = values[exists]
        kind = RICU_CONCEPTS[name].kind
        if kind == "lgl":
            columns[name] = pa.array(vals > 0.5, pa.bool_(), mask=~obs)
        elif kind == "fct":
            levels = np.array(RICU_CONCEPTS[name].levels, dtype=object)
            codes = vals.astype(int) - (1 if name == "mech_vent" else 0)
            columns[name] = pa.array(
                levels[np.clip(codes, 0, len(levels) - 1)], pa.string(), mask=~obs
            )
        else:
            columns[name] = pa.array(vals.astype(np.float64), pa.float64(), mask=~obs)
        masks[f"{name}_mask"] = pa.array(obs, pa.bool_())
    return pa.table({**columns, **masks})


def stays_table(cohort: pd.DataFrame) -> pd.DataFrame:
    """``stays.parquet`` in the R script's schema."""
    intime = EPOCH + cohort["intime_offset_min"].to_numpy().astype("timedelta64[m]")
    intime = pd.to_datetime(intime).tz_localize("UTC")
    los = cohort["los_hours"].to_numpy()
    rng = np.random.default_rng(int(cohort["stay_id"].iloc[0]))
    n = len(cohort)
    return pd.DataFrame(
        {
            "stay_id": cohort["stay_id"].astype("int32"),
            "patient_id": cohort["patient_id"].astype("int32"),
            "hadm_id": cohort["hadm_id"].astype("int32"),
            "intime": intime,
            "outtime": intime + pd.to_timedelta(np.round(los * 60), unit="min"),
            "los_days": np.round(los * 60) / 60 / 24,
            "age": cohort["age"].astype(float),
            "gender": np.where(cohort["male"], "M", "F"),
            "race": cohort["race"].astype(str),
            "admission_type": rng.choice(["EW EMER.", "URGENT", "ELECTIVE", "DIRECT EMER."], n),
            "insurance": rng.choice(["Medicare", "Medicaid", "Other"], n),
            "first_careunit": rng.choice(
                [
                    "Medical Intensive Care Unit (MICU)",
                    "Surgical Intensive Care Unit (SICU)",
                    "Cardiac Vascular Intensive Care Unit (CVICU)",
                ],
                n,
            ),  # fmt: skip
            "height": np.round(np.where(cohort["male"], 176, 163) + rng.normal(0, 7, n), 1),
            "weight": np.round(np.where(cohort["male"], 85, 72) + rng.normal(0, 15, n), 1),
        }
    )


def mortality_table(cohort: pd.DataFrame, stays: pd.DataFrame) -> pd.DataFrame:
    """``mortality.parquet``: death time and its precision, flag, discharge time/location."""
    intime = stays["intime"]
    dead = cohort["died_in_hospital"].to_numpy() | cohort["died_after_discharge"].to_numpy()
    death_ts = intime + pd.to_timedelta(np.round(np.nan_to_num(cohort["death_hours"]) * 60), "min")
    date_only = cohort["death_date_only"].to_numpy()
    disch = intime + pd.to_timedelta(np.round(cohort["hospital_discharge_hours"] * 60), "min")
    in_hosp = cohort["died_in_hospital"].to_numpy()
    rng = np.random.default_rng(int(cohort["stay_id"].iloc[-1]))
    alive_loc = rng.choice(["HOME", "HOME HEALTH CARE", "SKILLED NURSING FACILITY"], len(cohort))
    death_date = death_ts.dt.tz_convert(None).dt.normalize().dt.date
    return pd.DataFrame(
        {
            "stay_id": cohort["stay_id"].astype("int32"),
            "date_of_death": pd.Series(death_date).where(dead, None),
            "death_time": death_ts.where(dead & ~date_only, pd.NaT),
            "death_date": pd.Series(death_date).where(dead, None),
            "death_time_precision": np.where(
                dead, np.where(date_only, "date", "timestamp"), "unknown"
            ),
            "death_source": np.where(
                dead, np.where(date_only, "patients.dod", "admissions.deathtime"), None
            ),
            "hospital_expire_flag": pd.array(in_hosp.astype(int), dtype="Int8"),
            "dischtime": disch,
            "discharge_location": np.where(in_hosp, "DIED", alive_loc),
        }
    )


def export_metadata(spec: SyntheticICUSpec, n_stays: int) -> dict:
    """``metadata.yaml`` content (same keys the R script writes)."""
    return {
        "dataset": "synthetic",
        "feature_names": list(spec.concepts),
        "n_features": len(spec.concepts),
        "units": {c: RICU_CONCEPTS[c].unit for c in spec.concepts},
        "concept_classes": {c: RICU_CONCEPTS[c].kind for c in spec.concepts},
        "raw_export_horizon_hours": spec.horizon_hours,
        "seq_length_hours": spec.horizon_hours,
        "stays_per_part": spec.stays_per_part,
        "n_stays": n_stays,
        "ricu_version": "synthetic (clinssl)",
        "format": "parquet",
    }


def write_ricu_export(out_dir: str | Path, spec: SyntheticICUSpec) -> pd.DataFrame:
    """Write the synthetic ricu export to ``out_dir`` atomically; return the truth table."""
    cohort = generate_cohort(spec)
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 2]))
    with atomic_directory(out_dir) as tmp:
        (tmp / "timeseries").mkdir()
        for k, start in enumerate(range(0, len(cohort), spec.stays_per_part)):
            part = cohort.iloc[start : start + spec.stays_per_part]
            table = timeseries_part(part, spec, rng)
            pq.write_table(
                table, tmp / "timeseries" / f"part_{k:04d}.parquet", row_group_size=200_000
            )
        stays = stays_table(cohort)
        pq.write_table(pa.Table.from_pandas(stays, preserve_index=False), tmp / "stays.parquet")
        mort = mortality_table(cohort, stays)
        pq.write_table(pa.Table.from_pandas(mort, preserve_index=False), tmp / "mortality.parquet")
        (tmp / "metadata.yaml").write_text(
            yaml.safe_dump(export_metadata(spec, len(cohort)), sort_keys=False)
        )
        truth = cohort.drop(columns=["intime_offset_min"])
        pq.write_table(pa.Table.from_pandas(truth, preserve_index=False), tmp / "truth.parquet")
    log.info("wrote synthetic ricu export of %d stays to %s", len(cohort), out_dir)
    return cohort


def write_yaib_cohorts(ricu_dir: str | Path, out_dir: str | Path, input_hours: int = 24) -> None:
    """Write YAIB cohorts ``<task>/synthetic/{dyn,sta,outc}.parquet`` from a ricu export.

    Exactly YAIB's dtypes: int32 ``stay_id``, timedelta ``time``, float64 concepts, string
    ``sex``. Tasks: ``mortality24`` (stays ≥ 30 h, no death before 30 h; label = in-hospital
    death, one row per stay) and ``aki`` (hourly label, 1 from 6 h before planted onset).
    """
    ricu_dir = Path(ricu_dir)
    truth = pq.read_table(ricu_dir / "truth.parquet").to_pandas()
    stays = pq.read_table(ricu_dir / "stays.parquet").to_pandas()
    concepts = [
        c
        for c in YAIB_CONCEPTS
        if c in set(yaml.safe_load((ricu_dir / "metadata.yaml").read_text())["feature_names"])
    ]
    parts = sorted((ricu_dir / "timeseries").glob("part_*.parquet"))
    dyn = pd.concat(
        [
            pq.read_table(
                p,
                columns=["stay_id", "hour", *concepts],
                filters=[("hour", ">=", 0), ("hour", "<=", input_hours)],
            ).to_pandas()
            for p in parts
        ],
        ignore_index=True,
    )
    dyn.insert(1, "time", pd.to_timedelta(dyn.pop("hour").astype("int64"), unit="h"))
    dyn["stay_id"] = dyn["stay_id"].astype("int32")
    dyn[concepts] = dyn[concepts].astype("float64")
    sta = pd.DataFrame(
        {
            "stay_id": stays["stay_id"].astype("int32"),
            "age": stays["age"].astype("float64"),
            "sex": np.where(stays["gender"] == "M", "Male", "Female").astype(object),
            "height": stays["height"].astype("float64"),
            "weight": stays["weight"].astype("float64"),
        }
    )
    los = truth["los_hours"].to_numpy()
    death = truth["death_hours"].to_numpy()
    keep_m = (los >= 30) & ~(np.nan_to_num(death, nan=np.inf) < 30)
    tasks = {
        "mortality24": pd.DataFrame(
            {
                "stay_id": truth["stay_id"].astype("int32")[keep_m],
                "label": truth["died_in_hospital"].astype("int32")[keep_m],
            }
        ),
    }
    aki_rows = []
    for sid, stay_los, onset in zip(truth["stay_id"], los, truth["aki_onset_hours"], strict=True):
        hours = np.arange(0, int(min(stay_los, 168)))
        if len(hours) == 0:
            continue
        label = (hours >= onset - 6).astype("int32") if np.isfinite(onset) else np.zeros_like(hours)
        aki_rows.append(pd.DataFrame({"stay_id": sid, "time": hours, "label": label}))
    aki = pd.concat(aki_rows, ignore_index=True)
    aki["stay_id"] = aki["stay_id"].astype("int32")
    aki["time"] = pd.to_timedelta(aki["time"].astype("int64"), unit="h")
    tasks["aki"] = aki
    with atomic_directory(out_dir) as tmp:
        for task, outc in tasks.items():
            keep = set(outc["stay_id"].tolist())
            d = tmp / task / "synthetic"
            d.mkdir(parents=True)
            pq.write_table(
                pa.Table.from_pandas(dyn[dyn["stay_id"].isin(keep)], preserve_index=False),
                d / "dyn.parquet",
            )
            pq.write_table(
                pa.Table.from_pandas(sta[sta["stay_id"].isin(keep)], preserve_index=False),
                d / "sta.parquet",
            )
            pq.write_table(pa.Table.from_pandas(outc, preserve_index=False), d / "outc.parquet")
    log.info("wrote YAIB cohorts %s to %s", sorted(tasks), out_dir)
