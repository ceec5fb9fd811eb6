"""Window store: contract, chunk-size independence, labels, successor index, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ppg_standins import partial_wfdb_download

from clinssl.io.signal import fill_nan
from clinssl.io.wfdb import WFDBFormatError
from clinssl.ppg.qc import QCThresholds
from clinssl.ppg.synthetic import PPGCohortConfig, write_pulsedb_corpus
from clinssl.ppg.windows import (
    WindowStoreError,
    build_window_store,
    load_labels,
    open_windows,
    read_windows_table,
    successor_index,
    to_target_rate,
)

SPLITS = {"train": 0.6, "val": 0.2, "test": 0.2}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("pulsedb")
    cfg = PPGCohortConfig(n_subjects=10, windows_per_subject=6, seed=2, nan_fraction=0.1)
    truth = write_pulsedb_corpus(cfg, root, subset_subjects=2)
    truth.to_parquet(root / "truth.parquet")
    return root, truth


def _build(root, out, chunk_size, labels=True):
    cols = ["pvc", "htn"] if labels else []
    lab = load_labels(root / "truth.parquet", cols) if labels else None
    return build_window_store({"format": "pulsedb", "root": str(root)}, out / "w.npy",
                              out / "w.parquet", QCThresholds(), SPLITS, seed=1, labels=lab,
                              label_columns=cols, chunk_size=chunk_size)  # fmt: skip


def test_store_is_independent_of_chunk_size(corpus, tmp_path) -> None:
    root, truth = corpus
    rep_a = _build(root, tmp_path / "a", chunk_size=7)
    rep_b = _build(root, tmp_path / "b", chunk_size=1000)
    assert (tmp_path / "a/w.npy").read_bytes() == (tmp_path / "b/w.npy").read_bytes()
    a, b = pd.read_parquet(tmp_path / "a/w.parquet"), pd.read_parquet(tmp_path / "b/w.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert rep_a["flag_counts"] == rep_b["flag_counts"]
    w = open_windows(tmp_path / "a/w.npy")
    t = read_windows_table(tmp_path / "a/w.parquet", len(w))
    assert w.shape == (len(truth), 1250) and isinstance(w, np.memmap)
    assert t[["subject_id", "record", "window_index"]].merge(truth).shape[0] == len(t)
    assert not list(tmp_path.glob("a/.*tmp"))  # temporary files removed


def test_labels_table_must_have_the_keys_and_columns(corpus, tmp_path) -> None:
    root, truth = corpus
    truth.drop(columns=["window_index"]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(WindowStoreError, match=r"bad\.parquet.*window_index"):
        load_labels(tmp_path / "bad.parquet", ["pvc"])
    with pytest.raises(WindowStoreError, match=r"no_such_label"):
        load_labels(root / "truth.parquet", ["no_such_label"])


def test_empty_dataset_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "Segment_Files").mkdir()
    with pytest.raises(FileNotFoundError, match="Segment_Files"):
        _build(tmp_path, tmp_path / "out", 10, labels=False)
    assert not (tmp_path / "out/w.npy").exists()


def test_reader_rejects_a_broken_contract(tmp_path) -> None:
    np.save(tmp_path / "w.npy", np.zeros((3, 1000), dtype=np.float32))
    with pytest.raises(WindowStoreError, match=r"w\.npy.*\(N, 1250\)"):
        open_windows(tmp_path / "w.npy")
    pd.DataFrame({"subject_id": ["a"]}).to_parquet(tmp_path / "w.parquet")
    with pytest.raises(WindowStoreError, match="missing column"):
        read_windows_table(tmp_path / "w.parquet")


def test_resampling_and_nan_filling() -> None:
    t = np.arange(2500) / 250.0
    x = np.sin(2 * np.pi * 1.5 * t)[None, :]
    y = to_target_rate(x, 250.0)
    assert y.shape == (1, 1250) and y.dtype == np.float32
    ref = np.sin(2 * np.pi * 1.5 * np.arange(1250) / 125.0)
    assert np.abs(y[0, 50:-50] - ref[50:-50]).max() < 0.02
    gappy = np.array([[1.0, np.nan, 3.0, np.nan], [np.nan] * 4])
    np.testing.assert_allclose(fill_nan(gappy), [[1, 2, 3, 3], [0, 0, 0, 0]])


def test_successor_index_respects_records_and_gaps() -> None:
    table = pd.DataFrame({"subject_id": ["a"] * 5 + ["b"], "record": ["r1", "r1", "r1", "r2", "r2", "r1"],
                          "window_index": [0, 1, 3, 0, 1, 0]})  # fmt: skip
    assert successor_index(table).tolist() == [1, -1, -1, 4, -1, -1]


def test_windows_without_a_label_row_get_nan(corpus, tmp_path) -> None:
    root, truth = corpus
    partial = truth[truth["window_index"] % 2 == 0]
    partial.to_parquet(tmp_path / "partial.parquet")
    labels = load_labels(tmp_path / "partial.parquet", ["pvc"])
    build_window_store({"format": "pulsedb", "root": str(root)}, tmp_path / "w.npy",
                       tmp_path / "w.parquet", QCThresholds(), SPLITS, seed=1, labels=labels,
                       label_columns=["pvc"])  # fmt: skip
    table = pd.read_parquet(tmp_path / "w.parquet")
    even = table["window_index"] % 2 == 0
    assert table.loc[~even, "pvc"].isna().all() and table.loc[even, "pvc"].notna().all()
    assert table["pvc"].dtype == np.float64


def test_store_from_subset_files(corpus, tmp_path) -> None:
    root, truth = corpus
    spec = {"format": "pulsedb", "root": str(root), "subset_files": ["AAMI_Test"]}
    report = build_window_store(spec, tmp_path / "w.npy", tmp_path / "w.parquet", QCThresholds(),
                                SPLITS, seed=1, chunk_size=5)  # fmt: skip
    table = read_windows_table(tmp_path / "w.parquet")
    first_two = truth[truth["subject_id"].isin(sorted(truth["subject_id"].unique())[:2])]
    assert report["n_windows"] == len(table) == len(first_two)
    assert set(table["subject_id"]) == set(first_two["subject_id"])
    assert (table.groupby("subject_id")["window_index"].min() == 0).all()


def _segment_corpus(root, signals):
    from clinssl.ppg.io.pulsedb import write_segment_file

    path = root / "Segment_Files" / "PulseDB_MIMIC" / "p000042.mat"
    path.parent.mkdir(parents=True)
    n = signals.shape[0]
    write_segment_file(path, "p000042", ["2150-01-01-00-00"] * n, list(range(1, n + 1)),
                       signals, signals, age=55.0, sex="F", fs=125.0)  # fmt: skip
    return root


def test_all_nan_windows_are_counted_exclusions(tmp_path) -> None:
    t = np.arange(1250) / 125.0
    x = np.tile(np.sin(2 * np.pi * 1.2 * t) + 2.0, (5, 1))
    x[[1, 3]] = np.nan  # no sample at all in windows 2 and 4
    x[4, :100] = np.nan  # a partial gap stays (flagged by its nan_fraction)
    root = _segment_corpus(tmp_path / "raw", x)
    report = build_window_store({"format": "pulsedb", "root": str(root)}, tmp_path / "w.npy",
                                tmp_path / "w.parquet", QCThresholds(), SPLITS, seed=0)  # fmt: skip
    assert report["windows_read"] == 5 and report["all_nan_excluded"] == 2
    assert report["n_windows"] == 3
    table = read_windows_table(tmp_path / "w.parquet", open_windows(tmp_path / "w.npy").shape[0])
    assert table["segment"].tolist() == ["1", "3", "5"]
    assert np.isfinite(open_windows(tmp_path / "w.npy")).all()
    assert table["nan_fraction"].tolist() == pytest.approx([0.0, 0.0, 100 / 1250])


def test_a_dataset_of_only_all_nan_windows_is_a_clear_error(tmp_path) -> None:
    root = _segment_corpus(tmp_path / "raw", np.full((3, 1250), np.nan))
    with pytest.raises(WindowStoreError, match=r"no usable PPG windows.*read 3, all-NaN 3"):
        build_window_store({"format": "pulsedb", "root": str(root)}, tmp_path / "w.npy",
                           tmp_path / "w.parquet", QCThresholds(), SPLITS, seed=0)  # fmt: skip
    assert not (tmp_path / "w.npy").exists() and not (tmp_path / "w.parquet").exists()
    assert not list(tmp_path.glob(".w.*"))  # no temporary left behind


def test_partial_wfdb_download_is_read_and_reported(tmp_path) -> None:
    """Missing segments of a selectively downloaded record: the store holds the segments
    that exist and qc_report.json counts the missing ones per record; strict fails."""

    root = tmp_path / "mimic3"
    record, _ = partial_wfdb_download(root)
    spec = {"format": "mimic3_matched", "root": str(root)}
    report = build_window_store(spec, tmp_path / "w.npy", tmp_path / "w.parquet", QCThresholds(),
                                {"train": 0.7, "val": 0.15, "test": 0.15}, seed=0)  # fmt: skip
    table = pd.read_parquet(tmp_path / "w.parquet")
    assert set(table.loc[table["qc_pass"], "segment"]) <= {"3269321_0002", "3269321_0005"}
    exclusions = report["exclusions"]
    assert exclusions["records_with_missing_segments"] == 1
    assert exclusions["missing_segments"] == 3
    key = str(record.relative_to(root))
    assert exclusions["missing_segments_examples"] == {
        key: ["3269321_0001", "3269321_0003", "3269321_0004"]
    }
    with pytest.raises(WFDBFormatError, match="3269321_0001"):
        build_window_store({**spec, "strict": True}, tmp_path / "s.npy", tmp_path / "s.parquet",
                           QCThresholds(), {"train": 0.7, "val": 0.15, "test": 0.15}, seed=0)  # fmt: skip
    assert not (tmp_path / "s.npy").exists() and not (tmp_path / "s.parquet").exists()
