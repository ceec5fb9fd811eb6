"""Synthetic PTB-XL: 12-lead ECGs with planted superclass morphology, in PTB-XL's layout.

Why: the ECG branch must run and be *checked* without the real download. The corpus is
written exactly as PTB-XL v1.0.3 (``ptbxl_database.csv`` with its 28 columns,
``scp_statements.csv`` with the real header and rows, ``records100/`` WFDB records, float
``patient_id``/``age``, age 300 for patients over 89, non-contiguous ``ecg_id``, a
patient-respecting ``strat_fold``), so the same loader (:mod:`clinssl.ecg.io.ptbxl`) reads
both.

Beat model. Not ``neurokit2.ecg_simulate``: it takes ≈ 0.65 s per 12-lead record and rescales
each lead on its own, so its limb leads violate Einthoven's law (reference §4). Here the heart
is a 3-D dipole (x = patient's left, y = inferior, z = anterior) whose P, Q, R, S and T waves
are Gaussians in time, each with its own direction, plus an ST-segment plateau (a smooth step
from the J point to the end of T). The dipole is projected onto leads I and II and onto six
precordial axes; the other limb leads are *derived* (III = II − I, aVR = −(I + II)/2,
aVL = I − II/2, aVF = II − I/2), so they are consistent to the µV quantisation, as in a real
recording where all six come from three electrodes. Baseline wander and white noise are added
to the eight independent channels (per electrode, so they propagate to the derived leads as
in real ECGs), each scaled per record (log-normal: electrode contact and movement vary).
Heart rate 50-110 bpm with beat-to-beat RR variability; 4 % of records are in atrial
fibrillation (no P wave, irregular RR, fibrillatory waves).

Between-patient variation (``patient_variation`` multiplies all of it): QRS axis (frontal
45° ± 25°, horizontal tilt), R/Q/S/T/P amplitudes (log-normal, ≈ 25 %), chest-wall gain of the
precordial leads (≈ 20 %: the same direction as the hypertrophy effect), electrode angles,
QRS duration (88 ± 7 ms), PR and QT, and a J-point/ST offset along the T direction
(0.03 ± 0.035 mV: early repolarisation and mild depression, the scale of the ST effects).

Planted superclass morphology, drawn from overlapping ranges. Each labelled record shows its
label with a *strength* = ``effect_scale`` × a factor of the statement's likelihood (100 → 1,
50 → 0.65, 15 → 0.35) × U(0.5, 1.2), so labelled records range from borderline to florid
(``effect_scale`` = 0 removes every effect and the labels become unlearnable). At strength 1:

* MI: territory inferior (II, III, aVF; IMI/ILMI) or anterior (V1-V4; ASMI/AMI). Pathological
  Q waves (an early, wide force away from the territory, 0.08-0.35 mV), loss of R toward it,
  ST elevation along it (0-0.18 mV) and partial T inversion.
* STTC: ST depression toward the apex (0.04-0.18 mV; II, aVF, V4-V6 down, aVR up) and/or T
  flattening/inversion (T × U(−0.7, 0.5)); NDT / NST_ / ISC_ / ISCAL.
* CD: by subtype: CRBBB/CLBBB +35-70 ms QRS (to ≈ 120-160 ms), IVCD +30-55, IRBBB +12-28,
  LAFB +5-18 with left axis deviation, 1AVB a PR longer by 50-110 ms; RBBB adds a terminal
  right-anterior force (R′ in V1), LBBB loses the septal q and gets a broad lateral R.
* HYP: QRS voltage × U(1.6, 2.3) in the precordial leads (about a third of that in the limb
  leads; Sokolow-Lyon-like), RVH with right axis shift, LAO/LAE with a wide P; a quarter of
  LVH records carry a strain pattern (lateral ST depression, flat T) without the STTC label.

Calibration (CPU; a 4-layer 1-D CNN, 15-20 epochs on folds 1-8 with all labels, scored on
folds 9-10): macro AUROC ≈ 0.89 for the default 2,000 records and for 3,000 (per class about
CD 0.9, HYP 0.8-0.86, MI 0.96, NORM 0.9, STTC 0.85-0.88); with ``effect_scale`` = 0 it stays
at chance (≈ 0.53).

NORM records have no planted pathology and a NORM statement. Records with only
non-diagnostic statements (``no_diagnostic_fraction``) have none either; the loader drops
them. Labels persist within a patient (a later record keeps each of the patient's labels with
probability 0.9, or the prevalence if higher), with the per-record prevalence kept at the
configured value.

Determinism and streaming: record ``i`` (``ecg_id`` from a prefix-stable gap pattern) draws
from ``derive_seed(seed, "ptbxl-record", ecg_id)`` (its white noise from
``derive_seed(seed, "ptbxl-noise", ecg_id)``) and its patient from
``derive_seed(seed, "ptbxl-patient", patient_index)``, so a record is identical whatever the
corpus size, and every draw happens whatever the knobs (they only scale what is drawn): two
cohorts that differ in one knob differ in that effect only. Records are written as they are
made; only the small per-record metadata is kept for the CSV and the fold assignment.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clinssl.ecg.io.ptbxl import (
    DATABASE_COLUMNS,
    DATABASE_FILE,
    STATEMENTS_FILE,
    record_path,
    write_record,
)
from clinssl.ecg.names import SUPERCLASSES
from clinssl.utils.atomic import atomic_path, atomic_write_text
from clinssl.utils.seeding import derive_seed

TRUTH_FILE = "truth.parquet"
RECORD_SECONDS = 10
#: PTB-XL's rows of ``scp_statements.csv`` for every statement this generator uses (verbatim)
SCP_STATEMENTS_CSV = """\
,description,diagnostic,form,rhythm,diagnostic_class,diagnostic_subclass,Statement Category,SCP-ECG Statement Description,AHA code,aECG REFID,CDISC Code,DICOM Code
NDT,non-diagnostic T abnormalities,1.0,1.0,,STTC,STTC,other ST-T descriptive statements,non-diagnostic T abnormalities,,,,
NST_,non-specific ST changes,1.0,1.0,,STTC,NST_,Basic roots for coding ST-T changes and abnormalities,non-specific ST changes,145,MDC_ECG_RHY_STHILOST,,
NORM,normal ECG,1.0,,,NORM,NORM,Normal/abnormal,normal ECG,1,,,F-000B7
IMI,inferior myocardial infarction,1.0,,,MI,IMI,Myocardial Infarction,inferior myocardial infarction,161,,,
ASMI,anteroseptal myocardial infarction,1.0,,,MI,AMI,Myocardial Infarction,anteroseptal myocardial infarction,165,,,
LVH,left ventricular hypertrophy,1.0,,,HYP,LVH,Ventricular Hypertrophy,left ventricular hypertrophy,142,,C71076,
LAFB,left anterior fascicular block,1.0,,,CD,LAFB/LPFB,Intraventricular and intra-atrial Conduction disturbances,left anterior fascicular block,101,MDC_ECG_BEAT_BLK_ANT_L_HEMI,C62267,D3-33140
ISC_,non-specific ischemic,1.0,,,STTC,ISC_,Basic roots for coding ST-T changes and abnormalities,ischemic ST-T changes,226,,,
IRBBB,incomplete right bundle branch block,1.0,,,CD,IRBBB,Intraventricular and intra-atrial Conduction disturbances,incomplete right bundle branch block,105,MDC_ECG_BEAT_RBB_BLK_INCOMP,C71048,D3-33112
IVCD,non-specific intraventricular conduction disturbance (block),1.0,,,CD,IVCD,Intraventricular and intra-atrial Conduction disturbances,non-specific intraventricular conduction disturbance,107,MDC_ECG_BEAT_BLK_IVCD,C62271,D3-33000
ISCAL,ischemic in anterolateral leads,1.0,,,STTC,ISCA,ischemic ST-T changes,in anterolateral leads,,,,
CRBBB,complete right bundle branch block,1.0,,,CD,CRBBB,Intraventricular and intra-atrial Conduction disturbances,(complete) right bundle branch block,106,MDC_ECG_BEAT_RBB_BLK_COMP,C62270,D3-33110
1AVB,first degree AV block,1.0,,,CD,_AVB,"Sinus node dysfunction, atrial and AV-conduction defects",first degree AV block,,MDC_ECG_RHY_AV_HEART_BLK_DEG_1,C111088,
CLBBB,complete left bundle branch block,1.0,,,CD,CLBBB,Intraventricular and intra-atrial Conduction disturbances,(complete) left bundle branch block,104,MDC_ECG_BEAT_LBB_BLK_COMP,C62269,D3-33120 or 122752
ILMI,inferolateral myocardial infarction,1.0,,,MI,IMI,Myocardial Infarction,inferolateral myocardial infarction,,,,
LAO/LAE,left atrial overload/enlargement,1.0,,,HYP,LAO/LAE,Atrial statements,left atrial overload/enlargement,140,,,
AMI,anterior myocardial infarction,1.0,,,MI,AMI,Myocardial Infarction,anterior myocardial infarction,160,,,
RVH,right ventricular hypertrophy,1.0,,,HYP,RVH,Ventricular Hypertrophy,right ventricular hypertrophy,143,,C71077,
ABQRS,abnormal QRS,,1.0,,,,Normal/abnormal,abnormal QRS,,,,
STD_,non-specific ST depression,,1.0,,,,Basic roots for coding ST-T changes and abnormalities,non-specific ST depression,502,,,F-38278
VCLVH,voltage criteria (QRS) for left ventricular hypertrophy,,1.0,,,,Ventricular Hypertrophy,voltage criteria (QRS) for left ventricular hypertrophy,,,,
QWAVE,Q waves present,,1.0,,,,Other QRS morphology descriptive statements,Q waves present,,,,
LOWT,low amplitude T-waves,,1.0,,,,other ST-T descriptive statements,low amplitude T-waves,366,,,
INVT,inverted T-waves,,1.0,,,,other ST-T descriptive statements,inverted T-waves,367,,,
LVOLT,low QRS voltages in the frontal and horizontal leads,,1.0,,,,Other QRS morphology descriptive statements,low QRS voltages in the frontal and horizontal leads,,,,
SR,sinus rhythm,,,1.0,,,Statements related to impulse formation (abnormalities),sinus rhythm,20,MDC_ECG_RHY_SINUS_RHY,,
AFIB,atrial fibrillation,,,1.0,,,Statements related to impulse formation (abnormalities),atrial fibrillation,50,MDC_ECG_RHY_ATR_FIB,,D3-31520
STACH,sinus tachycardia,,,1.0,,,Statements related to impulse formation (abnormalities),sinus tachycardia,21,MDC_ECG_RHY_SINUS_TACHY,,
SARRH,sinus arrhythmia,,,1.0,,,Statements related to impulse formation (abnormalities),sinus arrhythmia,23,MDC_ECG_RHY_SINUS_ARRHY,,
SBRAD,sinus bradycardia,,,1.0,,,Statements related to impulse formation (abnormalities),sinus bradycardia,22,MDC_ECG_RHY_SINUS_BRADY,,
"""  # noqa: E501
#: superclass order in which a patient's rarest label picks its fold stratum
_STRATUM_ORDER = ("HYP", "CD", "STTC", "MI", "NORM")
#: prevalence field of each planted (pathology) superclass
_PREVALENCE_FIELDS = {"MI": "prevalence_mi", "STTC": "prevalence_sttc", "CD": "prevalence_cd",
                      "HYP": "prevalence_hyp"}  # fmt: skip
PATHOLOGIES: tuple[str, ...] = tuple(_PREVALENCE_FIELDS)
#: probability that a later record of a patient keeps each of the patient's labels (at least
#: the prevalence itself)
LABEL_PERSISTENCE = 0.9
AFIB_FRACTION = 0.04
#: patient ids are a scramble of the patient index modulo this prime (unique below it)
_PATIENT_PRIME = 99991


@dataclass(frozen=True)
class PTBXLCohortConfig:
    """Size and planted effects of the synthetic PTB-XL corpus (config ``ecg.synthetic``)."""

    n_records: int = 2000
    n_patients: int = 1600
    fs: int = 100
    write_500hz: bool = False
    no_diagnostic_fraction: float = 0.02
    noise_mv: float = 0.03
    wander_mv: float = 0.1
    patient_variation: float = 1.0
    effect_scale: float = 1.0
    prevalence_mi: float = 0.25
    prevalence_sttc: float = 0.24
    prevalence_cd: float = 0.22
    prevalence_hyp: float = 0.12
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_records", "n_patients", "fs", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool):
                raise ValueError(f"ecg.synthetic.{name} must be an integer, got {value!r}")
        if self.n_records < 1:
            raise ValueError(f"ecg.synthetic.n_records must be >= 1, got {self.n_records}")
        if not 1 <= self.n_patients <= min(self.n_records, _PATIENT_PRIME - 1):
            raise ValueError(
                f"ecg.synthetic.n_patients must be between 1 and n_records ({self.n_records}) "
                f"and below {_PATIENT_PRIME}, got {self.n_patients}"
            )
        if self.fs != 100:
            raise ValueError(
                f"ecg.synthetic.fs must be 100 (the rate of PTB-XL's records100), got {self.fs}"
            )
        if self.seed < 0:
            raise ValueError(f"ecg.synthetic.seed must be >= 0, got {self.seed}")
        if not 0 <= self.no_diagnostic_fraction <= 1:
            raise ValueError(
                "ecg.synthetic.no_diagnostic_fraction must be in [0, 1], got "
                f"{self.no_diagnostic_fraction}"
            )
        for name in ("noise_mv", "wander_mv", "patient_variation", "effect_scale"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"ecg.synthetic.{name} must be >= 0, got {getattr(self, name)}")
        for name in _PREVALENCE_FIELDS.values():
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(
                    f"ecg.synthetic.{name} must be in [0, 1], got {getattr(self, name)}"
                )
        if self.noise_mv > 1 or self.wander_mv > 2:
            raise ValueError("ecg.synthetic: noise_mv must be <= 1 and wander_mv <= 2 (mV)")

    @property
    def prevalence(self) -> dict[str, float]:
        """Per-record prevalence of each planted superclass."""
        return {cls: float(getattr(self, f)) for cls, f in _PREVALENCE_FIELDS.items()}

    @property
    def n_samples(self) -> int:
        return self.fs * RECORD_SECONDS


# ----------------------------------------------------------------------------- identities


def ecg_ids(cfg: PTBXLCohortConfig) -> np.ndarray:
    """``ecg_id`` of records 0..n-1: 1, 2, ... with gaps of 1-3 ids (≈ 1.2 % of steps), as
    v1.0.3 lacks ids its predecessors had. Prefix-stable: record i's id does not depend on
    ``n_records``."""
    u = np.random.default_rng(derive_seed(cfg.seed, "ptbxl-ids")).random(cfg.n_records)
    steps = np.where(u < 0.012, 2 + (u / 0.004).astype(np.int64), 1)
    steps[0] = 1
    return np.cumsum(steps).astype(np.int64)


def patient_index(cfg: PTBXLCohortConfig, index: int) -> int:
    """Records ``0..n_patients-1`` are each patient's first record; every later record is a
    further visit of a patient chosen by a per-record hash (so it is corpus-size free)."""
    index = int(index)
    if index < cfg.n_patients:
        return index
    return derive_seed(cfg.seed, "ptbxl-revisit", index) % cfg.n_patients


def patient_id_of(pidx: int) -> int:
    """A scrambled, unique patient id (1..99991) for patient index ``pidx``."""
    return 1 + (pidx * 7919) % _PATIENT_PRIME


# ----------------------------------------------------------------------------- geometry


def direction(frontal_deg: float, anterior_deg: float) -> np.ndarray:
    """Unit vector at ``frontal_deg`` in the frontal plane (0° = left, 90° = inferior, the
    hexaxial convention) tilted ``anterior_deg`` toward the front."""
    a, e = np.deg2rad(frontal_deg), np.deg2rad(anterior_deg)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


def _unit(*v: float) -> np.ndarray:
    x = np.array(v, dtype=float)
    return x / np.linalg.norm(x)


LEAD_I = direction(0.0, 0.0)
LEAD_II = direction(60.0, 0.0)
#: horizontal-plane angle (0° = left, 90° = anterior) and gain of V1..V6
PRECORDIAL_ANGLES = np.array([120.0, 95.0, 75.0, 55.0, 30.0, 5.0])
PRECORDIAL_GAINS = np.array([1.0, 1.5, 1.5, 1.35, 1.15, 0.95])
SEPTAL = _unit(-0.6, 0.3, 0.75)  # early septal force: rightward, anterior
LATE_S = _unit(-0.35, -0.45, -0.8)  # late basal forces: posterior, superior
RBBB_TERMINAL = _unit(-0.55, 0.0, 0.83)  # delayed right-ventricular force: R' in V1
APEX = _unit(0.75, 0.45, 0.35)  # ST depression points away from it (II, aVF, V4-V6)
TERRITORY = {"inferior": _unit(0.15, 1.0, 0.0), "anterior": _unit(0.1, 0.0, 1.0)}
FIB_AXIS = _unit(0.3, 0.5, 0.8)


def derive_limb_leads(lead_i: np.ndarray, lead_ii: np.ndarray) -> tuple[np.ndarray, ...]:
    """III, aVR, aVL, aVF from I and II (Einthoven and Goldberger):
    III = II − I, aVR = −(I + II)/2, aVL = (I − III)/2 = I − II/2, aVF = (II + III)/2 = II − I/2.
    """
    return (
        lead_ii - lead_i,
        -(lead_i + lead_ii) / 2.0,
        lead_i - lead_ii / 2.0,
        lead_ii - lead_i / 2.0,
    )


# ----------------------------------------------------------------------------- drawing


def _choice(rng: np.random.Generator, options: tuple, p: tuple[float, ...]):
    return options[int(np.searchsorted(np.cumsum(p), rng.random() * sum(p), side="right"))]


def draw_patient(cfg: PTBXLCohortConfig, pidx: int) -> dict:
    """Planted per-patient truth of patient ``pidx``: demographics, morphology, label
    propensity and the pathology parameters used whenever one of its records has a label.
    Every draw happens whatever the config's knobs."""
    pidx = int(pidx)
    rng = np.random.default_rng(derive_seed(cfg.seed, "ptbxl-patient", pidx))
    pv = cfg.patient_variation
    z = rng.standard_normal(20)
    u = rng.random(12)
    sex = int(u[0] < 0.48)
    morph = {
        "axis_deg": float(np.clip(45.0 + 25.0 * pv * z[0], -40.0, 110.0)),
        "qrs_tilt_deg": -20.0 + 12.0 * pv * z[1],
        "r_amp": 1.3 * float(np.exp(0.25 * pv * z[2])),
        "q_amp": 0.10 * float(np.exp(0.3 * pv * z[3])),
        "s_amp": 0.45 * float(np.exp(0.3 * pv * z[4])),
        "chest_gain": float(np.exp(0.2 * pv * z[5])),
        "limb_gain": float(np.exp(0.15 * pv * z[6])),
        "qrs_base_ms": float(np.clip(88.0 + 7.0 * pv * z[7], 70.0, 112.0)),
        "pr_ms": float(np.clip(160.0 + 20.0 * pv * z[8], 110.0, 220.0)),
        "p_amp": 0.12 * float(np.exp(0.25 * pv * z[9])),
        "t_axis_deg": 40.0 + 20.0 * pv * z[10],
        "t_tilt_deg": 25.0 + 12.0 * pv * z[11],
        "t_amp": 0.32 * float(np.exp(0.25 * pv * z[12])),
        "j_st_mv": 0.03 + 0.035 * pv * z[13],
        "hr_mean": float(np.clip(70.0 + 10.0 * pv * z[14], 50.0, 110.0)),
        "rr_sd": 0.015 + 0.015 * pv * abs(float(z[15])),
        "qt_factor": 1.0 + 0.05 * pv * z[16],
        "v_angle_jitter": 6.0 * pv * rng.standard_normal(6),
    }
    age = float(np.clip(58.0 + 16.0 * z[17], 17.0, 96.0))
    height = 163.0 + 13.0 * (1 - sex) + 7.0 * z[18] if u[1] < 0.3 else np.nan
    weight = 68.0 + 10.0 * (1 - sex) + 13.0 * z[19] if u[2] < 0.55 else np.nan
    # label propensity: the patient "has" class c with probability prevalence(c)
    label_u = rng.random(len(PATHOLOGIES))
    has = {c: bool(label_u[k] < cfg.prevalence[c]) for k, c in enumerate(PATHOLOGIES)}
    return {
        "patient_index": pidx,
        "patient_id": patient_id_of(pidx),
        "sex": sex,
        "age": age,
        "height": float(np.round(height)) if np.isfinite(height) else np.nan,
        "weight": float(np.round(max(weight, 38.0))) if np.isfinite(weight) else np.nan,
        # PTB-XL was recorded 1989-1996: first visits by 1994, later ones within 2 years
        "base_day": float(rng.uniform(0.0, 6 * 365.0)),
        "site": float(rng.integers(0, 51)) if u[3] < 0.95 else np.nan,
        "morph": morph,
        "has": has,
        "mi": _draw_mi(rng),
        "sttc": _draw_sttc(rng),
        "cd": _draw_cd(rng),
        "hyp": _draw_hyp(rng),
    }


