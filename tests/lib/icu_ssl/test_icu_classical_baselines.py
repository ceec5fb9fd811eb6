"""Classical baselines (clinssl.icu.benchmark.classical): the summary features are what
their names say, the models recover a planted signal that lives only in the summaries, and
their rows have the encoder protocols' schema; model selection falls back to the
validation log loss when the validation split has too few positives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clinssl.icu.benchmark import METRIC_COLUMNS, PREDICTION_COLUMNS, SplitTensors
from clinssl.icu.benchmark.classical import (
    GradientBoostingConfig,
    run_classical,
    static_features,
    summary_features,
)
from clinssl.icu.downstream import DownstreamConfig, selection_criterion
from clinssl.icu.names import CLASSICAL, CLASSICAL_FEATURES, CLASSICAL_PROTOCOLS


def test_summary_features_by_hand() -> None:
    values = np.zeros((2, 4, 2), np.float32)
    mask = np.zeros((2, 4, 2), bool)
    values[0, [0, 2], 0] = [1.0, -3.0]
    mask[0, [0, 2], 0] = True
    values[1, 3, 1] = 5.0
    mask[1, 3, 1] = True
    f = summary_features(values, mask).reshape(2, 6, 2)  # stat-major
    last, lo, hi, mean, count, since = (f[:, k] for k in range(6))
    assert last[0, 0] == -3.0 and lo[0, 0] == -3.0 and hi[0, 0] == 1.0 and mean[0, 0] == -1.0
    assert count[0, 0] == 2 and since[0, 0] == 1  # last observed at hour 2 of hours 0..3
    assert count[1, 1] == 1 and since[1, 1] == 0 and last[1, 1] == 5.0
    for stat in (last, lo, hi, mean, since):  # never observed: missing, not 0
        assert np.isnan(stat[0, 1]) and np.isnan(stat[1, 0])
    assert count[0, 1] == 0


def test_static_features_use_admission_columns_only() -> None:
    static = pd.DataFrame({"stay_id": [1, 2, 3], "age": [70, 40, np.nan], "sex": ["M", "Female", None],
                           "los_days": [3.0, 9.0, 1.0], "weight": [80, 60, 70]})  # fmt: skip
    x, names = static_features(static)
    assert names == ["age", "sex", "weight"]  # never LOS: it is the outcome of a task
    assert x[0].tolist() == [70, 1, 80] and x[1, 1] == 0 and np.isnan(x[2, 1]) and np.isnan(x[2, 0])


def _split(n: int, offset: int, rng: np.random.Generator) -> SplitTensors:
    values = rng.normal(size=(n, 12, 4)).astype(np.float32)
    mask = rng.random((n, 12, 4)) < 0.5
    mask[:, -1, 0] = True
    values = np.where(mask, values, 0)
    # the outcome depends on the last value of variable 0 and the count of variable 1
    risk = 2.0 * values[:, -1, 0] + 0.6 * (mask[:, :, 1].sum(1) - 6)
    y = (risk + rng.normal(size=n) > 1.5).astype(float)
    labels = pd.DataFrame({"mortality_hospital": y, "los_remaining": np.exp(0.3 * risk) + rng.random(n)})
    ids = np.arange(n) + offset
    return SplitTensors(values, mask, ids, ids // 2, labels)


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, SplitTensors], pd.DataFrame]:
    rng = np.random.default_rng(0)
    splits = {"train": _split(600, 0, rng), "val": _split(200, 10_000, rng), "test": _split(300, 20_000, rng)}
    ids = np.concatenate([s.stay_id for s in splits.values()])
    static = pd.DataFrame({"stay_id": ids, "age": rng.normal(60, 10, len(ids))})
    tasks = {"mortality_hospital": "binary", "los_remaining": "regression"}
    m, p = run_classical(splits, static, tasks, [0.5, 1.0], DownstreamConfig(),
                         GradientBoostingConfig(max_iter=60, learning_rate=0.1, max_bins=63), 3,
                         n_resamples=50)  # fmt: skip
    return m, p, splits, static


def test_classical_rows_recover_the_planted_signal(fitted) -> None:
    metrics, predictions, splits, _ = fitted
    assert list(metrics.columns) == METRIC_COLUMNS and list(predictions.columns) == PREDICTION_COLUMNS
    assert set(metrics["paradigm"]) == {CLASSICAL} and set(metrics["encoder"]) == {CLASSICAL_FEATURES}
    assert set(metrics["protocol"]) == set(CLASSICAL_PROTOCOLS)
    full = metrics[(metrics["label_fraction"] == 1.0) & (metrics["metric"] == "auroc")]
    assert (full["value"] > 0.8).all(), full[["protocol", "value"]]
    r2 = metrics[(metrics["label_fraction"] == 1.0) & (metrics["metric"] == "r2")]
    assert (r2["value"] > 0.3).all(), r2[["protocol", "value"]]
    gb = metrics[metrics["protocol"] == "gradient_boosting"]
    assert (gb["best_epoch"] <= gb["epochs_run"]).all() and (gb["epochs_run"] == 60).all()
    test = splits["test"]
    one = predictions[(predictions["protocol"] == "gradient_boosting") & (predictions["task"] == "mortality_hospital")
                      & (predictions["label_fraction"] == 1.0)]  # fmt: skip
    assert one["stay_id"].tolist() == test.stay_id.tolist()
    half = metrics[metrics["label_fraction"] == 0.5]["n_train"]
    assert (half < 600).all() and (half > 250).all()


def test_classical_is_deterministic(fitted) -> None:
    metrics, _, splits, static = fitted
    again, _ = run_classical(splits, static, {"mortality_hospital": "binary", "los_remaining": "regression"},
                             [0.5, 1.0], DownstreamConfig(),
                             GradientBoostingConfig(max_iter=60, learning_rate=0.1, max_bins=63), 3,
                             n_resamples=50)  # fmt: skip
    sub = metrics[metrics["protocol"] == "gradient_boosting"].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub, again[again["protocol"] == "gradient_boosting"].reset_index(drop=True))


def test_selection_falls_back_to_log_loss_with_few_validation_positives() -> None:
    few = np.r_[np.ones(5), np.zeros(200)]
    many = np.r_[np.ones(40), np.zeros(200)]
    assert selection_criterion("binary", few, 20) == ("val_log_loss", False)
    assert selection_criterion("binary", many, 20) == ("val_auprc", True)
    assert selection_criterion("regression", many, 20) == ("val_mae", False)


def test_gradient_boosting_ignores_columns_never_observed_in_training() -> None:
    from clinssl.icu.benchmark.classical import fit_gradient_boosting

    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 3))
    x[:, 1] = np.nan  # a variable no training stay has (a small label fraction, a rare lab)
    y = (x[:, 0] > 0).astype(float)
    result = fit_gradient_boosting("binary", x, y, x[:20], y[:20], x[:20],
                                   GradientBoostingConfig(max_iter=5), 20, 0)  # fmt: skip
    assert result.scores.shape == (20,) and np.isfinite(result.scores).all()
