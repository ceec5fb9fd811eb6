"""Downstream metrics with bootstrap 95 % confidence intervals.

Binary tasks: AUROC, AUPRC (average precision), Brier score and ECE (15 equal-width bins,
L1, on the positive-class probability), as in SLICES. Regression (LOS): MAE, MSE, R².

Why vectorised: every downstream result gets a bootstrap CI (1,000 resamples by default) and
a run produces hundreds of results; calling scikit-learn once per resample would dominate
the runtime. The metric functions below therefore accept a batch of resampled label/score
rows ``(R, n)`` and compute all resamples at once; on a single row they agree with
scikit-learn's ``roc_auc_score`` / ``average_precision_score`` / ``brier_score_loss``
(tests check this). Resamples in which only one class occurs give NaN and are dropped from
the percentile CI.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "BINARY_METRICS",
    "PRIMARY_METRIC",
    "REGRESSION_METRICS",
    "auprc",
    "auroc",
    "bootstrap_indices",
    "brier",
    "ece",
    "evaluate",
    "metric_values",
]

BINARY_METRICS = ("auroc", "auprc", "brier", "ece")
REGRESSION_METRICS = ("mae", "mse", "r2")
#: primary metric per task kind and whether higher is better (model selection, summaries)
PRIMARY_METRIC = {"binary": ("auprc", True), "regression": ("mae", False)}
HIGHER_IS_BETTER = {"auroc": True, "auprc": True, "brier": False, "ece": False,
                    "mae": False, "mse": False, "r2": True}  # fmt: skip


def _2d(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return a[None, :] if a.ndim == 1 else a


def auroc(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """AUROC per row (Mann–Whitney U with mid-ranks for ties); NaN where a class is absent."""
    y, score = _2d(y), _2d(score)
    ranks = rankdata(score, axis=1)
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    u = (ranks * y).sum(axis=1) - n_pos * (n_pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)


def auprc(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Average precision per row (step-wise, thresholds at distinct scores as scikit-learn)."""
    y, score = _2d(y), _2d(score)
    order = np.argsort(-score, axis=1, kind="stable")
    ys = np.take_along_axis(y, order, axis=1)
    ss = np.take_along_axis(score, order, axis=1)
    tp = np.cumsum(ys, axis=1)
    rank = np.arange(1, y.shape[1] + 1)[None, :]
    # only the last position of each run of tied scores is a threshold
    last_of_tie = np.ones_like(ss, dtype=bool)
    last_of_tie[:, :-1] = ss[:, :-1] != ss[:, 1:]
    n_pos = y.sum(axis=1)
    precision = tp / rank
    recall_tp = np.where(last_of_tie, tp, np.nan)
    # recall increments between consecutive thresholds
    filled = np.where(last_of_tie, tp, 0.0)
    prev = np.maximum.accumulate(
        np.concatenate([np.zeros((y.shape[0], 1)), filled], axis=1), axis=1
    )[:, :-1]
    delta = np.where(np.isnan(recall_tp), 0.0, recall_tp - prev)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pos > 0, (delta * precision).sum(axis=1) / n_pos, np.nan)


def brier(y: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Mean squared error of the positive-class probability, per row."""
    y, prob = _2d(y), _2d(prob)
    return ((prob - y) ** 2).mean(axis=1)


def ece(y: np.ndarray, prob: np.ndarray, n_bins: int = 15) -> np.ndarray:
    """Expected calibration error (equal-width bins on the positive-class probability, L1)."""
    y, prob = _2d(y), _2d(prob)
    bins = np.clip((prob * n_bins).astype(int), 0, n_bins - 1)
    total = np.zeros(y.shape[0])
    for b in range(n_bins):
        in_bin = bins == b
        conf = np.where(in_bin, prob, 0).sum(axis=1)
        acc = np.where(in_bin, y, 0).sum(axis=1)
        total += np.abs(acc - conf)
    return total / y.shape[1]


def _regression(y: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    y, pred = _2d(y), _2d(pred)
    err = pred - y
    mse = (err**2).mean(axis=1)
    var = y.var(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(var > 0, 1 - mse / var, np.nan)
    return {"mae": np.abs(err).mean(axis=1), "mse": mse, "r2": r2}


def metric_values(
    kind: str, y: np.ndarray, score: np.ndarray, only: str | None = None
) -> dict[str, np.ndarray]:
    """Every metric of a task ``kind`` ('binary' | 'regression') per row of ``(R, n)`` inputs.

    ``only`` computes just that metric (a paired bootstrap of the primary metric need not
    pay for the other three on every resample)."""
    if kind == "binary":
        functions = {"auroc": auroc, "auprc": auprc, "brier": brier, "ece": ece}
        if only is not None:
            if only not in functions:
                raise ValueError(f"unknown binary metric {only!r}; known: {sorted(functions)}")
            functions = {only: functions[only]}
        return {name: fn(y, score) for name, fn in functions.items()}
    if kind == "regression":
        values = _regression(y, score)
        return values if only is None else {only: values[only]}
    raise ValueError(f"task kind must be 'binary' or 'regression', got {kind!r}")


def bootstrap_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """``(n_resamples, n)`` indices drawn with replacement (a pure function of ``seed``)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def evaluate(
    kind: str,
    y: np.ndarray,
    score: np.ndarray,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """``{metric: {"value", "ci_low", "ci_high"}}``: point estimates and percentile CIs.

    ``score`` is the positive-class probability (binary) or the prediction (regression).
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    if y.shape != score.shape or y.ndim != 1:
        raise ValueError(
            f"labels and scores must be 1-D of equal length, got {y.shape}, {score.shape}"
        )
    if np.isnan(y).any() or np.isnan(score).any():
        raise ValueError("labels/scores contain NaN; drop unlabeled stays before evaluating")
    if kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("binary labels must be 0/1")
    point = metric_values(kind, y, score)
    out: dict[str, dict[str, float]] = {m: {"value": float(v[0])} for m, v in point.items()}
    if n_resamples > 0 and len(y) > 1:
        idx = bootstrap_indices(len(y), n_resamples, seed)
        boot = metric_values(kind, y[idx], score[idx])
        alpha = (1 - confidence) / 2
        for m, values in boot.items():
            finite = values[np.isfinite(values)]
            lo, hi = np.quantile(finite, [alpha, 1 - alpha]) if finite.size else (np.nan, np.nan)
            out[m].update(ci_low=float(lo), ci_high=float(hi))
    else:
        for m in out:
            out[m].update(ci_low=float("nan"), ci_high=float("nan"))
    return out