def _draw_mi(rng: np.random.Generator) -> dict:
    territory = "inferior" if rng.random() < 0.55 else "anterior"
    if territory == "inferior":
        code = "IMI" if rng.random() < 0.8 else "ILMI"
    else:
        code = "ASMI" if rng.random() < 0.65 else "AMI"
    return {
        "territory": territory,
        "code": code,
        "q_mv": float(rng.uniform(0.08, 0.35)),
        "r_loss_mv": float(rng.uniform(0.05, 0.35)),
        "st_mv": float(rng.uniform(0.0, 0.18)),
        "t_inv_mv": float(rng.uniform(0.0, 0.2)),
    }


def _draw_sttc(rng: np.random.Generator) -> dict:
    mode = _choice(rng, ("st", "t", "st+t"), (0.3, 0.4, 0.3))
    code = {"st": "NST_", "t": "NDT"}.get(mode) or ("ISC_" if rng.random() < 0.7 else "ISCAL")
    return {
        "mode": mode,
        "code": code,
        "st_dep_mv": float(rng.uniform(0.04, 0.18)),
        "t_factor": float(rng.uniform(-0.7, 0.5)),
    }


_CD_WIDENING = {"CRBBB": (35.0, 65.0), "CLBBB": (40.0, 70.0), "IVCD": (30.0, 55.0),
                "IRBBB": (12.0, 28.0), "LAFB": (5.0, 18.0), "1AVB": (0.0, 0.0)}  # fmt: skip
