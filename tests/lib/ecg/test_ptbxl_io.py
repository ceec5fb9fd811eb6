"""PTB-XL layout: the fast writer against wfdb, header and table validation, label
aggregation as the benchmark does it, and load_ptbxl's outputs (clinssl.ecg.io.ptbxl)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from clinssl.ecg.io.ptbxl import (
    DATABASE_COLUMNS,
    DATABASE_FILE,
    SCP_COLUMNS,
    STATEMENTS_FILE,
    LoadOptions,
    PTBXLFormatError,
    check_header,
    load_ptbxl,
    read_database,
    read_record_fast,
    read_scp_statements,
    record_path,
    superclass_labels,
    write_record,
)
from clinssl.ecg.names import LEADS, SUPERCLASSES
from clinssl.ecg.synthetic import PTBXLCohortConfig, write_ptbxl_corpus

WFDB_KW = {
    "units": ["mV"] * 12,
    "sig_name": list(LEADS),
    "fmt": ["16"] * 12,
    "adc_gain": [1000.0] * 12,
    "baseline": [0] * 12,
}


def _signal(seed: int = 0, n: int = 1000, dtype=np.float64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.6, size=(n, 12)).astype(dtype)
    # exact half-µV values exercise the rounding rule (half to even, as numpy/wfdb)
    x[:4, 0] = [0.0005, -0.0005, 0.0015, -0.0025]
    x[7, 3] = np.nan
    return x


# ------------------------------------------------------------------------------- writer


def test_record_path_layout() -> None:
    assert record_path(1, 100) == "records100/00000/00001_lr"
    assert record_path(15513, 500) == "records500/15000/15513_hr"
    assert record_path(21837, 100) == "records100/21000/21837_lr"
    with pytest.raises(ValueError):
        record_path(1, 250)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_writer_is_byte_identical_to_wfdb_wrsamp(tmp_path: Path, dtype) -> None:
    x = _signal(dtype=dtype)
    ref, ours = tmp_path / "wfdb", tmp_path / "ours"
    ref.mkdir()
    wfdb.wrsamp("00001_lr", fs=100, p_signal=x.copy(), write_dir=str(ref), **WFDB_KW)
    write_record(ours, "records100/00000/00001_lr", x, 100)
    for ext in ("hea", "dat"):
        a = (ref / f"00001_lr.{ext}").read_bytes()
        b = (ours / "records100/00000" / f"00001_lr.{ext}").read_bytes()
        assert a == b, ext
    header = (ours / "records100/00000/00001_lr.hea").read_text()
    assert header.splitlines()[0] == "00001_lr 12 100 1000"
    assert header.splitlines()[1].startswith("00001_lr.dat 16 1000.0(0)/mV 16 0 ")


def test_rdsamp_reads_the_written_record_within_half_a_microvolt(tmp_path: Path) -> None:
    x = _signal(seed=3, n=5000)
    write_record(tmp_path, "records500/00000/00042_hr", x, 500)
    signal, fields = wfdb.rdsamp(str(tmp_path / "records500/00000/00042_hr"))
    assert signal.shape == (5000, 12)
    assert fields["fs"] == 500 and fields["sig_name"] == list(LEADS)
    assert fields["units"] == ["mV"] * 12
    ok = ~np.isnan(x)
    assert np.max(np.abs(signal[ok] - x[ok])) <= 0.5e-3 + 1e-12
    assert np.isnan(signal[7, 3])
    fast = read_record_fast(tmp_path, "records500/00000/00042_hr", 500, 5000)
    assert fast.dtype == np.float32 and fast.shape == (5000, 12)
    np.testing.assert_allclose(fast[ok], signal[ok], atol=1e-6)
    assert np.isnan(fast[7, 3])


def test_writer_rejects_out_of_range_and_leaves_no_half_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = _signal()
    x[10, 6] = 40.0  # beyond ±32.767 mV
    with pytest.raises(ValueError, match="V1"):
        write_record(tmp_path, "r/00001_lr", x, 100)
    import clinssl.ecg.io.ptbxl as ptbxl

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # a writer killed between the .dat and the .hea

    monkeypatch.setattr(ptbxl, "header_text", boom)
    with pytest.raises(KeyboardInterrupt):
        write_record(tmp_path, "r/00002_lr", _signal(), 100)
    leftovers = sorted(p.name for p in (tmp_path / "r").iterdir())
    # no header (the file a reader starts from) and no temporary files
    assert leftovers == ["00002_lr.dat"]


# ------------------------------------------------------------------------------- headers


def _header(tmp_path: Path) -> Path:
    write_record(tmp_path, "h/00001_lr", _signal(), 100)
    return tmp_path / "h/00001_lr.hea"


def test_check_header_returns_gain_and_baseline(tmp_path: Path) -> None:
    gain, baseline = check_header(_header(tmp_path), 100, 1000)
    assert gain.shape == (12,) and np.all(gain == 1000.0)
    assert np.all(baseline == 0.0)


def test_check_header_accepts_mixed_case_augmented_leads(tmp_path: Path) -> None:
    hea = _header(tmp_path)
    text = hea.read_text().replace(" AVR\n", " aVR\n").replace(" AVL\n", " aVL\n")
    hea.write_text(text.replace(" AVF\n", " aVF\n"))
    check_header(hea, 100, 1000)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("00001_lr 12 100 1000", "00001_lr 12 500 1000", "fs"),
        ("00001_lr 12 100 1000", "00001_lr 12 100 5000", "sig_len"),
        ("00001_lr 12 100 1000", "00001_lr 11 100 1000", "n_sig"),
        (" AVL\n", " V1\n", "lead name"),
        ("(0)/mV 16 0 ", "(0)/uV 16 0 ", "units"),
        ("00001_lr.dat 16 1000.0", "00001_lr.dat 212 1000.0", "fmt"),
    ],
)
def test_check_header_names_the_wrong_field(tmp_path: Path, old: str, new: str, field) -> None:
    hea = _header(tmp_path)
    hea.write_text(hea.read_text().replace(old, new))
    with pytest.raises(PTBXLFormatError, match=f"field '{field}'") as err:
        check_header(hea, 100, 1000)
    assert str(hea) in str(err.value)


def test_read_record_fast_truncated_and_missing(tmp_path: Path) -> None:
    write_record(tmp_path, "records100/00000/00001_lr", _signal(), 100)
    dat = tmp_path / "records100/00000/00001_lr.dat"
    dat.write_bytes(dat.read_bytes()[:-100])
    with pytest.raises(PTBXLFormatError, match="truncated") as err:
        read_record_fast(tmp_path, "records100/00000/00001_lr", 100, 1000)
    assert str(dat) in str(err.value)
    with pytest.raises(PTBXLFormatError, match=r"ecg_id 7: field 'filename_lr'"):
        read_record_fast(tmp_path, "records100/00000/00007_lr", 100, 1000, ecg_id=7)
    with pytest.raises(PTBXLFormatError, match=r"field 'filename_hr'"):
        read_record_fast(tmp_path, "records500/00000/00007_hr", 500, 5000, ecg_id=7)


def test_read_record_fast_checksum(tmp_path: Path) -> None:
    write_record(tmp_path, "c/00001_lr", _signal(), 100)
    read_record_fast(tmp_path, "c/00001_lr", 100, 1000, verify_checksum=True)
    dat = tmp_path / "c/00001_lr.dat"
    raw = bytearray(dat.read_bytes())
    raw[200] ^= 0x10
    dat.write_bytes(bytes(raw))
    with pytest.raises(PTBXLFormatError, match="field 'checksum'"):
        read_record_fast(tmp_path, "c/00001_lr", 100, 1000, verify_checksum=True)


# ------------------------------------------------------------------------------- tables


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic PTB-XL root (40 records) that tests copy before changing."""
    root = tmp_path_factory.mktemp("ptbxl") / "root"
    write_ptbxl_corpus(PTBXLCohortConfig(n_records=40, n_patients=32, seed=5), root)
    return root


