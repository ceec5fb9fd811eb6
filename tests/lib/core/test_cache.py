"""The embedding-cache contract: what the PPG writer produces, the reader opens; every broken
part is named with its file and field."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clinssl.cache import EmbeddingCacheError, EmbeddingCacheFiles, read_embedding_cache
from clinssl.ppg.augment import AugmentConfig
from clinssl.ppg.embeddings import write_embedding_cache


class _Mean:
    dim = 2

    def encode(self, windows) -> np.ndarray:
        w = np.asarray(windows)
        return np.stack([w.mean(1), w.std(1)], 1).astype(np.float32)


@pytest.fixture
def cache_files(tmp_path) -> EmbeddingCacheFiles:
    windows = np.random.default_rng(0).normal(size=(9, 1250)).astype(np.float32)
    table = pd.DataFrame({"subject_id": ["a"] * 5 + ["b"] * 4, "record": ["r"] * 5 + ["s"] * 4,
                          "window_index": [0, 1, 2, 3, 4, 0, 1, 2, 3]})  # fmt: skip
    files = EmbeddingCacheFiles.under(tmp_path / "cache")
    meta = write_embedding_cache(_Mean(), windows, table, files, 4, AugmentConfig(), 0)
    files.meta.write_text(json.dumps({**meta, "encoder": "mean"}))
    return files


def test_reader_opens_what_the_writer_wrote(cache_files) -> None:
    cache = read_embedding_cache(cache_files)
    assert cache.dim == 2 and cache.z.shape == cache.z_aug.shape == (9, 2)
    rows, nxt = cache.successors()
    assert rows.tolist() == [0, 1, 2, 3, 5, 6, 7] and nxt.tolist() == [1, 2, 3, 4, 6, 7, 8]
    assert cache.meta["encoder"] == "mean"
    assert set(cache_files.as_dict()) == {"z", "z_aug", "next_index", "meta"}


@pytest.mark.parametrize(
    ("field", "corrupt", "message"),
    [
        ("z_aug", lambda p: np.save(p, np.zeros((8, 2), np.float32)), "z_aug shape"),
        ("z", lambda p: np.save(p, np.zeros((9, 2), np.float64)), "must be float32"),
        ("next_index", lambda p: np.save(p, np.full(9, 9, np.int64)), "row 0 holds 9"),
        ("next_index", lambda p: p.write_bytes(b"garbage"), "not a readable .npy"),
        ("meta", lambda p: p.write_text('{"n_windows": 9, "dim": 3, "encoder": "x"}'), "'dim'"),
        ("meta", lambda p: p.write_text('{"n_windows": 9, "dim": 2}'), "'encoder' is missing"),
        ("z", lambda p: p.unlink(), "missing"),
    ],
)
def test_broken_parts_are_named(cache_files, field, corrupt, message) -> None:
    path = getattr(cache_files, field)
    corrupt(path)
    with pytest.raises(EmbeddingCacheError, match=message) as err:
        read_embedding_cache(cache_files)
    assert str(path) in str(err.value)