_CD_P = (0.2, 0.1, 0.12, 0.18, 0.25, 0.15)


def _draw_cd(rng: np.random.Generator) -> dict:
    subtype = _choice(rng, tuple(_CD_WIDENING), _CD_P)
    lo, hi = _CD_WIDENING[subtype]
    u = rng.random(5)
    terminal = {"CRBBB": 0.3 + 0.4 * u[1], "IRBBB": 0.15 + 0.2 * u[1]}.get(subtype, 0.0)
    return {
        "subtype": subtype,
        "extra_ms": lo + (hi - lo) * float(u[0]),
        "terminal_mv": float(terminal),
        "axis_shift_deg": -(50.0 + 35.0 * float(u[2])) if subtype == "LAFB" else 0.0,
        "notch": 0.3 + 0.3 * float(u[3]) if subtype == "CLBBB" else 0.0,
        "pr_extra_ms": 50.0 + 60.0 * float(u[4]) if subtype == "1AVB" else 0.0,
    }


def _draw_hyp(rng: np.random.Generator) -> dict:
    subtype = _choice(rng, ("LVH", "RVH", "LAO/LAE"), (0.8, 0.08, 0.12))
    u = rng.random(5)
    strain = subtype == "LVH" and u[2] < 0.25
    return {
        "subtype": subtype,
        "gain": 1.6 + 0.7 * float(u[0]),
        "axis_shift_deg": 40.0 + 30.0 * float(u[1]) if subtype == "RVH" else 0.0,
        "p_width": 1.5 if subtype == "LAO/LAE" else 1.0,
        "strain_st_mv": 0.03 + 0.07 * float(u[3]) if strain else 0.0,
        "strain_t_factor": 0.7 * float(u[4]) if strain else 1.0,
    }


