"""Patient-level age-stratified splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clinssl.io.splits import age_stratified_split

FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def test_split_is_deterministic_balanced_and_age_stratified() -> None:
    rng = np.random.default_rng(0)
    subjects = pd.DataFrame({"subject_id": [f"p{i:06d}" for i in range(400)],
                             "age": rng.uniform(20, 90, 400)})  # fmt: skip
    a = age_stratified_split(subjects, FRACTIONS, seed=3)
    b = age_stratified_split(subjects.sample(frac=1, random_state=1), FRACTIONS, seed=3)
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())
    assert not a.equals(age_stratified_split(subjects, FRACTIONS, seed=4))
    counts = a.value_counts()
    assert abs(counts["train"] - 280) <= 6 and abs(counts["test"] - 60) <= 6
    ages = subjects.set_index("subject_id")["age"]
    means = ages.groupby(a[ages.index].to_numpy()).mean()
    assert (means - ages.mean()).abs().max() < 3.0  # every split spans the same ages


def test_unknown_age_is_its_own_stratum_and_bad_fractions_fail() -> None:
    subjects = pd.DataFrame({"subject_id": list("abcdefghij"), "age": [np.nan] * 10})
    assert set(age_stratified_split(subjects, FRACTIONS, seed=0)) <= {"train", "val", "test"}
    with pytest.raises(ValueError, match="exactly"):
        age_stratified_split(subjects, {"train": 1.0}, seed=0)
