"""Probe statistics: grouped CV, cluster bootstrap, ridge R²."""

from __future__ import annotations

import numpy as np
import pytest

from clinssl.ppg.probe import probe_metrics
from clinssl.stats.probes import grouped_probe_predictions, grouped_ridge_r2


def _data(signal: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(40), 10)
    y = (rng.random(400) < 0.15).astype(int)
    x = rng.normal(size=(400, 8)) + rng.normal(size=(40, 8))[groups]  # subject effects
    x[:, 0] += signal * y
    return x, y, groups


def test_probe_recovers_planted_signal_and_not_noise() -> None:
    x, y, g = _data(2.0)
    p, fold = grouped_probe_predictions(x, y, g, n_folds=5, seed=0)
    m = probe_metrics(y, p, g, n_resamples=200, seed=0)
    assert m["auroc"]["value"] > 0.85
    assert m["auroc"]["ci_low"] <= m["auroc"]["value"] <= m["auroc"]["ci_high"]
    assert (m["n_windows"], m["n_subjects"], m["n_positive"]) == (400, 40, int(y.sum()))
    for subject in np.unique(g):  # a subject's windows share one fold
        assert len(set(fold[g == subject])) == 1
    x0, y0, g0 = _data(0.0, seed=1)
    p0, _ = grouped_probe_predictions(x0, y0, g0, n_folds=5, seed=0)
    m0 = probe_metrics(y0, p0, g0, n_resamples=200, seed=0)
    assert m0["auroc"]["ci_low"] < 0.5 < m0["auroc"]["ci_high"] + 0.05


def test_ridge_r2_and_errors() -> None:
    x, _, g = _data(0.0)
    target = 3 * x[:, 1] + np.random.default_rng(2).normal(0, 0.5, len(x))
    assert grouped_ridge_r2(x, target, g) > 0.9
    with pytest.raises(ValueError, match="single class"):
        grouped_probe_predictions(x, np.zeros(len(x)), g, 5, 0)
