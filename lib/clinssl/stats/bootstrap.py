"""Bootstrap confidence intervals and paired margins, with rows or whole patients resampled.

Why patient clusters: an ICU test split holds several stays of one patient, a PPG test set
many windows of one subject, PTB-XL several records of one patient. Rows of one patient are
correlated, so resampling rows as if independent makes the intervals too narrow. Passing
``groups`` (the patient / subject id of every row) resamples whole patients with
replacement — the cluster bootstrap — and each drawn patient brings all of its rows.
Without ``groups`` every row is its own cluster (the i.i.d. bootstrap).

A resample is represented by how often it draws each row (:func:`resample_weights`), which
lets :mod:`clinssl.stats.metrics` score all resamples in one vectorised pass and lets a
*paired* comparison apply the very same resamples to two models scored on the same rows.
``scipy.stats.bootstrap`` has no cluster resampling, so the percentile interval is computed
here, once (:func:`percentile_ci`). Every resampled quantity is a pure function of ``seed``.

Output names are shared by every branch: ``value``, ``ci_low``, ``ci_high`` per metric, and
``delta``, ``ci_low``, ``ci_high``, ``p_value`` for a paired margin.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from clinssl.stats.metrics import (
    HIGHER_IS_BETTER,
    METRICS,
    PRIMARY_METRIC,
    macro_f1,
    metric_values,
)

__all__ = [
    "PairedMargin",
    "evaluate",
    "evaluate_macro_f1",
    "paired_margin",
    "paired_replicates",
    "percentile_ci",
    "resample_weights",
]

#: resamples scored per vectorised pass (bounds memory at CHUNK × rows floats per array)
CHUNK = 128


#: draws kept for reuse, newest last: a summary pairs dozens of models on the same test
#: patients with the same seed, and the multinomial draw is most of each paired bootstrap
_DRAWS: OrderedDict[tuple[int, int, bytes], list[np.ndarray]] = OrderedDict()
_DRAWS_KEPT = 16
#: larger draws (resamples x rows) are not kept: 4M floats = 32 MB per entry
_DRAWS_MAX_ELEMENTS = 4_000_000


def resample_weights(
    n: int, n_resamples: int, seed: int, groups: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Chunks of ``(r, n)`` draw counts: how often each row is drawn in each resample.

    With ``groups``, the clusters (unique group values) are drawn with replacement, as many
    as there are clusters, and every row gets its cluster's count. The chunks are a pure
    function of ``(n_resamples, seed, cluster of every row)``; the last few such draws are
    kept and handed out again (read-only) instead of being redrawn.
    """
    if groups is None:
        inverse, n_clusters = np.arange(n), n
    else:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have one entry per row ({n}), got shape {groups.shape}")
        _, inverse = np.unique(groups, return_inverse=True)
        n_clusters = int(inverse.max()) + 1 if n else 0
    key = (int(n_resamples), int(seed), np.ascontiguousarray(inverse, dtype=np.int64).tobytes())
    kept = _DRAWS.get(key)
    if kept is not None:
        _DRAWS.move_to_end(key)
        yield from kept
        return
    chunks = _draw_counts(inverse, n_clusters, n_resamples, seed)
    if n_resamples * n > _DRAWS_MAX_ELEMENTS:
        yield from chunks
        return
    drawn = []
    for chunk in chunks:
        chunk.setflags(write=False)
        drawn.append(chunk)
        yield chunk
    _DRAWS[key] = drawn
    while len(_DRAWS) > _DRAWS_KEPT:
        _DRAWS.popitem(last=False)


def _draw_counts(
    inverse: np.ndarray, n_clusters: int, n_resamples: int, seed: int
) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    uniform = np.full(n_clusters, 1.0 / max(n_clusters, 1))
    for start in range(0, n_resamples, CHUNK):
        r = min(CHUNK, n_resamples - start)
        counts = rng.multinomial(n_clusters, uniform, size=r)
        yield counts[:, inverse].astype(float)


