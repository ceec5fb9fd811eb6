"""The classical baselines of the ICU benchmark: logistic regression and gradient boosting on
per-variable summaries of the same input window.

Why: every ICU benchmark (YAIB, SLICES' xgboost) reports them, and on real cohorts a
gradient-boosting model on summary features is the bar an SSL encoder has to clear — a
probe that trails it has not earned its pretraining budget. The rows share everything with
the encoder protocols (:func:`clinssl.icu.benchmark.protocols.result_records`): the seed's
splits, the label-fraction subsets (:func:`clinssl.icu.downstream.label_fraction_indices`),
model selection on the validation stays (:func:`clinssl.icu.downstream.selection_criterion`),
metrics and patient-cluster CIs.

Features (``summary_features``): for each variable of the ``(N, T, D)`` input, over its
observed hours — ``last``, ``min``, ``max``, ``mean`` (NaN when never observed), ``count``
observed and ``hours_since_last`` observation (NaN when never observed); plus the static
admission features ``age``, ``sex`` (1 = male), ``height``, ``weight`` where the static table
has them (YAIB's ``sta`` columns; never LOS or discharge times, which leak the outcome).
The values are the train-normalized tensors, an affine map of the raw values per variable,
so trees and standardized linear models see the same information as on raw units.

* ``logistic_regression``: NaNs imputed with train medians, standardized, the same
  class-weighted logistic regression / ridge grid as the linear probe.
* ``gradient_boosting``: scikit-learn's ``HistGradientBoostingClassifier`` / ``Regressor``
  (native NaN handling, the LightGBM algorithm without a new dependency), unweighted (the
  ranking metrics need no class weights and the probabilities stay calibrated; weighted
  fitting also makes scikit-learn's feature binning use weighted quantiles, ~40× slower),
  the number of boosting iterations chosen on the validation stays from the staged
  predictions.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from clinssl.icu.benchmark.protocols import (
    METRIC_COLUMNS,
    PREDICTION_COLUMNS,
    SplitTensors,
    result_records,
)
from clinssl.icu.downstream import (
    DownstreamConfig,
    TaskResult,
    label_fraction_indices,
    linear_probe,
    selection_criterion,
    selection_value,
)
from clinssl.icu.names import CLASSICAL, CLASSICAL_FEATURES, CLASSICAL_PROTOCOLS
from clinssl.utils.seeding import derive_seed

__all__ = [
    "STATIC_FEATURES",
    "SUMMARY_STATS",
    "GradientBoostingConfig",
    "feature_matrix",
    "fit_gradient_boosting",
    "fit_logistic",
    "run_classical",
    "static_features",
    "summary_features",
]

SUMMARY_STATS: tuple[str, ...] = ("last", "min", "max", "mean", "count", "hours_since_last")
STATIC_FEATURES: tuple[str, ...] = ("age", "sex", "height", "weight")


@dataclass
class GradientBoostingConfig:
    """``HistGradientBoosting*`` settings (config ``icu.ssl.classical.gradient_boosting``)."""

    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    max_bins: int = 255


def summary_features(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(N, D · 6)`` summaries per variable (module docstring), grouped stat-major:
    all ``last`` columns, then all ``min`` columns, ..."""
    v = np.asarray(values, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if v.ndim != 3 or v.shape != m.shape:
        raise ValueError(f"values/mask must be equal (N, T, D) arrays, got {v.shape}, {m.shape}")
    n_hours = v.shape[1]
    count = m.sum(axis=1).astype(np.float64)
    seen = count > 0
    observed = np.where(m, v, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: never observed
        lo = np.nanmin(observed, axis=1)
        hi = np.nanmax(observed, axis=1)
        mean = np.nanmean(observed, axis=1)
    hours = np.arange(n_hours)[None, :, None]
    last_hour = np.where(m, hours, -1).max(axis=1)
    last = np.take_along_axis(v, np.clip(last_hour, 0, None)[:, None, :], axis=1)[:, 0, :]
    last = np.where(seen, last, np.nan)
    since = np.where(seen, (n_hours - 1) - last_hour, np.nan).astype(np.float64)
    return np.concatenate([last, lo, hi, mean, count, since], axis=1)


def static_features(static: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The admission-time static columns present in ``static`` as floats (sex: 1 = male)."""
    columns, names = [], []
    for name in STATIC_FEATURES:
        if name not in static.columns:
            continue
        col = static[name]
        if name == "sex":
            text = col.astype("string").str.strip().str.upper()
            numeric = np.where(text.isin(["M", "MALE"]), 1.0, np.where(text.isin(["F", "FEMALE"]), 0.0, np.nan))
        else:
            numeric = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        columns.append(np.asarray(numeric, dtype=np.float64))
        names.append(name)
    if not columns:
        return np.zeros((len(static), 0)), []
    return np.stack(columns, axis=1), names


def feature_matrix(split: SplitTensors, static: pd.DataFrame) -> np.ndarray:
    """Summary + static features of every stay of ``split`` (rows in the split's order).

    ``static`` is the dataset's static table; rows are matched by ``stay_id``.
    """
    indexed = static.set_index("stay_id")
    missing = np.setdiff1d(split.stay_id, indexed.index.to_numpy())
    if missing.size:
        raise ValueError(f"static table lacks {missing.size} stays of the split, e.g. {missing[:3]}")
    stat, _ = static_features(indexed.loc[split.stay_id].reset_index())
    return np.concatenate([summary_features(split.values, split.mask), stat], axis=1)


def _impute(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Replace NaNs with the train column median (0 for a column never observed in train)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(train, axis=0)
    median = np.where(np.isnan(median), 0.0, median)
    return [np.where(np.isnan(x), median, x) for x in (train, *others)]


def fit_logistic(
    kind: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    x_test: np.ndarray,
    config: DownstreamConfig,
    seed: int,
) -> TaskResult:
    """Logistic regression (ridge for regression) on median-imputed standardized features,
    regularisation chosen on the validation stays exactly as the linear probe chooses it."""
    xt, xv, xs = _impute(x_train, x_val, x_test)
    return linear_probe(kind, xt, y_train, xv, y_val, xs, config, seed)


def fit_gradient_boosting(
    kind: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    x_test: np.ndarray,
    config: GradientBoostingConfig,
    min_val_positives: int,
    seed: int,
) -> TaskResult:
    """Histogram gradient boosting; the iteration count is the validation-best stage."""
    criterion, maximize = selection_criterion(kind, y_val, min_val_positives)
    # a column never observed in the training rows carries nothing to split on (and
    # scikit-learn's binning fails on an all-NaN column)
    seen = ~np.isnan(x_train).all(axis=0)
    x_train, x_val, x_test = x_train[:, seen], x_val[:, seen], x_test[:, seen]
    params = dict(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization,
        max_bins=config.max_bins,
        early_stopping=False,
        random_state=derive_seed(seed, "gradient_boosting") % (2**31),
    )
    if kind == "binary":
        model = HistGradientBoostingClassifier(**params)
        model.fit(x_train, y_train.astype(int))
        val_stages = (p[:, 1] for p in model.staged_predict_proba(x_val))
        test_stages = (p[:, 1] for p in model.staged_predict_proba(x_test))
    else:
        model = HistGradientBoostingRegressor(**params)
        model.fit(x_train, y_train)
        val_stages = model.staged_predict(x_val)
        test_stages = model.staged_predict(x_test)
    scores = [selection_value(kind, criterion, y_val, p) for p in val_stages]
    best = int(np.argmax(scores) if maximize else np.argmin(scores))
    test_scores = next(p for i, p in enumerate(test_stages) if i == best)
    return TaskResult(
        scores=np.asarray(test_scores, dtype=float),
        val_metric=float(scores[best]),
        best_epoch=best + 1,
        n_train=len(y_train),
        epochs_run=len(scores),
        selection=criterion,
    )


def run_classical(
    splits: dict[str, SplitTensors],
    static: pd.DataFrame,
    tasks: dict[str, str],
    label_fractions: Sequence[float],
    config: DownstreamConfig,
    boosting: GradientBoostingConfig,
    seed: int,
    *,
    protocols: Sequence[str] = CLASSICAL_PROTOCOLS,
    n_resamples: int = 1000,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every task × label fraction × classical protocol of one split seed: the metrics table
    and test predictions, in the encoder protocols' schemas (paradigm ``classical``,
    encoder ``summary_features``; ``best_epoch`` / ``epochs_run`` hold the chosen and the
    fitted boosting iterations)."""
    unknown = sorted(set(protocols) - set(CLASSICAL_PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown classical protocols {unknown}; known: {CLASSICAL_PROTOCOLS}")
    features = {name: feature_matrix(split, static) for name, split in splits.items()}
    metric_rows: list[dict] = []
    frames: list[pd.DataFrame] = []
    for task, kind in tasks.items():
        data = {name: split.for_task(task) for name, split in splits.items()}
        rows = {name: split.labelled_rows(task) for name, split in splits.items()}
        x = {name: features[name][rows[name]] for name in splits}
        train_all, val, test = data["train"], data["val"], data["test"]
        for fraction in label_fractions:
            idx = label_fraction_indices(train_all.y, fraction, seed, task, kind)
            for protocol in protocols:
                if protocol == "logistic_regression":
                    result = fit_logistic(
                        kind, x["train"][idx], train_all.y[idx], x["val"], val.y, x["test"],
                        config, seed,
                    )  # fmt: skip
                else:
                    result = fit_gradient_boosting(
                        kind, x["train"][idx], train_all.y[idx], x["val"], val.y, x["test"],
                        boosting, config.selection_min_val_positives,
                        derive_seed(seed, task, round(fraction * 1e6)),
                    )  # fmt: skip
                metric, frame = result_records(
                    result, test, n_resamples=n_resamples, paradigm=CLASSICAL,
                    encoder=CLASSICAL_FEATURES, protocol=protocol, task=task, kind=kind,
                    fraction=fraction, seed=seed,
                )  # fmt: skip
                metric_rows += metric
                frames.append(frame)
    metrics = pd.DataFrame(metric_rows, columns=METRIC_COLUMNS)
    predictions = pd.concat(frames, ignore_index=True)[PREDICTION_COLUMNS]
    return metrics, predictions
