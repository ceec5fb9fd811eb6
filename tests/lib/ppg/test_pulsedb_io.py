"""PulseDB v7.3 reader/writer: round trips and clear errors on bad files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from clinssl.ppg.io.pulsedb import (
    PulseDBFormatError,
    iter_subset_file,
    read_segment_file,
    write_segment_file,
    write_subset_file,
)


def _segment_file(path, n=4, samples=1250, fs=125.0):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, samples))
    write_segment_file(path, "p012345", ["2174-11-06-10-12"] * n, list(range(1, n + 1)), x, x,
                       age=63.0, sex="M", fs=fs)  # fmt: skip
    return x


def test_segment_file_round_trip_in_matlab_layout(tmp_path) -> None:
    path = tmp_path / "p012345.mat"
    x = _segment_file(path)
    assert open(path, "rb").read(19) == b"MATLAB 7.3 MAT-file"
    with h5py.File(path) as f:  # MATLAB conventions as h5py sees them
        assert f["Subj_Wins"].attrs["MATLAB_class"] == b"struct"
        assert f["Subj_Wins"]["PPG_Record"].shape == (1, 4)
        assert f[f["Subj_Wins"]["PPG_Record"][0][0]].shape == (1250, 1)
    data = read_segment_file(path, "PPG_Record")
    np.testing.assert_allclose(data.signals, x)
    assert data.meta["subject_id"].unique().tolist() == ["p012345"]
    assert data.meta["record"].iloc[0] == "2174-11-06-10-12"
    assert data.meta["segment"].tolist() == [1, 2, 3, 4]
    assert data.meta["sex"].iloc[0] == "M" and data.meta["age"].iloc[0] == 63.0
    raw = read_segment_file(path, "PPG_Raw").signals  # rescaled to [0, 1] per window
    assert np.allclose(raw.min(axis=1), 0) and np.allclose(raw.max(axis=1), 1)


def test_subset_file_streams_in_chunks(tmp_path) -> None:
    rng = np.random.default_rng(1)
    sig = rng.normal(size=(10, 3, 1250))
    subjects = ["p000001_0"] * 6 + ["p000002_1"] * 4
    write_subset_file(tmp_path / "Train_Subset.mat", sig, subjects, np.arange(10.0), ["F"] * 10)
    with h5py.File(tmp_path / "Train_Subset.mat") as f:
        assert f["Subset"]["Signals"].shape == (1250, 3, 10)  # MATLAB (N, 3, 1250) reversed
    chunks = list(iter_subset_file(tmp_path / "Train_Subset.mat", chunk_size=4))
    assert [len(c.meta) for c in chunks] == [4, 4, 2]
    got = np.concatenate([c.signals for c in chunks])
    np.testing.assert_allclose(got, sig[:, 1, :])  # PPG_F channel
    meta = np.concatenate([c.meta["source"] for c in chunks])
    assert meta.tolist() == [0] * 6 + [1] * 4


def test_v5_mat_file_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "p000001.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file, Platform: GLNXA64" + b"\0" * 200)
    with pytest.raises(PulseDBFormatError, match=r"p000001\.mat.*v7\.3.*MATLAB v5"):
        read_segment_file(path)


def test_missing_field_is_named(tmp_path) -> None:
    path = tmp_path / "p012345.mat"
    _segment_file(path)
    with h5py.File(path, "a") as f:
        del f["Subj_Wins"]["Age"]
    with pytest.raises(PulseDBFormatError, match=r"p012345\.mat.*no field 'Age'"):
        read_segment_file(path)


def test_wrong_signal_length_is_named(tmp_path) -> None:
    path = tmp_path / "p012345.mat"
    _segment_file(path, samples=1000)
    with pytest.raises(PulseDBFormatError, match=r"1000 samples.*1250"):
        read_segment_file(path)


def test_unexpected_sampling_rate_is_named(tmp_path) -> None:
    path = tmp_path / "p012345.mat"
    _segment_file(path, fs=100.0)  # T steps by 0.01 s
    with pytest.raises(PulseDBFormatError, match=r"field 'T'.*100.*expects 125"):
        read_segment_file(path)


def test_wrong_subset_shape_is_named(tmp_path) -> None:
    path = tmp_path / "Bad_Subset.mat"
    with h5py.File(path, "w") as f:
        f.create_group("Subset").create_dataset("Signals", data=np.zeros((1000, 3, 2)))
    with pytest.raises(PulseDBFormatError, match=r"Subset\.Signals.*\(1000, 3, 2\)"):
        next(iter_subset_file(path))


def test_missing_top_level_struct_is_named(tmp_path) -> None:
    path = tmp_path / "p012345.mat"
    _segment_file(path)
    with h5py.File(path, "a") as f:
        del f["Subj_Wins"]
    with pytest.raises(
        PulseDBFormatError, match=r"p012345\.mat.*missing top-level struct 'Subj_Wins'"
    ):
        read_segment_file(path)


def test_missing_subset_field_is_named(tmp_path) -> None:
    path = tmp_path / "Train_Subset.mat"
    sig = np.zeros((2, 3, 1250))
    write_subset_file(path, sig, ["p000001_0"] * 2, np.array([50.0, 50.0]), ["F", "F"])
    with h5py.File(path, "a") as f:
        del f["Subset"]["Gender"]
    with pytest.raises(
        PulseDBFormatError, match=r"Train_Subset\.mat.*'Subset' has no field 'Gender'"
    ):
        next(iter_subset_file(path))


def test_windows_of_different_lengths_are_named(tmp_path) -> None:
    path = tmp_path / "p012345.mat"
    _segment_file(path)
    with h5py.File(path, "a") as f:  # window 2's PPG_Raw target replaced by a shorter one
        ref = f["Subj_Wins"]["PPG_Raw"][0][2]
        name = f[ref].name
        del f[name]
        f.create_dataset(name, data=np.zeros((900, 1)))
    with pytest.raises(PulseDBFormatError, match=r"'PPG_Raw' window 2 has 900 samples.*1250"):
        read_segment_file(path)


def test_truncated_download_is_named(tmp_path) -> None:
    """Half a .mat (an interrupted download): one line naming the file, no h5py traceback."""
    path = tmp_path / "p012345.mat"
    _segment_file(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PulseDBFormatError, match=r"p012345\.mat: truncated or corrupt") as err:
        read_segment_file(path, "PPG_Record")
    assert "download it again" in str(err.value).lower()
    subset = tmp_path / "Subset.mat"
    x = np.random.default_rng(1).random((6, 3, 1250))
    write_subset_file(subset, x, ["p0000011"] * 6, np.full(6, 50.0), ["M"] * 6)
    data = subset.read_bytes()
    subset.write_bytes(data[: len(data) // 2])
    with pytest.raises(PulseDBFormatError, match=r"Subset\.mat: truncated or corrupt"):
        list(iter_subset_file(subset))