@pytest.fixture
def root(corpus: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "root"
    shutil.copytree(corpus, dest)
    return dest


def _edit_database(root: Path, edit) -> None:
    path = root / DATABASE_FILE
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = edit(df)
    df.to_csv(path, index=False)


def test_read_database_types_and_age_code(root: Path) -> None:
    def set_ages(df):
        df.loc[0, "age"] = "300.0"
        df.loc[1, "age"] = ""
        return df

    _edit_database(root, set_ages)
    db = read_database(root)
    assert db.index.name == "ecg_id" and db.index.dtype == np.int64
    assert list(db.columns[: len(DATABASE_COLUMNS) - 1]) == list(DATABASE_COLUMNS[1:])
    assert db["patient_id"].dtype == float and db["age"].dtype == float
    first = db.index[0]
    assert db.loc[first, "age"] == 300.0  # stored value kept
    assert db.loc[first, "age_years"] == 90.0 and db.loc[first, "age_over_89"]
    assert np.isnan(db.loc[db.index[1], "age_years"]) and not db.loc[db.index[1], "age_over_89"]
    assert all(isinstance(c, dict) for c in db["scp_codes"])
    assert db["strat_fold"].between(1, 10).all()


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_read_database_column_mismatch(root: Path, change: str) -> None:
    if change == "missing":
        _edit_database(root, lambda df: df.drop(columns="heart_axis"))
    else:
        _edit_database(root, lambda df: df.assign(comment="x"))
    with pytest.raises(PTBXLFormatError) as err:
        read_database(root)
    msg = str(err.value)
    assert DATABASE_FILE in msg
    assert ("heart_axis" if change == "missing" else "comment") in msg


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("{'NORM': 100.0", "not a Python dict literal"),
        ("__import__('os').system('true')", "not a Python dict literal"),
        ("['NORM']", "expected a dict"),
        ("{'NORM': 'high'}", "expected a number"),
    ],
)
def test_read_database_bad_scp_codes(root: Path, value: str, match: str) -> None:
    def corrupt(df):
        df.loc[2, "scp_codes"] = value
        return df

    _edit_database(root, corrupt)
    ecg_id = pd.read_csv(root / DATABASE_FILE)["ecg_id"].iloc[2]
    with pytest.raises(PTBXLFormatError, match=match) as err:
        read_database(root)
    assert f"ecg_id {ecg_id}: field 'scp_codes'" in str(err.value)
    assert DATABASE_FILE in str(err.value)


