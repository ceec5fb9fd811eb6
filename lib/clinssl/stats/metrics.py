"""Downstream metrics, computed for many bootstrap resamples at once.

Binary tasks: AUROC, AUPRC (average precision), Brier score and ECE (15 equal-width bins,
L1, on the positive-class probability), as in SLICES. Multilabel tasks (several binary labels
per row, e.g. PTB-XL's diagnostic superclasses): macro AUROC and macro AUPRC over the labels.
Regression (LOS): MAE, MSE, R².

Why weights: a bootstrap resample draws rows (or whole patients) with replacement, which is
the same as giving each row an integer weight — how often it was drawn. Every function here
takes the labels and scores once, 1-D (or ``(n, L)`` for multilabel), plus an ``(R, n)``
matrix of such weights, and returns the ``R`` metric values in one vectorised pass (the sort
by score is shared by all resamples). A run produces hundreds of results with 1,000
resamples each; calling scikit-learn once per resample would dominate its runtime. Without
weights (``None``) the result is the point estimate, one value. On integer weights the
functions agree with scikit-learn on the repeated rows, ties included (tests check this).
Resamples in which a class is absent give NaN; :mod:`clinssl.stats.bootstrap` drops them from
the percentile CI.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

__all__ = [
    "BINARY_METRICS",
    "HIGHER_IS_BETTER",
    "METRICS",
    "MULTILABEL_METRICS",
    "PRIMARY_METRIC",
    "REGRESSION_METRICS",
    "TASK_KINDS",
    "auprc",
    "auroc",
    "brier",
    "ece",
    "metric_values",
]

BINARY_METRICS = ("auroc", "auprc", "brier", "ece")
MULTILABEL_METRICS = ("auroc", "auprc")
REGRESSION_METRICS = ("mae", "mse", "r2")
#: the metrics of each task kind (a kind is how labels are shaped, not what they mean)
METRICS: dict[str, tuple[str, ...]] = {
    "binary": BINARY_METRICS,
    "multilabel": MULTILABEL_METRICS,
    "regression": REGRESSION_METRICS,
}
TASK_KINDS = tuple(METRICS)
#: primary metric per task kind and whether higher is better (model selection, summaries)
PRIMARY_METRIC = {"binary": ("auprc", True), "multilabel": ("auroc", True),
                  "regression": ("mae", False)}  # fmt: skip
HIGHER_IS_BETTER = {"auroc": True, "auprc": True, "brier": False, "ece": False,
                    "mae": False, "mse": False, "r2": True}  # fmt: skip


def _weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    if weights is None:
        return np.ones((1, n))
    w = np.asarray(weights, dtype=float)
    w = w[None, :] if w.ndim == 1 else w
    if w.ndim != 2 or w.shape[1] != n:
        raise ValueError(f"weights must be (R, {n}), got {w.shape}")
    return w


def _1d(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"expected a 1-D array, got shape {a.shape}")
    return a


def _tie_groups(score: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row order by score and the start of each run of equal scores in that order."""
    order = np.argsort(-score if descending else score, kind="stable")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return order, starts