def percentile_ci(replicates: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the finite replicates (NaN, NaN when there are none)."""
    finite = np.asarray(replicates, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(finite, [alpha, 1 - alpha])
    return float(lo), float(hi)


def _check_inputs(kind: str, y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if kind not in METRICS:
        raise ValueError(f"task kind must be one of {', '.join(METRICS)}, got {kind!r}")
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    expected_ndim = 2 if kind == "multilabel" else 1
    if y.shape != score.shape or y.ndim != expected_ndim:
        raise ValueError(
            f"{kind} labels and scores must be {expected_ndim}-D of equal shape, "
            f"got {y.shape}, {score.shape}"
        )
    if np.isnan(y).any() or np.isnan(score).any():
        raise ValueError("labels/scores contain NaN; drop unlabeled rows before evaluating")
    if kind in ("binary", "multilabel") and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{kind} labels must be 0/1")
    return y, score


def evaluate(
    kind: str,
    y: np.ndarray,
    score: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """``{metric: {"value", "ci_low", "ci_high"}}``: point estimates and percentile CIs.

    ``score`` is the positive-class probability (binary, multilabel) or the prediction
    (regression); ``groups`` the patient of every row (cluster bootstrap) or None (rows).
    """
    y, score = _check_inputs(kind, y, score)
    out = {m: {"value": float(v[0])} for m, v in metric_values(kind, y, score).items()}
    if n_resamples <= 0 or len(y) < 2:
        for m in out:
            out[m].update(ci_low=float("nan"), ci_high=float("nan"))
        return out
    chunks = [
        metric_values(kind, y, score, weights=w)
        for w in resample_weights(len(y), n_resamples, seed, groups)
    ]
    for m in out:
        lo, hi = percentile_ci(np.concatenate([c[m] for c in chunks]), confidence)
        out[m].update(ci_low=lo, ci_high=hi)
    return out


def evaluate_macro_f1(
    y: np.ndarray,
    score: np.ndarray,
    thresholds: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """``{"value", "ci_low", "ci_high"}`` of the macro F1 at fixed per-label ``thresholds``
    (chosen elsewhere, e.g. on a validation fold), with the same resamples as
    :func:`evaluate` for the same ``seed`` and ``groups``."""
    y, score = _check_inputs("multilabel", y, score)
    value = float(macro_f1(y, score, thresholds)[0])
    if n_resamples <= 0 or len(y) < 2:
        return {"value": value, "ci_low": float("nan"), "ci_high": float("nan")}
    reps = np.concatenate([macro_f1(y, score, thresholds, weights=w)
                           for w in resample_weights(len(y), n_resamples, seed, groups)])  # fmt: skip
    lo, hi = percentile_ci(reps, confidence)
    return {"value": value, "ci_low": lo, "ci_high": hi}


def paired_replicates(
    kind: str,
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    *,
    metric: str | None = None,
    groups: np.ndarray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[str, float, np.ndarray]:
    """``(metric, a − b, replicates of a − b)`` on the same rows and the same resamples.

    ``metric`` defaults to the kind's primary metric; the sign is flipped for lower-is-better
    metrics so that positive always means ``a`` is better.
    """
    y, a = _check_inputs(kind, y, a)
    _, b = _check_inputs(kind, y, b)
    metric = metric or PRIMARY_METRIC[kind][0]
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    point = sign * (
        metric_values(kind, y, a, metric)[metric][0] - metric_values(kind, y, b, metric)[metric][0]
    )
    reps = [
        sign * (
            metric_values(kind, y, a, metric, weights=w)[metric]
            - metric_values(kind, y, b, metric, weights=w)[metric]
        )
        for w in resample_weights(len(y), n_resamples, seed, groups)
    ]  # fmt: skip
    return metric, float(point), np.concatenate(reps) if reps else np.empty(0)


@dataclass(frozen=True)
class PairedMargin:
    """A paired difference (positive = better), its percentile CI and two-sided p-value."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float


def paired_margin(delta: float, replicates: np.ndarray, confidence: float = 0.95) -> PairedMargin:
    """Summarise paired replicates: CI and the two-sided bootstrap p-value of delta ≠ 0."""
    finite = np.asarray(replicates, dtype=float)
    finite = finite[np.isfinite(finite)]
    lo, hi = percentile_ci(finite, confidence)
    p = (
        min(1.0, 2 * min((finite <= 0).mean(), (finite >= 0).mean()))
        if finite.size
        else float("nan")
    )
    return PairedMargin(float(delta), lo, hi, float(p))
