"""Metrics agree with scikit-learn; bootstrap CIs bracket the estimate; bad input is named."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from clinssl.stats.metrics import auprc, auroc, ece, evaluate, metric_values


def test_binary_metrics_match_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = (rng.random(300) < 0.2).astype(float)
        score = np.clip(np.round(rng.random(300) * 0.8 + 0.3 * y, 1), 0, 1)  # many ties
        assert auroc(y, score)[0] == pytest.approx(roc_auc_score(y, score))
        assert auprc(y, score)[0] == pytest.approx(average_precision_score(y, score))
        res = evaluate("binary", y, score, n_resamples=0)
        assert res["brier"]["value"] == pytest.approx(brier_score_loss(y, score))


def test_ece_of_calibrated_and_overconfident_scores() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(float)
    assert ece(y, p)[0] < 0.02
    assert ece(y, np.where(p > 0.5, 1.0, 0.0))[0] > 0.2


def test_regression_metrics_and_bootstrap_ci() -> None:
    rng = np.random.default_rng(2)
    y = rng.gamma(2.0, 1.5, 400)
    pred = y + rng.normal(0, 0.5, 400)
    res = evaluate("regression", y, pred, n_resamples=300, seed=3)
    assert res["mae"]["value"] == pytest.approx(mean_absolute_error(y, pred))
    assert res["r2"]["value"] == pytest.approx(r2_score(y, pred))
    for m in ("mae", "mse", "r2"):
        assert res[m]["ci_low"] < res[m]["value"] < res[m]["ci_high"]
    again = evaluate("regression", y, pred, n_resamples=300, seed=3)
    assert again == res  # deterministic in the seed


def test_bad_inputs_are_explained() -> None:
    with pytest.raises(ValueError, match="NaN"):
        evaluate("binary", np.array([0.0, np.nan]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="0/1"):
        evaluate("binary", np.array([0.0, 2.0]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="task kind"):
        evaluate("multiclass", np.array([0.0, 1.0]), np.array([0.1, 0.2]))
    assert np.isnan(auroc(np.zeros(5), np.arange(5.0))[0])  # one class: undefined


def test_metric_values_only_computes_the_named_metric() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(200) < 0.3).astype(float)
    s = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    full = metric_values("binary", y, s)
    for name in full:
        only = metric_values("binary", y, s, name)
        assert set(only) == {name}
        np.testing.assert_allclose(only[name], full[name])
    assert set(metric_values("regression", y, s, "r2")) == {"r2"}
    with pytest.raises(ValueError, match="unknown binary metric 'f1'"):
        metric_values("binary", y, s, "f1")
