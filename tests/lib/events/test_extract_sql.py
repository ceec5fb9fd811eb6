"""Event extraction on hand-made MIMIC-IV tables: every documented quirk gives the documented
result and count; bad input raises before anything is written.

The tiny tables below are written as csv.gz with the exact MIMIC-IV v2.2 column lists; every
expected event, time and count was worked out by hand from them (comments give the sums).
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from clinssl.events.extract import (
    EVENT_SOURCE_TABLES,
    STAY_COLUMNS,
    DuplicateKeyError,
    MissingColumnError,
    MissingTableError,
    UnparseableColumnError,
    extract_events,
)

COLUMNS = {
    "patients": "subject_id gender anchor_age anchor_year anchor_year_group dod",
    "admissions": (
        "subject_id hadm_id admittime dischtime deathtime admission_type admit_provider_id "
        "admission_location discharge_location insurance language marital_status race "
        "edregtime edouttime hospital_expire_flag"
    ),
    "icustays": "subject_id hadm_id stay_id first_careunit last_careunit intime outtime los",
    "prescriptions": (
        "subject_id hadm_id pharmacy_id poe_id poe_seq order_provider_id starttime stoptime "
        "drug_type drug formulary_drug_cd gsn ndc prod_strength form_rx dose_val_rx "
        "dose_unit_rx form_val_disp form_unit_disp doses_per_24_hrs route"
    ),
    "labevents": (
        "labevent_id subject_id hadm_id specimen_id itemid order_provider_id charttime "
        "storetime value valuenum valueuom ref_range_lower ref_range_upper flag priority comments"
    ),
    "d_labitems": "itemid label fluid category",
    "microbiologyevents": (
        "microevent_id subject_id hadm_id micro_specimen_id order_provider_id chartdate "
        "charttime spec_itemid spec_type_desc test_seq storedate storetime test_itemid "
        "test_name org_itemid org_name isolate_num quantity ab_itemid ab_name dilution_text "
        "dilution_comparison dilution_value interpretation comments"
    ),
    "procedureevents": (
        "subject_id hadm_id stay_id caregiver_id starttime endtime storetime itemid value "
        "valueuom location locationcategory orderid linkorderid ordercategoryname "
        "ordercategorydescription patientweight isopenbag continueinnextdept statusdescription "
        "ORIGINALAMOUNT ORIGINALRATE"
    ),
    "ingredientevents": (
        "subject_id hadm_id stay_id caregiver_id starttime endtime storetime itemid amount "
        "amountuom rate rateuom orderid linkorderid statusdescription originalamount "
        "originalrate"
    ),
    "d_items": (
        "itemid label abbreviation linksto category unitname param_type lownormalvalue "
        "highnormalvalue"
    ),
}
COLUMNS = {name: tuple(spec.split()) for name, spec in COLUMNS.items()}
ICU_TABLES = {"icustays", "procedureevents", "ingredientevents", "d_items"}


def table_path(root: Path, name: str, suffix: str = ".csv.gz") -> Path:
    return root / ("icu" if name in ICU_TABLES else "hosp") / f"{name}{suffix}"


def write_table(root: Path, name: str, rows: list[dict], columns: tuple[str, ...] = ()) -> Path:
    """Write ``rows`` as a MIMIC-IV csv.gz (missing fields empty, as MIMIC writes them)."""
    columns = columns or COLUMNS[name]
    path = table_path(root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({c: row.get(c, "") for c in columns} for row in rows)
    return path


def lab(i: int, subject: int, hadm: str, item: int, time: str, value: str, num: str,
        uom: str = "mg/dL", flag: str = "") -> dict:
    return {"labevent_id": i, "subject_id": subject, "hadm_id": hadm, "itemid": item,
            "charttime": time, "value": value, "valuenum": num, "valueuom": uom, "flag": flag}


def base_tables() -> dict[str, list[dict]]:
    """Three patients, five ICU stays and a handful of events per source (see the tests)."""
    adm = {"admission_type": "EW EMER.", "admission_location": "EMERGENCY ROOM",
           "insurance": "Medicare", "marital_status": "MARRIED", "race": "WHITE"}
    return {
        "patients": [
            {"subject_id": 1, "gender": "F", "anchor_age": 60, "anchor_year": 2150},
            {"subject_id": 2, "gender": "M", "anchor_age": 89, "anchor_year": 2140,
             "dod": "2160-03-02"},
            {"subject_id": 3, "gender": "F", "anchor_age": 70, "anchor_year": 2170,
             "dod": "2170-05-03"},
        ],
        "admissions": [
            {"subject_id": 1, "hadm_id": 100, "admittime": "2150-01-01 08:00:00",
             "hospital_expire_flag": 0, **adm},
            {"subject_id": 1, "hadm_id": 101, "admittime": "2150-02-01 12:00:00",
             "hospital_expire_flag": 0, **adm},
            {"subject_id": 2, "hadm_id": 200, "admittime": "2160-03-01 00:00:00",
             "deathtime": "2160-03-02 12:00:00", "hospital_expire_flag": 1, **adm},
            {"subject_id": 3, "hadm_id": 300, "admittime": "2170-05-01 00:00:00",
             "hospital_expire_flag": 0, **adm},
        ],
        "icustays": [
            {"subject_id": 1, "hadm_id": 100, "stay_id": 10, "first_careunit": "MICU",
             "intime": "2150-01-01 10:00:00", "outtime": "2150-01-02 10:00:00"},
            {"subject_id": 2, "hadm_id": 200, "stay_id": 20, "first_careunit": "SICU",
             "intime": "2160-03-01 06:00:00", "outtime": "2160-03-02 14:00:00"},
            # intime two hours before its admission's admittime: kept, counted
            {"subject_id": 1, "hadm_id": 101, "stay_id": 30, "first_careunit": "MICU",
             "intime": "2150-02-01 10:00:00", "outtime": "2150-02-02 10:00:00"},
            # died by dod only (date 2170-05-03 <= outtime + 24 h)
            {"subject_id": 3, "hadm_id": 300, "stay_id": 40, "first_careunit": "CVICU",
             "intime": "2170-05-01 02:00:00", "outtime": "2170-05-02 20:00:00"},
            # no outtime: dropped
            {"subject_id": 3, "hadm_id": 300, "stay_id": 50, "first_careunit": "CVICU",
             "intime": "2170-06-01 00:00:00", "outtime": ""},
        ],
        "labevents": [
            lab(1, 1, "100", 50912, "2150-01-01 12:00:00", "1.2", "1.2", flag="abnormal"),
            # empty hadm_id, inside stay 10: attached; placeholder value -> valuenum
            lab(2, 1, "", 50912, "2150-01-01 20:00:00", "___", "1.5"),
            # empty hadm_id, outside every stay of subject 1: dropped
            lab(3, 1, "", 50912, "2150-01-05 00:00:00", "1.0", "1.0"),
            # empty d_labitems label
            lab(4, 1, "100", 51000, "2150-01-01 11:00:00", "NEG", "", uom=""),
            lab(5, 2, "200", 50912, "not a time", "2.0", "2.0"),
            # after the death (12:00) but before outtime (14:00)
            lab(6, 2, "200", 50912, "2160-03-02 13:00:00", "3.0", "3.0"),
            lab(7, 2, "200", 50912, "2160-03-01 12:00:00", "7.40", "7.4"),
            lab(8, 2, "200", 50912, "", "2.0", "2.0"),
        ],
        "d_labitems": [
            {"itemid": 50912, "label": "Creatinine", "fluid": "Blood", "category": "Chemistry"},
            {"itemid": 51000, "label": "", "fluid": "Urine", "category": "Hematology"},
        ],
        "prescriptions": [
            # stoptime before starttime: kept at starttime, counted
            {"subject_id": 1, "hadm_id": 100, "starttime": "2150-01-01 10:30:00",
             "stoptime": "2150-01-01 09:00:00", "drug": "Heparin", "dose_val_rx": "5000",
             "dose_unit_rx": "UNIT", "route": "SC"},
            # nothing to say: empty text
            {"subject_id": 1, "hadm_id": 100, "starttime": "2150-01-01 11:30:00"},
            {"subject_id": 1, "hadm_id": "", "starttime": "2150-01-01 16:00:00",
             "drug": "Furosemide", "dose_val_rx": "40", "dose_unit_rx": "mg", "route": "IV"},
        ],
        "microbiologyevents": [
            # chartdate only, its midnight inside stay 10
            {"microevent_id": 1, "subject_id": 1, "hadm_id": "",
             "chartdate": "2150-01-02 00:00:00", "spec_type_desc": "BLOOD CULTURE"},
            {"microevent_id": 2, "subject_id": 2, "hadm_id": 200,
             "chartdate": "2160-03-01 00:00:00", "charttime": "2160-03-01 08:00:00",
             "spec_type_desc": "URINE", "org_name": "E. COLI", "ab_name": "CIPROFLOXACIN",
             "interpretation": "R"},
            # chartdate only, its midnight before stay 10's intime: outside
            {"microevent_id": 3, "subject_id": 1, "hadm_id": 100,
             "chartdate": "2150-01-01 00:00:00", "spec_type_desc": "SPUTUM"},
        ],
        "procedureevents": [
            {"subject_id": 1, "hadm_id": 100, "stay_id": 10, "starttime": "2150-01-01 10:15:00",
             "itemid": 225792, "value": "120", "valueuom": "min", "ORIGINALAMOUNT": "120"},
            {"subject_id": 2, "hadm_id": 200, "stay_id": 20, "starttime": "2160-03-01 07:00:00",
             "itemid": 225792, "value": "1", "valueuom": "hour", "ORIGINALAMOUNT": "2"},
            {"subject_id": 9, "hadm_id": 900, "stay_id": 99, "starttime": "2150-01-01 12:00:00",
             "itemid": 225792, "value": "1", "valueuom": "hour", "ORIGINALAMOUNT": "1"},
            {"subject_id": 1, "hadm_id": 100, "stay_id": 10, "starttime": "2150-01-01 09:00:00",
             "itemid": 225792, "value": "1", "valueuom": "hour", "ORIGINALAMOUNT": "1"},
        ],
        "ingredientevents": [
            {"subject_id": 1, "hadm_id": 100, "stay_id": 10, "starttime": "2150-01-01 14:00:00",
             "itemid": 220490, "amount": "250", "amountuom": "mL"},
            {"subject_id": 2, "hadm_id": 200, "stay_id": 20, "starttime": "2160-03-01 12:00:00",
             "itemid": 220490, "amount": "100.0", "amountuom": "mL"},
            {"subject_id": 1, "hadm_id": 100, "stay_id": 10, "starttime": "",
             "itemid": 220490, "amount": "5", "amountuom": "mL"},
        ],
        "d_items": [
            {"itemid": 225792, "label": "Invasive Ventilation"},
            {"itemid": 220490, "label": "Free Water"},
        ],
    }


# (stay_id, event_time, event_type, event_text, minutes_to_end) expected with no limit.
# Stay 10 ends at its outtime 2150-01-02 10:00; stay 20 at the death 2160-03-02 12:00.
EXPECTED_EVENTS = [
    (10, "2150-01-01 10:15:00", "procedure", "Invasive Ventilation 120 min", 1425.0),
    (10, "2150-01-01 10:30:00", "prescription", "Heparin 5000 UNIT SC", 1410.0),
    (10, "2150-01-01 11:00:00", "lab", "itemid 51000 NEG", 1380.0),
    (10, "2150-01-01 12:00:00", "lab", "Creatinine 1.2 mg/dL abnormal", 1320.0),
    (10, "2150-01-01 14:00:00", "ingredient", "Free Water 250 mL", 1200.0),
    (10, "2150-01-01 16:00:00", "prescription", "Furosemide 40 mg IV", 1080.0),
    (10, "2150-01-01 20:00:00", "lab", "Creatinine 1.5 mg/dL", 840.0),
    (10, "2150-01-02 00:00:00", "microbiology", "BLOOD CULTURE no growth", 600.0),
    (20, "2160-03-01 07:00:00", "procedure", "Invasive Ventilation 1 hour (original amount 2)",
     1740.0),
    (20, "2160-03-01 08:00:00", "microbiology", "URINE E. COLI CIPROFLOXACIN R", 1680.0),
    (20, "2160-03-01 12:00:00", "ingredient", "Free Water 100 mL", 1440.0),
    (20, "2160-03-01 12:00:00", "lab", "Creatinine 7.40 mg/dL", 1440.0),
]
SUBJECT_OF_STAY = {10: 1, 20: 2}


def build_root(tmp_path: Path, tables: dict[str, list[dict]] | None = None) -> Path:
    root = tmp_path / "mimic"
    for name, rows in (tables or base_tables()).items():
        write_table(root, name, rows)
    return root


def events_as_tuples(out: Path) -> list[tuple]:
    frame = pd.read_parquet(out / "events.parquet")
    return [
        (int(r.stay_id), str(r.event_time), r.event_type, r.event_text, float(r.minutes_to_end))
        for r in frame.itertuples()
    ]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build_root(tmp_path)


def test_events_content_order_and_minutes_to_end(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = extract_events(root, out, max_events=None, threads=1)
    assert sorted(p.name for p in out.iterdir()) == [
        "events.parquet", "extract_report.json", "stays.parquet"
    ]
    frame = pd.read_parquet(out / "events.parquet")
    assert list(frame.columns) == [
        "stay_id", "subject_id", "event_time", "event_type", "event_text", "minutes_to_end"
    ]
    assert pd.api.types.is_datetime64_any_dtype(frame["event_time"])
    assert frame["minutes_to_end"].dtype == "float64"
    assert set(frame["event_type"]) == set(EVENT_SOURCE_TABLES)
    assert events_as_tuples(out) == EXPECTED_EVENTS
    assert [SUBJECT_OF_STAY[s] for s in frame["stay_id"]] == frame["subject_id"].tolist()
    assert report["events"]["written"] == 12 and report["events"]["beyond_max_events"] == 0
    assert json.loads((out / "extract_report.json").read_text()) == report


def test_lab_rows_attach_by_subject_and_time_and_drops_are_counted(root: Path, tmp_path: Path
                                                                   ) -> None:
    report = extract_events(root, tmp_path / "out", max_events=None, threads=1)
    labs = report["events"]["sources"]["lab"]
    # 8 rows: 1, 2, 4 (stay 10) and 7 (stay 20) attached; 3 outside, 5 bad time,
    # 6 after the death, 8 no time
    assert labs["candidates"] == 8 and labs["attached"] == 4 and labs["written"] == 4
    assert labs["dropped"] == {
        "missing_time": 1, "unparseable_time": 1, "missing_subject_id": 0,
        "outside_stay_window": 1, "after_death": 1, "empty_text": 0,
    }
    assert labs["quirks"] == {
        "empty_hadm_id": {"candidates": 2, "attached": 1},  # rows 2 (attached) and 3
        "missing_label": {"candidates": 1, "attached": 1},  # row 4
        "placeholder_value_with_valuenum": {"candidates": 1, "attached": 1},  # row 2
        "placeholder_value_without_valuenum": {"candidates": 0, "attached": 0},
    }


def test_other_sources_quirks_and_drops(root: Path, tmp_path: Path) -> None:
    sources = extract_events(root, tmp_path / "out", max_events=None)["events"]["sources"]
    rx = sources["prescription"]
    assert (rx["candidates"], rx["attached"], rx["dropped"]["empty_text"]) == (3, 2, 1)
    assert rx["quirks"] == {
        "empty_hadm_id": {"candidates": 1, "attached": 1},
        "stoptime_before_starttime": {"candidates": 1, "attached": 1},
    }
    micro = sources["microbiology"]
    assert (micro["candidates"], micro["attached"]) == (3, 2)
    assert micro["dropped"]["outside_stay_window"] == 1
    assert micro["quirks"]["chartdate_only"] == {"candidates": 2, "attached": 1}
    proc = sources["procedure"]
    assert (proc["candidates"], proc["attached"]) == (4, 2)
    assert proc["dropped"]["unknown_stay"] == 1 and proc["dropped"]["outside_stay_window"] == 1
    assert proc["quirks"]["original_amount_differs"] == {"candidates": 1, "attached": 1}
    ingr = sources["ingredient"]
    assert (ingr["candidates"], ingr["attached"], ingr["dropped"]["missing_time"]) == (3, 2, 1)


def test_stays_label_statics_and_stay_counts(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = extract_events(root, out, max_events=None)
    stays = pd.read_parquet(out / "stays.parquet")
    assert tuple(stays.columns) == STAY_COLUMNS
    assert stays["stay_id"].tolist() == [10, 20, 30, 40]  # 50 has no outtime
    assert stays["died"].tolist() == [False, True, False, True]
    assert stays["n_events"].tolist() == [8, 4, 0, 0]
    assert stays["age"].tolist() == [60, 91, 60, 70]  # 89 + 2160 - 2140 = 109 -> 91
    assert stays["end_time"].astype(str).tolist() == [
        "2150-01-02 10:00:00", "2160-03-02 12:00:00", "2150-02-02 10:00:00",
        "2170-05-02 20:00:00",
    ]
    assert stays.loc[0, ["gender", "race", "first_careunit", "insurance"]].tolist() == [
        "F", "WHITE", "MICU", "Medicare"
    ]
    assert report["stays"] == {
        "read": 5, "kept": 4, "died": 2, "without_events": 2, "without_admission": 0,
        "without_patient": 0, "intime_before_admittime": 1,
        "dropped": {
            "missing_stay_id": 0, "missing_subject_id": 0, "missing_intime": 0,
            "unparseable_intime": 0, "missing_outtime": 1, "unparseable_outtime": 0,
            "outtime_before_intime": 0,
        },
    }


def test_dod_counts_as_death_only_within_the_grace(root: Path, tmp_path: Path) -> None:
    extract_events(root, tmp_path / "out", death_grace_hours=0.0)
    # stay 40: dod 2170-05-03 00:00 is after outtime 2170-05-02 20:00; stay 20 dies by flag
    died = pd.read_parquet(tmp_path / "out" / "stays.parquet")["died"].tolist()
    assert died == [False, True, False, False]


@pytest.mark.parametrize(
    ("max_events", "kept"),
    [
        (2, [EXPECTED_EVENTS[6], EXPECTED_EVENTS[7], EXPECTED_EVENTS[10], EXPECTED_EVENTS[11]]),
        # a tie at 12:00 in stay 20: the event that sorts last (lab after ingredient) stays
        (1, [EXPECTED_EVENTS[7], EXPECTED_EVENTS[11]]),
    ],
)
def test_max_events_keeps_the_most_recent(root: Path, tmp_path: Path, max_events: int,
                                          kept: list[tuple]) -> None:
    report = extract_events(root, tmp_path / "out", max_events=max_events)
    assert events_as_tuples(tmp_path / "out") == kept
    assert report["events"]["beyond_max_events"] == 12 - len(kept)
    n_events = pd.read_parquet(tmp_path / "out" / "stays.parquet")["n_events"].tolist()
    assert n_events == [max_events, max_events, 0, 0]


def test_parquet_copies_give_the_same_output(root: Path, tmp_path: Path) -> None:
    for csv_path in sorted(root.glob("*/*.csv.gz")):
        target = csv_path.with_name(csv_path.name.replace(".csv.gz", ".parquet"))
        # typed columns (BIGINT ids, TIMESTAMP times, DOUBLE valuenum), as a copy would have
        duckdb.execute(
            f"COPY (SELECT * FROM read_csv('{csv_path}', header = true)) TO '{target}'"
        )
        csv_path.unlink()
    lab_schema = pq.read_schema(table_path(root, "labevents", ".parquet"))
    assert str(lab_schema.field("valuenum").type) == "double"
    assert str(lab_schema.field("hadm_id").type) == "int64"
    report_pq = extract_events(root, tmp_path / "pq", max_events=None)
    csv_root = build_root(tmp_path / "again")
    report_csv = extract_events(csv_root, tmp_path / "csv", max_events=None)
    for name in ("events.parquet", "stays.parquet"):
        assert pq.read_table(tmp_path / "pq" / name).equals(pq.read_table(tmp_path / "csv" / name))
    assert {i["format"] for i in report_pq["inputs"].values()} == {"parquet"}
    assert {k: v for k, v in report_pq.items() if k != "inputs"} == {
        k: v for k, v in report_csv.items() if k != "inputs"
    }


def test_same_input_gives_identical_files(root: Path, tmp_path: Path) -> None:
    extract_events(root, tmp_path / "a", max_events=3, threads=2)
    extract_events(root, tmp_path / "b", max_events=3, threads=2)
    for name in ("events.parquet", "stays.parquet", "extract_report.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_missing_table_is_named_and_nothing_is_written(root: Path, tmp_path: Path) -> None:
    table_path(root, "d_labitems").unlink()
    before = _entries(tmp_path)
    with pytest.raises(MissingTableError, match=r"hosp/d_labitems.*d_labitems\.csv\.gz"):
        extract_events(root, tmp_path / "out")
    assert _entries(tmp_path) == before


def test_missing_column_names_file_and_column(root: Path, tmp_path: Path) -> None:
    columns = tuple(c for c in COLUMNS["procedureevents"] if c != "ORIGINALAMOUNT")
    write_table(root, "procedureevents", base_tables()["procedureevents"], columns)
    before = _entries(tmp_path)
    with pytest.raises(MissingColumnError, match=r"procedureevents\.csv\.gz.*'ORIGINALAMOUNT'"):
        extract_events(root, tmp_path / "out")
    assert _entries(tmp_path) == before


def test_unparseable_time_column_is_an_error_and_keeps_old_output(root: Path, tmp_path: Path
                                                                  ) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("kept")
    rows = base_tables()["labevents"]
    for row in rows:
        row["charttime"] = "01/02/2150 10am"
    write_table(root, "labevents", rows)
    with pytest.raises(UnparseableColumnError, match=r"labevents\.csv\.gz.*'charttime'"):
        extract_events(root, out)
    assert _entries(out) == ["previous.txt"]
    assert _entries(tmp_path) == ["mimic", "out"]


def test_duplicate_stay_id_is_an_error(root: Path, tmp_path: Path) -> None:
    tables = base_tables()
    tables["icustays"].append(dict(tables["icustays"][0]))
    write_table(root, "icustays", tables["icustays"])
    with pytest.raises(DuplicateKeyError, match=r"icustays\.csv\.gz.*'stay_id'.*value 10"):
        extract_events(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()
