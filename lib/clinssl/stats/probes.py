"""Linear probes on frozen embeddings with patient-grouped cross-validation.

Why patient-grouped folds: rows of one patient (PPG windows, ECG records, ICU stays) share
morphology or history, so a row-level split would let the probe recognise patients instead
of the label. Folds are ``StratifiedGroupKFold`` (logistic) or ``GroupKFold`` (ridge) by
patient; every row gets one out-of-fold prediction. The logistic probe is fitted by L-BFGS
to convergence on standardised features (no dependence on an epoch count). Confidence
intervals of the pooled out-of-fold predictions come from :mod:`clinssl.stats.bootstrap`
with the same patient groups.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def grouped_probe_predictions(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_folds: int, seed: int, c: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold P(y=1) and fold number of every row (logistic probe, grouped folds)."""
    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("probe: labels have a single class; cannot fit or score a probe")
    n_groups = len(np.unique(groups))
    folds = min(n_folds, n_groups)
    if folds < 2:
        raise ValueError(f"probe: need >= 2 patients for grouped CV, got {n_groups}")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = np.full(len(y), np.nan)
    fold_of = np.full(len(y), -1)
    for k, (tr, te) in enumerate(splitter.split(x, y, groups)):
        if len(np.unique(y[tr])) < 2:
            proba[te] = y[tr].mean()
        else:
            model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
            model.fit(x[tr], y[tr])
            proba[te] = model.predict_proba(x[te])[:, 1]
        fold_of[te] = k
    return proba, fold_of


def grouped_ridge_r2(
    x: np.ndarray, target: np.ndarray, groups: np.ndarray, n_folds: int = 5
) -> float:
    """Out-of-fold R² of a ridge regression (α chosen by inner CV over {0.1 … 1000})."""
    folds = GroupKFold(n_splits=min(n_folds, len(np.unique(groups))))
    pred = np.empty(len(target))
    for tr, te in folds.split(x, target, groups):
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=[0.1, 1, 10, 100, 1000]))
        model.fit(x[tr], target[tr])
        pred[te] = model.predict(x[te])
    return float(r2_score(target, pred))
