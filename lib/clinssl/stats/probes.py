"""Linear probes on frozen PPG embeddings: PVC detection (HiMAE's downstream task) and age.

Why patient-grouped cross-validation: windows of one patient share morphology, so a
window-level split would let the probe recognise patients instead of PVCs. Folds are
``StratifiedGroupKFold`` by subject; every window gets one out-of-fold probability.

The PVC probe is a single logistic layer on standardised mean-pooled bottleneck features
(the reference's ``nn.Linear(256, 2)``; fitted here by L-BFGS to convergence, which removes
the reference's dependence on an epoch count). Confidence intervals come from a
**subject-level cluster bootstrap** of the pooled out-of-fold predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import average_precision_score, r2_score, roc_auc_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def grouped_probe_predictions(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_folds: int, seed: int, c: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold P(y=1) and fold number of every row (logistic probe, grouped folds)."""
    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("PVC probe: labels have a single class; cannot fit or score a probe")
    n_groups = len(np.unique(groups))
    folds = min(n_folds, n_groups)
    if folds < 2:
        raise ValueError(f"PVC probe: need >= 2 subjects for grouped CV, got {n_groups}")
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


def cluster_bootstrap_metrics(
    y: np.ndarray, p: np.ndarray, groups: np.ndarray, n_boot: int, seed: int, level: float = 0.95
) -> dict[str, Any]:
    """ROC-AUC and average precision with subject-level bootstrap percentile CIs."""
    y = np.asarray(y, dtype=int)
    out: dict[str, Any] = {
        "n_windows": int(len(y)),
        "n_subjects": int(len(np.unique(groups))),
        "n_positive": int(y.sum()),
        "prevalence": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)),
        "average_precision": float(average_precision_score(y, p)),
    }
    rng = np.random.default_rng(seed)
    subjects, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(subjects.size)]
    aucs, aps = [], []
    for _ in range(n_boot):
        pick = rng.integers(0, subjects.size, subjects.size)
        idx = np.concatenate([members[i] for i in pick])
        if y[idx].min() == y[idx].max():
            continue
        aucs.append(roc_auc_score(y[idx], p[idx]))
        aps.append(average_precision_score(y[idx], p[idx]))
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out["roc_auc_ci"] = (
        [float(np.percentile(aucs, lo)), float(np.percentile(aucs, hi))] if aucs else None
    )
    out["average_precision_ci"] = (
        [float(np.percentile(aps, lo)), float(np.percentile(aps, hi))] if aps else None
    )
    out["n_bootstrap"] = len(aucs)
    out["ci_level"] = level
    return out


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


def predictions_frame(
    table: pd.DataFrame, y: np.ndarray, p: np.ndarray, fold: np.ndarray
) -> pd.DataFrame:
    """The seed's ``pvc_predictions.csv`` shape: subject, window, label, p_pvc (+ record, fold)."""
    return pd.DataFrame(
        {
            "subject": table["subject_id"].to_numpy(),
            "record": table["record"].to_numpy(),
            "window": table["window_index"].to_numpy(),
            "label": np.asarray(y, dtype=int),
            "p_pvc": p,
            "fold": fold,
        }
    )
