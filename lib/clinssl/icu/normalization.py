"""Per-feature z-normalization statistics from observed *train* values only.

Why train only: statistics computed over val/test rows leak their distribution into the
model's input (SLICES, ``prepare_dataset.py``). Only observed entries count (the NaN fill of
missing hours is not data). Computed in float64 over chunks of memmapped rows, so memory
does not grow with the dataset. A feature never observed in train, or constant there, gets
``std = 1`` (and ``mean = 0`` when unobserved) so normalization stays finite; the JSON says so.
"""

from __future__ import annotations

import numpy as np


def train_statistics(
    values: np.ndarray,
    mask: np.ndarray,
    train_rows: np.ndarray,
    feature_names: list[str],
    chunk_rows: int = 4096,
) -> dict:
    """Mean/std of observed values over ``train_rows`` of (N, T, D) ``values``/``mask``."""
    d = values.shape[-1]
    if len(feature_names) != d:
        raise ValueError(f"{len(feature_names)} feature names for {d} features")
    count = np.zeros(d, dtype=np.int64)
    total = np.zeros(d, dtype=np.float64)
    rows = np.sort(np.asarray(train_rows, dtype=np.int64))
    for start in range(0, len(rows), chunk_rows):
        idx = rows[start : start + chunk_rows]
        v = np.asarray(values[idx], dtype=np.float64).reshape(-1, d)
        m = np.asarray(mask[idx]).reshape(-1, d)
        count += m.sum(axis=0)
        total += np.where(m, v, 0.0).sum(axis=0)
    mean = np.divide(total, count, out=np.zeros(d), where=count > 0)
    sq = np.zeros(d, dtype=np.float64)
    for start in range(0, len(rows), chunk_rows):  # second pass: numerically stable variance
        idx = rows[start : start + chunk_rows]
        v = np.asarray(values[idx], dtype=np.float64).reshape(-1, d)
        m = np.asarray(mask[idx]).reshape(-1, d)
        sq += np.where(m, (v - mean) ** 2, 0.0).sum(axis=0)
    std = np.sqrt(np.divide(sq, count, out=np.zeros(d), where=count > 0))
    degenerate = (count == 0) | (std < 1e-8)
    std[degenerate] = 1.0
    return {
        "computed_from": "observed values of the train split only",
        "n_train_stays": int(len(rows)),
        "feature_names": list(feature_names),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "n_observed": count.tolist(),
        "degenerate_features": [f for f, bad in zip(feature_names, degenerate, strict=True) if bad],
        "features": {
            f: {"mean": float(mu), "std": float(sd), "n_observed": int(c)}
            for f, mu, sd, c in zip(feature_names, mean, std, count, strict=True)
        },
    }
