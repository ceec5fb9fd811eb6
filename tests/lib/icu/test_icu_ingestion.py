"""Ingestion of ricu exports and YAIB cohorts: contract, content vs. planted truth, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from clinssl.icu.files import IngestFiles
from clinssl.icu.ingest import CohortError, IngestOptions, ingest, open_source
from clinssl.icu.io.ricu import RicuExportError
from clinssl.icu.io.yaib import YaibCohortError
from clinssl.icu.labels import ICU_TASKS


def _ingest(root: Path, out: Path, **opts) -> dict:
    return ingest(open_source("ricu", root), IngestFiles.under(out), IngestOptions(**opts), dataset="t")


def test_ingest_contract_and_content(small_export: Path, tmp_path: Path) -> None:
    meta = _ingest(small_export, tmp_path / "out", batch_rows=1000)
    out = tmp_path / "out"
    values = np.load(out / "values.npy", mmap_mode="r")
    mask = np.load(out / "mask.npy", mmap_mode="r")
    static = pd.read_parquet(out / "static.parquet")
    labels = pd.read_parquet(out / "labels.parquet")
    n = meta["counts"]["n_stays"]
    assert values.dtype == np.float32 and mask.dtype == bool
    assert values.shape == mask.shape == (n, 24, meta["D"]) and meta["T"] == 24
    assert np.array_equal(np.isnan(values), ~mask)
    assert list(static.columns[:6]) == ["stay_id", "patient_id", "age", "sex", "race", "los_days"]
    assert static["stay_id"].is_monotonic_increasing
    assert list(labels.columns) == ["stay_id", *ICU_TASKS]
    assert np.array_equal(labels["stay_id"], static["stay_id"])

    # values equal the export's hour-h row of that stay (spot-check against the raw parts)
    raw = pd.concat(
        pq.read_table(p).to_pandas()
        for p in sorted((small_export / "timeseries").glob("*.parquet"))
    )
    sid = int(static["stay_id"].iloc[5])
    rows = raw[(raw["stay_id"] == sid) & (raw["hour"].between(0, 23))].set_index("hour")
    j = meta["feature_names"].index("hr")
    expected = np.full(24, np.nan, dtype=np.float32)
    expected[rows.index.to_numpy()] = rows["hr"].to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(values[5, :, j], expected)
    # categoricals are encoded with the documented codes
    k = meta["feature_names"].index("avpu")
    assert set(np.unique(values[:, :, k][mask[:, :, k]])) <= {0.0, 1.0, 2.0, 3.0}
    assert meta["encodings"]["avpu"]["codes"] == {"A": 0.0, "V": 1.0, "P": 2.0, "U": 3.0}

    # cohort filters against the planted truth: exactly the stays with LOS >= 24 h
    truth = pd.read_parquet(small_export / "truth.parquet")
    long_enough = set(truth.loc[truth["los_hours"] >= 24, "stay_id"])
    assert set(static["stay_id"]) <= long_enough
    assert meta["exclusions"]["short_stay"]["count"] == len(truth) - len(long_enough)
    assert meta["exclusions"]["negative_hour_rows"]["count"] > 0  # pre-admission labs exist


def test_labels_match_planted_truth(small_export: Path, tmp_path: Path) -> None:
    _ingest(small_export, tmp_path / "out")
    labels = pd.read_parquet(tmp_path / "out" / "labels.parquet")
    truth = (
        pd.read_parquet(small_export / "truth.parquet").set_index("stay_id").loc[labels["stay_id"]]
    )
    mh = labels["mortality_hospital"].to_numpy()
    ok = ~np.isnan(mh)
    np.testing.assert_array_equal(mh[ok], truth["died_in_hospital"].to_numpy()[ok].astype(float))
    m24 = labels["mortality_24h"].to_numpy()
    exact = ~np.isnan(m24) & ~truth["death_date_only"].to_numpy()
    d = truth["death_hours"].to_numpy()[exact]
    np.testing.assert_array_equal(m24[exact], ((d >= 24) & (d < 48)).astype(float))
    aki = labels["aki_kdigo"].to_numpy()
    ok = ~np.isnan(aki)
    planted = truth["aki_planted"].to_numpy()[ok] & (truth["aki_onset_hours"].to_numpy()[ok] < 40)
    agreement = (aki[ok] == planted).mean()
    assert agreement > 0.9, agreement


def test_csv_gz_export_gives_identical_tensors(small_export: Path, tmp_path: Path) -> None:
    """The R script falls back to gzipped CSV without arrow; the reader accepts both."""
    _ingest(small_export, tmp_path / "pq")
    csv_root = tmp_path / "csv"
    (csv_root / "timeseries").mkdir(parents=True)
    (csv_root / "metadata.yaml").write_text((small_export / "metadata.yaml").read_text())
    for p in (small_export / "timeseries").glob("*.parquet"):
        pacsv.write_csv(
            pq.read_table(p),
            pa.output_stream(
                str(csv_root / "timeseries" / (p.stem + ".csv.gz")), compression="gzip"
            ),
        )
    for stem in ("stays", "mortality"):
        df = pd.read_parquet(small_export / f"{stem}.parquet")
        for col in df.select_dtypes(include=["datetimetz", "datetime"]).columns:
            df[col] = df[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")  # data.table::fwrite's format
        df.to_csv(csv_root / f"{stem}.csv.gz", index=False)
    _ingest(csv_root, tmp_path / "csv_out")
    for name in ("values.npy", "mask.npy"):
        np.testing.assert_array_equal(
            np.load(tmp_path / "pq" / name), np.load(tmp_path / "csv_out" / name)
        )
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "pq" / "labels.parquet"),
        pd.read_parquet(tmp_path / "csv_out" / "labels.parquet"),
    )


def test_ingest_is_byte_identical_on_rerun(small_export: Path, tmp_path: Path) -> None:
    _ingest(small_export, tmp_path / "a")
    _ingest(small_export, tmp_path / "b", batch_rows=1000)
    for name in ("values.npy", "mask.npy", "static.parquet", "labels.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def _rewrite_part(root: Path, fn) -> Path:
    part = sorted((root / "timeseries").glob("*.parquet"))[0]
    table = fn(pq.read_table(part))
    pq.write_table(table, part)
    return part


def test_missing_concept_column_is_named(small_export: Path, tmp_path: Path) -> None:
    part = _rewrite_part(small_export, lambda t: t.drop_columns(["hr"]))
    with pytest.raises(RicuExportError, match=rf"{part.name}.*missing column.*'hr'"):
        _ingest(small_export, tmp_path / "o")


def test_concept_without_mask_is_named(small_export: Path, tmp_path: Path) -> None:
    _rewrite_part(small_export, lambda t: t.drop_columns(["lact_mask"]))
    with pytest.raises(RicuExportError, match=r"\['lact'\] without their '<concept>_mask'"):
        _ingest(small_export, tmp_path / "o")


def test_duplicated_stay_hour_row_is_an_error(small_export: Path, tmp_path: Path) -> None:
    def dup(t: pa.Table) -> pa.Table:
        # hour 30 exists only for stays longer than 24 h, i.e. stays in the cohort
        row = t.filter(pa.compute.equal(t["hour"], 30)).slice(0, 1)
        return pa.concat_tables([t, row])

    _rewrite_part(small_export, dup)
    with pytest.raises(RicuExportError, match=r"duplicated row for stay_id \d+, hour 30"):
        _ingest(small_export, tmp_path / "o")


def test_unknown_unit_is_an_error(small_export: Path, tmp_path: Path) -> None:
    meta = yaml.safe_load((small_export / "metadata.yaml").read_text())
    meta["units"]["crea"] = "umol/L"
    (small_export / "metadata.yaml").write_text(yaml.safe_dump(meta))
    with pytest.raises(
        RicuExportError, match=r"units\['crea'\] is 'umol/L'; expected ricu's unit 'mg/dL'"
    ):
        _ingest(small_export, tmp_path / "o")


def test_stay_without_patient_id_is_an_error(small_export: Path, tmp_path: Path) -> None:
    stays = pd.read_parquet(small_export / "stays.parquet")
    stays["patient_id"] = stays["patient_id"].astype("Int64")
    stays.loc[3, "patient_id"] = pd.NA
    stays.to_parquet(small_export / "stays.parquet")
    with pytest.raises(RicuExportError, match="patient_id is missing for 1 stay"):
        _ingest(small_export, tmp_path / "o")


def test_mask_disagreeing_with_values_is_an_error(small_export: Path, tmp_path: Path) -> None:
    def flip(t: pa.Table) -> pa.Table:
        i = t.column_names.index("hr_mask")
        return t.set_column(i, "hr_mask", pa.array(np.zeros(t.num_rows, bool)))

    _rewrite_part(small_export, flip)
    with pytest.raises(RicuExportError, match="'hr' disagrees with 'hr_mask'"):
        _ingest(small_export, tmp_path / "o")


def test_unknown_category_level_is_an_error(small_export: Path, tmp_path: Path) -> None:
    def relabel(t: pa.Table) -> pa.Table:
        i = t.column_names.index("avpu")
        col = pa.compute.if_else(pa.compute.equal(t["avpu"], "A"), "Alert", t["avpu"])
        return t.set_column(i, "avpu", col)

    _rewrite_part(small_export, relabel)
    with pytest.raises(RicuExportError, match=r"'avpu' has unknown level\(s\) \['Alert'\]"):
        _ingest(small_export, tmp_path / "o")


def test_empty_cohort_after_filters_is_an_error(small_export: Path, tmp_path: Path) -> None:
    with pytest.raises(CohortError, match=r"empty cohort after filters.*short_stay="):
        _ingest(small_export, tmp_path / "o", min_stay_hours=10_000)
    assert not (tmp_path / "o" / "values.npy").exists()


def test_min_observations_excludes_and_counts(small_export: Path, tmp_path: Path) -> None:
    base = _ingest(small_export, tmp_path / "a")
    mask = np.load(tmp_path / "a" / "mask.npy")
    counts = mask.reshape(len(mask), -1).sum(axis=1)
    threshold = int(np.median(counts))
    meta = _ingest(small_export, tmp_path / "b", min_observations=threshold)
    assert meta["counts"]["n_stays"] == int((counts >= threshold).sum())
    assert (
        meta["exclusions"]["too_few_observations"]["count"]
        == base["counts"]["n_stays"] - meta["counts"]["n_stays"]
    )
    assert (
        json.loads((tmp_path / "b" / "metadata.json").read_text())["counts"]["n_stays"]
        == meta["counts"]["n_stays"]
    )


def test_yaib_cohort_in_yaib_dtypes(small_export_master: Path, tmp_path: Path) -> None:
    root = small_export_master / "yaib" / "mortality24" / "synthetic"
    dyn = pq.read_schema(root / "dyn.parquet")
    assert dyn.field("stay_id").type == pa.int32()
    assert pa.types.is_duration(dyn.field("time").type)
    assert all(dyn.field(c).type == pa.float64() for c in dyn.names[2:])
    assert pq.read_schema(root / "sta.parquet").field("sex").type in (
        pa.string(),
        pa.large_string(),
    )
    meta = ingest(open_source("yaib", root, "mortality24"), IngestFiles.under(tmp_path / "y"), dataset="y")
    labels = pd.read_parquet(tmp_path / "y" / "labels.parquet")
    outc = pd.read_parquet(root / "outc.parquet")
    merged = labels.merge(outc, on="stay_id")
    np.testing.assert_array_equal(merged["mortality_hospital"], merged["label"].astype(float))
    assert labels["aki_kdigo"].isna().all()
    values = np.load(tmp_path / "y" / "values.npy")
    assert values.shape[1:] == (24, meta["D"]) and meta["patient_level"] is False
    static = pd.read_parquet(tmp_path / "y" / "static.parquet")
    assert (static["patient_id"] == static["stay_id"]).all() and set(static["sex"]) <= {"M", "F"}
    # YAIB's rows from hour 24 on (one per stay) are counted, not dropped silently
    hours = pd.read_parquet(root / "dyn.parquet", columns=["stay_id", "time"])
    stays = pd.read_parquet(root / "sta.parquet", columns=["stay_id"])  # a YAIB cohort's candidates
    late = hours[(hours["time"] >= pd.Timedelta(hours=24)) & hours["stay_id"].isin(stays["stay_id"])]
    assert len(late) > 0
    assert meta["exclusions"]["rows_after_input_window"] == {
        "count": len(late), "unit": "rows", "why": meta["exclusions"]["rows_after_input_window"]["why"]}


def test_yaib_hourly_aki_labels(small_export_master: Path, tmp_path: Path) -> None:
    root = small_export_master / "yaib" / "aki" / "synthetic"
    ingest(open_source("yaib", root, "aki"), IngestFiles.under(tmp_path / "y"))
    labels = pd.read_parquet(tmp_path / "y" / "labels.parquet").set_index("stay_id")
    truth = pd.read_parquet(small_export_master / "ricu" / "truth.parquet").set_index("stay_id")
    onset = truth.loc[labels.index, "aki_onset_hours"]
    lab = labels["aki_kdigo"]
    # the hourly label is 1 from hour ceil(onset - 6): already positive before hour 24 (then
    # missing) iff onset <= 29; otherwise positive in hours [24, 48) iff onset <= 53
    assert lab[onset <= 29].isna().all()
    assert (lab[(onset > 29) & (onset <= 53) & lab.notna()] == 1).all()
    assert (lab[onset.isna() & lab.notna()] == 0).all()


def test_yaib_bad_input(small_export_master: Path, tmp_path: Path) -> None:
    with pytest.raises(YaibCohortError, match="missing dyn.parquet"):
        open_source("yaib", tmp_path, "mortality24")
    with pytest.raises(ValueError, match="'task' is required"):
        open_source("yaib", tmp_path, None)
    src = small_export_master / "yaib" / "mortality24" / "synthetic"
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("dyn", "outc"):
        (bad / f"{name}.parquet").write_bytes((src / f"{name}.parquet").read_bytes())
    sta = pd.read_parquet(src / "sta.parquet")
    sta.loc[0, "sex"] = "X"
    sta.to_parquet(bad / "sta.parquet")
    with pytest.raises(YaibCohortError, match=r"column 'sex' has value\(s\) \['x'\]"):
        ingest(open_source("yaib", bad, "mortality24"), IngestFiles.under(tmp_path / "o"))


def test_missing_stays_column_is_named(small_export: Path, tmp_path: Path) -> None:
    stays = pd.read_parquet(small_export / "stays.parquet").drop(columns=["los_days"])
    stays.to_parquet(small_export / "stays.parquet")
    with pytest.raises(RicuExportError, match=r"stays.parquet: missing column\(s\) \['los_days'\]"):
        _ingest(small_export, tmp_path / "o")


def test_string_patient_ids_split_by_patient(small_export: Path, tmp_path: Path) -> None:
    """eICU's patient id (uniquepid) is text; the cohort and splits handle it."""
    from clinssl.io.splits import patient_level_split

    stays = pd.read_parquet(small_export / "stays.parquet")
    stays["patient_id"] = "002-" + stays["patient_id"].astype(str)
    stays.to_parquet(small_export / "stays.parquet")
    _ingest(small_export, tmp_path / "o")
    static = pd.read_parquet(tmp_path / "o" / "static.parquet")
    assert static["patient_id"].str.startswith("002-").all()
    splits = patient_level_split(static, seed=4)
    assert (splits.groupby("patient_id")["split"].nunique() == 1).all()


def test_garbage_timeseries_part_is_named(small_export: Path, tmp_path: Path) -> None:
    part = sorted((small_export / "timeseries").glob("part_*.parquet"))[0]
    part.write_bytes(b"this is not a parquet file at all" * 10)
    with pytest.raises(RicuExportError, match=rf"{part.name}: not a readable parquet file"):
        _ingest(small_export, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_python_tag_in_metadata_yaml_is_refused_and_named(small_export: Path, tmp_path: Path) -> None:
    meta = small_export / "metadata.yaml"
    meta.write_text("!!python/object/apply:os.system ['touch pwned']\n" + meta.read_text())
    with pytest.raises(RicuExportError, match=r"metadata\.yaml: not plain YAML"):
        _ingest(small_export, tmp_path / "out")
    assert not (Path.cwd() / "pwned").exists()


def test_yaib_garbage_file_is_named(tmp_path: Path) -> None:
    root = tmp_path / "yaib"
    root.mkdir()
    for name in ("dyn", "sta", "outc"):
        (root / f"{name}.parquet").write_bytes(b"garbage" * 20)
    with pytest.raises(YaibCohortError, match=r"dyn\.parquet: not a readable parquet file"):
        open_source("yaib", root, "mortality24")