_LIKELIHOODS = (100.0, 80.0, 50.0, 35.0, 15.0, 0.0)
_LIKELIHOOD_P = (0.5, 0.15, 0.13, 0.08, 0.09, 0.05)
_N_BEAT_DRAWS = 48
_N_WANDER = 3


def draw_record(cfg: PTBXLCohortConfig, index: int, ecg_id: int, patient: dict) -> dict:
    """Planted per-record truth of record ``index``: labels, rhythm, statements and the
    random numbers of its beats and wander (the noise is drawn when it is synthesised)."""
    index = int(index)
    rng = np.random.default_rng(derive_seed(cfg.seed, "ptbxl-record", int(ecg_id)))
    first_visit = index == patient["patient_index"]
    u_label = rng.random(len(PATHOLOGIES))
    labels = {}
    for k, cls in enumerate(PATHOLOGIES):
        p = cfg.prevalence[cls]
        if first_visit:
            labels[cls] = patient["has"][cls]
        # keep with probability r, acquire with q = p (1 - r) / (1 - p): the marginal stays p
        elif patient["has"][cls]:
            labels[cls] = bool(u_label[k] < max(LABEL_PERSISTENCE, p))
        else:
            r = max(LABEL_PERSISTENCE, p)
            labels[cls] = bool(p < 1 and u_label[k] < p * (1 - r) / (1 - p))
    u = rng.random(12)
    no_diagnostic = bool(u[0] < cfg.no_diagnostic_fraction)
    if no_diagnostic:
        labels = dict.fromkeys(PATHOLOGIES, False)
    afib = bool(u[1] < AFIB_FRACTION)
    morph = patient["morph"]
    hr = float(np.clip(morph["hr_mean"] + 4.0 * rng.standard_normal(), 50.0, 110.0))
    rr_sd = morph["rr_sd"] + (0.04 if u[2] < 0.05 else 0.0)
    rec = {
        "index": index,
        "ecg_id": int(ecg_id),
        "labels": labels,
        "no_diagnostic": no_diagnostic,
        "afib": afib,
        "hr": hr,
        "rr_sd": rr_sd,
        "visit_years": 0.0 if first_visit else float(rng.uniform(0.05, 2.0)),
        "t_first": float(u[3]),
        "rr_z": rng.standard_normal(_N_BEAT_DRAWS),
        "beat_amp_z": rng.standard_normal(_N_BEAT_DRAWS),
        "v_angle_jitter": 3.0 * cfg.patient_variation * rng.standard_normal(6),
        "amp_jitter": float(np.exp(0.05 * cfg.patient_variation * rng.standard_normal())),
        "wander_f": rng.uniform(0.05, 0.5, size=(8, _N_WANDER)),
        "wander_a": rng.uniform(0.2, 0.6, size=(8, _N_WANDER)),
        "wander_phase": rng.uniform(0.0, 2 * np.pi, size=(8, _N_WANDER)),
        "fib_f": rng.uniform(4.0, 7.0, size=3),
        "fib_phase": rng.uniform(0.0, 2 * np.pi, size=3),
        "seconds_of_day": float(rng.uniform(7.5 * 3600, 17.5 * 3600)),
        "nodiag_kind": _choice(rng, ("ABQRS", "QWAVE", "LOWT", "AFIB"), (0.4, 0.2, 0.2, 0.2)),
        "code_u": rng.random(12),
        "likelihood": [_choice(rng, _LIKELIHOODS, _LIKELIHOOD_P) for _ in range(4)],
        "norm_likelihood": 100.0 if u[4] < 0.75 else 80.0,
        "strength_u": rng.uniform(0.5, 1.2, size=len(PATHOLOGIES)),
        # recording conditions: electrode contact and patient movement vary per record
        "noise_gain": float(np.exp(0.4 * rng.standard_normal())),
        "wander_gain": float(np.exp(0.5 * rng.standard_normal())),
    }
    if no_diagnostic and rec["nodiag_kind"] == "AFIB":
        rec["afib"] = True
    rec["params"] = _effective_params(cfg, patient, rec)
    rec["scp_codes"] = _scp_codes(rec, patient)
    return rec


