"""Metrics agree with scikit-learn (ties and bootstrap weights included); bootstrap CIs bracket
the estimate and widen when patients are resampled; paired margins; bad input is named."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from clinssl.stats.bootstrap import (
    evaluate,
    paired_margin,
    paired_replicates,
    percentile_ci,
    resample_weights,
)
from clinssl.stats.metrics import auprc, auroc, ece, metric_values


def _tied_scores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < 0.2).astype(float)
    score = np.clip(np.round(rng.random(n) * 0.8 + 0.3 * y, 1), 0, 1)  # many ties
    return y, score


def test_binary_metrics_match_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        y, score = _tied_scores(rng, 300)
        assert auroc(y, score)[0] == pytest.approx(roc_auc_score(y, score))
        assert auprc(y, score)[0] == pytest.approx(average_precision_score(y, score))
        res = evaluate("binary", y, score, n_resamples=0)
        assert res["brier"]["value"] == pytest.approx(brier_score_loss(y, score))


def test_weighted_metrics_equal_sklearn_on_the_resampled_rows() -> None:
    """A weight row is a resample: the metric must equal scikit-learn on the repeated rows."""
    rng = np.random.default_rng(4)
    y, score = _tied_scores(rng, 120)
    groups = rng.integers(0, 40, 120)
    (weights,) = list(resample_weights(120, 6, seed=1, groups=groups))
    values = metric_values("binary", y, score, weights=weights)
    reg = metric_values("regression", score, score + y, weights=weights)
    for r, w in enumerate(weights):
        rows = np.repeat(np.arange(120), w.astype(int))
        yr, sr = y[rows], score[rows]
        assert values["auroc"][r] == pytest.approx(roc_auc_score(yr, sr))
        assert values["auprc"][r] == pytest.approx(average_precision_score(yr, sr))
        assert values["brier"][r] == pytest.approx(brier_score_loss(yr, sr))
        assert values["ece"][r] == pytest.approx(ece(yr, sr)[0])
        assert reg["mae"][r] == pytest.approx(mean_absolute_error(sr, sr + yr))
        assert reg["mse"][r] == pytest.approx(mean_squared_error(sr, sr + yr))
        assert reg["r2"][r] == pytest.approx(r2_score(sr, sr + yr))


def test_cluster_weights_draw_whole_patients() -> None:
    groups = np.array([7, 7, 7, 3, 3, 9])
    for chunk in resample_weights(6, 300, seed=0, groups=groups):
        assert (chunk[:, 0] == chunk[:, 1]).all() and (chunk[:, 1] == chunk[:, 2]).all()
        assert (chunk[:, 3] == chunk[:, 4]).all()
        # three patients are drawn per resample; each brings all of its rows
        n_patients = chunk[:, 0] + chunk[:, 3] + chunk[:, 5]
        assert (n_patients == 3).all()
    a = np.concatenate(list(resample_weights(6, 300, seed=5, groups=groups)))
    b = np.concatenate(list(resample_weights(6, 300, seed=5, groups=groups)))
    np.testing.assert_array_equal(a, b)


def test_patient_bootstrap_is_wider_than_row_bootstrap_for_correlated_rows() -> None:
    """Ten near-identical stays per patient: the i.i.d. CI pretends there are 10x the data."""
    rng = np.random.default_rng(6)
    n_patients = 60
    patient = np.repeat(np.arange(n_patients), 10)
    y = np.repeat((rng.random(n_patients) < 0.4).astype(float), 10)
    score = np.repeat(rng.random(n_patients), 10) * 0.6 + 0.4 * y + rng.normal(0, 0.01, 600)
    iid = evaluate("binary", y, score, n_resamples=400, seed=0)["auroc"]
    cluster = evaluate("binary", y, score, groups=patient, n_resamples=400, seed=0)["auroc"]
    assert iid["value"] == cluster["value"]
    width_iid = iid["ci_high"] - iid["ci_low"]
    width_cluster = cluster["ci_high"] - cluster["ci_low"]
    assert width_cluster > 2 * width_iid


def test_multilabel_is_the_macro_average() -> None:
    rng = np.random.default_rng(8)
    y = (rng.random((200, 3)) < [0.2, 0.4, 0.6]).astype(float)
    score = np.clip(y * 0.4 + rng.random((200, 3)) * 0.6, 0, 1)
    res = evaluate("multilabel", y, score, n_resamples=100, seed=0)
    assert res["auroc"]["value"] == pytest.approx(roc_auc_score(y, score, average="macro"))
    assert res["auprc"]["value"] == pytest.approx(average_precision_score(y, score, average="macro"))
    assert res["auroc"]["ci_low"] < res["auroc"]["value"] < res["auroc"]["ci_high"]


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
    other = evaluate("regression", y, pred, n_resamples=300, seed=4)
    assert other != res  # ... and the seed is used


def test_paired_margin_sign_ci_and_p_value() -> None:
    rng = np.random.default_rng(9)
    patient = np.repeat(np.arange(150), 2)
    y = (rng.random(300) < 0.3).astype(float)
    good = np.clip(0.5 * y + rng.random(300) * 0.5, 0, 1)
    noise = rng.random(300)
    metric, delta, reps = paired_replicates(
        "binary", y, good, noise, metric="auroc", groups=patient, n_resamples=300, seed=0
    )
    margin = paired_margin(delta, reps)
    assert metric == "auroc" and delta > 0.2
    assert 0 < margin.ci_low < delta < margin.ci_high and margin.p_value < 0.01
    # lower-is-better metric: the sign flips so positive still means 'a is better'
    _, d_mae, _ = paired_replicates(
        "regression", y, y + 0.1, y + 0.5, groups=patient, n_resamples=10, seed=0
    )
    assert d_mae == pytest.approx(0.4)
    _, d_same, reps_same = paired_replicates("binary", y, good, good, n_resamples=50, seed=0)
    assert d_same == 0 and (reps_same == 0).all() and paired_margin(d_same, reps_same).p_value == 1


def test_percentile_ci_drops_undefined_replicates() -> None:
    assert percentile_ci(np.array([np.nan, 1.0, 2.0, 3.0]), 0.5) == (1.5, 2.5)
    assert all(np.isnan(percentile_ci(np.array([np.nan]))))


def test_bad_inputs_are_explained() -> None:
    with pytest.raises(ValueError, match="NaN"):
        evaluate("binary", np.array([0.0, np.nan]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="0/1"):
        evaluate("binary", np.array([0.0, 2.0]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="task kind"):
        evaluate("multiclass", np.array([0.0, 1.0]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="one entry per row"):
        evaluate("binary", np.array([0.0, 1.0]), np.array([0.1, 0.2]), groups=np.array([1]))
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
