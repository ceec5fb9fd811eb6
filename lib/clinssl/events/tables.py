"""The MIMIC-IV v2.2 table contract of the events branch, defined once.

Why one module: the synthetic generator writes these tables and the extractor reads them; if
both spelled the column lists themselves, a drift (a renamed column, the upper-case
``ORIGINALAMOUNT``/``ORIGINALRATE`` of procedureevents) would pass every test of either side
and fail only on the real database. Every column list is in the official order of the
release, so a file written from :data:`TABLES` has the layout of the real CSV.

Tables are named by their bare file stem (``"labevents"``); the stems are unique across the
``hosp`` and ``icu`` modules for the tables used here. :func:`table_path` also accepts the
module-qualified form (``"hosp/labevents"``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EVENT_TYPES",
    "TABLES",
    "MIMICTableError",
    "MissingTableError",
    "TableSpec",
    "table_path",
    "table_spec",
]

#: the five event sources of the sequence model, in the order of its one-hot encoding
EVENT_TYPES: tuple[str, ...] = ("prescription", "procedure", "lab", "microbiology", "ingredient")

#: file endings :func:`table_path` tries by default, in order of preference
DEFAULT_EXTENSIONS: tuple[str, ...] = ("csv.gz", "parquet")


class MIMICTableError(ValueError):
    """A MIMIC-IV table is unknown, missing, or does not have the contracted layout."""


class MissingTableError(MIMICTableError, FileNotFoundError):
    """No file for a table under the data root (also a ``FileNotFoundError`` for callers that
    handle missing files generically)."""


@dataclass(frozen=True)
class TableSpec:
    """One MIMIC-IV table: its bare name, its path relative to the data root (with the
    official ``.csv.gz`` ending) and its columns in the official order."""

    name: str
    path: str
    columns: tuple[str, ...]

    @property
    def module(self) -> str:
        """``"hosp"`` or ``"icu"``: the folder the table lives in."""
        return self.path.split("/", 1)[0]

    @property
    def stem(self) -> str:
        """The path without its ending (``"hosp/labevents"``)."""
        return self.path.removesuffix(".csv.gz")


def _spec(module: str, name: str, columns: str) -> TableSpec:
    return TableSpec(name, f"{module}/{name}.csv.gz", tuple(columns.split()))


_SPECS = (
    _spec("hosp", "patients", "subject_id gender anchor_age anchor_year anchor_year_group dod"),
    _spec(
        "hosp",
        "admissions",
        "subject_id hadm_id admittime dischtime deathtime admission_type admit_provider_id "
        "admission_location discharge_location insurance language marital_status race "
        "edregtime edouttime hospital_expire_flag",
    ),
    _spec(
        "icu",
        "icustays",
        "subject_id hadm_id stay_id first_careunit last_careunit intime outtime los",
    ),
    _spec(
        "hosp",
        "prescriptions",
        "subject_id hadm_id pharmacy_id poe_id poe_seq order_provider_id starttime stoptime "
        "drug_type drug formulary_drug_cd gsn ndc prod_strength form_rx dose_val_rx "
        "dose_unit_rx form_val_disp form_unit_disp doses_per_24_hrs route",
    ),
    _spec(
        "hosp",
        "labevents",
        "labevent_id subject_id hadm_id specimen_id itemid order_provider_id charttime "
        "storetime value valuenum valueuom ref_range_lower ref_range_upper flag priority "
        "comments",
    ),
    _spec("hosp", "d_labitems", "itemid label fluid category"),
    _spec(
        "hosp",
        "microbiologyevents",
        "microevent_id subject_id hadm_id micro_specimen_id order_provider_id chartdate "
        "charttime spec_itemid spec_type_desc test_seq storedate storetime test_itemid "
        "test_name org_itemid org_name isolate_num quantity ab_itemid ab_name dilution_text "
        "dilution_comparison dilution_value interpretation comments",
    ),
    _spec(
        "icu",
        "procedureevents",
        "subject_id hadm_id stay_id caregiver_id starttime endtime storetime itemid value "
        "valueuom location locationcategory orderid linkorderid ordercategoryname "
        "ordercategorydescription patientweight isopenbag continueinnextdept "
        "statusdescription ORIGINALAMOUNT ORIGINALRATE",
    ),
    _spec(
        "icu",
        "ingredientevents",
        "subject_id hadm_id stay_id caregiver_id starttime endtime storetime itemid amount "
        "amountuom rate rateuom orderid linkorderid statusdescription originalamount "
        "originalrate",
    ),
    _spec(
        "icu",
        "d_items",
        "itemid label abbreviation linksto category unitname param_type lownormalvalue "
        "highnormalvalue",
    ),
)

#: every table the branch uses, by bare name, in the order above (cohort, events, dictionaries)
TABLES: dict[str, TableSpec] = {spec.name: spec for spec in _SPECS}


def table_spec(name: str) -> TableSpec:
    """The :class:`TableSpec` of ``name`` (bare ``"labevents"`` or ``"hosp/labevents"``)."""
    bare = name.split("/", 1)[1] if "/" in name else name
    spec = TABLES.get(bare)
    if spec is None or ("/" in name and name != spec.stem):
        raise MIMICTableError(
            f"unknown MIMIC-IV table {name!r}: expected one of {', '.join(s.stem for s in _SPECS)}"
        )
    return spec


def table_path(
    root: str | os.PathLike[str],
    name: str,
    ext: str | Sequence[str] = DEFAULT_EXTENSIONS,
) -> Path:
    """The file holding table ``name`` under the data root ``root``.

    Tries ``root/<module>/<name>.<ext>`` for each ending in ``ext`` in order (the official
    ``.csv.gz`` first, then a ``.parquet`` conversion) and returns the first that exists.
    Raises :class:`MissingTableError` naming the table and every path it looked at, so a
    wrong root or a partial download is obvious from the message.
    """
    spec = table_spec(name)
    endings = (ext,) if isinstance(ext, str) else tuple(ext)
    if not endings:
        raise MIMICTableError(f"table_path({name!r}): ext must name at least one file ending")
    candidates = [Path(root) / f"{spec.stem}.{ending.lstrip('.')}" for ending in endings]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise MissingTableError(
        f"MIMIC-IV table {spec.stem!r} not found under {Path(root)}: looked for {looked}"
    )