#: how strongly a record shows its label, by the statement's likelihood: a cardiologist's
#: "15 %" is a borderline finding (0 = likelihood not stated)
_LIKELIHOOD_STRENGTH = {100.0: 1.0, 80.0: 0.85, 50.0: 0.65, 35.0: 0.5, 15.0: 0.35, 0.0: 0.6}


def _strength(cfg: PTBXLCohortConfig, rec: dict) -> dict[str, float]:
    """Per-class effect multiplier of a record: ``effect_scale`` x likelihood factor x
    U(0.5, 1.2), so labelled records range from borderline to florid."""
    return {
        cls: cfg.effect_scale * _LIKELIHOOD_STRENGTH[rec["likelihood"][k]] * rec["strength_u"][k]
        for k, cls in enumerate(PATHOLOGIES)
    }


def _effective_params(cfg: PTBXLCohortConfig, patient: dict, rec: dict) -> dict:
    """The beat-model parameters of a record after its planted effects (each scaled by the
    record's strength for that class, see :func:`_strength`)."""
    m = patient["morph"]
    lab = rec["labels"]
    st = {c: (w if lab[c] else 0.0) for c, w in _strength(cfg, rec).items()}
    mi, sttc, cd, hyp = patient["mi"], patient["sttc"], patient["cd"], patient["hyp"]
    axis = m["axis_deg"] + st["CD"] * cd["axis_shift_deg"] + st["HYP"] * hyp["axis_shift_deg"]
    t_factor = 1.0
    if sttc["mode"] in ("t", "st+t"):
        t_factor = 1.0 + st["STTC"] * (sttc["t_factor"] - 1.0)
    t_factor *= 1.0 + st["HYP"] * (hyp["strain_t_factor"] - 1.0)
    st_dep = st["STTC"] * (sttc["st_dep_mv"] if sttc["mode"] != "t" else 0.0)
    st_dep += st["HYP"] * hyp["strain_st_mv"]
    return {
        "strength": st,
        "axis_deg": axis,
        "qrs_ms": m["qrs_base_ms"] + st["CD"] * cd["extra_ms"],
        "pr_extra_ms": st["CD"] * cd["pr_extra_ms"],
        "t_factor": t_factor,
        "st_dep_mv": st_dep,
        "voltage_gain": 1.0 + st["HYP"] * (hyp["gain"] - 1.0),
        "p_width": 1.0 + st["HYP"] * (hyp["p_width"] - 1.0),
        "territory": mi["territory"] if lab["MI"] else "",
        "mi_q_mv": st["MI"] * mi["q_mv"],
        "mi_r_loss_mv": st["MI"] * mi["r_loss_mv"],
        "mi_st_mv": st["MI"] * mi["st_mv"],
        "mi_t_inv_mv": st["MI"] * mi["t_inv_mv"],
        "terminal_mv": st["CD"] * cd["terminal_mv"],
        "notch": st["CD"] * cd["notch"],
        "septal_q_factor": 1.0 - min(1.0, st["CD"]) if cd["subtype"] == "CLBBB" else 1.0,
    }


def _scp_codes(rec: dict, patient: dict) -> dict[str, float]:
    """PTB-XL-style statements: diagnostic codes with likelihoods (0-100, 0 = unknown), form
    codes and a rhythm code with likelihood 0 (as PTB-XL stores most of them)."""
    u = rec["code_u"]
    lab = rec["labels"]
    codes: dict[str, float] = {}
    if rec["no_diagnostic"]:
        kind = rec["nodiag_kind"]
        if kind != "AFIB":
            codes[kind] = 0.0
    elif not any(lab.values()):
        codes["NORM"] = rec["norm_likelihood"]
    else:
        like = rec["likelihood"]
        if lab["MI"]:
            codes[patient["mi"]["code"]] = like[0]
        if lab["STTC"]:
            codes[patient["sttc"]["code"]] = like[1]
        if lab["CD"]:
            codes[patient["cd"]["subtype"]] = like[2]
        if lab["HYP"]:
            codes[patient["hyp"]["subtype"]] = like[3]
        if lab["MI"] and u[0] < 0.5:
            codes["ABQRS"] = 0.0
        if lab["MI"] and u[1] < 0.2:
            codes["QWAVE"] = 0.0
        if lab["STTC"] and patient["sttc"]["mode"] != "st" and u[2] < 0.3:
            codes["INVT" if patient["sttc"]["t_factor"] < 0 else "LOWT"] = 0.0
        if lab["STTC"] and patient["sttc"]["mode"] != "t" and u[3] < 0.3:
            codes["STD_"] = 0.0
        if lab["HYP"] and patient["hyp"]["subtype"] == "LVH" and u[4] < 0.3:
            codes["VCLVH"] = 0.0
    m = patient["morph"]
    if m["r_amp"] * m["limb_gain"] < 0.85 and u[5] < 0.7:
        codes["LVOLT"] = 0.0
    if rec["afib"]:
        codes["AFIB"] = 100.0 if rec["no_diagnostic"] else 0.0
    elif rec["hr"] < 60:
        codes["SBRAD"] = 0.0
    elif rec["hr"] > 100:
        codes["STACH"] = 0.0
    elif rec["rr_sd"] > 0.05:
        codes["SARRH"] = 0.0
    else:
        codes["SR"] = 0.0
    return codes