@pytest.mark.parametrize(("column", "value"), [("strat_fold", "11"), ("strat_fold", "2.5"),
                                                ("sex", "2"), ("patient_id", "")])  # fmt: skip
def test_read_database_bad_fields(root: Path, column: str, value: str) -> None:
    def corrupt(df):
        df.loc[3, column] = value
        return df

    _edit_database(root, corrupt)
    with pytest.raises(PTBXLFormatError, match=f"field '{column}'"):
        read_database(root)


def test_read_scp_statements_header(root: Path) -> None:
    statements = read_scp_statements(root)
    assert statements.loc["NORM", "diagnostic_class"] == "NORM"
    assert statements.loc["NST_", "diagnostic_subclass"] == "NST_"
    path = root / STATEMENTS_FILE
    text = path.read_text()
    path.write_text(text.replace(",description,", "code,description,", 1))
    with pytest.raises(PTBXLFormatError, match=STATEMENTS_FILE):
        read_scp_statements(root)
    path.write_text(text.replace(",DICOM Code", ",DICOM", 1))
    with pytest.raises(PTBXLFormatError, match="DICOM Code"):
        read_scp_statements(root)
    assert SCP_COLUMNS[0] == "" and len(SCP_COLUMNS) == 13


# ------------------------------------------------------------------------------- labels


