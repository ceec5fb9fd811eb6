"""Kept bootstrap draws: handing out a kept draw gives exactly the draw a fresh call makes,
read-only; the key tells seeds, resample counts and patient partitions apart; draws over
the size limit are not kept."""

from __future__ import annotations

import numpy as np
import pytest

from clinssl.stats import bootstrap
from clinssl.stats.bootstrap import paired_replicates, resample_weights


@pytest.fixture(autouse=True)
def _empty_cache():
    bootstrap._DRAWS.clear()
    yield
    bootstrap._DRAWS.clear()


def _draw(n: int, r: int, seed: int, groups=None) -> np.ndarray:
    return np.concatenate(list(resample_weights(n, r, seed, groups)))


def test_a_kept_draw_equals_a_fresh_one_and_is_read_only() -> None:
    groups = np.repeat(np.arange(40), 3)
    first = list(resample_weights(120, 300, 7, groups))
    assert len(bootstrap._DRAWS) == 1
    again = list(resample_weights(120, 300, 7, groups))
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert not any(c.flags.writeable for c in again)
    bootstrap._DRAWS.clear()
    np.testing.assert_array_equal(np.concatenate(first), _draw(120, 300, 7, groups))


def test_the_key_separates_seed_count_and_partition() -> None:
    groups = np.repeat(np.arange(40), 3)
    base = _draw(120, 300, 7, groups)
    assert not np.array_equal(base, _draw(120, 300, 8, groups))
    assert _draw(120, 200, 7, groups).shape == (200, 120)
    other = np.repeat(np.arange(60), 2)  # same rows, other patients
    assert not np.array_equal(base, _draw(120, 300, 7, other))
    assert not np.array_equal(base, _draw(120, 300, 7))  # rows as clusters
    # relabelled patients are the same partition: the same draw
    np.testing.assert_array_equal(base, _draw(120, 300, 7, groups * 10 + 5))
    assert len(bootstrap._DRAWS) == 5


def test_large_draws_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "_DRAWS_MAX_ELEMENTS", 1000)
    fresh = _draw(120, 300, 7)
    assert not bootstrap._DRAWS
    np.testing.assert_array_equal(fresh, _draw(120, 300, 7))


def test_only_the_newest_draws_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "_DRAWS_KEPT", 2)
    for seed in range(4):
        _draw(50, 100, seed)
    assert [key[1] for key in bootstrap._DRAWS] == [2, 3]


def test_paired_replicates_are_unchanged_by_reuse() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(200) < 0.3).astype(float)
    a, b = rng.random(200), rng.random(200)
    groups = rng.integers(0, 70, 200)
    first = paired_replicates("binary", y, a, b, groups=groups, n_resamples=400, seed=11)
    second = paired_replicates("binary", y, a, b, groups=groups, n_resamples=400, seed=11)
    bootstrap._DRAWS.clear()
    fresh = paired_replicates("binary", y, a, b, groups=groups, n_resamples=400, seed=11)
    for other in (second, fresh):
        assert other[:2] == first[:2]
        np.testing.assert_array_equal(other[2], first[2])
