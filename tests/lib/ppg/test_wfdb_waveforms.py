"""WFDB PPG reading: MIMIC-III multi-segment variable layout, MIMIC-IV FLAC at 2 samples/frame."""

from __future__ import annotations

import numpy as np
import pytest
from ppg_standins import partial_wfdb_download

from clinssl.io.wfdb import (
    NoPPGChannel,
    SegmentSpec,
    WFDBFormatError,
    iter_ppg_windows,
    list_records,
    subject_of,
    write_mimic3_record,
    write_mimic4_record,
    write_records_file,
)

L = 1250


def _mimic3(root):
    rng = np.random.default_rng(0)
    ppg1, ppg2 = rng.normal(size=2 * L), rng.normal(size=2 * L + 300)
    segs = [
        SegmentSpec(2 * L, {"PLETH": ppg1, "II": rng.normal(size=2 * L)}),
        SegmentSpec(L, None),  # gap
        SegmentSpec(L, {"II": rng.normal(size=L), "ABP": 80 + rng.normal(size=L)}),  # no PLETH
        SegmentSpec(2 * L + 300, {"PLETH": ppg2, "ABP": 80 + rng.normal(size=2 * L + 300)}),
    ]
    sub = root / "p00" / "p000020"
    write_mimic3_record(sub, "p000020-2183-04-28-17-47", "3544749", segs)
    write_mimic3_record(sub, "p000020-2183-05-01-00-00", "3544750",
                        [SegmentSpec(L, {"II": rng.normal(size=L)})])  # fmt: skip
    write_records_file(sub, ["p000020-2183-04-28-17-47", "p000020-2183-05-01-00-00", "p000020-x n"])
    write_records_file(root, ["p00/p000020/"])
    return ppg1, ppg2


def test_mimic3_windows_follow_the_record_timeline(tmp_path) -> None:
    ppg1, ppg2 = _mimic3(tmp_path)
    records = list_records(tmp_path)
    assert [r.name for r in records][:2] == ["p000020-2183-04-28-17-47", "p000020-2183-05-01-00-00"]
    assert subject_of(records[0]) == "p000020"
    fs, windows, _ = iter_ppg_windows(records[0], ["PLETH"], 125.0, block_windows=1)
    windows = list(windows)
    assert fs == 125.0
    assert [w.index for w in windows] == list(range(6))  # partial last window dropped
    assert [w.start_time for w in windows] == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    nan_share = [float(np.isnan(w.signal).mean()) for w in windows]
    assert nan_share == [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]  # gap, then segment without PLETH
    np.testing.assert_allclose(windows[1].signal, ppg1[L:], atol=1e-3)
    np.testing.assert_allclose(windows[4].signal, ppg2[:L], atol=1e-3)
    segments = [w.segment for w in windows]
    assert segments == ["3544749_0001", "3544749_0001", "~", "3544749_0002", "3544749_0003",
                        "3544749_0003"]  # fmt: skip


def test_record_without_ppg_is_a_typed_exclusion(tmp_path) -> None:
    _mimic3(tmp_path)
    record = list_records(tmp_path)[1]
    with pytest.raises(NoPPGChannel, match=r"p000020-2183-05-01-00-00.*no PPG channel"):
        iter_ppg_windows(record, ["PLETH"], 125.0)


def test_mimic4_pleth_keeps_125_hz_with_two_samples_per_frame(tmp_path) -> None:
    n_frames = 62 * 25
    t = np.arange(2 * n_frames) / 124.945
    pleth = np.sin(2 * np.pi * 1.2 * t)
    rec_dir = tmp_path / "waves" / "p100" / "p10014354" / "81739927"
    write_mimic4_record(rec_dir, "81739927",
                        {"II": np.zeros(4 * n_frames), "Pleth": pleth}, {"II": 4, "Pleth": 2})  # fmt: skip
    assert " 516" in (rec_dir / "81739927.hea").read_text()  # FLAC
    write_records_file(tmp_path, ["waves/p100/p10014354/81739927/"])
    (record,) = list_records(tmp_path)
    assert subject_of(record) == "p10014354"
    fs, windows, _ = iter_ppg_windows(record, ["Pleth", "PLETH"], 125.0)
    windows = list(windows)
    assert fs == pytest.approx(124.945, abs=1e-3)  # not the 62.47 Hz of smooth_frames=True
    assert len(windows) == int(2 * n_frames / (10 * fs))
    w = windows[1]
    start = int(round(10 * fs))
    np.testing.assert_allclose(w.signal[:100], pleth[start : start + 100], atol=2e-3)


def test_unexpected_sampling_rate_is_named(tmp_path) -> None:
    _mimic3(tmp_path)
    with pytest.raises(WFDBFormatError, match=r"sampled at 125 Hz.*expects 250"):
        iter_ppg_windows(list_records(tmp_path)[0], ["PLETH"], 250.0)


def test_missing_records_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="RECORDS"):
        list_records(tmp_path)


def test_truncated_signal_file_is_named(tmp_path) -> None:
    """A .dat cut short (an interrupted download) names the record and what to do."""
    _mimic3(tmp_path)
    record = list_records(tmp_path)[0]
    dat = sorted(record.parent.glob("3544749_0003.dat"))  # the last segment (PLETH)
    assert dat, sorted(p.name for p in record.parent.iterdir())
    dat[0].write_bytes(dat[0].read_bytes()[:1000])
    fs, windows, _ = iter_ppg_windows(record, ["PLETH"], 125.0, block_windows=1)
    with pytest.raises(WFDBFormatError, match=r"p000020/3544749_0003: samples .* truncated"):
        list(windows)


def test_partial_download_reads_the_segments_that_exist(tmp_path) -> None:
    record, ppg = partial_wfdb_download(tmp_path)
    fs, windows, missing = iter_ppg_windows(record, ["PLETH"], 125.0, block_windows=1)
    windows = list(windows)
    assert fs == 125.0 and missing == ["3269321_0001", "3269321_0003", "3269321_0004"]
    assert len(windows) == 6  # the record's timeline is kept: one window per segment
    present = {1: ppg[1], 5: ppg[4]}  # timeline positions of the downloaded segments
    for k, w in enumerate(windows):
        if k in present:
            np.testing.assert_allclose(w.signal, present[k], atol=2e-3)  # 16-bit ADC
        else:
            assert np.isnan(w.signal).all(), k
    assert windows[5].segment == "3269321_0005" and windows[2].segment == "~"


def test_partial_download_strict_or_empty_is_a_named_error(tmp_path) -> None:
    record, _ = partial_wfdb_download(tmp_path)
    with pytest.raises(WFDBFormatError, match=r"3 segment\(s\) .* missing .*3269321_0001"):
        iter_ppg_windows(record, ["PLETH"], 125.0, strict=True)
    for name in ("3269321_0002", "3269321_0005"):
        (record.parent / f"{name}.dat").unlink()  # header without its signal file
    with pytest.raises(WFDBFormatError, match=r"none of its 5 data segments is on disk"):
        iter_ppg_windows(record, ["PLETH"], 125.0)