def test_superclass_labels_like_the_benchmark(root: Path) -> None:
    st = read_scp_statements(root)
    # likelihood ignored: a statement with likelihood 0 still counts; form/rhythm codes don't
    assert superclass_labels({"IMI": 0.0, "SR": 0.0, "ABQRS": 0.0}, st, None) == {"MI"}
    assert superclass_labels({"NORM": 80.0, "LVOLT": 0.0, "SR": 0.0}, st, None) == {"NORM"}
    codes = {"IMI": 15.0, "NDT": 100.0, "CRBBB": 50.0, "LVH": 0.0}
    assert superclass_labels(codes, st, None) == {"MI", "STTC", "CD", "HYP"}
    assert superclass_labels(codes, st, 50.0) == {"STTC", "CD"}
    assert superclass_labels(codes, st, 100.0) == {"STTC"}
    assert superclass_labels({"SR": 0.0}, st, None) == set()


def test_superclass_labels_unknown_code(root: Path) -> None:
    st = read_scp_statements(root)
    with pytest.raises(PTBXLFormatError, match=r"ecg_id 12: .*'XYZ'"):
        superclass_labels({"XYZ": 100.0, "NORM": 100.0}, st, None, ecg_id=12)
    counter: Counter = Counter()
    labels = superclass_labels(
        {"XYZ": 100.0, "NORM": 100.0}, st, None, unknown_codes="count", counter=counter
    )
    assert labels == {"NORM"} and counter == {"XYZ": 1}


# ------------------------------------------------------------------------------- loading


def _outputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return out / "signals.npy", out / "meta.parquet", out / "load_report.json"


def test_load_ptbxl_outputs(root: Path, tmp_path: Path) -> None:
    # one record with only a rhythm code: dropped and counted
    def no_diagnostic(df):
        df.loc[5, "scp_codes"] = "{'SR': 0.0}"
        df.loc[6, "scp_codes"] = "{'AFIB': 100.0, 'ABQRS': 0.0}"
        return df

    _edit_database(root, no_diagnostic)
    db = read_database(root)
    truth = pd.read_parquet(root / "truth.parquet")
    dropped = set(truth.loc[truth["no_diagnostic"], "ecg_id"]) | set(db.index[[5, 6]])
    expected_dropped = len(dropped)
    sig, meta_path, rep = _outputs(tmp_path)
    report = load_ptbxl(root, sig, meta_path, rep, LoadOptions())
    n = len(db) - expected_dropped
    x = np.load(sig)
    assert x.shape == (n, 12, 1000) and x.dtype == np.float32
    meta = pd.read_parquet(meta_path)
    assert list(meta.columns) == [
        "ecg_id", "patient_id", "age", "age_over_89", "sex", "strat_fold", "split",
        *SUPERCLASSES, "filename",
    ]  # fmt: skip
    assert meta["ecg_id"].is_monotonic_increasing
    assert meta["patient_id"].dtype == np.int64 and meta["age"].dtype == np.float64
    assert meta["age_over_89"].dtype == bool
    assert set(meta["sex"]) <= {0, 1}
    for cls in SUPERCLASSES:
        assert meta[cls].dtype == np.int8
    assert (meta[list(SUPERCLASSES)].sum(axis=1) >= 1).all()
    split = meta["strat_fold"].map(lambda f: "train" if f <= 8 else ("val" if f == 9 else "test"))
    assert (meta["split"] == split).all()
    # signal row i is the record of meta row i
    i = len(meta) // 2
    ref = read_record_fast(root, meta["filename"].iloc[i], 100, 1000)
    np.testing.assert_array_equal(x[i], ref.T)
    on_disk = json.loads(rep.read_text())
    assert on_disk == json.loads(json.dumps(report))
    assert report["n_database"] == len(db) and report["n_loaded"] == n
    assert report["dropped_no_diagnostic"] == expected_dropped
    assert report["excluded_missing_records"]["count"] == 0
    assert report["unknown_codes"] == {}
    assert report["rate"] == 100 and report["n_samples"] == 1000
    per_split = report["class_counts"]
    assert sum(per_split[s]["n"] for s in ("train", "val", "test")) == n
    assert sum(per_split[s]["MI"] for s in per_split) == int(meta["MI"].sum())


