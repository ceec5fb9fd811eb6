"""The PVC probe of HiMAE's downstream task on the frozen embedding ``z``.

A single logistic layer on standardised mean-pooled bottleneck features (the reference's
``nn.Linear(256, 2)``), fitted per patient-grouped fold by :mod:`clinssl.stats.probes`.
Windows of one subject are correlated, so the CIs resample **subjects**
(:func:`clinssl.stats.bootstrap.evaluate` with ``groups``). ``metrics.json`` holds the
counts plus ``{metric: {value, ci_low, ci_high}}`` for auroc, auprc, brier and ece — the
same names and CI fields as every branch's metrics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clinssl.stats.bootstrap import evaluate

__all__ = ["predictions_frame", "probe_metrics"]


def probe_metrics(
    y: np.ndarray,
    p: np.ndarray,
    subjects: np.ndarray,
    n_resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Counts and binary metrics of the pooled out-of-fold predictions, subject-level CIs."""
    y = np.asarray(y, dtype=int)
    return {
        "n_windows": int(len(y)),
        "n_subjects": int(len(np.unique(subjects))),
        "n_positive": int(y.sum()),
        "prevalence": float(y.mean()),
        "bootstrap": {"resamples": int(n_resamples), "confidence": confidence,
                      "unit": "subject"},  # fmt: skip
        **evaluate("binary", y, p, groups=subjects, n_resamples=n_resamples,
                   confidence=confidence, seed=seed),  # fmt: skip
    }


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
