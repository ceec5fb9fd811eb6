"""Embedding cache writer with a stand-in encoder; augmentation determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from clinssl.data.ppg_augment import AugmentConfig, augment_rows
from clinssl.data.ppg_embeddings import write_embedding_cache


class MeanStd:
    """Stand-in frozen encoder: (mean, std, max) of each window."""

    dim = 3

    def encode(self, windows: np.ndarray) -> np.ndarray:
        return np.stack([windows.mean(1), windows.std(1), windows.max(1)], 1).astype(np.float32)


def test_cache_is_row_aligned_and_independent_of_batch_size(tmp_path) -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(23, 1250)).astype(np.float32)
    table = pd.DataFrame(
        {"subject_id": ["a"] * 23, "record": ["r"] * 23, "window_index": np.arange(23)}
    )
    meta_a = write_embedding_cache(MeanStd(), windows, table, tmp_path / "a", 5, AugmentConfig(), 1)
    write_embedding_cache(MeanStd(), windows, table, tmp_path / "b", 64, AugmentConfig(), 1)
    for name in ("z.npy", "z_aug.npy", "next_index.npy"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    z = np.load(tmp_path / "a/z.npy")
    np.testing.assert_allclose(z, MeanStd().encode(windows), rtol=1e-6)
    nxt = np.load(tmp_path / "a/next_index.npy")
    assert nxt[:-1].tolist() == list(range(1, 23)) and nxt[-1] == -1
    assert meta_a["n_windows"] == 23 and meta_a["dim"] == 3
    json.dumps(meta_a)


def test_augmentation_is_plausible_and_seeded() -> None:
    t = np.arange(1250) / 125.0
    x = np.sin(2 * np.pi * 1.2 * t)[None, :].astype(np.float32)
    a = augment_rows(x, np.array([7]), 125.0, AugmentConfig(), seed=3)
    b = augment_rows(x, np.array([7]), 125.0, AugmentConfig(), seed=3)
    c = augment_rows(x, np.array([8]), 125.0, AugmentConfig(), seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, x)
    assert np.corrcoef(np.roll(a[0], 0), x[0])[0, 1] > 0.5  # still the same pulse train
