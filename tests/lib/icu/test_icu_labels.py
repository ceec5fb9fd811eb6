"""Label builders on hand-made edge cases (each row's expected label is worked out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clinssl.icu.labels import (
    ICU_TASKS,
    aki_kdigo,
    build_labels,
    los_remaining,
    mortality_24h,
    mortality_hospital,
)

INTIME = pd.Timestamp("2150-03-01 10:00")


def _mort(rows: list[dict]) -> tuple[pd.DataFrame, pd.Series]:
    base = {
        "death_time": pd.NaT,
        "death_date": pd.NaT,
        "death_time_precision": "unknown",
        "hospital_expire_flag": 0,
        "dischtime": INTIME + pd.Timedelta(days=10),
        "discharge_location": "HOME",
    }
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["death_time"] = pd.to_datetime(df["death_time"])
    df["death_date"] = pd.to_datetime(df["death_date"])
    return df, pd.Series([INTIME] * len(df))


def _exact(hours: float) -> dict:
    return {
        "death_time": INTIME + pd.Timedelta(hours=hours),
        "death_date": (INTIME + pd.Timedelta(hours=hours)).normalize(),
        "death_time_precision": "timestamp",
        "hospital_expire_flag": 1,
        "discharge_location": "DIED",
        "dischtime": INTIME + pd.Timedelta(hours=hours),
    }


def _date_only(day_offset: int, flag: float = 1) -> dict:
    day = INTIME.normalize() + pd.Timedelta(days=day_offset)
    return {"death_date": day, "death_time_precision": "date", "hospital_expire_flag": flag}


def test_mortality_24h_exact_times() -> None:
    df, intime = _mort([_exact(10), _exact(24), _exact(47.9), _exact(48), _exact(200), {}])
    np.testing.assert_array_equal(mortality_24h(df, intime), [np.nan, 1, 1, 0, 0, 0])


def test_mortality_24h_date_only_deaths_are_intervals() -> None:
    # intime 10:00 on day 0. Day 0 = [-10 h, 14 h): before the window -> missing.
    # Day 1 = [14 h, 38 h): crosses the 24 h boundary -> missing. Day 2 = [38 h, 62 h):
    # crosses 48 h -> missing. Day 3 = [62 h, 86 h): after the window -> 0.
    rows = [_date_only(0), _date_only(1), _date_only(2), _date_only(3)]
    df, intime = _mort(rows)
    np.testing.assert_array_equal(mortality_24h(df, intime), [np.nan, np.nan, np.nan, 0])


def test_mortality_24h_date_inside_window_is_positive() -> None:
    # with intime at midnight, day 1 is exactly [24 h, 48 h)
    df, _ = _mort([_date_only(1)])
    midnight = pd.Series([INTIME.normalize()])
    assert mortality_24h(df, midnight)[0] == 1


def test_mortality_24h_flagged_death_without_time_is_missing() -> None:
    df, intime = _mort([{"hospital_expire_flag": 1}, {"hospital_expire_flag": 0}])
    np.testing.assert_array_equal(mortality_24h(df, intime), [np.nan, 0])


def test_mortality_hospital_evidence_and_survivors() -> None:
    rows = [
        _exact(100),  # exact death time -> 1
        {"hospital_expire_flag": 1},  # flag -> 1
        {"hospital_expire_flag": None, "discharge_location": "DIED"},  # location -> 1
        # flag unknown, dod on the discharge day -> 1
        {"hospital_expire_flag": None, **_date_only(10, flag=None)},
        # flag 0, death long after discharge -> 0 (out-of-hospital death)
        {**_date_only(40, flag=0)},
        {"hospital_expire_flag": 0},  # explicit survivor -> 0
        {"hospital_expire_flag": None, "discharge_location": None},  # nothing known -> missing
        _exact(5),  # died during the observation window -> missing
    ]
    df, intime = _mort(rows)
    np.testing.assert_array_equal(
        mortality_hospital(df, intime), [1, 1, 1, 1, 0, 0, np.nan, np.nan]
    )


def _crea(points: dict[int, float], hours: int = 48) -> np.ndarray:
    row = np.full(hours, np.nan)
    for h, v in points.items():
        row[h] = v
    return row


def test_aki_kdigo_edge_cases() -> None:
    crea = np.stack(
        [
            _crea({2: 1.0, 30: 1.5}),  # exactly 1.5 x baseline -> 1
            _crea({2: 1.0, 30: 1.3}),  # +0.3 mg/dL -> 1
            _crea({2: 1.0, 30: 1.29}),  # below both criteria -> 0
            _crea({30: 2.0}),  # no baseline -> missing
            _crea({2: 1.0}),  # no creatinine in the window -> missing
            _crea({2: 2.0, 10: 1.0, 30: 1.4}),  # baseline is the min (1.0): 1.4 >= 1.3 -> 1
            _crea({2: 1.0, 25: 0.8, 40: 1.1}),  # rise 0.3 from a window value -> 1
            _crea({2: 1.0, 48 - 1: 1.6}),  # last window hour counts -> 1
        ]
    )
    np.testing.assert_array_equal(aki_kdigo(crea), [1, 1, 0, np.nan, np.nan, 1, 1, 1])


def test_aki_kdigo_rejects_short_series() -> None:
    with pytest.raises(ValueError, match="crea must be"):
        aki_kdigo(np.zeros((2, 30)))


def test_los_remaining() -> None:
    np.testing.assert_allclose(
        los_remaining(np.array([0.5, 1.0, 3.25, np.nan, -1.0])), [0.0, 0.0, 2.25, np.nan, np.nan]
    )


def test_build_labels_has_every_task_and_missing_mortality_rows() -> None:
    stays = pd.DataFrame({"stay_id": [1, 2], "intime": [INTIME, INTIME], "los_days": [2.0, 5.0]})
    mort, _ = _mort([_exact(30)])
    mort["stay_id"] = [1]
    crea = np.stack([_crea({1: 1.0, 26: 2.0}), _crea({1: 1.0, 26: 1.0})])
    labels = build_labels(stays, mort, crea)
    assert list(labels.columns) == ["stay_id", *ICU_TASKS]
    np.testing.assert_array_equal(labels["mortality_24h"], [1, np.nan])
    np.testing.assert_array_equal(labels["aki_kdigo"], [1, 0])
    np.testing.assert_allclose(labels["los_remaining"], [1.0, 4.0])
