"""Group-level train/val/test splits: every row of one patient lands in one split.

Why patient-level: a patient with several ICU stays, or many near-duplicate PPG windows, must
not have rows in both train and test — the model would be scored on someone it has already
seen, and every probe would be inflated.

* :func:`patient_level_split` (ICU stays): the assignment is a pure function of the seed and
  the set of patients: patients are sorted, permuted with a generator seeded by
  ``derive_seed(seed, "icu_splits")``, and cut at the cumulative fractions (SLICES splits by
  patient; YAIB cohorts have no patient id, so there ``patient_id == stay_id``). With a
  label to stratify on, each label stratum of patients is permuted and cut on its own.
* :func:`age_stratified_split` (PPG subjects): age is the main downstream target (vascular
  ageing), so each split should span the same age range. Subjects are binned by age quantile
  (unknown age is its own stratum), shuffled with a seeded generator within each bin, and
  dealt out by the fractions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.utils import derive_seed

SPLITS = ("train", "val", "test")


def patient_level_split(
    static: pd.DataFrame,
    seed: int,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    stratify: np.ndarray | pd.Series | None = None,
) -> pd.DataFrame:
    """``stay_id, patient_id, split`` for every row of ``static`` (same order).

    ``stratify`` (optional, one binary label per row, NaN = missing) stratifies the split:
    a patient's stratum is positive if any of their stays is, negative if all labelled stays
    are negative, and "missing" without a labelled stay; each stratum is permuted and cut at
    the fractions on its own, so a rare outcome is balanced across train/val/test (grouped
    stratification, as ``StratifiedGroupKFold`` does for folds).
    """
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
    if stratify is None:
        strata = np.zeros(len(patients), dtype=np.int64)
    else:
        strata = _patient_strata(static["patient_id"].to_numpy(), stratify, patients)
    assignment = np.empty(len(patients), dtype=object)
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        order = members[rng.permutation(len(members))]
        n_train = int(round(fractions[0] * len(members)))
        n_val = int(round(fractions[1] * len(members)))
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


def _patient_strata(
    patient_id: np.ndarray, label: np.ndarray | pd.Series, patients: np.ndarray
) -> np.ndarray:
    """Per sorted patient: 1 if any stay is positive, 0 if labelled and all negative, 2 if
    no stay is labelled."""
    y = pd.to_numeric(pd.Series(np.asarray(label)), errors="coerce").to_numpy(float)
    if len(y) != len(patient_id):
        raise ValueError(f"stratify labels have {len(y)} rows, the static table {len(patient_id)}")
    bad = ~np.isnan(y) & ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"stratify labels must be 0, 1 or missing; found {np.unique(y[bad])[:5]}")
    frame = pd.DataFrame({"patient_id": patient_id, "y": y})
    per_patient = frame.groupby("patient_id")["y"].max().reindex(patients)
    return np.where(per_patient.isna(), 2, per_patient.fillna(0)).astype(np.int64)


def age_stratified_split(
    subjects: pd.DataFrame,
    fractions: dict[str, float],
    seed: int,
    n_bins: int = 5,
) -> pd.Series:
    """Map each ``subject_id`` of ``subjects`` (columns subject_id, age) to a split name."""
    if set(fractions) != set(SPLITS):
        raise ValueError(f"split fractions must name exactly {SPLITS}, got {sorted(fractions)}")
    total = sum(fractions.values())
    if total <= 0 or any(v < 0 for v in fractions.values()):
        raise ValueError(f"split fractions must be non-negative with a positive sum: {fractions}")
    subj = subjects.drop_duplicates("subject_id").sort_values("subject_id").reset_index(drop=True)
    age = pd.to_numeric(subj["age"], errors="coerce")
    strata = pd.Series(-1, index=subj.index)
    known = age.notna()
    if known.any():
        ranks = age[known].rank(method="first")
        strata[known] = np.minimum(
            (ranks - 1) * min(n_bins, int(known.sum())) // int(known.sum()), n_bins - 1
        ).astype(int)
    rng = np.random.default_rng(seed)
    cum = np.cumsum([fractions[s] / total for s in SPLITS])
    assignment = pd.Series(index=subj["subject_id"].to_numpy(), dtype=object)
    for stratum in sorted(strata.unique()):
        members = subj.loc[strata == stratum, "subject_id"].to_numpy()
        members = members[rng.permutation(members.size)]
        # deal by position, offset by a random phase so small strata do not all favour train
        phase = rng.random()
        positions = (np.arange(members.size) + phase) / members.size
        labels = np.array(SPLITS)[np.searchsorted(cum, positions, side="right").clip(0, 2)]
        assignment[members] = labels
    return assignment
