"""Synthetic MIMIC-IV (v2.2 layout) with a planted, clinically shaped mortality signal.

Why: the events branch must run end to end without credentialed data, and its metrics must
mean something. :func:`write_mimic4` writes ``hosp/*.csv.gz`` and ``icu/*.csv.gz`` with exactly
the columns of :data:`clinssl.events.tables.TABLES` (gzip CSV with a header row, empty strings
for missing values, ``YYYY-MM-DD HH:MM:SS`` times in shifted years 2150-2200, minute
resolution; ``patients.dod`` is a date ``YYYY-MM-DD`` and the micro ``chartdate``/``storedate``
are midnights, as in the release) plus ``truth.parquet`` with one row per ICU stay.

Planted mortality
-----------------
Each stay has a hidden severity that raises the chance of four *risk sources* a clinician
recognises: vasopressor starts (prescriptions of norepinephrine, vasopressin, epinephrine,
phenylephrine), a high lactate (valuenum > 4 mmol/L; a series rising to the end of the stay),
a positive blood culture (microbiology) and invasive ventilation (procedureevents). The risk
is computed from the rows actually written, counting only rows inside the stay's
``[intime, outtime]`` window (:func:`planted_risk`)::

    risk = sum over sources present of  weight_source * (1 if the last such event lies within
           late_window_hours of the stay's end, else early_event_weight)

and death is drawn from ``sigmoid(b + risk_link * risk + N(0, hidden_noise_sd))`` with ``b``
solved so that the expected mortality is ``mortality_rate``. Survivors carry the same events at
lower rates and mostly early (a shock that resolved); every stay has the benign events (routine
panels, fluids, lines, antibiotics, negative cultures, positive urine cultures, dialysis), so
the truth risk separates deaths from survivors at AUROC ~0.85-0.9, not 1. A vasopressor's time
is its ``starttime``, a lactate's and a culture's their ``charttime``, ventilation its
``starttime``.

The end of a stay is ICU ``outtime``. A death in the ICU has ``deathtime == outtime``; a death
on the ward comes 6-96 h after ``outtime`` in the same admission; ``dischtime == deathtime`` for
both. An admission that ends in death holds exactly one ICU stay (the patient's last), so
``hospital_expire_flag``, ``deathtime`` and the stay's ``died`` agree. Some survivors have a
``dod`` months after their last discharge (``survivor_dod_rate``): ``dod`` alone is not death
in hospital.

Real-data quirks (each at a config rate; counts are exact: ``round(rate * eligible)``)
---------------------------------------------------------------------------------------
* ``lab_missing_hadm_rate`` of the in-window labevents rows have an empty ``hadm_id`` (the row
  is still inside its stay's window: join by ``subject_id`` and time);
* ``lab_placeholder_value_rate`` of labevents rows have ``value == "___"`` while ``valuenum``
  holds the number;
* ``prescription_stop_before_start_rate`` of prescriptions have ``stoptime < starttime``;
* ``micro_date_only_rate`` of microbiology specimens (never a positive blood culture) have an
  empty ``charttime`` and only ``chartdate``;
* ``intime_before_admittime_rate`` of the stays start 10-180 min before their admission's
  ``admittime`` (only a first stay of an admission);
* ``n_unlabeled_lab_items`` d_labitems rows have an empty ``label`` (their rows are benign);
* ``empty_stay_rate`` of the stays have no row in any event table;
* out-of-window rows, which must not be attached to a stay: ``icu_outside_window_rate`` of the
  benign procedureevents/ingredientevents rows carry a ``stay_id`` but start 5-180 min before
  ``intime`` or after ``outtime`` (truth ``n_outside_window_icu_rows``); hospital labs and
  prescriptions of the admission 0.5-10 h before ``intime`` or after ``outtime``
  (``pre_post_icu_rate``, truth ``n_outside_window_hosp_rows``), some of them looking like risk
  events (an ED lactate > 4, an ED norepinephrine); and labs/prescriptions of admissions with
  no ICU stay (``non_icu_admissions_per_patient``). The truth counts none of them.

``truth.parquet`` (one row per ICU stay, sorted by subject and intime)
----------------------------------------------------------------------
``stay_id``, ``subject_id``, ``hadm_id``, ``intime``, ``outtime``, ``los_days``; ``died`` (0/1,
death in the ICU or later in the same admission) and ``death_location`` (``icu``, ``hospital``
or empty); ``risk`` (the planted latent above) and ``severity`` (the hidden draw that set the
event rates; not an input of the outcome); per source ``n_vasopressor``, ``n_high_lactate``,
``n_positive_blood_culture`` (specimens), ``n_ventilation`` and the flags
``positive_blood_culture``, ``ventilated``; ``last_<source>_minutes_to_end`` (NaN when absent)
and ``last_risk_event_minutes_to_end``; ``risk_event_types`` and ``late_risk_event_types``
(the sources present / present in the late window, ``;``-joined in :data:`RISK_SOURCES` order,
empty when none); ``empty_stay``, ``intime_before_admittime``; ``n_events`` (rows planted
inside the window over the five event tables; a date-only microbiology row counts although its
midnight may precede intime) and ``n_outside_window_icu_rows`` /
``n_outside_window_hosp_rows`` (the planted out-of-window rows of the stay).

Everything is a function of the config: the same config gives byte-identical files (gzip
written with ``mtime=0`` and no file name).
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clinssl.events.tables import TABLES
from clinssl.utils.atomic import atomic_directory
from clinssl.utils.seeding import derive_seed

__all__ = [
    "HIGH_LACTATE_MMOL_L",
    "RISK_SOURCES",
    "VASOPRESSORS",
    "MIMIC4Cohort",
    "MIMIC4CohortConfig",
    "SyntheticMIMICError",
    "generate_mimic4",
    "planted_risk",
    "write_mimic4",
]

#: the planted risk sources, in the order of the truth columns and of ``risk_event_types``
RISK_SOURCES: tuple[str, ...] = (
    "vasopressor",
    "high_lactate",
    "positive_blood_culture",
    "ventilation",
)
VASOPRESSORS: tuple[str, ...] = ("Norepinephrine", "Vasopressin", "Epinephrine", "Phenylephrine")
#: a lactate above this (valuenum, mmol/L) is a "high lactate" risk event
HIGH_LACTATE_MMOL_L = 4.0

EPOCH = np.datetime64("2150-01-01T00:00", "m")
DAY = 1440  # minutes
HOUR = 60
#: in-window events end this many minutes before ``outtime``
END_MARGIN = 15
LACTATE_ITEMID = 50813
PH_ITEMID = 50820
INVASIVE_VENTILATION_ITEMID = 225792
BLOOD_CULTURE = "BLOOD CULTURE"


class SyntheticMIMICError(ValueError):
    """The synthetic MIMIC-IV config cannot be realised, or the output root is unsafe."""


@dataclass(frozen=True)
class MIMIC4CohortConfig:
    """Size, planted signal and quirk rates of the synthetic MIMIC-IV cohort."""

    n_stays: int = 1500
    n_patients: int = 1200
    seed: int = 0
    #: expected in-hospital mortality of the stays (the logistic's intercept is solved for it)
    mortality_rate: float = 0.15
    #: log-odds of death per unit of planted risk, and the spread of the unobserved part
    risk_link: float = 1.4
    hidden_noise_sd: float = 0.5
    weight_vasopressor: float = 1.2
    weight_high_lactate: float = 1.5
    weight_positive_blood_culture: float = 1.0
    weight_ventilation: float = 0.9
    #: an event earlier than ``late_window_hours`` before the end counts this fraction
    early_event_weight: float = 0.35
    late_window_hours: float = 24.0
    #: log-odds per unit of hidden severity of each risk source being present / being late
    severity_coupling: float = 1.6
    #: fraction of deaths in the ICU (the rest die on the ward after ICU discharge)
    in_icu_death_fraction: float = 0.7
    #: chance that a surviving patient's next ICU stay falls in the same admission
    second_stay_same_admission_rate: float = 0.35
    non_icu_admissions_per_patient: float = 0.25
    survivor_dod_rate: float = 0.05
    pre_post_icu_rate: float = 0.5
    # quirks (see the module docstring)
    lab_missing_hadm_rate: float = 0.25
    lab_placeholder_value_rate: float = 0.03
    prescription_stop_before_start_rate: float = 0.02
    micro_date_only_rate: float = 0.10
    intime_before_admittime_rate: float = 0.02
    n_unlabeled_lab_items: int = 2
    empty_stay_rate: float = 0.01
    icu_outside_window_rate: float = 0.03

    def __post_init__(self) -> None:
        if not 1 <= self.n_patients <= self.n_stays:
            raise SyntheticMIMICError(
                f"MIMIC4CohortConfig: need 1 <= n_patients <= n_stays, got n_patients="
                f"{self.n_patients}, n_stays={self.n_stays}"
            )
        if not 0 < self.mortality_rate < 0.5:
            raise SyntheticMIMICError(
                f"MIMIC4CohortConfig.mortality_rate: expected in (0, 0.5), got "
                f"{self.mortality_rate}"
            )
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SyntheticMIMICError(
                    f"MIMIC4CohortConfig.{name}: expected a rate in [0, 1], got {value}"
                )
        if not 0 <= self.n_unlabeled_lab_items <= len(_UNLABELED_ITEMIDS):
            raise SyntheticMIMICError(
                f"MIMIC4CohortConfig.n_unlabeled_lab_items: expected 0..{len(_UNLABELED_ITEMIDS)}"
                f", got {self.n_unlabeled_lab_items}"
            )
        if not 1.0 <= self.late_window_hours <= 72.0:
            raise SyntheticMIMICError(
                f"MIMIC4CohortConfig.late_window_hours: expected 1..72, got "
                f"{self.late_window_hours}"
            )

    @property
    def late_window_minutes(self) -> int:
        return int(round(self.late_window_hours * HOUR))

    def weights(self) -> dict[str, float]:
        """The per-source risk weights, keyed like :data:`RISK_SOURCES`."""
        return {source: getattr(self, f"weight_{source}") for source in RISK_SOURCES}


_RATE_FIELDS = (
    "early_event_weight",
    "in_icu_death_fraction",
    "second_stay_same_admission_rate",
    "survivor_dod_rate",
    "pre_post_icu_rate",
    "lab_missing_hadm_rate",
    "lab_placeholder_value_rate",
    "prescription_stop_before_start_rate",
    "micro_date_only_rate",
    "intime_before_admittime_rate",
    "empty_stay_rate",
    "icu_outside_window_rate",
)


@dataclass(frozen=True)
class MIMIC4Cohort:
    """The generated tables (bare name -> frame with exactly the contracted columns, values
    already formatted as written) and the per-stay truth."""

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame


# --------------------------------------------------------------------------------------------
# vocabularies
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LabItem:
    itemid: int
    label: str
    fluid: str
    category: str
    unit: str
    ref_low: float | None
    ref_high: float | None
    mean: float
    sd: float
    floor: float
    ceil: float
    decimals: int


_LAB_ITEMS = (
    _LabItem(50813, "Lactate", "Blood", "Blood Gas", "mmol/L", 0.5, 2.0, 1.3, 0.4, 0.4, 3.5, 1),
    _LabItem(50820, "pH", "Blood", "Blood Gas", "units", 7.35, 7.45, 7.39, 0.04, 7.2, 7.55, 2),
    _LabItem(50983, "Sodium", "Blood", "Chemistry", "mEq/L", 133, 145, 139, 3.5, 120, 160, 0),
    _LabItem(50971, "Potassium", "Blood", "Chemistry", "mEq/L", 3.3, 5.1, 4.1, 0.5, 2.5, 6.5, 1),
    _LabItem(50902, "Chloride", "Blood", "Chemistry", "mEq/L", 96, 108, 103, 4, 85, 120, 0),
    _LabItem(50882, "Bicarbonate", "Blood", "Chemistry", "mEq/L", 22, 32, 24, 3.5, 10, 40, 0),
    _LabItem(51006, "Urea Nitrogen", "Blood", "Chemistry", "mg/dL", 6, 20, 22, 12, 3, 110, 0),
    _LabItem(50912, "Creatinine", "Blood", "Chemistry", "mg/dL", 0.5, 1.2, 1.2, 0.6, 0.3, 8, 1),
    _LabItem(50931, "Glucose", "Blood", "Chemistry", "mg/dL", 70, 100, 130, 35, 50, 400, 0),
    _LabItem(50960, "Magnesium", "Blood", "Chemistry", "mg/dL", 1.6, 2.6, 2.0, 0.3, 1.0, 3.5, 1),
    _LabItem(
        51301, "White Blood Cells", "Blood", "Hematology", "K/uL", 4.0, 11.0, 10.5, 4.0, 0.5, 40, 1
    ),
    _LabItem(51222, "Hemoglobin", "Blood", "Hematology", "g/dL", 13.7, 17.5, 10.5, 2.0, 5, 18, 1),
    _LabItem(51221, "Hematocrit", "Blood", "Hematology", "%", 40, 51, 32, 6, 15, 55, 1),
    _LabItem(51265, "Platelet Count", "Blood", "Hematology", "K/uL", 150, 440, 210, 80, 10, 700, 0),
)
_UNLABELED_ITEMIDS = (53150, 53151, 53152)
_LABS = {item.itemid: item for item in _LAB_ITEMS}
_BMP = (50983, 50971, 50902, 50882, 51006, 50912, 50931)
_CBC = (51301, 51222, 51221, 51265)


def _unlabeled_items(n: int) -> tuple[_LabItem, ...]:
    """Items the release lists in d_labitems with an empty label; measured like a panel add-on."""
    return tuple(
        _LabItem(itemid, "", "Blood", "Chemistry", "", None, None, 5.0, 1.5, 0.1, 15, 1)
        for itemid in _UNLABELED_ITEMIDS[:n]
    )


@dataclass(frozen=True)
class _Drug:
    drug: str
    formulary_drug_cd: str
    prod_strength: str
    doses: tuple[str, ...]
    dose_unit_rx: str
    form_val_disp: str
    form_unit_disp: str
    doses_per_24_hrs: float | None
    route: str
    drug_type: str = "MAIN"

    @property
    def gsn(self) -> str:
        """A stable synthetic code (not a real GSN) so the column looks filled."""
        return f"{zlib.crc32(self.drug.encode()) % 10**6:06d}"

    @property
    def ndc(self) -> str:
        return f"{zlib.crc32(self.formulary_drug_cd.encode()) % 10**11:011d}"


_ROUTINE_DRUGS = (
    _Drug(
        "Heparin", "HEPA5I", "5000 Units / mL- 1mL Vial", ("5000",), "UNIT", "1", "mL", 3.0, "SC"
    ),
    _Drug("Pantoprazole", "PANT40I", "40mg Vial", ("40",), "mg", "1", "VIAL", 1.0, "IV"),
    _Drug(
        "Acetaminophen", "ACET325", "325mg Tablet", ("650", "1000"), "mg", "2", "TAB", 4.0, "PO/NG"
    ),
    _Drug(
        "Insulin", "INSULIN", "100 Units / mL - 10 mL Vial", ("0",), "UNIT", "0", "VIAL", None, "SC"
    ),
    _Drug("Docusate Sodium", "DOCU100", "100mg Capsule", ("100",), "mg", "1", "CAP", 2.0, "PO"),
    _Drug("Senna", "SENN187", "8.6 mg Tab", ("8.6", "17.2"), "mg", "1", "TAB", 2.0, "PO"),
    _Drug("Ondansetron", "ONDA2I", "2mg/mL-2mL", ("4",), "mg", "2", "mL", None, "IV"),
    _Drug("Furosemide", "FURO40I", "10mg/mL-4mL", ("20", "40"), "mg", "4", "mL", 2.0, "IV"),
    _Drug(
        "Metoprolol Tartrate",
        "METO25",
        "25mg Tablet",
        ("12.5", "25"),
        "mg",
        "1",
        "TAB",
        2.0,
        "PO/NG",
    ),
    _Drug(
        "Potassium Chloride", "KCL20P", "20mEq Packet", ("20", "40"), "mEq", "2", "PKT", None, "PO"
    ),
    _Drug(
        "Sodium Chloride 0.9%  Flush",
        "NACLFLUSH",
        "10 mL Syringe",
        ("3", "10"),
        "mL",
        "0.3",
        "SYR",
        3.0,
        "IV",
        "BASE",
    ),
    _Drug("Vancomycin", "VANC1F", "1g Frozen Bag", ("1000", "1250"), "mg", "1", "BAG", 2.0, "IV"),
    _Drug("Piperacillin-Tazobactam", "PIPT4I", "4.5 g Vial", ("4.5",), "g", "1", "VIAL", 3.0, "IV"),
    _Drug("CeftriaXONE", "CEFT1I", "1g Vial", ("1", "2"), "g", "1", "VIAL", 1.0, "IV"),
    _Drug(
        "Propofol",
        "PROP100IG",
        "1000 mg / 100 mL Vial",
        ("5-80",),
        "mcg/kg/min",
        "1",
        "VIAL",
        None,
        "IV DRIP",
    ),
    _Drug(
        "Fentanyl Citrate",
        "FENT2I",
        "100mcg/2mL Amp",
        ("25-200",),
        "mcg/hr",
        "1",
        "AMP",
        None,
        "IV DRIP",
    ),
)
_ROUTINE_DRUG_P = np.array([12, 9, 10, 8, 6, 5, 5, 5, 6, 6, 8, 4, 3, 3, 5, 5], dtype=float)
_VASOPRESSOR_DRUGS = {
    "Norepinephrine": _Drug(
        "Norepinephrine",
        "NORE4I",
        "4 mg/250 mL Premix Bag",
        ("0.03", "0.06", "0.1", "0.2"),
        "mcg/kg/min",
        "1",
        "BAG",
        None,
        "IV DRIP",
    ),
    "Vasopressin": _Drug(
        "Vasopressin",
        "VASO20I",
        "20 Units/100 mL Bag",
        ("2.4",),
        "units/hour",
        "1",
        "BAG",
        None,
        "IV DRIP",
    ),
    "Epinephrine": _Drug(
        "Epinephrine",
        "EPIN4I",
        "4 mg/250 mL Premix Bag",
        ("0.02", "0.05"),
        "mcg/kg/min",
        "1",
        "BAG",
        None,
        "IV DRIP",
    ),
    "Phenylephrine": _Drug(
        "Phenylephrine",
        "PHEN50I",
        "50 mg/250 mL Bag",
        ("0.5", "1"),
        "mcg/kg/min",
        "1",
        "BAG",
        None,
        "IV DRIP",
    ),
}


@dataclass(frozen=True)
class _Specimen:
    spec_itemid: int
    spec_type_desc: str
    test_itemid: int
    test_name: str
    negative_comment: str


_SPECIMENS = {
    "blood": _Specimen(70012, BLOOD_CULTURE, 90201, "Blood Culture, Routine", "NO GROWTH."),
    "urine": _Specimen(70079, "URINE", 90039, "URINE CULTURE", "NO GROWTH."),
    "mrsa": _Specimen(70091, "MRSA SCREEN", 90145, "MRSA SCREEN", "No MRSA isolated."),
    "sputum": _Specimen(70070, "SPUTUM", 90115, "RESPIRATORY CULTURE", "NO GROWTH."),
}
_BLOOD_ORGANISMS = (
    (80023, "STAPH AUREUS COAG +"),
    (80002, "ESCHERICHIA COLI"),
    (80004, "KLEBSIELLA PNEUMONIAE"),
    (80026, "PSEUDOMONAS AERUGINOSA"),
    (80053, "ENTEROCOCCUS FAECIUM"),
)
_URINE_ORGANISMS = (
    (80002, "ESCHERICHIA COLI"),
    (80004, "KLEBSIELLA PNEUMONIAE"),
    (80053, "ENTEROCOCCUS FAECIUM"),
)
_ANTIBIOTICS = (
    (90015, "VANCOMYCIN"),
    (90016, "OXACILLIN"),
    (90012, "GENTAMICIN"),
    (90025, "LEVOFLOXACIN"),
    (90004, "AMPICILLIN"),
    (90018, "CEFTRIAXONE"),
    (90010, "PIPERACILLIN/TAZO"),
    (90026, "MEROPENEM"),
    (90006, "TRIMETHOPRIM/SULFA"),
)
#: interpretation -> (dilution_text, dilution_comparison, dilution_value) choices
_DILUTIONS = {
    "S": (("<=0.5", "<=", 0.5), ("<=1", "<=", 1.0), ("2", "=", 2.0)),
    "I": (("4", "=", 4.0), ("8", "=", 8.0)),
    "R": ((">=32", ">=", 32.0), (">=16", ">=", 16.0)),
}


@dataclass(frozen=True)
class _ICUItem:
    itemid: int
    label: str
    abbreviation: str
    linksto: str
    category: str
    unitname: str
    param_type: str
    ordercategoryname: str = ""
    ordercategorydescription: str = ""
    locations: tuple[str, ...] = ()
    locationcategory: str = ""
    #: duration range in minutes; None for a point procedure (value 1, unit "None")
    minutes: tuple[int, int] | None = None


def _procedure(
    itemid: int,
    label: str,
    category: str,
    order: str,
    desc: str,
    minutes: tuple[int, int] | None,
    locations: tuple[str, ...] = (),
    locationcategory: str = "",
) -> _ICUItem:
    unit = "min" if minutes else "None"
    return _ICUItem(
        itemid,
        label,
        label,
        "procedureevents",
        category,
        unit,
        "Process",
        order,
        desc,
        locations,
        locationcategory,
        minutes,
    )


_PROCEDURES = {
    "ventilation": _procedure(
        INVASIVE_VENTILATION_ITEMID,
        "Invasive Ventilation",
        "Ventilation",
        "Ventilation",
        "Continuous Procedure",
        (600, 6000),
    ),
    "niv": _procedure(
        225794,
        "Non-invasive Ventilation",
        "Ventilation",
        "Ventilation",
        "Continuous Procedure",
        (120, 1440),
    ),
    "arterial": _procedure(
        225752,
        "Arterial Line",
        "Access Lines - Invasive",
        "Invasive Lines",
        "Task",
        (720, 7200),
        ("Left Radial", "Right Radial", "Left Femoral"),
        "Invasive Arterial",
    ),
    "central": _procedure(
        224263,
        "Multi Lumen",
        "Access Lines - Invasive",
        "Invasive Lines",
        "Task",
        (1440, 10080),
        ("Right IJ", "Left Subclavian", "Right Femoral"),
        "Invasive Venous",
    ),
    "peripheral": _procedure(
        224275,
        "20 Gauge",
        "Access Lines - Peripheral",
        "Peripheral Lines",
        "Task",
        (720, 4320),
        ("Left Antecubital", "Right Forearm"),
        "Peripheral",
    ),
    "hemodialysis": _procedure(225441, "Hemodialysis", "Dialysis", "Dialysis", "Task", (180, 300)),
    "crrt": _procedure(
        225802, "Dialysis - CRRT", "Dialysis", "Dialysis", "Continuous Procedure", (720, 4320)
    ),
    "xray": _procedure(225459, "Chest X-Ray", "Imaging", "Imaging", "Task", None),
    "ekg": _procedure(225402, "EKG", "Procedures", "Procedures", "Task", None),
}
#: chance per stay (lines, dialysis, NIV) or expected count per ICU day (imaging, EKG)
_PROCEDURE_RATES = {
    "niv": 0.10,
    "arterial": 0.45,
    "central": 0.40,
    "peripheral": 0.70,
    "hemodialysis": 0.06,
    "crrt": 0.05,
}
_PROCEDURES_PER_DAY = {"xray": 0.8, "ekg": 0.3}


def _ingredient(itemid: int, label: str, unit: str) -> _ICUItem:
    return _ICUItem(itemid, label, label, "ingredientevents", "Ingredients", unit, "Ingredient")


_INGREDIENTS = {
    "water": _ingredient(220490, "Water", "mL"),
    "dextrose": _ingredient(220363, "Dextrose", "grams"),
    "sodium": _ingredient(227079, "Sodium Chloride", "mEq"),
    "potassium": _ingredient(227080, "Potassium Chloride", "mEq"),
    "calories": _ingredient(226221, "Calories", "kcal"),
}
#: fluid -> (volumes in mL, duration range in minutes, ingredient amounts per mL)
_FLUIDS = {
    "NS": ((250, 500, 1000), (30, 480), {"water": 1.0, "sodium": 0.154}),
    "D5W": ((250, 500, 1000), (60, 720), {"water": 1.0, "dextrose": 0.05, "calories": 0.17}),
    "D5 1/2NS": (
        (500, 1000),
        (240, 720),
        {"water": 1.0, "dextrose": 0.05, "sodium": 0.077, "calories": 0.17},
    ),
    "KCl": ((100,), (60, 120), {"water": 1.0, "potassium": 0.2}),
}
_FLUID_P = np.array([0.45, 0.2, 0.15, 0.2])

_GENDERS = ("F", "M")
_ANCHOR_YEAR_GROUPS = ("2008 - 2010", "2011 - 2013", "2014 - 2016", "2017 - 2019", "2020 - 2022")
_ADMISSION_TYPES = (
    ("EW EMER.", "EMERGENCY ROOM", 0.45),
    ("URGENT", "TRANSFER FROM HOSPITAL", 0.15),
    ("DIRECT EMER.", "PHYSICIAN REFERRAL", 0.08),
    ("SURGICAL SAME DAY ADMISSION", "PHYSICIAN REFERRAL", 0.1),
    ("OBSERVATION ADMIT", "EMERGENCY ROOM", 0.1),
    ("ELECTIVE", "PHYSICIAN REFERRAL", 0.05),
    ("EU OBSERVATION", "WALK-IN/SELF REFERRAL", 0.04),
    ("DIRECT OBSERVATION", "CLINIC REFERRAL", 0.03),
)
_DISCHARGE_LOCATIONS = (
    ("HOME", 0.3),
    ("HOME HEALTH CARE", 0.25),
    ("SKILLED NURSING FACILITY", 0.2),
    ("REHAB", 0.1),
    ("CHRONIC/LONG TERM ACUTE CARE", 0.05),
    ("HOSPICE", 0.03),
    ("AGAINST ADVICE", 0.02),
    ("ACUTE HOSPITAL", 0.05),
)
_INSURANCE = (("Medicare", 0.45), ("Medicaid", 0.15), ("Other", 0.4))
_LANGUAGES = (("ENGLISH", 0.9), ("?", 0.1))
_MARITAL = (("MARRIED", 0.45), ("SINGLE", 0.3), ("WIDOWED", 0.13), ("DIVORCED", 0.07), ("", 0.05))
_RACES = (
    ("WHITE", 0.6),
    ("BLACK/AFRICAN AMERICAN", 0.12),
    ("HISPANIC/LATINO - PUERTO RICAN", 0.03),
    ("HISPANIC OR LATINO", 0.03),
    ("ASIAN", 0.03),
    ("ASIAN - CHINESE", 0.02),
    ("WHITE - OTHER EUROPEAN", 0.03),
    ("OTHER", 0.04),
    ("UNKNOWN", 0.07),
    ("UNABLE TO OBTAIN", 0.015),
    ("PATIENT DECLINED TO ANSWER", 0.015),
)
_CAREUNITS = (
    ("Medical Intensive Care Unit (MICU)", 0.25),
    ("Cardiac Vascular Intensive Care Unit (CVICU)", 0.16),
    ("Medical/Surgical Intensive Care Unit (MICU/SICU)", 0.16),
    ("Surgical Intensive Care Unit (SICU)", 0.14),
    ("Trauma SICU (TSICU)", 0.11),
    ("Coronary Care Unit (CCU)", 0.1),
    ("Neuro Intermediate", 0.04),
    ("Neuro Surgical Intensive Care Unit (Neuro SICU)", 0.03),
    ("Neuro Stepdown", 0.01),
)


def _choice(rng: np.random.Generator, options: Sequence[tuple[Any, ...]], n: int) -> list[Any]:
    """``n`` draws from ``(value, ..., weight)`` options (weights renormalised)."""
    weights = np.array([option[-1] for option in options], dtype=float)
    index = rng.choice(len(options), size=n, p=weights / weights.sum())
    return [options[i][0] for i in index]


# --------------------------------------------------------------------------------------------
# row accumulation
# --------------------------------------------------------------------------------------------


_WHERE = ("_stay", "_adm", "_inwin")
#: table -> (time columns, every column its rows may set); the internal columns start with "_"
_ROW_SCHEMAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "labevents": (
        ("charttime", "storetime"),
        ("itemid", "value", "valuenum", "valueuom", "ref_range_lower", "ref_range_upper", "flag",
         "priority", "_specimen", *_WHERE),
    ),
    "prescriptions": (
        ("starttime", "stoptime"),
        ("drug_type", "drug", "formulary_drug_cd", "gsn", "ndc", "prod_strength", "form_rx",
         "dose_val_rx", "dose_unit_rx", "form_val_disp", "form_unit_disp", "doses_per_24_hrs",
         "route", *_WHERE),
    ),
    "microbiologyevents": (
        ("charttime", "storetime"),
        ("spec_itemid", "spec_type_desc", "test_itemid", "test_name", "test_seq", "org_itemid",
         "org_name", "isolate_num", "ab_itemid", "ab_name", "dilution_text",
         "dilution_comparison", "dilution_value", "interpretation", "comments",
         "_micro_specimen", "_positive", *_WHERE),
    ),
    "procedureevents": (
        ("starttime", "endtime", "storetime"),
        ("itemid", "value", "valueuom", "location", "locationcategory", "ordercategoryname",
         "ordercategorydescription", "patientweight", "isopenbag", "continueinnextdept",
         "statusdescription", "ORIGINALAMOUNT", "ORIGINALRATE", "_order", "_benign", *_WHERE),
    ),
    "ingredientevents": (
        ("starttime", "endtime", "storetime"),
        ("itemid", "amount", "amountuom", "rate", "rateuom", "statusdescription",
         "originalamount", "originalrate", "_order", "_benign", *_WHERE),
    ),
}  # fmt: skip


class _Rows:
    """Column-wise rows of one table, built stay by stay.

    Why lists: a stay adds a handful of rows at a time, and appending to lists is cheap while
    growing arrays or frames is not. Time columns hold minutes: relative to the stay's intime
    while the stays are not yet placed in time, absolute (since 2150-01-01) once they are; rows
    added after the placement are absolute from the start. Columns starting with ``_`` are
    internal (``_stay``: stay index or -1; ``_adm``: admission index or -1 until known;
    ``_inwin``: planted inside its stay's window). The schema is fixed per table so that a
    small cohort with no row of some kind still gets every column."""

    def __init__(self, table: str) -> None:
        self.time_columns, other = _ROW_SCHEMAS[table]
        self.columns: dict[str, list[Any]] = {c: [] for c in (*self.time_columns, *other)}
        self.size = 0

    def add(self, n: int, **values: Any) -> None:
        if n <= 0:
            return
        unknown = [key for key in values if key not in self.columns]
        if unknown:
            raise AssertionError(f"_Rows.add: columns outside the schema: {unknown}")
        for key, column in self.columns.items():
            value = values.get(key)
            if isinstance(value, np.ndarray):
                column.extend(value.tolist())
            elif isinstance(value, list):
                column.extend(value)
            else:
                column.extend([value] * n)
        self.size += n

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.columns)
        for column in self.time_columns:
            frame[column] = frame[column].astype(float)
        return frame


def _window_times(rng: np.random.Generator, lo: float, hi: float, k: int) -> np.ndarray:
    """``k`` sorted whole minutes uniform in ``[lo, hi]`` (``hi`` raised to ``lo`` if below)."""
    lo, hi = int(lo), int(max(hi, lo))
    return np.sort(rng.integers(lo, hi + 1, size=k)).astype(float)


@dataclass(frozen=True)
class _StayFrame:
    """What an event generator needs to know about one stay (times relative to intime)."""

    index: int
    los: int
    late_window: int
    weight_kg: float

    @property
    def last(self) -> int:
        return self.los - END_MARGIN

    @property
    def early_end(self) -> int:
        """Latest minute that is still "early" (before the late window, with an hour margin);
        below 61 there is no room for an early event and planned early events become late."""
        return self.los - self.late_window - HOUR

    def late_times(self, rng: np.random.Generator, k: int) -> np.ndarray:
        return _window_times(rng, max(1, self.los - self.late_window + 1), self.last, k)

    def times(self, rng: np.random.Generator, k: int, late: bool) -> np.ndarray:
        if late or self.early_end < 61:
            return self.late_times(rng, k)
        return _window_times(rng, 1, self.early_end, k)


# --------------------------------------------------------------------------------------------
# per-table event generators (one stay at a time)
# --------------------------------------------------------------------------------------------


class _Ids:
    """Shared counters so rows of one draw / specimen / order can be grouped later."""

    def __init__(self) -> None:
        self.specimen = itertools.count()
        self.micro_specimen = itertools.count()
        self.order = itertools.count()


def _lab_rows(
    rng: np.random.Generator,
    labs: _Rows,
    items: Sequence[_LabItem],
    values: Sequence[float],
    t: float,
    specimen: int,
    **where: Any,
) -> None:
    """One specimen's results: value/valuenum rounded per item, flag from the reference range."""
    n = len(items)
    valuenum = [round(float(v), item.decimals) for item, v in zip(items, values, strict=True)]
    flags = [_flag(item, v) for item, v in zip(items, valuenum, strict=True)]
    labs.add(
        n,
        itemid=[item.itemid for item in items],
        value=[f"{v:.{item.decimals}f}" for item, v in zip(items, valuenum, strict=True)],
        valuenum=valuenum,
        valueuom=[item.unit for item in items],
        ref_range_lower=[item.ref_low for item in items],
        ref_range_upper=[item.ref_high for item in items],
        flag=flags,
        priority=str(rng.choice(["STAT", "ROUTINE", ""], p=[0.4, 0.5, 0.1])),
        charttime=t,
        storetime=t + float(rng.integers(20, 151)),
        _specimen=specimen,
        **where,
    )


def _flag(item: _LabItem, value: float) -> str:
    """The release flags a result outside its reference range as "abnormal", else empty."""
    if item.ref_low is None or item.ref_high is None:
        return ""
    return "" if item.ref_low <= value <= item.ref_high else "abnormal"


def _routine_values(rng: np.random.Generator, items: Sequence[_LabItem]) -> np.ndarray:
    mean = np.array([item.mean for item in items])
    sd = np.array([item.sd for item in items])
    lo = np.array([item.floor for item in items])
    hi = np.array([item.ceil for item in items])
    return np.clip(rng.normal(mean, sd), lo, hi)


def _routine_draw(
    rng: np.random.Generator,
    labs: _Rows,
    ids: _Ids,
    t: float,
    extra: Sequence[_LabItem],
    cbc: bool,
    **where: Any,
) -> None:
    """A routine draw: basic metabolic panel (+ magnesium, + add-ons), optionally a CBC."""
    items = [_LABS[i] for i in _BMP]
    if rng.random() < 0.6:
        items.append(_LABS[50960])
    items += [item for item in extra if rng.random() < 0.12]
    _lab_rows(rng, labs, items, _routine_values(rng, items), t, next(ids.specimen), **where)
    if cbc:
        items = [_LABS[i] for i in _CBC]
        _lab_rows(rng, labs, items, _routine_values(rng, items), t, next(ids.specimen), **where)


def _blood_gas(
    rng: np.random.Generator, labs: _Rows, ids: _Ids, t: float, lactate: float, **where: Any
) -> None:
    """Lactate with a pH that falls as lactate rises (a lactic acidosis looks like one)."""
    ph = float(np.clip(7.40 - 0.03 * (lactate - 1.3) + rng.normal(0, 0.03), 6.9, 7.55))
    items = [_LABS[LACTATE_ITEMID], _LABS[PH_ITEMID]]
    _lab_rows(rng, labs, items, [lactate, ph], t, next(ids.specimen), **where)


def _rising_lactate(
    rng: np.random.Generator, stay: _StayFrame, late: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Times and values of a high-lactate series: rising to a peak > 4 at the last draw
    (``late``), or high early then back to normal (a shock that resolved)."""
    if late or stay.early_end < 61:
        k = int(rng.integers(3, 7))
        last = stay.late_times(rng, 1)[0]
        times = np.append(_window_times(rng, 1, max(1, last - 30), k - 1), last)
        start, peak = rng.uniform(1.2, 2.4), rng.uniform(4.5, 9.0)
        frac = times / max(last, 1.0)
        values = start + (peak - start) * frac**1.5
        values[:-1] += rng.normal(0, 0.15, size=k - 1)
        return times, np.clip(values, 0.5, 15.0)
    n_high, n_low = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    times = np.concatenate(
        [
            _window_times(rng, 1, stay.early_end, n_high),
            _window_times(rng, stay.early_end + 1, stay.last, n_low),
        ]
    )
    values = np.concatenate([rng.uniform(4.3, 7.5, n_high), rng.uniform(0.8, 2.8, n_low)])
    return times, values


def _stay_labs(
    rng: np.random.Generator,
    labs: _Rows,
    ids: _Ids,
    stay: _StayFrame,
    high_lactate: bool,
    lactate_late: bool,
    extra: Sequence[_LabItem],
) -> None:
    where = {"_stay": stay.index, "_adm": -1, "_inwin": True}
    n_draws = int(np.clip(1 + round(stay.los / DAY * rng.uniform(0.7, 1.3)), 1, 8))
    for t in _window_times(rng, 1, stay.last, n_draws):
        _routine_draw(rng, labs, ids, t, extra, cbc=rng.random() < 0.75, **where)
    if high_lactate:
        times, values = _rising_lactate(rng, stay, lactate_late)
    else:
        times = _window_times(rng, 1, stay.last, int(rng.integers(0, 3)))
        values = _routine_values(rng, [_LABS[LACTATE_ITEMID]] * len(times))
    for t, lactate in zip(times, values, strict=True):
        _blood_gas(rng, labs, ids, t, float(lactate), **where)


def _prescription_rows(
    rng: np.random.Generator,
    rx: _Rows,
    drugs: Sequence[_Drug],
    starts: np.ndarray,
    durations: np.ndarray,
    **where: Any,
) -> None:
    rx.add(
        len(drugs),
        drug_type=[d.drug_type for d in drugs],
        drug=[d.drug for d in drugs],
        formulary_drug_cd=[d.formulary_drug_cd for d in drugs],
        gsn=[d.gsn for d in drugs],
        ndc=[d.ndc for d in drugs],
        prod_strength=[d.prod_strength for d in drugs],
        form_rx="",
        dose_val_rx=[str(rng.choice(d.doses)) for d in drugs],
        dose_unit_rx=[d.dose_unit_rx for d in drugs],
        form_val_disp=[d.form_val_disp for d in drugs],
        form_unit_disp=[d.form_unit_disp for d in drugs],
        doses_per_24_hrs=[d.doses_per_24_hrs for d in drugs],
        route=[d.route for d in drugs],
        starttime=starts,
        stoptime=starts + durations,
        **where,
    )


def _stay_prescriptions(
    rng: np.random.Generator, rx: _Rows, stay: _StayFrame, vasopressor: bool, late: bool
) -> None:
    where = {"_stay": stay.index, "_adm": -1, "_inwin": True}
    n = int(np.clip(3 + rng.poisson(1.5 * stay.los / DAY), 3, 18))
    picks = rng.choice(len(_ROUTINE_DRUGS), size=n, p=_ROUTINE_DRUG_P / _ROUTINE_DRUG_P.sum())
    starts = _window_times(rng, 1, stay.last, n)
    durations = rng.integers(360, 4321, size=n).astype(float)
    _prescription_rows(rng, rx, [_ROUTINE_DRUGS[i] for i in picks], starts, durations, **where)
    if vasopressor:
        k = 1 + int(rng.binomial(2, 0.35))
        agents = ["Norepinephrine", *rng.choice(VASOPRESSORS[1:], size=k - 1, replace=False)]
        starts = stay.times(rng, k, late)
        durations = rng.integers(120, 2881, size=k).astype(float)
        drugs = [_VASOPRESSOR_DRUGS[str(a)] for a in agents]
        _prescription_rows(rng, rx, drugs, starts, durations, **where)


def _culture_rows(
    rng: np.random.Generator,
    micro: _Rows,
    ids: _Ids,
    kind: str,
    organism: tuple[int, str] | None,
    t: float,
    **where: Any,
) -> None:
    """One specimen: a single row when negative; one row per antibiotic tested when positive."""
    spec = _SPECIMENS[kind]
    common = {
        "spec_itemid": spec.spec_itemid,
        "spec_type_desc": spec.spec_type_desc,
        "test_itemid": spec.test_itemid,
        "test_name": spec.test_name,
        "test_seq": 1,
        "charttime": t,
        "storetime": t + float(rng.integers(24 * HOUR, 72 * HOUR + 1)),
        "_micro_specimen": next(ids.micro_specimen),
        "_positive": organism is not None,
    }
    if organism is None:
        micro.add(1, comments=spec.negative_comment, **common, **where)
        return
    k = int(rng.integers(3, 6))
    abx = [_ANTIBIOTICS[i] for i in rng.choice(len(_ANTIBIOTICS), size=k, replace=False)]
    interpretation = [str(x) for x in rng.choice(["S", "R", "I"], size=k, p=[0.7, 0.2, 0.1])]
    dilution = [_DILUTIONS[x][int(rng.integers(len(_DILUTIONS[x])))] for x in interpretation]
    micro.add(
        k,
        org_itemid=organism[0],
        org_name=organism[1],
        isolate_num=1,
        ab_itemid=[a[0] for a in abx],
        ab_name=[a[1] for a in abx],
        dilution_text=[d[0] for d in dilution],
        dilution_comparison=[d[1] for d in dilution],
        dilution_value=[d[2] for d in dilution],
        interpretation=interpretation,
        comments="",
        **common,
        **where,
    )


def _pick(rng: np.random.Generator, options: Sequence[tuple[int, str]]) -> tuple[int, str]:
    return options[int(rng.integers(len(options)))]


def _stay_micro(
    rng: np.random.Generator,
    micro: _Rows,
    ids: _Ids,
    stay: _StayFrame,
    positive_blood: bool,
    late: bool,
) -> None:
    where = {"_stay": stay.index, "_adm": -1, "_inwin": True}
    for t in _window_times(rng, 1, stay.last, int(rng.binomial(2, 0.35))):
        _culture_rows(rng, micro, ids, "blood", None, t, **where)
    if rng.random() < 0.4:
        organism = _pick(rng, _URINE_ORGANISMS) if rng.random() < 0.25 else None
        _culture_rows(
            rng, micro, ids, "urine", organism, _window_times(rng, 1, stay.last, 1)[0], **where
        )
    if rng.random() < 0.3:
        _culture_rows(
            rng, micro, ids, "mrsa", None, _window_times(rng, 1, stay.last, 1)[0], **where
        )
    if rng.random() < 0.15:
        organism = (80023, "STAPH AUREUS COAG +") if rng.random() < 0.3 else None
        _culture_rows(
            rng, micro, ids, "sputum", organism, _window_times(rng, 1, stay.last, 1)[0], **where
        )
    if positive_blood:
        t = stay.times(rng, 1, late)[0]
        _culture_rows(rng, micro, ids, "blood", _pick(rng, _BLOOD_ORGANISMS), t, **where)


def _procedure_row(
    rng: np.random.Generator,
    proc: _Rows,
    ids: _Ids,
    stay: _StayFrame,
    item: _ICUItem,
    start: float,
    end: float,
) -> None:
    value = end - start if item.minutes else 1.0
    continuous = item.ordercategorydescription == "Continuous Procedure"
    order = next(ids.order)
    proc.add(
        1,
        itemid=item.itemid,
        starttime=start,
        endtime=end,
        storetime=end + float(rng.integers(0, 61)),
        value=value,
        valueuom=item.unitname,
        location=str(rng.choice(item.locations)) if item.locations else "",
        locationcategory=item.locationcategory,
        _order=order,
        ordercategoryname=item.ordercategoryname,
        ordercategorydescription=item.ordercategorydescription,
        patientweight=stay.weight_kg,
        isopenbag=0,
        continueinnextdept=0,
        statusdescription="FinishedRunning" if rng.random() < 0.85 else "Stopped",
        ORIGINALAMOUNT=value,
        ORIGINALRATE=1 if continuous else 0,
        _stay=stay.index,
        _adm=-1,
        _inwin=True,
        _benign=item.itemid != INVASIVE_VENTILATION_ITEMID,
    )


def _interval(
    rng: np.random.Generator, stay: _StayFrame, minutes: tuple[int, int] | None
) -> tuple[float, float]:
    """A start and end inside the window for an item of the given duration range."""
    if minutes is None:
        start = _window_times(rng, 1, stay.last, 1)[0]
        return start, start + 1.0
    duration = float(min(rng.integers(minutes[0], minutes[1] + 1), stay.last - 2))
    start = _window_times(rng, 1, stay.last - duration, 1)[0]
    return start, start + duration


def _ventilation_interval(
    rng: np.random.Generator, stay: _StayFrame, late: bool
) -> tuple[float, float]:
    """Late: intubated in the last day and ventilated to the end; early: intubated in the first
    part of the stay and extubated before the late window."""
    if late or stay.early_end < 61:
        start = _window_times(rng, max(1, stay.los - stay.late_window + 1), stay.los - HOUR, 1)[0]
        return start, _window_times(rng, start + 30, stay.los - 1, 1)[0]
    start = _window_times(rng, 1, max(1, stay.early_end // 2), 1)[0]
    return start, _window_times(rng, start + HOUR, stay.early_end, 1)[0]


def _stay_procedures(
    rng: np.random.Generator,
    proc: _Rows,
    ids: _Ids,
    stay: _StayFrame,
    ventilated: bool,
    late: bool,
) -> None:
    for name, rate in _PROCEDURE_RATES.items():
        if rng.random() < rate:
            item = _PROCEDURES[name]
            _procedure_row(rng, proc, ids, stay, item, *_interval(rng, stay, item.minutes))
    for name, per_day in _PROCEDURES_PER_DAY.items():
        for _ in range(min(int(rng.poisson(per_day * stay.los / DAY)), 6)):
            item = _PROCEDURES[name]
            _procedure_row(rng, proc, ids, stay, item, *_interval(rng, stay, item.minutes))
    if ventilated:
        start, end = _ventilation_interval(rng, stay, late)
        _procedure_row(rng, proc, ids, stay, _PROCEDURES["ventilation"], start, end)


def _stay_ingredients(rng: np.random.Generator, ing: _Rows, ids: _Ids, stay: _StayFrame) -> None:
    """Fluid orders; each order is one row per ingredient sharing the order's times."""
    n_orders = min(1 + int(rng.poisson(1.2 * stay.los / DAY)), 10)
    fluids = list(_FLUIDS)
    for pick in rng.choice(len(fluids), size=n_orders, p=_FLUID_P):
        volumes, minutes, recipe = _FLUIDS[fluids[pick]]
        volume = float(rng.choice(volumes))
        start, end = _interval(rng, stay, minutes)
        status = str(
            rng.choice(["FinishedRunning", "Stopped", "ChangeDose/Rate"], p=[0.85, 0.1, 0.05])
        )
        given = 1.0 if status == "FinishedRunning" else float(rng.uniform(0.3, 0.9))
        hours = max(end - start, 1.0) / HOUR
        names = list(recipe)
        full = [round(volume * recipe[name], 2) for name in names]
        order = next(ids.order)
        ing.add(
            len(names),
            itemid=[_INGREDIENTS[name].itemid for name in names],
            starttime=start,
            endtime=end,
            storetime=end + float(rng.integers(0, 61)),
            amount=[round(amount * given, 2) for amount in full],
            amountuom=[_INGREDIENTS[name].unitname for name in names],
            rate=[round(amount / hours, 3) for amount in full],
            rateuom=[f"{_INGREDIENTS[name].unitname}/hour" for name in names],
            _order=order,
            statusdescription=status,
            originalamount=full,
            originalrate=[round(amount / hours, 3) for amount in full],
            _stay=stay.index,
            _adm=-1,
            _inwin=True,
            _benign=True,
        )


# --------------------------------------------------------------------------------------------
# cohort: risk plan, risk, death, patients and admissions
# --------------------------------------------------------------------------------------------

#: log-odds of each risk source being present at severity 0 (rates rise with severity)
_RISK_PRESENCE_LOGIT = {
    "vasopressor": -1.6,
    "high_lactate": -1.7,
    "positive_blood_culture": -2.4,
    "ventilation": -1.0,
}
#: log-odds of a present source falling in the late window at severity 0
_RISK_LATE_LOGIT = -0.6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _intercept_for_rate(logit: np.ndarray, rate: float) -> float:
    """The ``b`` with ``mean(sigmoid(b + logit)) == rate`` (bisection; monotone in ``b``)."""
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _sigmoid(mid + logit).mean() < rate else (lo, mid)
    return 0.5 * (lo + hi)


def planted_risk(
    minutes_to_end: Mapping[str, Any], cfg: MIMIC4CohortConfig | None = None
) -> np.ndarray:
    """The planted risk of each stay from the time of its last event per risk source.

    ``minutes_to_end[source]`` holds, per stay, the minutes from the last in-window event of
    that source to the stay's end (NaN: no such event). A present source adds its weight, times
    ``early_event_weight`` unless the event lies within ``late_window_hours`` of the end, so
    the same event counts more near the end of the stay."""
    cfg = cfg or MIMIC4CohortConfig()
    unknown = sorted(set(minutes_to_end) - set(RISK_SOURCES))
    if unknown:
        raise SyntheticMIMICError(f"planted_risk: unknown risk sources {unknown}")
    weights = cfg.weights()
    total: np.ndarray | None = None
    for source, values in minutes_to_end.items():
        minutes = np.asarray(values, dtype=float)
        present = ~np.isnan(minutes)
        late = present & (minutes <= cfg.late_window_minutes)
        term = weights[source] * np.where(late, 1.0, np.where(present, cfg.early_event_weight, 0))
        total = term if total is None else total + term
    if total is None:
        raise SyntheticMIMICError("planted_risk: no risk source given")
    return total


def _plan_risk(
    rng: np.random.Generator, severity: np.ndarray, empty: np.ndarray, cfg: MIMIC4CohortConfig
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per source: which stays get the event and whether it is planned late."""
    plan = {}
    for source in RISK_SOURCES:
        p_present = _sigmoid(_RISK_PRESENCE_LOGIT[source] + cfg.severity_coupling * severity)
        p_late = _sigmoid(_RISK_LATE_LOGIT + cfg.severity_coupling * severity)
        present = (rng.random(severity.size) < p_present) & ~empty
        plan[source] = (present, rng.random(severity.size) < p_late)
    return plan


def _exact_subset(
    rng: np.random.Generator, eligible: np.ndarray, rate: float, n_of: int | None = None
) -> np.ndarray:
    """``round(rate * n_of)`` indices drawn without replacement from ``eligible`` (sorted)."""
    eligible = np.asarray(eligible)
    k = min(int(round(rate * (eligible.size if n_of is None else n_of))), eligible.size)
    return np.sort(rng.choice(eligible, size=k, replace=False)) if k else eligible[:0]


@dataclass
class _Structure:
    """Patients, admissions and absolute ICU times (minutes since 2150-01-01)."""

    stay_patient: np.ndarray
    stay_adm: np.ndarray
    intime: np.ndarray
    outtime: np.ndarray
    intime_before_admittime: np.ndarray
    adm_patient: np.ndarray
    admittime: np.ndarray
    dischtime: np.ndarray
    deathtime: np.ndarray  # NaN when alive at discharge
    adm_stays: list[list[int]]
    death_in_icu: np.ndarray  # per stay
    anchor_year: np.ndarray
    anchor_age: np.ndarray
    dod: np.ndarray  # minutes, NaN when none


def _patients_stays(rng: np.random.Generator, died: np.ndarray, n_patients: int) -> list[list[int]]:
    """Stays of each patient in chronological order: one stay per patient is drawn from all
    stays (the patient's last), the extra stays come before it and are all survivors (a
    patient dies at most once, in their last stay)."""
    n_stays = died.size
    survivors = np.flatnonzero(~died)
    n_extra = n_stays - n_patients
    if survivors.size < n_extra:
        raise SyntheticMIMICError(
            f"MIMIC4CohortConfig: {int(died.sum())} of {n_stays} stays died, which leaves too "
            f"few survivors for {n_extra} repeat stays of {n_patients} patients: raise "
            "n_patients or lower mortality_rate"
        )
    extras = rng.choice(survivors, size=n_extra, replace=False)
    last = rng.permutation(np.setdiff1d(np.arange(n_stays), extras))
    owners = rng.integers(0, n_patients, size=n_extra)
    per_patient: list[list[int]] = [[] for _ in range(n_patients)]
    for stay, owner in zip(extras.tolist(), owners.tolist(), strict=True):
        per_patient[owner].append(stay)
    for patient in range(n_patients):
        per_patient[patient].append(int(last[patient]))
    return per_patient


def _admissions_of(
    rng: np.random.Generator, stays: list[int], died: np.ndarray, cfg: MIMIC4CohortConfig
) -> list[list[int]]:
    """Group a patient's stays into admissions (a death starts its own admission) and insert
    admissions without an ICU stay (empty lists) before the last one."""
    groups: list[list[int]] = []
    for stay in stays:
        same = groups and len(groups[-1]) == 1 and not died[stay]
        if same and rng.random() < cfg.second_stay_same_admission_rate:
            groups[-1].append(stay)
        else:
            groups.append([stay])
    for _ in range(int(rng.poisson(cfg.non_icu_admissions_per_patient))):
        groups.insert(int(rng.integers(0, len(groups))), [])
    return groups


def _build_structure(
    rng: np.random.Generator, died: np.ndarray, los: np.ndarray, cfg: MIMIC4CohortConfig
) -> _Structure:
    n_stays = died.size
    per_patient = _patients_stays(rng, died, cfg.n_patients)
    patient_adms = [_admissions_of(rng, stays, died, cfg) for stays in per_patient]
    first_stays = np.array([g[0] for adms in patient_adms for g in adms if g])
    early = np.zeros(n_stays, dtype=bool)
    early[_exact_subset(rng, first_stays, cfg.intime_before_admittime_rate, n_stays)] = True
    anchor_year = rng.integers(2150, 2191, size=cfg.n_patients)
    anchor_age = np.clip(np.round(rng.normal(64, 16, size=cfg.n_patients)), 18, 91)
    anchor_age[anchor_age >= 89] = 91  # the release reports ages over 89 as 91
    stay_patient = np.zeros(n_stays, dtype=np.int64)
    stay_adm = np.zeros(n_stays, dtype=np.int64)
    intime = np.zeros(n_stays)
    outtime = np.zeros(n_stays)
    death_in_icu = np.zeros(n_stays, dtype=bool)
    adm_patient, admittime, dischtime, deathtime, adm_stays = [], [], [], [], []
    dod = np.full(cfg.n_patients, np.nan)
    for patient, adms in enumerate(patient_adms):
        year_start = np.datetime64(f"{anchor_year[patient]}-01-01T00:00", "m") - EPOCH
        t = float(year_start.astype(np.int64) + rng.integers(0, 300 * DAY))
        for stays in adms:
            adm = len(admittime)
            adm_patient.append(patient)
            adm_stays.append(stays)
            admittime.append(t)
            end, death = _place_stays(
                rng, stays, t, los, died, early, intime, outtime, death_in_icu, cfg
            )
            for stay in stays:
                stay_patient[stay], stay_adm[stay] = patient, adm
            dischtime.append(end)
            deathtime.append(death)
            if not np.isnan(death):
                dod[patient] = death
            t = end + float(rng.integers(20 * DAY, 200 * DAY))
        if np.isnan(dod[patient]) and rng.random() < cfg.survivor_dod_rate:
            dod[patient] = dischtime[-1] + float(rng.integers(30 * DAY, 300 * DAY))
    return _Structure(
        stay_patient,
        stay_adm,
        intime,
        outtime,
        early,
        np.array(adm_patient),
        np.array(admittime),
        np.array(dischtime),
        np.array(deathtime),
        adm_stays,
        death_in_icu,
        anchor_year,
        anchor_age.astype(np.int64),
        dod,
    )


def _place_stays(
    rng: np.random.Generator,
    stays: list[int],
    admittime: float,
    los: np.ndarray,
    died: np.ndarray,
    early: np.ndarray,
    intime: np.ndarray,
    outtime: np.ndarray,
    death_in_icu: np.ndarray,
    cfg: MIMIC4CohortConfig,
) -> tuple[float, float]:
    """Absolute times of one admission's stays; returns (dischtime, deathtime or NaN)."""
    if not stays:
        return admittime + float(rng.integers(DAY, 8 * DAY)), np.nan
    t = admittime
    for j, stay in enumerate(stays):
        if j == 0 and early[stay]:
            start = admittime - float(rng.integers(10, 181))
        elif j == 0:
            start = admittime + float(rng.integers(HOUR, 30 * HOUR))
        else:
            start = t + float(rng.integers(24 * HOUR, 96 * HOUR))
        intime[stay], outtime[stay] = start, start + los[stay]
        t = outtime[stay]
    last = stays[-1]
    if not died[last]:
        return t + float(rng.integers(12 * HOUR, 7 * DAY)), np.nan
    in_icu = rng.random() < cfg.in_icu_death_fraction
    death_in_icu[last] = in_icu
    death = t if in_icu else t + float(rng.integers(6 * HOUR, 96 * HOUR))
    return death, death


# --------------------------------------------------------------------------------------------
# rows outside the stays' windows, quirks
# --------------------------------------------------------------------------------------------


def _shift_outside(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    los: np.ndarray,
    death_in_icu: np.ndarray,
    rate: float,
) -> None:
    """Move ``rate`` of the benign ICU rows (relative times) 5-180 min before intime or after
    outtime, keeping their stay_id: charting that belongs to the ward, not the stay. A stay
    that ended in an ICU death only gets rows before it (nothing is charted after death)."""
    chosen = _exact_subset(rng, np.flatnonzero(frame["_benign"].to_numpy(bool)), rate)
    stays = frame["_stay"].to_numpy(np.int64)[chosen]
    start0 = frame["starttime"].to_numpy(float)[chosen]
    duration = np.minimum(frame["endtime"].to_numpy(float)[chosen] - start0, 60.0)
    offset = rng.integers(5, 181, size=chosen.size).astype(float)
    before = death_in_icu[stays] | (rng.random(chosen.size) < 0.5)
    start = np.where(before, -offset, los[stays] + offset)
    end = start + np.where(before, np.minimum(duration, offset - 1), duration)
    frame.loc[chosen, "starttime"] = start
    frame.loc[chosen, "endtime"] = end
    frame.loc[chosen, "storetime"] = end + 5.0
    frame.loc[chosen, "_inwin"] = False


def _to_absolute(frame: pd.DataFrame, time_columns: Sequence[str], structure: _Structure) -> None:
    """Relative stay times -> absolute minutes; fill ``_adm`` from the stay."""
    stays = frame["_stay"].to_numpy(np.int64)
    on_stay = stays >= 0
    base = np.where(on_stay, structure.intime[np.maximum(stays, 0)], 0.0)
    for column in time_columns:
        frame[column] = frame[column].to_numpy(float) + base
    adm = frame["_adm"].to_numpy(np.int64)
    frame["_adm"] = np.where(on_stay, structure.stay_adm[np.maximum(stays, 0)], adm)


def _outside_hosp_rows(
    rng: np.random.Generator,
    labs: _Rows,
    rx: _Rows,
    ids: _Ids,
    structure: _Structure,
    empty: np.ndarray,
    extra: Sequence[_LabItem],
    cfg: MIMIC4CohortConfig,
) -> np.ndarray:
    """Ward labs/prescriptions around each stay and during non-ICU admissions (absolute times).
    Returns, per stay, how many rows were placed just outside it."""
    n_outside = np.zeros(structure.intime.size, dtype=np.int64)
    for adm, stays in enumerate(structure.adm_stays):
        if not stays:
            _non_icu_admission_rows(rng, labs, rx, ids, structure, adm, extra)
            continue
        for j, stay in enumerate(stays):
            if empty[stay]:
                continue
            lower = structure.outtime[stays[j - 1]] + 2 * HOUR if j else structure.admittime[adm]
            if j + 1 < len(stays):
                upper = structure.intime[stays[j + 1]] - 2 * HOUR
            else:
                upper = structure.dischtime[adm]
            where = {"_stay": -1, "_adm": adm, "_inwin": False}
            before = labs.size + rx.size
            gap = structure.intime[stay] - lower
            if gap >= 90 and rng.random() < cfg.pre_post_icu_rate:
                t = structure.intime[stay] - float(rng.integers(30, min(600, gap - 30) + 1))
                _ed_rows(rng, labs, rx, ids, t, extra, where)
            gap = upper - structure.outtime[stay]
            if gap >= 90 and rng.random() < cfg.pre_post_icu_rate:
                t = structure.outtime[stay] + float(rng.integers(30, min(600, gap - 30) + 1))
                _routine_draw(rng, labs, ids, t, extra, cbc=rng.random() < 0.5, **where)
            n_outside[stay] = labs.size + rx.size - before
    return n_outside


def _ed_rows(
    rng: np.random.Generator,
    labs: _Rows,
    rx: _Rows,
    ids: _Ids,
    t: float,
    extra: Sequence[_LabItem],
    where: dict[str, Any],
) -> None:
    """Pre-ICU labs (an ED lactate is often high) and sometimes a first dose or a vasopressor
    started before ICU arrival: they look like risk events but lie outside the stay."""
    _routine_draw(rng, labs, ids, t, extra, cbc=True, **where)
    lactate = rng.uniform(4.2, 7.0) if rng.random() < 0.25 else rng.uniform(0.8, 2.5)
    _blood_gas(rng, labs, ids, t, float(lactate), **where)
    if rng.random() < 0.3:
        choices = [*_ROUTINE_DRUGS[11:14], _VASOPRESSOR_DRUGS["Norepinephrine"]]
        drug = choices[int(rng.choice(len(choices), p=[0.3, 0.3, 0.25, 0.15]))]
        _prescription_rows(
            rng, rx, [drug], np.array([t]), np.array([float(rng.integers(60, 600))]), **where
        )


def _non_icu_admission_rows(
    rng: np.random.Generator,
    labs: _Rows,
    rx: _Rows,
    ids: _Ids,
    structure: _Structure,
    adm: int,
    extra: Sequence[_LabItem],
) -> None:
    where = {"_stay": -1, "_adm": adm, "_inwin": False}
    lo, hi = structure.admittime[adm] + HOUR, structure.dischtime[adm] - HOUR
    for t in _window_times(rng, lo, hi, int(rng.integers(1, 3))):
        _routine_draw(rng, labs, ids, t, extra, cbc=True, **where)
    n = int(rng.integers(1, 4))
    picks = rng.choice(len(_ROUTINE_DRUGS), size=n, p=_ROUTINE_DRUG_P / _ROUTINE_DRUG_P.sum())
    _prescription_rows(
        rng,
        rx,
        [_ROUTINE_DRUGS[i] for i in picks],
        _window_times(rng, lo, hi, n),
        rng.integers(360, 2881, size=n).astype(float),
        **where,
    )


def _apply_quirks(
    rng: np.random.Generator, frames: dict[str, pd.DataFrame], cfg: MIMIC4CohortConfig
) -> None:
    """The documented real-data quirks, each on an exact count of eligible rows."""
    labs, rx, micro = frames["labevents"], frames["prescriptions"], frames["microbiologyevents"]
    inwin = np.flatnonzero(labs["_inwin"].to_numpy(bool))
    labs["_no_hadm"] = False
    labs.loc[_exact_subset(rng, inwin, cfg.lab_missing_hadm_rate), "_no_hadm"] = True
    placeholder = _exact_subset(rng, np.arange(len(labs)), cfg.lab_placeholder_value_rate)
    labs.loc[placeholder, "value"] = "___"
    reversed_rx = _exact_subset(rng, np.arange(len(rx)), cfg.prescription_stop_before_start_rate)
    rx.loc[reversed_rx, "stoptime"] = rx.loc[reversed_rx, "starttime"].to_numpy() - rng.integers(
        60, 1441, size=reversed_rx.size
    )
    per_specimen = micro.groupby("_micro_specimen", sort=True)[["_positive", "spec_type_desc"]]
    first = per_specimen.first()
    positive_blood = first["_positive"].to_numpy(bool) & (
        first["spec_type_desc"].to_numpy(object) == BLOOD_CULTURE
    )
    eligible = first.index.to_numpy()[~positive_blood]
    date_only = _exact_subset(rng, eligible, cfg.micro_date_only_rate, len(first))
    micro["_date_only"] = micro["_micro_specimen"].isin(date_only)


# --------------------------------------------------------------------------------------------
# truth
# --------------------------------------------------------------------------------------------


def _last_event(stays: np.ndarray, times: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per stay: the number of events and the latest time (NaN when none)."""
    counts = np.bincount(stays, minlength=n)
    last = np.full(n, -np.inf)
    np.maximum.at(last, stays, times)
    return counts, np.where(counts > 0, last, np.nan)


def _risk_features(
    frames: Mapping[str, pd.DataFrame], los: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per risk source: (count, minutes from the last in-window event to the end) per stay,
    read from the rows (relative times) so the truth is what the tables show."""
    n = los.size
    rx, labs = frames["prescriptions"], frames["labevents"]
    micro, proc = frames["microbiologyevents"], frames["procedureevents"]
    sources = {
        "vasopressor": (rx, rx["drug"].isin(VASOPRESSORS), "starttime"),
        "high_lactate": (
            labs,
            (labs["itemid"] == LACTATE_ITEMID) & (labs["valuenum"] > HIGH_LACTATE_MMOL_L),
            "charttime",
        ),
        "positive_blood_culture": (
            micro,
            micro["_positive"].astype(bool)
            & (micro["spec_type_desc"] == BLOOD_CULTURE)
            & ~micro.duplicated("_micro_specimen"),
            "charttime",
        ),
        "ventilation": (proc, proc["itemid"] == INVASIVE_VENTILATION_ITEMID, "starttime"),
    }
    features = {}
    for source, (frame, mask, column) in sources.items():
        rows = frame[mask.to_numpy(bool) & frame["_inwin"].to_numpy(bool)]
        counts, last = _last_event(
            rows["_stay"].to_numpy(np.int64), rows[column].to_numpy(float), n
        )
        features[source] = (counts, los - last)
    return features


def _truth_frame(
    features: dict[str, tuple[np.ndarray, np.ndarray]],
    risk: np.ndarray,
    died: np.ndarray,
    stays: _Stays,
    structure: _Structure,
    ids: dict[str, np.ndarray],
    cfg: MIMIC4CohortConfig,
) -> pd.DataFrame:
    """One row per stay (stay order; the caller sorts): ids, times, outcome, risk and the
    per-source counts and timing it was computed from."""
    n = died.size
    minutes = np.column_stack([features[s][1] for s in RISK_SOURCES])
    present = ~np.isnan(minutes)
    types = [";".join(s for s, p in zip(RISK_SOURCES, row, strict=True) if p) for row in present]
    with np.errstate(all="ignore"):
        last_any = np.where(
            present.any(axis=1), np.nanmin(np.where(present, minutes, np.inf), axis=1), np.nan
        )
    adm = structure.stay_adm
    death_location = np.where(died, np.where(structure.death_in_icu, "icu", "hospital"), "")
    truth = {
        "stay_id": ids["stay"],
        "subject_id": ids["subject"][structure.stay_patient],
        "hadm_id": ids["hadm"][adm],
        "intime": _as_datetime(structure.intime),
        "outtime": _as_datetime(structure.outtime),
        "los_days": stays.los / DAY,
        "died": died.astype(np.int8),
        "death_location": death_location,
        "risk": risk,
        "severity": stays.severity,
        "n_vasopressor": features["vasopressor"][0],
        "n_high_lactate": features["high_lactate"][0],
        "n_positive_blood_culture": features["positive_blood_culture"][0],
        "n_ventilation": features["ventilation"][0],
        "positive_blood_culture": (features["positive_blood_culture"][0] > 0).astype(np.int8),
        "ventilated": (features["ventilation"][0] > 0).astype(np.int8),
    }
    for source in RISK_SOURCES:
        truth[f"last_{source}_minutes_to_end"] = features[source][1]
    truth["last_risk_event_minutes_to_end"] = last_any
    truth["risk_event_types"] = types
    truth["late_risk_event_types"] = [
        ";".join(s for s, m in zip(RISK_SOURCES, row, strict=True) if m <= cfg.late_window_minutes)
        for row in minutes
    ]
    truth["empty_stay"] = stays.empty
    truth["intime_before_admittime"] = structure.intime_before_admittime
    frame = pd.DataFrame(truth)
    assert len(frame) == n
    return frame


def _as_datetime(minutes: np.ndarray) -> np.ndarray:
    return (EPOCH + minutes.astype(np.int64).astype("timedelta64[m]")).astype("datetime64[s]")


# --------------------------------------------------------------------------------------------
# formatting the release's layout
# --------------------------------------------------------------------------------------------


def _fmt_times(minutes: Any, unit: str = "s") -> np.ndarray:
    """Minutes since 2150-01-01 (NaN = missing) -> ``YYYY-MM-DD HH:MM:SS`` (or a date for
    ``unit="D"``); missing -> ""."""
    minutes = np.asarray(minutes, dtype=float)
    out = np.full(minutes.shape, "", dtype=object)
    valid = ~np.isnan(minutes)
    if not valid.any():
        return out
    stamps = EPOCH + minutes[valid].astype(np.int64).astype("timedelta64[m]")
    out[valid] = np.char.replace(np.datetime_as_string(stamps, unit=unit), "T", " ")
    return out


def _midnight(minutes: Any) -> np.ndarray:
    minutes = np.asarray(minutes, dtype=float)
    return np.floor(minutes / DAY) * DAY


def _unique_ids(
    rng: np.random.Generator, n: int, base: int, span: int = 9_000_000, shuffle: bool = True
) -> np.ndarray:
    """``n`` distinct ids in ``[base, base + span)``: sorted random gaps, optionally shuffled
    (real hadm_ids and stay_ids carry no chronology)."""
    max_gap = max(2, min(5000, span // max(n, 1)))
    ids = base + np.cumsum(rng.integers(1, max_gap, size=n))
    return rng.permutation(ids) if shuffle else ids


def _providers(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    return np.array(["P" + "".join(rng.choice(letters, size=5)) for _ in range(n)], dtype=object)


def _int_or_empty(values: Any) -> pd.Series:
    return pd.Series(pd.array(pd.Series(values, dtype=float).round(), dtype="Int64"))


def _ordered(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Exactly the contracted columns, in order (a missing one is a bug here, not bad input)."""
    columns = list(TABLES[name].columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AssertionError(f"synthetic {name}: columns not produced: {missing}")
    return frame[columns].reset_index(drop=True)


def _sort(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class _Context:
    """Everything the table formatters share."""

    rng: np.random.Generator
    structure: _Structure
    ids: dict[str, np.ndarray]
    providers: np.ndarray

    def subject_of_adm(self, adm: np.ndarray) -> np.ndarray:
        return self.ids["subject"][self.structure.adm_patient[adm]]

    def provider(self, n: int, missing: float = 0.0) -> np.ndarray:
        picked = self.providers[self.rng.integers(0, self.providers.size, size=n)]
        return np.where(self.rng.random(n) < missing, "", picked)


def _patients_table(ctx: _Context) -> pd.DataFrame:
    s, rng = ctx.structure, ctx.rng
    n = s.anchor_year.size
    frame = pd.DataFrame(
        {
            "subject_id": ctx.ids["subject"],
            "gender": _choice(rng, [(g, 0.5) for g in _GENDERS], n),
            "anchor_age": s.anchor_age,
            "anchor_year": s.anchor_year,
            "anchor_year_group": _choice(rng, [(g, 1.0) for g in _ANCHOR_YEAR_GROUPS], n),
            "dod": _fmt_times(_midnight(s.dod), unit="D"),
        }
    )
    return _ordered(_sort(frame, ["subject_id"]), "patients")


def _admissions_table(
    ctx: _Context, race_of_patient: np.ndarray, marital_of_patient: np.ndarray
) -> pd.DataFrame:
    s, rng = ctx.structure, ctx.rng
    n = s.admittime.size
    kinds = rng.choice(len(_ADMISSION_TYPES), size=n, p=_weights(_ADMISSION_TYPES))
    location = np.array([_ADMISSION_TYPES[k][1] for k in kinds], dtype=object)
    emergency = location == "EMERGENCY ROOM"
    edreg = np.where(emergency, s.admittime - rng.integers(2 * HOUR, 12 * HOUR, size=n), np.nan)
    edout = np.where(emergency, s.admittime + rng.integers(0, 91, size=n), np.nan)
    died = ~np.isnan(s.deathtime)
    age = s.anchor_age[s.adm_patient]
    insurance = np.where(
        (age >= 65) & (rng.random(n) < 0.8), "Medicare", _choice(rng, _INSURANCE, n)
    )
    frame = pd.DataFrame(
        {
            "subject_id": ctx.subject_of_adm(np.arange(n)),
            "hadm_id": ctx.ids["hadm"],
            "admittime": _fmt_times(s.admittime),
            "dischtime": _fmt_times(s.dischtime),
            "deathtime": _fmt_times(s.deathtime),
            "admission_type": [_ADMISSION_TYPES[k][0] for k in kinds],
            "admit_provider_id": ctx.provider(n, missing=0.05),
            "admission_location": location,
            "discharge_location": np.where(died, "DIED", _choice(rng, _DISCHARGE_LOCATIONS, n)),
            "insurance": insurance,
            "language": _choice(rng, _LANGUAGES, n),
            "marital_status": marital_of_patient[s.adm_patient],
            "race": race_of_patient[s.adm_patient],
            "edregtime": _fmt_times(edreg),
            "edouttime": _fmt_times(edout),
            "hospital_expire_flag": died.astype(np.int64),
        }
    )
    frame["_admittime"] = s.admittime
    return _ordered(_sort(frame, ["subject_id", "_admittime"]), "admissions")


def _weights(options: Sequence[tuple[Any, ...]]) -> np.ndarray:
    weights = np.array([option[-1] for option in options], dtype=float)
    return weights / weights.sum()


def _icustays_table(ctx: _Context, los: np.ndarray) -> pd.DataFrame:
    s, rng = ctx.structure, ctx.rng
    n = s.intime.size
    first = np.array(_choice(rng, _CAREUNITS, n), dtype=object)
    moved = rng.random(n) < 0.1
    last = np.where(moved, np.array(_choice(rng, _CAREUNITS, n), dtype=object), first)
    frame = pd.DataFrame(
        {
            "subject_id": ctx.ids["subject"][s.stay_patient],
            "hadm_id": ctx.ids["hadm"][s.stay_adm],
            "stay_id": ctx.ids["stay"],
            "first_careunit": first,
            "last_careunit": last,
            "intime": _fmt_times(s.intime),
            "outtime": _fmt_times(s.outtime),
            "los": los / DAY,
            "_intime": s.intime,
        }
    )
    return _ordered(_sort(frame, ["subject_id", "_intime"]), "icustays")


def _hadm_of(ctx: _Context, frame: pd.DataFrame) -> np.ndarray:
    return ctx.ids["hadm"][frame["_adm"].to_numpy(np.int64)]


def _labevents_table(ctx: _Context, labs: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng
    n = len(labs)
    hadm = _hadm_of(ctx, labs).astype(float)
    hadm[labs["_no_hadm"].to_numpy(bool)] = np.nan
    specimen_ids = _unique_ids(
        rng, int(labs["_specimen"].max()) + 1 if n else 0, 10_000_000, span=89_000_000
    )
    frame = pd.DataFrame(
        {
            "subject_id": ctx.subject_of_adm(labs["_adm"].to_numpy(np.int64)),
            "hadm_id": _int_or_empty(hadm),
            "specimen_id": specimen_ids[labs["_specimen"].to_numpy(np.int64)],
            "itemid": labs["itemid"].to_numpy(np.int64),
            "order_provider_id": ctx.provider(n, missing=0.4),
            "charttime": _fmt_times(labs["charttime"]),
            "storetime": _fmt_times(labs["storetime"]),
            "value": labs["value"].to_numpy(object),
            "valuenum": labs["valuenum"].to_numpy(float),
            "valueuom": labs["valueuom"].to_numpy(object),
            "ref_range_lower": labs["ref_range_lower"].to_numpy(float),
            "ref_range_upper": labs["ref_range_upper"].to_numpy(float),
            "flag": labs["flag"].to_numpy(object),
            "priority": labs["priority"].to_numpy(object),
            "comments": "",
            "_t": labs["charttime"].to_numpy(float),
        }
    )
    frame = _sort(frame, ["subject_id", "_t", "specimen_id", "itemid"])
    frame.insert(0, "labevent_id", np.arange(1, len(frame) + 1))
    return _ordered(frame, "labevents")


def _prescriptions_table(ctx: _Context, rx: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng
    n = len(rx)
    frame = pd.DataFrame(
        {
            "subject_id": ctx.subject_of_adm(rx["_adm"].to_numpy(np.int64)),
            "hadm_id": _hadm_of(ctx, rx),
            "pharmacy_id": _unique_ids(rng, n, 10_000_000, span=89_000_000),
            "order_provider_id": ctx.provider(n, missing=0.1),
            "starttime": _fmt_times(rx["starttime"]),
            "stoptime": _fmt_times(rx["stoptime"]),
            "_t": rx["starttime"].to_numpy(float),
        }
    )
    for column in (
        "drug_type",
        "drug",
        "formulary_drug_cd",
        "gsn",
        "ndc",
        "prod_strength",
        "form_rx",
        "dose_val_rx",
        "dose_unit_rx",
        "form_val_disp",
        "form_unit_disp",
        "route",
    ):
        frame[column] = rx[column].to_numpy(object)
    frame["doses_per_24_hrs"] = rx["doses_per_24_hrs"].to_numpy(float)
    frame = _sort(frame, ["subject_id", "_t", "pharmacy_id"])
    seq = frame.groupby("subject_id", sort=False).cumcount().to_numpy() + 1
    frame["poe_seq"] = seq
    frame["poe_id"] = [f"{s}-{q}" for s, q in zip(frame["subject_id"], seq, strict=True)]
    return _ordered(frame, "prescriptions")


def _micro_table(ctx: _Context, micro: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng
    n = len(micro)
    date_only = micro["_date_only"].to_numpy(bool)
    charttime = micro["charttime"].to_numpy(float)
    storetime = micro["storetime"].to_numpy(float)
    n_specimens = int(micro["_micro_specimen"].max()) + 1 if n else 0
    specimen_ids = _unique_ids(rng, n_specimens, 1_000_000, span=9_000_000)
    providers = ctx.provider(n_specimens, missing=0.3)
    specimen = micro["_micro_specimen"].to_numpy(np.int64)
    frame = pd.DataFrame(
        {
            "subject_id": ctx.subject_of_adm(micro["_adm"].to_numpy(np.int64)),
            "hadm_id": _hadm_of(ctx, micro),
            "micro_specimen_id": specimen_ids[specimen],
            "order_provider_id": providers[specimen],
            "chartdate": _fmt_times(_midnight(charttime)),
            "charttime": _fmt_times(np.where(date_only, np.nan, charttime)),
            "spec_itemid": micro["spec_itemid"].to_numpy(np.int64),
            "spec_type_desc": micro["spec_type_desc"].to_numpy(object),
            "test_seq": micro["test_seq"].to_numpy(np.int64),
            "storedate": _fmt_times(_midnight(storetime)),
            "storetime": _fmt_times(storetime),
            "test_itemid": micro["test_itemid"].to_numpy(np.int64),
            "test_name": micro["test_name"].to_numpy(object),
            "org_itemid": _int_or_empty(micro["org_itemid"]),
            "org_name": micro["org_name"].fillna("").to_numpy(object),
            "isolate_num": _int_or_empty(micro["isolate_num"]),
            "quantity": "",
            "ab_itemid": _int_or_empty(micro["ab_itemid"]),
            "ab_name": micro["ab_name"].fillna("").to_numpy(object),
            "dilution_text": micro["dilution_text"].fillna("").to_numpy(object),
            "dilution_comparison": micro["dilution_comparison"].fillna("").to_numpy(object),
            "dilution_value": micro["dilution_value"].to_numpy(float),
            "interpretation": micro["interpretation"].fillna("").to_numpy(object),
            "comments": micro["comments"].fillna("").to_numpy(object),
            "_t": charttime,
        }
    )
    frame = _sort(frame, ["subject_id", "_t", "micro_specimen_id"])
    frame.insert(0, "microevent_id", np.arange(1, len(frame) + 1))
    return _ordered(frame, "microbiologyevents")


def _icu_event_ids(ctx: _Context, frame: pd.DataFrame) -> dict[str, Any]:
    stays = frame["_stay"].to_numpy(np.int64)
    return {
        "subject_id": ctx.ids["subject"][ctx.structure.stay_patient[stays]],
        "hadm_id": _hadm_of(ctx, frame),
        "stay_id": ctx.ids["stay"][stays],
    }


def _caregivers_and_orders(ctx: _Context, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    orders = frame["_order"].to_numpy(np.int64)
    n_orders = int(orders.max()) + 1 if orders.size else 0
    order_ids = _unique_ids(ctx.rng, n_orders, 1_000_000, span=9_000_000)
    caregivers = ctx.rng.integers(10_000, 100_000, size=max(n_orders, 1))
    return caregivers[orders], order_ids[orders]


def _procedureevents_table(ctx: _Context, proc: pd.DataFrame) -> pd.DataFrame:
    caregiver, orderid = _caregivers_and_orders(ctx, proc)
    frame = pd.DataFrame(
        {
            **_icu_event_ids(ctx, proc),
            "caregiver_id": caregiver,
            "starttime": _fmt_times(proc["starttime"]),
            "endtime": _fmt_times(proc["endtime"]),
            "storetime": _fmt_times(proc["storetime"]),
            "orderid": orderid,
            "linkorderid": orderid,
            "_t": proc["starttime"].to_numpy(float),
        }
    )
    for column in (
        "itemid",
        "value",
        "valueuom",
        "location",
        "locationcategory",
        "ordercategoryname",
        "ordercategorydescription",
        "patientweight",
        "isopenbag",
        "continueinnextdept",
        "statusdescription",
        "ORIGINALAMOUNT",
        "ORIGINALRATE",
    ):
        frame[column] = proc[column].to_numpy()
    frame = _sort(frame, ["subject_id", "stay_id", "_t", "orderid"])
    return _ordered(frame, "procedureevents")


def _ingredientevents_table(ctx: _Context, ing: pd.DataFrame) -> pd.DataFrame:
    caregiver, orderid = _caregivers_and_orders(ctx, ing)
    frame = pd.DataFrame(
        {
            **_icu_event_ids(ctx, ing),
            "caregiver_id": caregiver,
            "starttime": _fmt_times(ing["starttime"]),
            "endtime": _fmt_times(ing["endtime"]),
            "storetime": _fmt_times(ing["storetime"]),
            "orderid": orderid,
            "linkorderid": orderid,
            "_t": ing["starttime"].to_numpy(float),
        }
    )
    for column in (
        "itemid",
        "amount",
        "amountuom",
        "rate",
        "rateuom",
        "statusdescription",
        "originalamount",
        "originalrate",
    ):
        frame[column] = ing[column].to_numpy()
    frame = _sort(frame, ["subject_id", "stay_id", "_t", "orderid", "itemid"])
    return _ordered(frame, "ingredientevents")


def _d_labitems_table(extra: Sequence[_LabItem]) -> pd.DataFrame:
    items = sorted([*_LAB_ITEMS, *extra], key=lambda item: item.itemid)
    frame = pd.DataFrame(
        {
            "itemid": [i.itemid for i in items],
            "label": [i.label for i in items],
            "fluid": [i.fluid for i in items],
            "category": [i.category for i in items],
        }
    )
    return _ordered(frame, "d_labitems")


def _d_items_table() -> pd.DataFrame:
    items = sorted([*_PROCEDURES.values(), *_INGREDIENTS.values()], key=lambda i: i.itemid)
    frame = pd.DataFrame(
        {
            "itemid": [i.itemid for i in items],
            "label": [i.label for i in items],
            "abbreviation": [i.abbreviation for i in items],
            "linksto": [i.linksto for i in items],
            "category": [i.category for i in items],
            "unitname": [i.unitname for i in items],
            "param_type": [i.param_type for i in items],
            "lownormalvalue": np.nan,
            "highnormalvalue": np.nan,
        }
    )
    return _ordered(frame, "d_items")


# --------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------


def _stay_events(
    rng: np.random.Generator,
    cfg: MIMIC4CohortConfig,
    stays: _Stays,
    plan: dict[str, tuple[np.ndarray, np.ndarray]],
    ids: _Ids,
    extra: Sequence[_LabItem],
) -> dict[str, _Rows]:
    """The in-window rows of every stay (times relative to intime)."""
    rows = {name: _Rows(name) for name in _ROW_SCHEMAS}
    for index in range(stays.los.size):
        if stays.empty[index]:
            continue
        stay = _StayFrame(
            index, int(stays.los[index]), cfg.late_window_minutes, float(stays.weight_kg[index])
        )

        def planned(source: str, index: int = index) -> tuple[bool, bool]:
            present, late = plan[source]
            return bool(present[index]), bool(late[index])

        _stay_labs(rng, rows["labevents"], ids, stay, *planned("high_lactate"), extra)
        _stay_prescriptions(rng, rows["prescriptions"], stay, *planned("vasopressor"))
        _stay_micro(rng, rows["microbiologyevents"], ids, stay, *planned("positive_blood_culture"))
        _stay_procedures(rng, rows["procedureevents"], ids, stay, *planned("ventilation"))
        _stay_ingredients(rng, rows["ingredientevents"], ids, stay)
    return rows


def _draw_deaths(rng: np.random.Generator, risk: np.ndarray, cfg: MIMIC4CohortConfig) -> np.ndarray:
    logit = cfg.risk_link * risk + rng.normal(0.0, cfg.hidden_noise_sd, size=risk.size)
    intercept = _intercept_for_rate(logit, cfg.mortality_rate)
    return rng.random(risk.size) < _sigmoid(intercept + logit)


def _count_rows_per_stay(frames: Mapping[str, pd.DataFrame], n: int, inwin: bool) -> np.ndarray:
    total = np.zeros(n, dtype=np.int64)
    for frame in frames.values():
        mask = (frame["_stay"].to_numpy(np.int64) >= 0) & (frame["_inwin"].to_numpy(bool) == inwin)
        total += np.bincount(frame["_stay"].to_numpy(np.int64)[mask], minlength=n)
    return total


@dataclass
class _Stays:
    """Per-stay draws made before any event: length, hidden severity, weight, emptiness."""

    los: np.ndarray  # whole minutes
    severity: np.ndarray
    weight_kg: np.ndarray
    empty: np.ndarray


def _draw_stays(rng: np.random.Generator, cfg: MIMIC4CohortConfig) -> _Stays:
    n = cfg.n_stays
    los = np.round(np.clip(rng.lognormal(np.log(2.2 * DAY), 0.7, size=n), 0.5 * DAY, 14 * DAY))
    severity = rng.normal(size=n)
    weight_kg = np.round(np.clip(rng.normal(80, 18, size=n), 40, 200), 1)
    empty = np.zeros(n, dtype=bool)
    empty[_exact_subset(rng, np.arange(n), cfg.empty_stay_rate)] = True
    return _Stays(los, severity, weight_kg, empty)


def _add_outside_rows(
    rng: np.random.Generator,
    frames: dict[str, pd.DataFrame],
    rows: dict[str, _Rows],
    stays: _Stays,
    structure: _Structure,
    ids: _Ids,
    extra: Sequence[_LabItem],
    cfg: MIMIC4CohortConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Move some ICU rows out of their stay, make all times absolute, add the ward rows.
    Returns per stay the ICU rows moved out and the hospital rows placed around it."""
    icu = ("procedureevents", "ingredientevents")
    for name in icu:
        _shift_outside(
            rng, frames[name], stays.los, structure.death_in_icu, cfg.icu_outside_window_rate
        )
    n_outside_icu = _count_rows_per_stay({k: frames[k] for k in icu}, stays.los.size, False)
    for name, r in rows.items():
        _to_absolute(frames[name], r.time_columns, structure)
    labs, rx = _Rows("labevents"), _Rows("prescriptions")
    n_outside_hosp = _outside_hosp_rows(rng, labs, rx, ids, structure, stays.empty, extra, cfg)
    for name, r in (("labevents", labs), ("prescriptions", rx)):
        if r.size:
            frames[name] = pd.concat([frames[name], r.frame()], ignore_index=True)
    return n_outside_icu, n_outside_hosp


def generate_mimic4(cfg: MIMIC4CohortConfig) -> MIMIC4Cohort:
    """Generate every table (formatted as written) and the per-stay truth in memory.

    Order: stays and their in-window events (relative times) -> the risk read from those rows
    -> deaths -> patients, admissions and absolute times -> rows outside the windows ->
    quirks -> ids and formatting. Each stage draws from its own seeded stream."""

    def stream(stage: str) -> np.random.Generator:
        return np.random.default_rng(derive_seed(cfg.seed, "events-synthetic", stage))

    rng = stream("stays")
    stays = _draw_stays(rng, cfg)
    plan = _plan_risk(rng, stays.severity, stays.empty, cfg)
    extra = _unlabeled_items(cfg.n_unlabeled_lab_items)
    ids = _Ids()
    rows = _stay_events(stream("events"), cfg, stays, plan, ids, extra)
    frames = {name: r.frame() for name, r in rows.items()}
    features = _risk_features(frames, stays.los)
    risk = planted_risk({s: features[s][1] for s in RISK_SOURCES}, cfg)
    rng = stream("outcome")
    died = _draw_deaths(rng, risk, cfg)
    structure = _build_structure(rng, died, stays.los, cfg)
    n_outside = _add_outside_rows(
        stream("outside"), frames, rows, stays, structure, ids, extra, cfg
    )
    n_in_window = _count_rows_per_stay(frames, cfg.n_stays, inwin=True)
    _apply_quirks(stream("quirks"), frames, cfg)
    rng = stream("ids")
    id_map = {
        "subject": _unique_ids(rng, cfg.n_patients, 10_000_000, shuffle=False),
        "hadm": _unique_ids(rng, structure.admittime.size, 20_000_000),
        "stay": _unique_ids(rng, cfg.n_stays, 30_000_000),
    }
    truth = _truth_frame(features, risk, died, stays, structure, id_map, cfg)
    truth["n_events"] = n_in_window
    truth["n_outside_window_icu_rows"], truth["n_outside_window_hosp_rows"] = n_outside
    truth = truth.sort_values(["subject_id", "intime"], kind="stable").reset_index(drop=True)
    tables = _format_tables(rng, structure, id_map, frames, stays.los, extra)
    return MIMIC4Cohort(tables=tables, truth=truth)


def _format_tables(
    rng: np.random.Generator,
    structure: _Structure,
    ids: dict[str, np.ndarray],
    frames: dict[str, pd.DataFrame],
    los: np.ndarray,
    extra: Sequence[_LabItem],
) -> dict[str, pd.DataFrame]:
    ctx = _Context(rng, structure, ids, _providers(rng, 300))
    n_patients = structure.anchor_year.size
    race = np.array(_choice(rng, _RACES, n_patients), dtype=object)
    marital = np.array(_choice(rng, _MARITAL, n_patients), dtype=object)
    tables = {
        "patients": _patients_table(ctx),
        "admissions": _admissions_table(ctx, race, marital),
        "icustays": _icustays_table(ctx, los),
        "prescriptions": _prescriptions_table(ctx, frames["prescriptions"]),
        "labevents": _labevents_table(ctx, frames["labevents"]),
        "d_labitems": _d_labitems_table(extra),
        "microbiologyevents": _micro_table(ctx, frames["microbiologyevents"]),
        "procedureevents": _procedureevents_table(ctx, frames["procedureevents"]),
        "ingredientevents": _ingredientevents_table(ctx, frames["ingredientevents"]),
        "d_items": _d_items_table(),
    }
    return {name: tables[name] for name in TABLES}


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------

_CHUNK_ROWS = 100_000


def _write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    """Gzip CSV with a header, "" for missing, no timestamp or name in the gzip header (so the
    bytes are a function of the content), written in row chunks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        io.TextIOWrapper(gz, encoding="utf-8", newline="") as text,
    ):
        for start in range(0, max(len(frame), 1), _CHUNK_ROWS):
            chunk = frame.iloc[start : start + _CHUNK_ROWS]
            chunk.to_csv(text, index=False, header=start == 0, na_rep="", lineterminator="\n")


def _check_replaceable(root: Path) -> None:
    """Refuse to replace a directory that holds anything but a previous synthetic export."""
    if not root.exists():
        return
    if not root.is_dir():
        raise SyntheticMIMICError(
            f"{root}: exists and is not a directory (expected an output "
            "directory for the synthetic MIMIC-IV tables)"
        )
    allowed = {"hosp", "icu", "truth.parquet"}
    foreign = sorted(p.name for p in root.iterdir() if p.name not in allowed)
    if foreign:
        raise SyntheticMIMICError(
            f"{root}: holds {foreign}, which a synthetic MIMIC-IV export does not; refusing to "
            "replace it (expected an empty or previously generated directory)"
        )


def write_mimic4(cfg: MIMIC4CohortConfig, root: str | os.PathLike[str]) -> pd.DataFrame:
    """Write the synthetic MIMIC-IV tables and ``truth.parquet`` under ``root``; return the truth.

    The whole directory is built in a temporary sibling and renamed into place, so a failure
    leaves no partial export (an existing previous export at ``root`` is replaced)."""
    root = Path(root)
    _check_replaceable(root)
    cohort = generate_mimic4(cfg)
    with atomic_directory(root) as tmp:
        for name, frame in cohort.tables.items():
            _write_csv_gz(frame, tmp / TABLES[name].path)
        table = pa.Table.from_pandas(cohort.truth, preserve_index=False)
        pq.write_table(table, tmp / "truth.parquet")
    return cohort.truth
