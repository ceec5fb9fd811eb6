"""Patient-level train/val/test splits of an ingested ICU dataset.

Why patient-level: a patient with several ICU stays must not have one stay in train and
another in test — the model would be scored on someone it has already seen (SLICES splits
by patient; YAIB cohorts have no patient id, so there ``patient_id == stay_id``). The
assignment is a pure function of the seed and the set of patients: patients are sorted,
permuted with a generator seeded by ``derive_seed(seed, "icu_splits")``, and cut at the
cumulative fractions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.utils import derive_seed

SPLITS = ("train", "val", "test")


def patient_level_split(
    static: pd.DataFrame, seed: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> pd.DataFrame:
    """``stay_id, patient_id, split`` for every row of ``static`` (same order)."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            f"split fractions must be three non-negative numbers summing to 1, got {fractions}"
        )
    for col in ("stay_id", "patient_id"):
        if col not in static.columns:
            raise ValueError(f"static table: missing column {col!r}")
    if static["patient_id"].isna().any():
        raise ValueError("static table: patient_id has missing values; cannot split by patient")
    patients = np.sort(static["patient_id"].unique())
    rng = np.random.default_rng(derive_seed(seed, "icu_splits"))
    order = rng.permutation(len(patients))
    n_train = int(round(fractions[0] * len(patients)))
    n_val = int(round(fractions[1] * len(patients)))
    assignment = np.empty(len(patients), dtype=object)
    assignment[order[:n_train]] = "train"
    assignment[order[n_train : n_train + n_val]] = "val"
    assignment[order[n_train + n_val :]] = "test"
    lookup = pd.Series(assignment, index=patients)
    return pd.DataFrame(
        {
            "stay_id": static["stay_id"].to_numpy(),
            "patient_id": static["patient_id"].to_numpy(),
            "split": lookup.loc[static["patient_id"].to_numpy()].to_numpy().astype(str),
        }
    )
