"""Patient-level, age-stratified train/val/test splits for PPG windows.

Why patient-level: windows of one patient are near-duplicates; splitting windows would leak
a patient's morphology (and age) from train into test and inflate every probe. Why
age-stratified: age is the main downstream target (vascular ageing), so each split should
span the same age range. Subjects are binned by age quantile (unknown age is its own
stratum), shuffled with a seeded generator within each bin, and dealt out by the fractions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


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