def auroc(y: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """AUROC per weight row (Mann–Whitney U with ties counted half); NaN where a class is absent."""
    y, score = _1d(y), _1d(score)
    w = _weights(weights, y.size)
    order, starts = _tie_groups(score, descending=False)
    wo, yo = w[:, order], y[order]
    pos = np.add.reduceat(wo * yo, starts, axis=1)  # (R, groups)
    neg = np.add.reduceat(wo * (1.0 - yo), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (pos * (below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), value, np.nan)


def auprc(y: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Average precision per weight row (thresholds at distinct scores, as scikit-learn)."""
    y, score = _1d(y), _1d(score)
    w = _weights(weights, y.size)
    order, starts = _tie_groups(score, descending=True)
    wo, yo = w[:, order], y[order]
    pos = np.add.reduceat(wo * yo, starts, axis=1)
    neg = np.add.reduceat(wo * (1.0 - yo), starts, axis=1)
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    n_pos = pos.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        value = (pos * precision).sum(axis=1) / n_pos
    return np.where(n_pos > 0, value, np.nan)


def brier(y: np.ndarray, prob: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted mean squared error of the positive-class probability."""
    y, prob = _1d(y), _1d(prob)
    w = _weights(weights, y.size)
    return (w @ (prob - y) ** 2) / w.sum(axis=1)


def ece(
    y: np.ndarray, prob: np.ndarray, weights: np.ndarray | None = None, n_bins: int = 15
) -> np.ndarray:
    """Expected calibration error (equal-width bins on the positive-class probability, L1)."""
    y, prob = _1d(y), _1d(prob)
    w = _weights(weights, y.size)
    bins = np.clip((prob * n_bins).astype(int), 0, n_bins - 1)
    one_hot = np.zeros((y.size, n_bins))
    one_hot[np.arange(y.size), bins] = 1.0
    gap = w @ ((y - prob)[:, None] * one_hot)  # (R, bins): Σ w (y − p) per bin
    return np.abs(gap).sum(axis=1) / w.sum(axis=1)


def _regression(
    y: np.ndarray, pred: np.ndarray, weights: np.ndarray | None
) -> dict[str, np.ndarray]:
    y, pred = _1d(y), _1d(pred)
    w = _weights(weights, y.size)
    total = w.sum(axis=1)
    err = pred - y
    mse = (w @ err**2) / total
    mean = (w @ y) / total
    var = (w * (y[None, :] - mean[:, None]) ** 2).sum(axis=1) / total
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(var > 0, 1 - mse / var, np.nan)
    return {"mae": (w @ np.abs(err)) / total, "mse": mse, "r2": r2}


def _multilabel(
    fn: Callable[..., np.ndarray], y: np.ndarray, score: np.ndarray, weights: np.ndarray | None
) -> np.ndarray:
    """Macro average over label columns (labels undefined in a resample are left out)."""
    y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    if y.ndim != 2 or y.shape != score.shape:
        raise ValueError(f"multilabel labels/scores must be (n, L) alike, got {y.shape}, {score.shape}")
    per_label = np.stack([fn(y[:, j], score[:, j], weights) for j in range(y.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all labels undefined: NaN
        return np.nanmean(per_label, axis=0)


def f1(y: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """F1 of 0/1 ``predicted`` against ``y``, one value per weight row (NaN where a resample
    has neither a positive label nor a positive prediction)."""
    y, pred = _1d(y), _1d(predicted)
    w = _weights(weights, y.size)
    tp, fp, fn = w @ (y * pred), w @ ((1 - y) * pred), w @ (y * (1 - pred))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)


def macro_f1(
    y: np.ndarray, score: np.ndarray, thresholds: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Macro F1 over label columns with one threshold per column (``score >= threshold``)."""
    y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    predicted = (score >= np.asarray(thresholds, dtype=float)[None, :]).astype(float)
    return _multilabel(f1, y, predicted, weights)


def f1_thresholds(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Per column, the score threshold that maximises F1 on (validation) data; why: a fixed
    0.5 is arbitrary for imbalanced labels and calibration differs between methods, so the
    benchmark picks thresholds on the validation fold and applies them to the test fold."""
    y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    out = np.empty(y.shape[1])
    for j in range(y.shape[1]):
        order = np.argsort(-score[:, j], kind="stable")
        s, t = score[order, j], y[order, j]
        tp = np.cumsum(t)
        k = np.arange(1, t.size + 1)
        f = np.where(tp > 0, 2 * tp / (k + t.sum()), 0.0)
        last = np.r_[s[1:] != s[:-1], True]  # only thresholds between distinct scores
        best = int(np.argmax(np.where(last, f, -1.0)))
        out[j] = s[best] if t.sum() > 0 else 1.0
    return out


_BINARY: dict[str, Callable[..., np.ndarray]] = {
    "auroc": auroc, "auprc": auprc, "brier": brier, "ece": ece,
}  # fmt: skip


def metric_values(
    kind: str,
    y: np.ndarray,
    score: np.ndarray,
    only: str | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every metric of a task ``kind`` (see :data:`METRICS`), one value per weight row.

    ``only`` computes just that metric (a paired bootstrap of the primary metric need not
    pay for the others on every resample)."""
    if kind not in METRICS:
        raise ValueError(f"task kind must be one of {', '.join(TASK_KINDS)}, got {kind!r}")
    names = METRICS[kind]
    if only is not None:
        if only not in names:
            raise ValueError(f"unknown {kind} metric {only!r}; known: {sorted(names)}")
        names = (only,)
    if kind == "binary":
        return {name: _BINARY[name](y, score, weights) for name in names}
    if kind == "multilabel":
        return {name: _multilabel(_BINARY[name], y, score, weights) for name in names}
    values = _regression(y, score, weights)
    return {name: values[name] for name in names}