def test_load_ptbxl_other_folds_and_min_likelihood(root: Path, tmp_path: Path) -> None:
    opts = LoadOptions(train_folds=(1, 2, 3, 4, 5, 6), val_folds=(7, 8), test_folds=(9, 10))
    sig, meta_path, rep = _outputs(tmp_path)
    load_ptbxl(root, sig, meta_path, rep, opts)
    meta = pd.read_parquet(meta_path)
    assert set(meta.loc[meta["strat_fold"].isin([7, 8]), "split"]) <= {"val"}
    assert set(meta.loc[meta["strat_fold"] >= 9, "split"]) <= {"test"}
    strict = load_ptbxl(root, sig, meta_path, rep, LoadOptions(min_likelihood=100.0))
    loose = json.loads(json.dumps(load_ptbxl(root, sig, meta_path, rep, LoadOptions())))
    assert strict["n_loaded"] <= loose["n_loaded"]
    with pytest.raises(ValueError, match="exactly once"):
        LoadOptions(train_folds=(1, 2), val_folds=(9,), test_folds=(10,))


def test_load_ptbxl_unknown_codes(root: Path, tmp_path: Path) -> None:
    def add_unknown(df):
        df.loc[4, "scp_codes"] = df.loc[4, "scp_codes"].replace("}", ", 'XYZ': 0.0}")
        return df

    _edit_database(root, add_unknown)
    sig, meta_path, rep = _outputs(tmp_path)
    with pytest.raises(PTBXLFormatError, match="'XYZ'"):
        load_ptbxl(root, sig, meta_path, rep, LoadOptions())
    assert not any(sig.parent.iterdir())
    report = load_ptbxl(root, sig, meta_path, rep, LoadOptions(unknown_codes="count"))
    assert report["unknown_codes"] == {"XYZ": 1}


def test_load_ptbxl_missing_records(root: Path, tmp_path: Path) -> None:
    meta0 = pd.read_parquet(root / "truth.parquet")
    victim = int(meta0.loc[~meta0["no_diagnostic"], "ecg_id"].iloc[3])
    name = record_path(victim, 100)
    (root / f"{name}.dat").unlink()
    sig, meta_path, rep = _outputs(tmp_path)
    with pytest.raises(PTBXLFormatError, match=rf"ecg_id {victim}: field 'filename_lr'"):
        load_ptbxl(root, sig, meta_path, rep, LoadOptions())
    assert not any(sig.parent.iterdir())
    report = load_ptbxl(root, sig, meta_path, rep, LoadOptions(missing_records="count"))
    assert report["excluded_missing_records"] == {
        "count": 1,
        "examples": [{"ecg_id": victim, "filename": name}],
    }
    assert victim not in set(pd.read_parquet(meta_path)["ecg_id"])
    # records500 is not written by default: at 500 Hz every record points nowhere
    with pytest.raises(PTBXLFormatError, match="field 'filename_hr'"):
        load_ptbxl(root, sig, meta_path, rep, LoadOptions(rate=500))


def test_load_ptbxl_leaves_no_output_after_an_error(root: Path, tmp_path: Path) -> None:
    truth = pd.read_parquet(root / "truth.parquet")
    # a truncated record late in the order: the error comes while signals are being written
    victim = int(truth.loc[~truth["no_diagnostic"], "ecg_id"].iloc[-2])
    dat = root / f"{record_path(victim, 100)}.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    sig, meta_path, rep = _outputs(tmp_path)
    for threads in (1, 2):
        with pytest.raises(PTBXLFormatError, match="truncated") as err:
            load_ptbxl(root, sig, meta_path, rep, LoadOptions(threads=threads))
        assert str(dat) in str(err.value)
        assert list(sig.parent.iterdir()) == []
