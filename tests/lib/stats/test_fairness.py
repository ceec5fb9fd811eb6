"""Fairness: a planted subgroup effect shows as a gap; small groups are excluded."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.stats.fairness import age_group, fairness_report


def _frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 95, n)
    risk = rng.normal(0, 1, n)
    hidden = np.where(age >= 80, rng.normal(0, 2.0, n), 0.0)  # invisible to the model
    y = (risk + hidden + rng.normal(0, 0.5, n) > 1.0).astype(float)
    score = 1 / (1 + np.exp(-(risk - 1.0) * 2))
    return pd.DataFrame(
        {
            "y_true": y,
            "y_score": score,
            "patient_id": np.arange(n),
            "age_group": age_group(pd.Series(age)),
            "sex": rng.choice(["M", "F"], n),
            "race": np.where(np.arange(n) < 20, "Tiny", rng.choice(["White", "Black"], n)),
        }
    )


def test_age_groups() -> None:
    groups = age_group(pd.Series([18, 44.9, 45, 64, 65, 79, 80, 101, 10]))
    assert groups.tolist()[:8] == [
        "18-44",
        "18-44",
        "45-64",
        "45-64",
        "65-79",
        "65-79",
        "80+",
        "80+",
    ]
    assert pd.isna(groups.iloc[8])


def test_planted_subgroup_effect_gives_gap_and_worst_group() -> None:
    per, summary = fairness_report("binary", _frame(), ["age_group", "sex", "race"], 50, 0.5)
    age = summary.set_index("attribute").loc["age_group"]
    assert age["worst_group_auroc"] == "80+"
    assert age["auroc_gap"] > 0.1
    sex = summary.set_index("attribute").loc["sex"]
    assert sex["auroc_gap"] < age["auroc_gap"]
    assert 0 <= age["demographic_parity_diff"] <= 1 and 0 <= age["equalized_odds_diff"] <= 1
    race = per[per["attribute"] == "race"].set_index("group")
    assert not race.loc["Tiny", "eligible"] and race.loc["White", "eligible"]
    assert summary.set_index("attribute").loc["race", "n_groups"] == 2


def test_regression_fairness() -> None:
    frame = _frame()
    frame["y_true"] = frame["y_score"] * 3 + np.where(frame["age_group"] == "80+", 1.0, 0.0)
    frame["y_score"] = frame["y_score"] * 3
    _, summary = fairness_report("regression", frame, ["age_group"], 50)
    row = summary.iloc[0]
    assert row["worst_group_mae"] == "80+" and row["mae_gap"] > 0.9