# ----------------------------------------------------------------------------- synthesis


def _beat_times(rec: dict) -> np.ndarray:
    """R-peak times (s) covering the 10-s record plus a beat on either side."""
    rr = 60.0 / rec["hr"]
    z = rec["rr_z"]
    if rec["afib"]:
        steps = rr * np.exp(0.2 * z - 0.02)
    else:
        steps = rr * np.clip(1.0 + rec["rr_sd"] * z, 0.7, 1.3)
    steps = np.maximum(steps, 0.28)
    times = -rec["t_first"] * rr - rr + np.concatenate([[0.0], np.cumsum(steps)])
    return times[times < RECORD_SECONDS + 1.0]


def _components(patient: dict, rec: dict) -> tuple[np.ndarray, ...]:
    """Per-beat wave components: offsets from the R peak (s), widths (s), dipole vectors
    (mV), whether each belongs to the QRS (scaled by the hypertrophy voltage gain)."""
    m, p = patient["morph"], rec["params"]
    k = p["qrs_ms"] / 88.0
    rr = 60.0 / rec["hr"]
    r_dir = direction(p["axis_deg"], m["qrs_tilt_deg"])
    amp = rec["amp_jitter"]
    t_dir = direction(m["t_axis_deg"] + (p["axis_deg"] - m["axis_deg"]) * 0.3, m["t_tilt_deg"])
    t_peak = 0.40 * np.sqrt(rr) * m["qt_factor"] - 0.09 + (p["qrs_ms"] - 88.0) / 1000.0
    territory = TERRITORY.get(p["territory"], np.zeros(3))
    t_vec = amp * m["t_amp"] * p["t_factor"] * t_dir - p["mi_t_inv_mv"] * territory
    p_amp = 0.0 if rec["afib"] else m["p_amp"]
    rows = [
        # offset, sigma, vector, qrs
        (-0.045 * k - (m["pr_ms"] + p["pr_extra_ms"]) / 1000.0 + 0.05, 0.022 * p["p_width"],
         amp * p_amp * direction(50.0, 10.0), False),
        (-0.022 * k, 0.008 * k, amp * m["q_amp"] * p["septal_q_factor"] * SEPTAL, True),
        (0.0, 0.010 * k, amp * m["r_amp"] * r_dir, True),
        (0.022 * k, 0.009 * k, amp * m["s_amp"] * LATE_S, True),
        (0.035 * k, 0.014 * k, p["terminal_mv"] * RBBB_TERMINAL, True),
        (0.02 * k, 0.014 * k, amp * p["notch"] * m["r_amp"] * direction(p["axis_deg"], -30.0),
         True),
        (-0.02 * k, 0.014, -p["mi_q_mv"] * territory, True),
        (0.0, 0.010 * k, -p["mi_r_loss_mv"] * territory, True),
        (t_peak, 0.045, t_vec, False),
        (t_peak + 0.035, 0.03, 0.3 * t_vec, False),
    ]  # fmt: skip
    offsets = np.array([r[0] for r in rows])
    sigmas = np.array([r[1] for r in rows])
    vectors = np.array([r[2] for r in rows])
    qrs = np.array([r[3] for r in rows])
    st_vec = m["j_st_mv"] * t_dir + p["mi_st_mv"] * territory - p["st_dep_mv"] * APEX
    j_point = 0.045 * k + 0.005
    t_end = t_peak + 0.09
    return offsets, sigmas, vectors, qrs, st_vec, np.array([j_point, t_end])


def _lead_matrix(patient: dict, rec: dict) -> np.ndarray:
    """(3, 6) projection of the dipole onto V1..V6 (patient and per-record electrode jitter,
    chest-wall gain)."""
    angles = PRECORDIAL_ANGLES + patient["morph"]["v_angle_jitter"] + rec["v_angle_jitter"]
    vecs = np.stack([_horizontal(a) for a in angles], axis=1)
    return vecs * (PRECORDIAL_GAINS * patient["morph"]["chest_gain"])[None, :]


