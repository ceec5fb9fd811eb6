"""Patient-cluster bootstrap of binary metrics: the vectorised weights of
:mod:`clinssl.stats.bootstrap` against the obvious alternative, scikit-learn per resample.

Both compute AUROC and AUPRC CIs over the same number of resamples of an ICU-sized test set
(3,000 stays of 2,000 patients; ``quick``: 600 stays of 400 patients, 200 resamples); the
loop resamples patients with ``numpy`` and calls ``roc_auc_score`` /
``average_precision_score`` on the drawn rows. Reported: seconds of each, their ratio
(target: the vectorised path ≥ 5× faster, which is why it exists) and the largest gap
between the two paths' CI bounds (same metric, different draws: sampling noise only).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from clinssl.bench.core import Measurement


def _data(n_stays: int, n_patients: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    patient = np.sort(rng.integers(0, n_patients, n_stays))
    y = (rng.random(n_stays) < 0.12).astype(float)
    score = np.round(np.clip(0.35 * y + rng.random(n_stays) * 0.7, 0, 1), 3)  # ties
    return y, score, patient


def _sklearn_loop(y, score, patient, n_resamples: int, seed: int) -> dict[str, tuple[float, float]]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(seed)
    ids, inverse = np.unique(patient, return_inverse=True)
    rows_of = [np.flatnonzero(inverse == i) for i in range(ids.size)]
    aucs, aps = [], []
    for _ in range(n_resamples):
        rows = np.concatenate([rows_of[i] for i in rng.integers(0, ids.size, ids.size)])
        if y[rows].min() == y[rows].max():
            continue
        aucs.append(roc_auc_score(y[rows], score[rows]))
        aps.append(average_precision_score(y[rows], score[rows]))
    return {m: tuple(np.quantile(v, [0.025, 0.975])) for m, v in (("auroc", aucs), ("auprc", aps))}


def run(work_dir: Path, scale: str) -> list[Measurement]:
    from clinssl.stats.bootstrap import evaluate

    n_stays, n_patients, n_resamples = (600, 400, 200) if scale == "quick" else (3000, 2000, 1000)
    y, score, patient = _data(n_stays, n_patients)
    t0 = time.perf_counter()
    fast = evaluate("binary", y, score, groups=patient, n_resamples=n_resamples, seed=0)
    vectorised = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = _sklearn_loop(y, score, patient, n_resamples, seed=0)
    loop = time.perf_counter() - t0
    gap = max(abs(fast[m][k] - slow[m][i]) for m in slow for i, k in enumerate(("ci_low", "ci_high")))
    details = {"stays": n_stays, "patients": n_patients, "resamples": n_resamples,
               "note": "vectorised computes all four binary metrics; the loop only AUROC and AUPRC"}  # fmt: skip
    ratio = loop / vectorised
    return [
        Measurement("cluster_bootstrap_vectorised_seconds", vectorised, "s", details=details),
        Measurement("cluster_bootstrap_sklearn_loop_seconds", loop, "s", details=details),
        Measurement("cluster_bootstrap_speedup", ratio, "x", target=">= 5", passed=ratio >= 5,
                    details=details),  # fmt: skip
        Measurement("cluster_bootstrap_ci_bound_gap", gap, "AUROC/AUPRC units", details=details),
    ]
