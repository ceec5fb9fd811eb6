"""The synthetic MIMIC-IV generator: the table contract, the written layout, determinism, the
planted quirks at their rates, and a planted mortality signal that the files really carry.

The truth is checked against the written CSVs by an independent route (pandas joins on
subject and time, the risk formula recomputed by hand), not against the generator's own
internals."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from clinssl.events import synthetic
from clinssl.events.synthetic import (
    MIMIC4CohortConfig,
    SyntheticMIMICError,
    generate_mimic4,
    planted_risk,
    write_mimic4,
)
from clinssl.events.tables import (
    EVENT_TYPES,
    TABLES,
    MIMICTableError,
    MissingTableError,
    table_path,
)

SMALL = MIMIC4CohortConfig(n_stays=500, n_patients=400, seed=3)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TIME_COLUMNS = {
    "admissions": ("admittime", "dischtime", "deathtime", "edregtime", "edouttime"),
    "icustays": ("intime", "outtime"),
    "prescriptions": ("starttime", "stoptime"),
    "labevents": ("charttime", "storetime"),
    "microbiologyevents": ("chartdate", "charttime", "storedate", "storetime"),
    "procedureevents": ("starttime", "endtime", "storetime"),
    "ingredientevents": ("starttime", "endtime", "storetime"),
}
VASOPRESSORS = ("Norepinephrine", "Vasopressin", "Epinephrine", "Phenylephrine")


def _read(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / TABLES[name].path, dtype=str, keep_default_na=False)


def _time(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.replace("", None), format=TIME_FORMAT)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("mimic4") / "export"
    truth = write_mimic4(SMALL, root)
    return root, truth


@pytest.fixture(scope="module")
def tables(export: tuple[Path, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: _read(export[0], name) for name in TABLES}


@pytest.fixture(scope="module")
def stays(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    icu = tables["icustays"]
    return pd.DataFrame(
        {
            "subject_id": icu["subject_id"].astype(int),
            "stay_id": icu["stay_id"].astype(int),
            "hadm_id": icu["hadm_id"].astype(int),
            "intime": _time(icu["intime"]),
            "outtime": _time(icu["outtime"]),
        }
    )


def _attach_by_time(events: pd.DataFrame, time: pd.Series, stays: pd.DataFrame) -> pd.DataFrame:
    """Rows joined to every stay of their subject whose [intime, outtime] holds their time
    (the stay's ids keep their names; an event's own hadm_id/stay_id get ``_event``)."""
    frame = events.assign(
        _row=np.arange(len(events)), _t=time.to_numpy(), subject_id=events["subject_id"].astype(int)
    )
    joined = frame.merge(stays, on="subject_id", suffixes=("_event", ""))
    inside = (joined["_t"] >= joined["intime"]) & (joined["_t"] <= joined["outtime"])
    return joined[inside]


# ------------------------------------------------------------------------------------------
# the contract
# ------------------------------------------------------------------------------------------


def test_contract_lists_the_release_columns_in_order() -> None:
    assert list(TABLES) == [
        "patients",
        "admissions",
        "icustays",
        "prescriptions",
        "labevents",
        "d_labitems",
        "microbiologyevents",
        "procedureevents",
        "ingredientevents",
        "d_items",
    ]
    assert TABLES["labevents"].path == "hosp/labevents.csv.gz"
    assert TABLES["d_items"].path == "icu/d_items.csv.gz"
    assert TABLES["icustays"].columns == (
        "subject_id",
        "hadm_id",
        "stay_id",
        "first_careunit",
        "last_careunit",
        "intime",
        "outtime",
        "los",
    )
    assert TABLES["d_labitems"].columns == ("itemid", "label", "fluid", "category")
    assert TABLES["procedureevents"].columns[-2:] == ("ORIGINALAMOUNT", "ORIGINALRATE")
    assert TABLES["ingredientevents"].columns[-2:] == ("originalamount", "originalrate")
    assert len(TABLES["microbiologyevents"].columns) == 25
    assert len(TABLES["prescriptions"].columns) == 21
    assert len(TABLES["admissions"].columns) == 16
    assert EVENT_TYPES == ("prescription", "procedure", "lab", "microbiology", "ingredient")


def test_table_path_prefers_csv_gz_then_parquet_and_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "hosp").mkdir()
    (tmp_path / "hosp" / "labevents.parquet").write_bytes(b"")
    assert table_path(tmp_path, "labevents") == tmp_path / "hosp" / "labevents.parquet"
    (tmp_path / "hosp" / "labevents.csv.gz").write_bytes(b"")
    assert table_path(tmp_path, "hosp/labevents") == tmp_path / "hosp" / "labevents.csv.gz"
    assert table_path(tmp_path, "labevents", ext="parquet").suffix == ".parquet"
    with pytest.raises(MissingTableError, match=r"icu/icustays.*icustays\.csv\.gz") as err:
        table_path(tmp_path, "icustays")
    assert isinstance(err.value, ValueError) and isinstance(err.value, FileNotFoundError)
    with pytest.raises(MIMICTableError, match="unknown MIMIC-IV table 'chartevents'"):
        table_path(tmp_path, "chartevents")
    with pytest.raises(MIMICTableError, match="unknown"):
        table_path(tmp_path, "icu/labevents")


# ------------------------------------------------------------------------------------------
# layout and determinism
# ------------------------------------------------------------------------------------------


def test_every_written_table_has_exactly_the_contracted_columns(
    export: tuple[Path, pd.DataFrame], tables: dict[str, pd.DataFrame]
) -> None:
    root, truth = export
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(
        [spec.path for spec in TABLES.values()] + ["truth.parquet"]
    )
    for name, frame in tables.items():
        assert table_path(root, name) == root / TABLES[name].path
        assert tuple(frame.columns) == TABLES[name].columns, name
        assert len(frame) > 0, name
        for literal in ("nan", "NaN", "NaT", "<NA>"):
            assert not frame.isin([literal]).to_numpy().any(), (name, literal)
        # "None" is a real unit of the release (point procedures), never a missing value
        others = frame.drop(columns=["valueuom", "unitname"], errors="ignore")
        assert not others.isin(["None"]).to_numpy().any(), name
    assert len(tables["icustays"]) == SMALL.n_stays == len(truth)
    assert tables["patients"]["subject_id"].nunique() == SMALL.n_patients
    assert tables["icustays"]["stay_id"].is_unique and tables["admissions"]["hadm_id"].is_unique
    assert tables["labevents"]["labevent_id"].astype(int).tolist() == list(
        range(1, len(tables["labevents"]) + 1)
    )


def test_same_config_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    tiny = MIMIC4CohortConfig(n_stays=80, n_patients=60, seed=5)
    write_mimic4(tiny, tmp_path / "first")
    write_mimic4(tiny, tmp_path / "again")
    paths = [spec.path for spec in TABLES.values()] + ["truth.parquet"]
    for path in paths:
        assert (tmp_path / "first" / path).read_bytes() == (tmp_path / "again" / path).read_bytes()
    header = (tmp_path / "first" / TABLES["labevents"].path).read_bytes()[:10]
    assert header[3] == 0 and header[4:8] == b"\x00\x00\x00\x00"  # no file name, mtime 0
    other = MIMIC4CohortConfig(n_stays=80, n_patients=60, seed=6)
    write_mimic4(other, tmp_path / "other")
    for path in paths:
        if path.endswith(("d_labitems.csv.gz", "d_items.csv.gz")):
            continue  # the dictionaries do not depend on the config seed
        assert (tmp_path / "first" / path).read_bytes() != (tmp_path / "other" / path).read_bytes()
    with gzip.open(tmp_path / "first" / TABLES["patients"].path, "rt") as fh:
        assert fh.readline().rstrip("\n") == ",".join(TABLES["patients"].columns)


def test_timestamps_use_the_release_format_in_shifted_years(
    tables: dict[str, pd.DataFrame],
) -> None:
    for name, columns in TIME_COLUMNS.items():
        for column in columns:
            values = tables[name][column]
            filled = values[values != ""]
            assert len(filled) > 0, (name, column)
            parsed = pd.to_datetime(filled, format=TIME_FORMAT)  # raises on any other layout
            assert parsed.dt.year.between(2150, 2200).all(), (name, column)
            assert (parsed.dt.second == 0).all()
    micro = tables["microbiologyevents"]
    assert (pd.to_datetime(micro["chartdate"], format=TIME_FORMAT).dt.hour == 0).all()
    dod = tables["patients"]["dod"]
    assert pd.to_datetime(dod[dod != ""], format="%Y-%m-%d").dt.year.between(2150, 2200).all()
    anchor = tables["patients"]["anchor_age"].astype(int)
    assert anchor.between(18, 91).all() and not anchor.isin([89, 90]).any()


# ------------------------------------------------------------------------------------------
# quirks
# ------------------------------------------------------------------------------------------


def test_lab_quirks_at_their_rates(tables: dict[str, pd.DataFrame], stays: pd.DataFrame) -> None:
    labs = tables["labevents"]
    attached = _attach_by_time(labs, _time(labs["charttime"]), stays)
    in_window = np.zeros(len(labs), dtype=bool)
    in_window[attached["_row"].to_numpy()] = True
    no_hadm = (labs["hadm_id"] == "").to_numpy()
    assert not (no_hadm & ~in_window).any()  # an empty hadm_id row still lies inside a stay
    assert abs(no_hadm[in_window].mean() - SMALL.lab_missing_hadm_rate) < 0.005
    attached_hadm = attached[attached["hadm_id_event"] != ""]
    assert (attached_hadm["hadm_id_event"].astype(int) == attached_hadm["hadm_id"]).all()
    placeholder = labs["value"] == "___"
    assert abs(placeholder.mean() - SMALL.lab_placeholder_value_rate) < 0.005
    assert pd.to_numeric(labs.loc[placeholder, "valuenum"]).notna().all()
    d_labitems = tables["d_labitems"]
    unlabeled = d_labitems.loc[d_labitems["label"] == "", "itemid"]
    assert len(unlabeled) == SMALL.n_unlabeled_lab_items
    assert labs["itemid"].isin(unlabeled).sum() > 0
    assert set(labs["itemid"]) <= set(d_labitems["itemid"])
    flagged = labs[(labs["flag"] == "abnormal") & (labs["ref_range_upper"] != "")]
    outside = (flagged["valuenum"].astype(float) < flagged["ref_range_lower"].astype(float)) | (
        flagged["valuenum"].astype(float) > flagged["ref_range_upper"].astype(float)
    )
    assert outside.all() and len(flagged) > 0


def test_other_quirks_at_their_rates(
    tables: dict[str, pd.DataFrame], stays: pd.DataFrame, export: tuple[Path, pd.DataFrame]
) -> None:
    truth = export[1]
    rx = tables["prescriptions"]
    reversed_rx = _time(rx["stoptime"]) < _time(rx["starttime"])
    assert abs(reversed_rx.mean() - SMALL.prescription_stop_before_start_rate) < 0.004
    micro = tables["microbiologyevents"]
    specimens = micro.groupby("micro_specimen_id").agg(
        date_only=("charttime", lambda c: (c == "").all()),
        positive_blood=("org_name", lambda o: (o != "").any()),
        blood=("spec_type_desc", "first"),
    )
    assert abs(specimens["date_only"].mean() - SMALL.micro_date_only_rate) < 0.01
    positive_blood = specimens["positive_blood"] & (specimens["blood"] == "BLOOD CULTURE")
    assert positive_blood.sum() > 0 and not (specimens["date_only"] & positive_blood).any()
    assert (micro["chartdate"] != "").all()
    adm = tables["admissions"].assign(hadm_id=lambda f: f["hadm_id"].astype(int))
    starts = stays.merge(adm[["hadm_id", "admittime"]], on="hadm_id")
    early = starts["intime"] < _time(starts["admittime"])
    assert early.sum() == round(SMALL.intime_before_admittime_rate * SMALL.n_stays)
    assert set(starts.loc[early, "stay_id"]) == set(
        truth.loc[truth["intime_before_admittime"], "stay_id"]
    )


def test_empty_stays_have_no_event_in_any_source(
    tables: dict[str, pd.DataFrame], stays: pd.DataFrame, export: tuple[Path, pd.DataFrame]
) -> None:
    truth = export[1]
    seen: set[int] = set()
    for name, column in (
        ("labevents", "charttime"),
        ("prescriptions", "starttime"),
        ("microbiologyevents", "charttime"),
    ):
        frame = tables[name][tables[name][column] != ""]
        seen |= set(_attach_by_time(frame, _time(frame[column]), stays)["stay_id"])
    for name in ("procedureevents", "ingredientevents"):
        seen |= set(tables[name]["stay_id"].astype(int))
    empty = set(stays["stay_id"]) - seen
    assert len(empty) == round(SMALL.empty_stay_rate * SMALL.n_stays)
    assert empty == set(truth.loc[truth["empty_stay"], "stay_id"])
    assert (truth.loc[truth["empty_stay"], "n_events"] == 0).all()


def test_stay_bound_rows_lie_in_their_stay_except_the_planted_ones(
    tables: dict[str, pd.DataFrame], stays: pd.DataFrame, export: tuple[Path, pd.DataFrame]
) -> None:
    truth = export[1].set_index("stay_id")
    outside_per_stay = pd.Series(0, index=truth.index)
    for name in ("procedureevents", "ingredientevents"):
        frame = tables[name].assign(stay_id=lambda f: f["stay_id"].astype(int))
        joined = frame.merge(stays, on="stay_id", suffixes=("", "_stay"))
        assert len(joined) == len(frame)  # every row names a real stay
        assert (joined["subject_id"].astype(int) == joined["subject_id_stay"]).all()
        start, end = _time(joined["starttime"]), _time(joined["endtime"])
        inside = (start >= joined["intime"]) & (start <= joined["outtime"])
        assert (end[inside] <= joined.loc[inside, "outtime"]).all()
        assert (end >= start).all()
        counts = joined.loc[~inside, "stay_id"].value_counts()
        outside_per_stay = outside_per_stay.add(counts, fill_value=0)
        benign = (frame["itemid"] != "225792").sum()  # invasive ventilation is never moved out
        assert (~inside).sum() == round(SMALL.icu_outside_window_rate * benign) > 0
        away = np.maximum(
            (joined["intime"] - start).dt.total_seconds(),
            (start - joined["outtime"]).dt.total_seconds(),
        )[~inside]
        assert (away <= 180 * 60).all()  # planted just outside: 5-180 min
    outside_per_stay = outside_per_stay.reindex(truth.index).astype(int)
    assert (outside_per_stay == truth["n_outside_window_icu_rows"]).all()
    ventilation = tables["procedureevents"]["itemid"] == "225792"
    assert ventilation.sum() == truth["n_ventilation"].sum()  # risk rows are never moved out


def test_hospital_rows_outside_every_stay_are_the_planted_ones(
    tables: dict[str, pd.DataFrame], stays: pd.DataFrame, export: tuple[Path, pd.DataFrame]
) -> None:
    truth = export[1]
    icu_hadm = set(stays["hadm_id"])
    n_outside, n_non_icu = 0, 0
    for name, column in (("labevents", "charttime"), ("prescriptions", "starttime")):
        frame = tables[name]
        attached = _attach_by_time(frame, _time(frame[column]), stays)
        assert attached["_row"].is_unique  # stays of one subject never overlap
        outside = ~np.isin(np.arange(len(frame)), attached["_row"].to_numpy())
        hadm = frame.loc[outside, "hadm_id"].astype(int)
        n_outside += int(outside.sum())
        n_non_icu += int((~hadm.isin(icu_hadm)).sum())
    assert n_non_icu > 0
    assert n_outside == truth["n_outside_window_hosp_rows"].sum() + n_non_icu
    assert truth["n_outside_window_hosp_rows"].gt(0).mean() > 0.3


# ------------------------------------------------------------------------------------------
# planted mortality
# ------------------------------------------------------------------------------------------


def test_planted_risk_by_hand() -> None:
    cfg = MIMIC4CohortConfig()
    nan = math.nan
    risk = planted_risk(
        {
            "vasopressor": [100.0, 2000.0, nan, 1440.0],
            "high_lactate": [nan, 1440.0, 1441.0, nan],
            "positive_blood_culture": [nan, nan, nan, 5.0],
            "ventilation": [nan, nan, 3000.0, nan],
        },
        cfg,
    )
    # weights 1.2, 1.5, 1.0, 0.9; early events (> 1440 min before the end) count 0.35
    np.testing.assert_allclose(risk, [1.2, 0.42 + 1.5, 0.525 + 0.315, 1.2 + 1.0])
    with pytest.raises(SyntheticMIMICError, match="unknown risk sources"):
        planted_risk({"sofa": [1.0]})


def test_truth_is_what_the_written_tables_show(
    tables: dict[str, pd.DataFrame], stays: pd.DataFrame, export: tuple[Path, pd.DataFrame]
) -> None:
    truth = export[1].set_index("stay_id")
    minutes_to_end: dict[str, pd.Series] = {}
    counts: dict[str, pd.Series] = {}

    def collect(source: str, rows: pd.DataFrame, time: pd.Series, key: str | None = None) -> None:
        attached = _attach_by_time(rows, time, stays)
        if key is not None:
            attached = attached.drop_duplicates(["stay_id", key])
        minutes = (attached["outtime"] - attached["_t"]).dt.total_seconds() / 60
        minutes_to_end[source] = minutes.groupby(attached["stay_id"]).min()
        counts[source] = attached.groupby("stay_id").size()

    rx = tables["prescriptions"]
    vaso = rx[rx["drug"].isin(VASOPRESSORS)]
    collect("vasopressor", vaso, _time(vaso["starttime"]))
    labs = tables["labevents"]
    high = labs[(labs["itemid"] == "50813") & (labs["valuenum"].astype(float) > 4.0)]
    collect("high_lactate", high, _time(high["charttime"]))
    micro = tables["microbiologyevents"]
    positive = micro[(micro["spec_type_desc"] == "BLOOD CULTURE") & (micro["org_name"] != "")]
    collect("positive_blood_culture", positive, _time(positive["charttime"]), "micro_specimen_id")
    proc = tables["procedureevents"]
    vent = proc[proc["itemid"] == "225792"]
    collect("ventilation", vent, _time(vent["starttime"]))

    index = truth.index
    recomputed = {s: minutes_to_end[s].reindex(index).to_numpy() for s in minutes_to_end}
    for source, column in (
        ("vasopressor", "n_vasopressor"),
        ("high_lactate", "n_high_lactate"),
        ("positive_blood_culture", "n_positive_blood_culture"),
        ("ventilation", "n_ventilation"),
    ):
        np.testing.assert_array_equal(counts[source].reindex(index, fill_value=0), truth[column])
        np.testing.assert_allclose(recomputed[source], truth[f"last_{source}_minutes_to_end"])
    # the risk formula, written out by hand (weights and 0.35 for events > 24 h before the end)
    weights = {
        "vasopressor": 1.2,
        "high_lactate": 1.5,
        "positive_blood_culture": 1.0,
        "ventilation": 0.9,
    }
    by_hand = sum(
        np.where(np.isnan(m), 0.0, np.where(m <= 1440, 1.0, 0.35)) * weights[s]
        for s, m in recomputed.items()
    )
    np.testing.assert_allclose(by_hand, truth["risk"].to_numpy())
    assert (truth["ventilated"] == (truth["n_ventilation"] > 0)).all()
    has_any = truth["risk_event_types"] != ""
    assert (has_any == truth["last_risk_event_minutes_to_end"].notna()).all()
    assert (
        truth.loc[truth["n_vasopressor"] > 0, "risk_event_types"].str.contains("vasopressor").all()
    )


def test_death_is_consistent_across_admissions_patients_and_stays(
    tables: dict[str, pd.DataFrame], stays: pd.DataFrame, export: tuple[Path, pd.DataFrame]
) -> None:
    truth = export[1]
    adm = tables["admissions"].assign(hadm_id=lambda f: f["hadm_id"].astype(int))
    joined = stays.merge(adm, on="hadm_id", suffixes=("", "_adm")).merge(
        truth[["stay_id", "died", "death_location"]], on="stay_id"
    )
    assert (joined["hospital_expire_flag"].astype(int) == joined["died"]).all()
    dead = joined[joined["died"] == 1]
    death = _time(dead["deathtime"])
    after = (death - dead["outtime"]).dt.total_seconds() / 3600
    icu = (dead["death_location"] == "icu").to_numpy()
    assert (after[icu] == 0).all() and after[~icu].between(6, 96).all()
    assert (dead["discharge_location"] == "DIED").all()
    assert (dead["dischtime"] == dead["deathtime"]).all()
    assert (joined.loc[joined["died"] == 0, "deathtime"] == "").all()
    patients = tables["patients"].assign(subject_id=lambda f: f["subject_id"].astype(int))
    dod = dead.merge(patients, on="subject_id")
    assert (dod["dod"] == dod["deathtime"].str[:10]).all()
    # a patient dies at most once, in their last stay
    last_intime = stays.groupby("subject_id")["intime"].max()
    assert (dead.set_index("subject_id")["intime"] == last_intime.reindex(dead["subject_id"])).all()
    survivors_with_dod = set(patients.loc[patients["dod"] != "", "subject_id"]) - set(
        dead["subject_id"]
    )
    assert len(survivors_with_dod) > 0  # dod alone is not death in hospital


@pytest.fixture(scope="module")
def default_truth() -> pd.DataFrame:
    return generate_mimic4(MIMIC4CohortConfig(seed=11)).truth


def test_default_cohort_size_mortality_and_event_counts(default_truth: pd.DataFrame) -> None:
    truth = default_truth
    assert len(truth) == 1500 and truth["subject_id"].nunique() == 1200
    assert 0.10 <= truth["died"].mean() <= 0.25
    n_events = truth.loc[~truth["empty_stay"], "n_events"]
    assert 30 <= n_events.median() <= 110 and n_events.min() >= 10 and n_events.max() <= 300


def test_planted_risk_separates_deaths_but_not_perfectly(default_truth: pd.DataFrame) -> None:
    truth = default_truth
    died = truth["died"].to_numpy()
    x = truth[["risk"]].to_numpy()
    model = LogisticRegression().fit(x, died)
    auroc = roc_auc_score(died, model.predict_proba(x)[:, 1])
    assert 0.8 <= auroc < 0.99
    assert model.coef_[0, 0] > 0
    alive, dead = truth[truth["died"] == 0], truth[truth["died"] == 1]
    for column in ("n_vasopressor", "n_high_lactate", "n_positive_blood_culture", "ventilated"):
        p_dead, p_alive = (dead[column] > 0).mean(), (alive[column] > 0).mean()
        assert p_dead > 1.5 * p_alive and p_alive > 0.03, column  # survivors carry them too
    # the same event counts more near the end: among stays with a risk event, deaths have
    # their last one closer to the end of the stay
    with_event = truth[truth["risk_event_types"] != ""]
    late = with_event["last_risk_event_minutes_to_end"] <= 1440
    assert late[with_event["died"] == 1].mean() > late[with_event["died"] == 0].mean() + 0.15


def test_bad_config_and_unsafe_root_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SyntheticMIMICError, match="n_patients <= n_stays"):
        MIMIC4CohortConfig(n_stays=10, n_patients=20)
    with pytest.raises(ValueError, match="lab_missing_hadm_rate: expected a rate"):
        MIMIC4CohortConfig(lab_missing_hadm_rate=1.5)
    root = tmp_path / "data"
    root.mkdir()
    (root / "notes.txt").write_text("keep me")
    with pytest.raises(SyntheticMIMICError, match=r"notes\.txt"):
        write_mimic4(MIMIC4CohortConfig(n_stays=20, n_patients=15), root)
    assert (root / "notes.txt").read_text() == "keep me"


def test_a_failed_write_leaves_no_partial_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Path] = []
    real = synthetic._write_csv_gz

    def fail_on_third(frame: pd.DataFrame, path: Path) -> None:
        if len(written) == 2:
            raise OSError("disk full")
        written.append(path)
        real(frame, path)

    monkeypatch.setattr(synthetic, "_write_csv_gz", fail_on_third)
    with pytest.raises(OSError, match="disk full"):
        write_mimic4(MIMIC4CohortConfig(n_stays=30, n_patients=25), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_tiny_cohort_still_writes_every_table_with_every_column(tmp_path: Path) -> None:
    write_mimic4(MIMIC4CohortConfig(n_stays=1, n_patients=1, seed=2), tmp_path / "tiny")
    for name, spec in TABLES.items():
        frame = _read(tmp_path / "tiny", name)
        assert tuple(frame.columns) == spec.columns, name
    assert len(_read(tmp_path / "tiny", "microbiologyevents")) == 0  # none drawn for this seed