def _horizontal(angle_deg: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([np.cos(a), 0.0, np.sin(a)])


#: each beat's waves are evaluated on [R - 0.6 s, R + 1.0 s]: beyond that every component
#: (a wide P at PR 330 ms, the T of a slow, long-QT, wide-QRS beat) is below 1 µV
_BEAT_WINDOW = (-0.6, 1.0)


def clean_channels(cfg: PTBXLCohortConfig, patient: dict, rec: dict, fs: int) -> np.ndarray:
    """(L, 8) noise-free I, II, V1..V6 in mV at ``fs`` (analytic: the same record at 100
    and 500 Hz differs only by sampling).

    Each beat's components are evaluated on its own window of samples and scattered into
    the record with ``bincount`` (10x fewer ``exp`` calls than on the whole record)."""
    n = fs * RECORD_SECONDS
    beats = _beat_times(rec)
    offsets, sigmas, vectors, qrs, st_vec, (j_point, t_end) = _components(patient, rec)
    beat_amp = 1.0 + 0.03 * rec["beat_amp_z"][: beats.size]
    lo, hi = _BEAT_WINDOW
    width = int(np.ceil((hi - lo) * fs)) + 1
    start = np.floor((beats + lo) * fs).astype(np.int64)
    idx = start[:, None] + np.arange(width)[None, :]  # (B, W) sample indices
    tau = idx / fs - beats[:, None]  # time from each beat's R peak
    g = np.exp(-0.5 * ((tau[:, :, None] - offsets) / sigmas) ** 2)  # (B, W, C)
    plateau = (
        0.5 * (1.0 + np.tanh((tau - j_point) / 0.008)) * 0.5 * (1.0 + np.tanh((t_end - tau) / 0.03))
    )
    g *= beat_amp[:, None, None]
    plateau *= beat_amp[:, None]
    d_qrs = g[..., qrs] @ vectors[qrs]  # (B, W, 3)
    d_rest = g[..., ~qrs] @ vectors[~qrs] + plateau[..., None] * st_vec
    gain = rec["params"]["voltage_gain"]
    limb_gain = patient["morph"]["limb_gain"]
    proj_limb = np.stack([LEAD_I, LEAD_II], axis=1) * limb_gain
    leads = np.concatenate(
        [
            (d_rest + (1.0 + (gain - 1.0) / 3.0) * d_qrs) @ proj_limb,
            (d_rest + gain * d_qrs) @ _lead_matrix(patient, rec),
        ],
        axis=2,
    )  # (B, W, 8)
    inside = (idx >= 0) & (idx < n)
    flat = idx[inside]
    values = leads[inside]  # (K, 8)
    out = np.stack([np.bincount(flat, weights=values[:, c], minlength=n) for c in range(8)], 1)
    t = np.arange(n) / fs
    if rec["afib"]:
        fib = 0.04 * np.sin(2 * np.pi * rec["fib_f"][None, :] * t[:, None] + rec["fib_phase"])
        d_fib = fib.sum(axis=1, keepdims=True) / np.sqrt(3) * FIB_AXIS[None, :]
        out[:, :2] += d_fib @ proj_limb
        out[:, 2:] += d_fib @ _lead_matrix(patient, rec)
    wander = rec["wander_a"][None] * np.sin(
        2 * np.pi * rec["wander_f"][None] * t[:, None, None] + rec["wander_phase"][None]
    )
    # three tones per channel, amplitudes 0.2-0.6 each: about ±wander_mv in all
    return out + wander.sum(axis=2) * (cfg.wander_mv * rec["wander_gain"] / 1.2)


def to_twelve_leads(channels: np.ndarray) -> np.ndarray:
    """(L, 12) in PTB-XL's lead order from (L, 8) I, II, V1..V6."""
    lead_i, lead_ii = channels[:, 0], channels[:, 1]
    iii, avr, avl, avf = derive_limb_leads(lead_i, lead_ii)
    return np.column_stack([lead_i, lead_ii, iii, avr, avl, avf, channels[:, 2:]])


@dataclass
class SyntheticRecord:
    """One generated record: signals (L, 12) mV per written rate, truth, database row."""

    signal_100: np.ndarray
    signal_500: np.ndarray | None
    truth: dict
    row: dict


def generate_record(
    cfg: PTBXLCohortConfig, index: int, ecg_id: int | None = None
) -> SyntheticRecord:
    """Record ``index`` of the corpus (pure function of the config's seed and ``index``;
    ``ecg_id`` may be passed when already known)."""
    index = int(index)
    if ecg_id is None:
        ecg_id = int(ecg_ids(cfg)[index]) if index < cfg.n_records else None
        if ecg_id is None:
            raise IndexError(f"record {index} is beyond n_records={cfg.n_records}")
    pidx = patient_index(cfg, index)
    patient = draw_patient(cfg, pidx)
    rec = draw_record(cfg, index, ecg_id, patient)
    noise_rng = np.random.default_rng(derive_seed(cfg.seed, "ptbxl-noise", int(ecg_id)))
    x100 = clean_channels(cfg, patient, rec, 100)
    noise_mv = cfg.noise_mv * rec["noise_gain"]
    x100 += noise_mv * noise_rng.standard_normal(x100.shape)
    x500 = None
    if cfg.write_500hz:
        x500 = clean_channels(cfg, patient, rec, 500)
        x500 += noise_mv * noise_rng.standard_normal(x500.shape)
        x500 = to_twelve_leads(x500)
    return SyntheticRecord(to_twelve_leads(x100), x500, _truth(rec, patient), _row(rec, patient))


def _truth(rec: dict, patient: dict) -> dict:
    p = rec["params"]
    lab = rec["labels"]
    out = {
        "ecg_id": rec["ecg_id"],
        "patient_id": patient["patient_id"],
        "record_index": rec["index"],
        **{cls: int(lab.get(cls, False)) for cls in SUPERCLASSES if cls != "NORM"},
        "NORM": int(not rec["no_diagnostic"] and not any(lab.values())),
        "no_diagnostic": rec["no_diagnostic"],
        "territory": p["territory"],
        "mi_code": patient["mi"]["code"] if lab["MI"] else "",
        "sttc_mode": patient["sttc"]["mode"] if lab["STTC"] else "",
        "cd_subtype": patient["cd"]["subtype"] if lab["CD"] else "",
        "hyp_subtype": patient["hyp"]["subtype"] if lab["HYP"] else "",
        "qrs_ms": p["qrs_ms"],
        "st_shift_mv": p["mi_st_mv"],
        "st_depression_mv": p["st_dep_mv"],
        "q_amp_mv": p["mi_q_mv"],
        "t_amp": p["t_factor"],
        "voltage_gain": p["voltage_gain"],
        "axis_deg": p["axis_deg"],
        "hr": rec["hr"],
        "afib": rec["afib"],
    }
    return {k: out[k] for k in _TRUTH_ORDER}


_TRUTH_ORDER = ("ecg_id", "patient_id", "record_index", *SUPERCLASSES, "no_diagnostic",
                "territory", "mi_code", "sttc_mode", "cd_subtype", "hyp_subtype", "qrs_ms",
                "st_shift_mv", "st_depression_mv", "q_amp_mv", "t_amp", "voltage_gain",
                "axis_deg", "hr", "afib")  # fmt: skip

_REPORT = {
    "IMI": "inferiorer infarkt alter unbest.", "ILMI": "inferolateraler infarkt",
    "ASMI": "anteroseptaler infarkt alter unbest.", "AMI": "anteriorer infarkt",
    "NDT": "unspezifisches abnormales t", "NST_": "unspezifische st-veraenderungen",
    "ISC_": "ischaemische st-t-veraenderungen", "ISCAL": "ischaemie anterolateral",
    "CRBBB": "rechtsschenkelblock", "CLBBB": "linksschenkelblock",
    "IRBBB": "unvollstaendiger rechtsschenkelblock", "LAFB": "linksanteriorer hemiblock",
    "IVCD": "unspezifische intraventrikulaere leitungsstoerung", "1AVB": "av-block i. grades",
    "LVH": "linkshypertrophie",
    "RVH": "rechtshypertrophie", "LAO/LAE": "p-sinistrocardiale", "LVOLT": "periphere niederspannung",
    "SR": "sinusrhythmus", "SBRAD": "sinusbradykardie", "STACH": "sinustachykardie",
    "SARRH": "sinusarrhythmie", "AFIB": "vorhofflimmern", "ABQRS": "qrs(t) abnormal",
    "QWAVE": "q-zacken", "LOWT": "flache t-wellen", "INVT": "t-negativierung",
    "STD_": "st-senkung", "VCLVH": "amplitudenkriterien fuer linkshypertrophie",
}  # fmt: skip


def _heart_axis(axis: float, u: float) -> str | float:
    if axis < -30:
        return "ALAD"
    if axis < 0:
        return "LAD"
    if axis <= 90:
        return "MID" if u < 0.4 else np.nan
    return "RAD" if axis <= 120 else "ARAD"


def _row(rec: dict, patient: dict) -> dict:
    """The ``ptbxl_database.csv`` row of a record (``strat_fold`` is set later)."""
    u = rec["code_u"]
    codes = rec["scp_codes"]
    age = float(np.floor(patient["age"] + rec["visit_years"]))
    day = patient["base_day"] + 365.25 * rec["visit_years"]
    when = np.datetime64("1989-01-01T00:00:00") + np.timedelta64(
        int(day) * 86400 + int(rec["seconds_of_day"]), "s"
    )
    rhythm = [c for c in ("AFIB", "SBRAD", "STACH", "SARRH", "SR") if c in codes]
    others = [c for c in codes if c in _REPORT and c not in rhythm]
    words = [_REPORT[c] for c in rhythm + others]
    if "NORM" in codes:
        words.append("normales ekg" if rec["norm_likelihood"] == 100.0 else "sonst normales ekg")
    lead_sets = (" , II,III,AVF", " , V1", " , I-V1,  ", " , alles,  ", " , V5,V6")
    return {
        "ecg_id": rec["ecg_id"],
        "patient_id": float(patient["patient_id"]),
        # HIPAA: PTB-XL stores the age of patients older than 89 as 300
        "age": 300.0 if age > 89 else age,
        "sex": patient["sex"],
        "height": patient["height"],
        "weight": patient["weight"],
        "nurse": float(int(u[6] * 12)) if u[6] < 0.7 else np.nan,
        "site": patient["site"],
        "device": "CS-12   E" if u[7] < 0.75 else ("AT-6     6" if u[7] < 0.9 else "AT-60    3"),
        "recording_date": str(when).replace("T", " "),
        "report": " ".join(words),
        "scp_codes": str(codes),
        "heart_axis": _heart_axis(rec["params"]["axis_deg"], u[8]),
        "infarction_stadium1": (
            ("unknown", "Stadium I", "Stadium II", "Stadium III")[int(u[9] * 4)]
            if rec["labels"]["MI"]
            else np.nan
        ),
        "infarction_stadium2": np.nan,
        "validated_by": float(int(u[10] * 12)) if u[10] < 0.55 else np.nan,
        "second_opinion": bool(u[11] < 0.02),
        "initial_autogenerated_report": bool(u[11] > 0.9),
        "validated_by_human": bool(u[10] < 0.75),
        "baseline_drift": lead_sets[int(u[2] * 5)] if u[1] > 0.93 else np.nan,
        "static_noise": lead_sets[int(u[3] * 5)] if u[0] > 0.85 else np.nan,
        "burst_noise": " , alles,  " if u[4] > 0.97 else np.nan,
        "electrodes_problems": np.nan,
        "extra_beats": ("1ES", "VES", "2VES")[int(u[5] * 3)] if u[9] > 0.91 else np.nan,
        "pacemaker": np.nan,
        "strat_fold": 0,
        "filename_lr": record_path(rec["ecg_id"], 100),
        "filename_hr": record_path(rec["ecg_id"], 500),
    }


# ----------------------------------------------------------------------------- folds


def assign_folds(cfg: PTBXLCohortConfig, truth: pd.DataFrame) -> pd.Series:
    """``strat_fold`` (1-10) per record: every record of a patient in one fold, patients
    stratified by their rarest superclass (HYP, CD, STTC, MI, NORM, none) and, within a
    stratum, each given to the fold with the fewest records of that stratum so far."""
    rng = np.random.default_rng(derive_seed(cfg.seed, "ptbxl-folds"))
    by_patient = truth.groupby("patient_id")
    size = by_patient.size()
    any_label = by_patient[list(_STRATUM_ORDER)].max()
    stratum = pd.Series(len(_STRATUM_ORDER), index=any_label.index)
    for rank, cls in reversed(list(enumerate(_STRATUM_ORDER))):
        stratum[any_label[cls] == 1] = rank
    fold_of: dict[int, int] = {}
    total = np.zeros(10)
    for s in sorted(stratum.unique()):
        members = stratum.index[stratum == s].to_numpy()
        members = members[rng.permutation(members.size)]
        counts = np.zeros(10)
        for pid in members:
            # fewest in the stratum, then fewest overall, then the lowest fold number
            order = np.lexsort((np.arange(10), total, counts))
            f = int(order[0])
            fold_of[int(pid)] = f + 1
            counts[f] += size[pid]
            total[f] += size[pid]
    return truth["patient_id"].map(fold_of).astype(np.int64)


# ----------------------------------------------------------------------------- writing


def write_ptbxl_corpus(cfg: PTBXLCohortConfig, root: str | Path) -> pd.DataFrame:
    """Write the corpus under ``root`` in PTB-XL's layout; return the truth table.

    Writes ``records100/`` (and ``records500/`` with ``write_500hz``), ``scp_statements.csv``,
    ``RECORDS``, ``truth.parquet`` and, last, ``ptbxl_database.csv``: the database is the
    index of the corpus, so a generator killed midway leaves none.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ids = ecg_ids(cfg)
    truths, rows, listing = [], [], []
    for i in range(cfg.n_records):
        record = generate_record(cfg, i, int(ids[i]))
        write_record(root, record.row["filename_lr"], record.signal_100, 100)
        listing.append(record.row["filename_lr"])
        if record.signal_500 is not None:
            write_record(root, record.row["filename_hr"], record.signal_500, 500)
            listing.append(record.row["filename_hr"])
        truths.append(record.truth)
        rows.append(record.row)
    truth = pd.DataFrame(truths, columns=list(_TRUTH_ORDER))
    truth["strat_fold"] = assign_folds(cfg, truth)
    database = pd.DataFrame(rows, columns=list(DATABASE_COLUMNS))
    database["strat_fold"] = truth["strat_fold"].to_numpy()
    atomic_write_text(root / STATEMENTS_FILE, SCP_STATEMENTS_CSV)
    atomic_write_text(root / "RECORDS", "".join(f"{name}\n" for name in sorted(listing)))
    with atomic_path(root / TRUTH_FILE) as tmp:
        truth.to_parquet(tmp, index=False)
    buf = io.StringIO()
    database.to_csv(buf, index=False)
    atomic_write_text(root / DATABASE_FILE, buf.getvalue())
    return truth
