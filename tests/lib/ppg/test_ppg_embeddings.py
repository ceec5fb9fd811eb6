"""Embedding cache writer with a stand-in encoder; augmentation determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clinssl.cache import EmbeddingCacheFiles
from clinssl.ppg.augment import AugmentConfig, augment_rows
from clinssl.ppg.embeddings import write_embedding_cache


class MeanStd:
    """Stand-in frozen encoder: (mean, std, max) of each window (NumPy array or CPU tensor,
    as ``FrozenEncoder.encode`` receives)."""

    dim = 3

    def encode(self, windows) -> np.ndarray:
        windows = np.asarray(windows)
        return np.stack([windows.mean(1), windows.std(1), windows.max(1)], 1).astype(np.float32)


def test_cache_is_row_aligned_and_independent_of_batch_size(tmp_path) -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(23, 1250)).astype(np.float32)
    table = pd.DataFrame(
        {"subject_id": ["a"] * 23, "record": ["r"] * 23, "window_index": np.arange(23)}
    )
    meta_a = write_embedding_cache(MeanStd(), windows, table, EmbeddingCacheFiles.under(tmp_path / "a"), 5, AugmentConfig(), 1)
    write_embedding_cache(MeanStd(), windows, table, EmbeddingCacheFiles.under(tmp_path / "b"), 64, AugmentConfig(), 1)
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


# --- batched augmentation vs. the per-window semantics (see clinssl.ppg.augment) -------

_M32 = 0xFFFFFFFF


def _lowbias32(x: int) -> int:
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & _M32
    return x ^ (x >> 16)


def _ref_uniforms(key: int, slot: int, n: int) -> np.ndarray:
    stream = _lowbias32((key + slot * 0x9E3779B9) & _M32)
    h = [_lowbias32(stream ^ _lowbias32(j)) for j in range(n)]
    return (np.array(h, dtype=np.float64) // 256 + 0.5) * 2.0**-24


def _ref_normals(key: int, slot: int, n: int) -> np.ndarray:
    half = (n + 1) // 2
    r = np.sqrt(-2.0 * np.log(_ref_uniforms(key, slot, half)))
    theta = 2.0 * np.pi * _ref_uniforms(key, slot + 1, half)
    return np.concatenate([r * np.cos(theta), r * np.sin(theta)])[:n]


def _reference_window(w: np.ndarray, row: int, fs: float, cfg: AugmentConfig, seed: int):
    """One window at a time, in float64, with a pure-Python counter hash: the module's
    documented semantics written out without tensors."""
    from clinssl.utils.seeding import derive_seed

    key = _lowbias32((_lowbias32(row) + derive_seed(seed, "ppg-augment")) & _M32)
    n = w.size
    spread = float(np.std(w)) or 1.0
    t = np.arange(n) / fs
    y = w.astype(np.float64) * np.exp(cfg.gain_sd * _ref_normals(key, 0, 1)[0])
    freq = 0.1 + 0.3 * _ref_uniforms(key, 2, 1)[0]
    phase = 2 * np.pi * _ref_uniforms(key, 3, 1)[0]
    y = y + cfg.wander_amplitude * spread * np.sin(2 * np.pi * freq * t + phase)
    y = y + cfg.noise_sd * spread * _ref_normals(key, 5, n)
    m = int(cfg.max_shift_seconds * fs)
    shift = int(np.floor(_ref_uniforms(key, 4, 1)[0] * (2 * m + 1))) - m
    return y[np.clip(np.arange(n) - shift, 0, n - 1)], shift


def test_batched_augmentation_equals_the_per_window_reference() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(1250) / 125.0
    x = (np.sin(2 * np.pi * 1.1 * t) * rng.uniform(0.5, 3, (6, 1))).astype(np.float32)
    x[4] = 7.0  # flat window: spread falls back to 1
    rows = np.array([0, 1, 2, 1000, 77_777, 4_000_000_000])
    cfg = AugmentConfig(gain_sd=0.3, wander_amplitude=0.2, noise_sd=0.05, max_shift_seconds=0.3)
    batched = augment_rows(x, rows, 125.0, cfg, seed=11)
    shifts = set()
    for i, row in enumerate(rows):
        ref, shift = _reference_window(x[i], int(row), 125.0, cfg, seed=11)
        shifts.add(shift)
        np.testing.assert_allclose(batched[i], ref, rtol=1e-5, atol=1e-5 * (np.abs(ref).max()))
    assert len(shifts) > 1  # the rows really draw different shifts


def test_batched_augmentation_has_the_configured_distributions() -> None:
    k, n, fs = 3000, 1250, 125.0
    x = np.tile(np.sin(2 * np.pi * 1.3 * np.arange(n) / fs), (k, 1)).astype(np.float32) + 2.0
    rows = np.arange(k) + 10_000
    spread = float(np.std(x[0]))
    # gain alone: log(y/x) ~ N(0, gain_sd)
    g = np.log(augment_rows(x, rows, fs, AugmentConfig(0.1, 0.0, 0.0, 0.0), 3)[:, 0] / x[:, 0])
    assert abs(g.mean()) < 4 * 0.1 / np.sqrt(k) and abs(g.std() - 0.1) < 0.01
    # noise alone: i.i.d. N(0, noise_sd · spread), independent across windows
    e = (augment_rows(x, rows, fs, AugmentConfig(0.0, 0.0, 0.02, 0.0), 3) - x) / (0.02 * spread)
    assert stats.kstest(e[:, ::7].ravel(), "norm").pvalue > 1e-3
    assert abs(np.corrcoef(e[:-1, :200].ravel(), e[1:, :200].ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(e[:, :-1].ravel(), e[:, 1:].ravel())[0, 1]) < 0.01
    # shift alone: uniform on {-m..m}, edge sample held
    m = int(0.2 * fs)
    ramp = np.tile(np.arange(n, dtype=np.float32), (k, 1))
    s = augment_rows(ramp, rows, fs, AugmentConfig(0.0, 0.0, 0.0, 0.2), 3)
    shift = (ramp[:, 600] - s[:, 600]).round().astype(int)
    counts = np.bincount(shift + m, minlength=2 * m + 1)
    assert counts.size == 2 * m + 1 and stats.chisquare(counts).pvalue > 1e-3
    pos = np.flatnonzero(shift > 0)[0]
    assert np.all(s[pos, : shift[pos]] == 0.0)
    # wander alone: a sinusoid of amplitude wander_amplitude · spread, 0.1–0.4 Hz
    wdr = augment_rows(x, rows, fs, AugmentConfig(0.0, 0.1, 0.0, 0.0), 3) - x
    amp = np.abs(wdr).max(axis=1)
    assert np.all(amp <= 0.1 * spread * 1.001) and np.median(amp) > 0.05 * spread
    crossings = (np.diff(np.sign(wdr), axis=1) != 0).sum(axis=1) / 2 / (n / fs)
    assert crossings.min() >= 0.05 and crossings.max() <= 0.5


def test_augmentation_rejects_misaligned_rows() -> None:
    x = np.zeros((3, 1250), dtype=np.float32)
    with pytest.raises(ValueError, match="3 windows but 2 row numbers"):
        augment_rows(x, np.arange(2), 125.0, AugmentConfig(), 0)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        augment_rows(x, np.array([0, 1, -1]), 125.0, AugmentConfig(), 0)
