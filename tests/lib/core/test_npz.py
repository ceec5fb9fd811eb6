"""The npz writer: plain zips of .npy entries in sorted order with a fixed timestamp, so two
writes of the same arrays are byte-identical; stored or deflated; no pickles."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from clinssl.utils.npz import write_npz


@pytest.mark.parametrize(("compress", "method"), [(True, zipfile.ZIP_DEFLATED), (False, zipfile.ZIP_STORED)])
def test_npz_is_reproducible_and_pickle_free(tmp_path, compress: bool, method: int) -> None:
    arrays = {"b": np.arange(3.0), "a": np.eye(2, dtype=np.float32)}
    write_npz(tmp_path / "x.npz", arrays, compress=compress)
    write_npz(tmp_path / "y.npz", dict(reversed(arrays.items())), compress=compress)
    assert (tmp_path / "x.npz").read_bytes() == (tmp_path / "y.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "x.npz") as archive:
        assert archive.namelist() == ["a.npy", "b.npy"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {info.compress_type for info in archive.infolist()} == {method}
    with np.load(tmp_path / "x.npz", allow_pickle=False) as loaded:
        np.testing.assert_array_equal(loaded["b"], np.arange(3.0))
        assert loaded["a"].dtype == np.float32


def test_object_arrays_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError):
        write_npz(tmp_path / "x.npz", {"a": np.array([{"k": 1}], dtype=object)})
    assert not (tmp_path / "x.npz").exists()
