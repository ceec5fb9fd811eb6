"""Linear probes on frozen embeddings with patient-grouped cross-validation.

Why patient-grouped folds: rows of one patient (PPG windows, ECG records, ICU stays) share
morphology or history, so a row-level split would let the probe recognise patients instead
of the label. Folds are ``StratifiedGroupKFold`` (logistic) or ``GroupKFold`` (ridge) by
patient; every row gets one out-of-fold prediction. The logistic probe is fitted by L-BFGS
to convergence on standardised features (no dependence on an epoch count); its L2 strength
(and ridge's α) is chosen per fit by inner patient-grouped CV on the fit's training rows,
so a small labelled set is not probed with the penalty a large one needs. Confidence
intervals of the pooled out-of-fold predictions come from :mod:`clinssl.stats.bootstrap`
with the same patient groups.

Label fractions (how a probe degrades with fewer labels) subsample the training
**patients** of each fold, stratified by whether a patient has a positive row, with a seed
per (fold, fraction) — so every feature set compared on a task trains on the same rows and
is scored on the same out-of-fold rows, and paired margins are paired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV
from sklearn.metrics import log_loss, r2_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from clinssl.utils.seeding import derive_seed

RIDGE_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)


def grouped_folds(
    y: np.ndarray, groups: np.ndarray, n_folds: int, seed: int, stratify: bool
) -> np.ndarray:
    """Fold number of every row: patient-grouped, label-stratified when ``stratify``."""
    n_groups = len(np.unique(groups))
    folds = min(n_folds, n_groups)
    if folds < 2:
        raise ValueError(f"probe: need >= 2 patients for grouped CV, got {n_groups}")
    if stratify:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_of = np.full(len(y), -1)
    for k, (_, te) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        fold_of[te] = k
    return fold_of


def fraction_training_rows(
    fold_of: np.ndarray,
    groups: np.ndarray,
    positive: np.ndarray | None,
    fold: int,
    fraction: float,
    seed: int,
) -> np.ndarray:
    """Training rows of ``fold`` when only ``fraction`` of its training patients are
    labelled: patients drawn without replacement (at least one per stratum), stratified by
    ``positive`` (whether a row is a positive case; None for regression)."""
    train = np.flatnonzero(fold_of != fold)
    if fraction >= 1.0:
        return train
    if not 0.0 < fraction:
        raise ValueError(f"probe: label fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(derive_seed(seed, "probe-label-fraction", fold, str(float(fraction))))
    tg = groups[train]
    patients = np.unique(tg)
    if positive is None:
        strata = [patients]
    else:
        pos_patients = np.unique(tg[np.asarray(positive, dtype=bool)[train]])
        strata = [pos_patients, np.setdiff1d(patients, pos_patients)]
    chosen = []
    for stratum in strata:
        if stratum.size:
            k = max(1, int(np.ceil(fraction * stratum.size)))
            chosen.append(rng.choice(stratum, size=k, replace=False))
    return train[np.isin(tg, np.concatenate(chosen))]


def _preprocess():
    return [SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()]


def choose_penalty(
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    grid: tuple[float, ...],
    seed: int,
    max_rows: int = 2000,
    inner_folds: int = 3,
) -> float:
    """The L2 strength for one fit: inner patient-grouped CV over ``grid`` (C of the
    logistic layer by log-loss, α of ridge by squared error) on at most ``max_rows`` rows
    (whole patients drawn with ``seed``; bounds the cost on large window sets, where the
    choice matters least). A one-element grid is a fixed penalty."""
    grid = tuple(float(g) for g in grid)
    if len(grid) == 1:
        return grid[0]
    rng = np.random.default_rng(derive_seed(seed, "probe-penalty"))
    patients = rng.permutation(np.unique(groups))
    if len(y) > max_rows:
        sizes = pd.Series(groups).value_counts().reindex(patients).to_numpy()
        keep = patients[: max(inner_folds, int(np.searchsorted(np.cumsum(sizes), max_rows)))]
        rows = np.flatnonzero(np.isin(groups, keep))
        x, y, groups = x[rows], y[rows], groups[rows]
    n_groups = len(np.unique(groups))
    if kind == "binary":  # each inner training set needs both classes
        y = y.astype(int)
        n_groups = min(len(np.unique(groups[y == 1])), len(np.unique(groups[y == 0])))
    if n_groups < inner_folds:
        return grid[len(grid) // 2]
    if kind == "binary":
        return _logistic_penalty(x, y.astype(int), groups, grid, inner_folds, seed)
    inner = GroupKFold(inner_folds, shuffle=True, random_state=seed)
    head = RidgeCV(alphas=list(grid), cv=list(inner.split(x, y, groups)))
    return float(make_pipeline(*_preprocess(), head).fit(x, y)[-1].alpha_)


def _logistic_penalty(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, grid: tuple[float, ...], folds: int,
    seed: int,
) -> float:
    """C with the lowest inner-CV log-loss; C ascending with warm starts (each fit starts
    from the more regularised solution, the cheap end of the path)."""
    grid = tuple(sorted(grid))
    loss = np.zeros(len(grid))
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y, groups):
        prep = make_pipeline(*_preprocess()).fit(x[train])
        a, b = prep.transform(x[train]), prep.transform(x[test])
        model = LogisticRegression(max_iter=2000, warm_start=True)
        for i, c in enumerate(grid):
            model.set_params(C=c).fit(a, y[train])
            loss[i] += log_loss(y[test], model.predict_proba(b)[:, 1], labels=[0, 1])
    return grid[int(np.argmin(loss))]


def linear_probe(kind: str, penalty: float):
    """The probe of a task kind: median-impute, standardise, then an L2 logistic layer with
    ``C = penalty`` (binary) or ridge with ``α = penalty`` (regression)."""
    if kind == "binary":
        head = LogisticRegression(C=penalty, max_iter=2000)
    elif kind == "regression":
        head = Ridge(alpha=penalty)
    else:
        raise ValueError(f"probe: unsupported task kind {kind!r} (binary, regression)")
    return make_pipeline(*_preprocess(), head)


def fit_predict_folds(
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    fold_of: np.ndarray,
    training_rows: list[np.ndarray],
    grid: tuple[float, ...],
    seed: int,
    max_rows: int = 2000,
) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold score of every row (P(y=1) or the prediction) and the penalty chosen per
    fold: for fold k, choose the penalty on ``training_rows[k]`` (:func:`choose_penalty`),
    fit there and predict the rows of fold k. A binary training set with one class predicts
    its prevalence (penalty NaN)."""
    score = np.full(len(y), np.nan)
    chosen = []
    for k, train in enumerate(training_rows):
        test = np.flatnonzero(fold_of == k)
        if kind == "binary" and len(np.unique(y[train])) < 2:
            score[test] = float(np.mean(y[train]))
            chosen.append(float("nan"))
            continue
        penalty = choose_penalty(kind, x[train], y[train], groups[train], grid, seed, max_rows)
        model = linear_probe(kind, penalty).fit(x[train], y[train])
        score[test] = model.predict_proba(x[test])[:, 1] if kind == "binary" else model.predict(x[test])
        chosen.append(penalty)
    return score, chosen


def grouped_probe_predictions(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_folds: int, seed: int, c: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold P(y=1) and fold number of every row (logistic probe, grouped folds)."""
    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("probe: labels have a single class; cannot fit or score a probe")
    fold_of = grouped_folds(y, groups, n_folds, seed, stratify=True)
    training = [np.flatnonzero(fold_of != k) for k in range(fold_of.max() + 1)]
    score, _ = fit_predict_folds("binary", x, y, groups, fold_of, training, (c,), seed)
    return score, fold_of


def grouped_ridge_r2(
    x: np.ndarray, target: np.ndarray, groups: np.ndarray, n_folds: int = 5
) -> float:
    """Out-of-fold R² of a ridge regression (α by inner grouped CV over :data:`RIDGE_ALPHAS`)."""
    fold_of = grouped_folds(target, groups, n_folds, seed=0, stratify=False)
    training = [np.flatnonzero(fold_of != k) for k in range(fold_of.max() + 1)]
    pred, _ = fit_predict_folds("regression", x, np.asarray(target, float), groups, fold_of,
                                training, RIDGE_ALPHAS, seed=0)  # fmt: skip
    return float(r2_score(target, pred))
