"""Events dataset: patient-level splits, the train-fitted static encoder and time scaler, and
the tensor layout (one-hot order, truncation to the most recent events, right padding, empty
stays), the npz round trip and batching."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from clinssl.events.dataset import (
    UNKNOWN_CATEGORY,
    EventDataset,
    EventDatasetError,
    EventTensors,
    EventTensorsFileError,
    StaticEncoder,
    TimeScaler,
    build_tensors,
    collate_events,
    fit_preprocessors,
    split_stays,
)

T0 = pd.Timestamp("2150-01-01 00:00:00")


def _stays() -> pd.DataFrame:
    """Three stays: 10 (four events, died), 20 (one event), 30 (no event; ends 06:30);
    40 has no event either and died at 03:00, before its outtime."""
    return pd.DataFrame(
        {
            "stay_id": [10, 20, 30, 40],
            "subject_id": [1, 1, 2, 3],
            "intime": [T0] * 4,
            "outtime": pd.to_datetime(
                ["2150-01-02 00:00:00", "2150-01-01 12:00:00", "2150-01-01 06:30:00",
                 "2150-01-01 06:30:00"]
            ),  # fmt: skip
            "end_time": pd.to_datetime(
                ["2150-01-02 00:00:00", "2150-01-01 12:00:00", "2150-01-01 06:30:00",
                 "2150-01-01 03:00:00"]
            ),  # fmt: skip
            "died": [True, False, False, True],
            "gender": ["F", "M", None, "F"],
            "race": ["WHITE", "BLACK", "ASIAN", ""],
            "marital_status": ["MARRIED", "MARRIED", "SINGLE", None],
            "admission_type": "EW EMER.",
            "admission_location": "EMERGENCY ROOM",
            "insurance": "Medicare",
            "first_careunit": "MICU",
            "age": [60, 70, 80, np.nan],
        }
    )


def _events() -> pd.DataFrame:
    """Given out of time order on purpose; one event belongs to a stay not in the table."""
    return pd.DataFrame(
        {
            "stay_id": [10, 10, 99, 10, 20, 10],
            "subject_id": [1, 1, 9, 1, 1, 1],
            "event_time": T0 + pd.to_timedelta([180, 60, 0, 300, 120, 240], unit="min"),
            "event_type": ["lab", "prescription", "lab", "ingredient", "procedure", "microbiology"],
            "event_text": ["a", "b", "z", "c", "d", "e"],
            "minutes_to_end": [1260.0, 1380.0, 5.0, 1140.0, 600.0, 1200.0],
        }
    )


def _embeddings() -> np.ndarray:
    """Row i = (10 i, 10 i + 1): each event's source row is readable from its embedding."""
    return np.array([[10.0 * i, 10.0 * i + 1] for i in range(6)])


def _fitted():
    stays = _stays()
    encoder = StaticEncoder.fit(stays.iloc[:2])
    scaler = TimeScaler(mean=0.0, sd=1.0)  # log1p(minutes) exactly
    return stays, encoder, scaler


# --------------------------------------------------------------------------- splits


def _many_stays(n_subjects: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    subjects = np.repeat(np.arange(n_subjects) + 100, rng.integers(1, 4, n_subjects))
    return pd.DataFrame({"stay_id": np.arange(subjects.size) + 5000, "subject_id": subjects})


def test_split_is_patient_level_deterministic_and_order_free() -> None:
    stays = _many_stays()
    split = split_stays(stays, seed=7)
    assert split.index.equals(stays.index)
    assert (split.groupby(stays["subject_id"]).nunique() == 1).all()  # one split per patient
    per_patient = split.groupby(stays["subject_id"]).first().value_counts()
    assert per_patient.to_dict() == {"train": 28, "val": 6, "test": 6}  # round(0.7 * 40), ...
    assert split.equals(split_stays(stays, seed=7))
    shuffled = stays.sample(frac=1.0, random_state=1)
    again = split_stays(shuffled, seed=7)
    assert again.loc[stays.index].equals(split)  # a stay's split does not depend on row order
    assert not split.equals(split_stays(stays, seed=8))


def test_split_rejects_duplicate_stays() -> None:
    stays = _many_stays().iloc[[0, 0, 1]]
    with pytest.raises(EventDatasetError, match="stays.parquet: column stay_id"):
        split_stays(stays, seed=0)


# --------------------------------------------------------------------------- static, time


def test_static_encoder_buckets_unseen_and_missing_categories() -> None:
    stays, encoder, _ = _fitted()
    assert encoder.categories["gender"] == ("F", "M")
    assert encoder.categories["race"] == ("BLACK", "WHITE")
    static = encoder.transform(stays)
    names = encoder.feature_names()
    col = {name: i for i, name in enumerate(names)}
    # stay 30: gender missing, race ASIAN unseen in train, marital SINGLE unseen
    assert static[2, col[f"gender={UNKNOWN_CATEGORY}"]] == 1.0
    assert static[2, col[f"race={UNKNOWN_CATEGORY}"]] == 1.0
    assert static[2, col[f"marital_status={UNKNOWN_CATEGORY}"]] == 1.0
    assert static[3, col[f"race={UNKNOWN_CATEGORY}"]] == 1.0  # empty string
    assert static[0, col["race=WHITE"]] == 1.0 and static[1, col["race=BLACK"]] == 1.0
    # every categorical block is one-hot: 7 ones per row plus age
    assert (static[:, :-1].sum(axis=1) == 7).all()
    # age standardised with the train mean 65 and population sd 5; missing age -> 0
    np.testing.assert_allclose(static[:, col["age"]], [-1.0, 1.0, 3.0, 0.0])


def test_static_encoder_min_count_sends_rare_categories_to_the_bucket() -> None:
    stays = _stays()
    encoder = StaticEncoder.fit(stays, min_count=2)
    assert encoder.categories["gender"] == ("F",)  # M is seen once
    assert encoder.categories["marital_status"] == ("MARRIED",)


def test_static_groups_cover_every_column_exactly_once() -> None:
    _, encoder, _ = _fitted()
    groups = encoder.groups()
    assert list(groups) == [*encoder.columns, "age"]
    covered = sorted(i for cols in groups.values() for i in cols)
    assert covered == list(range(encoder.n_features))
    assert groups["gender"] == [0, 1, 2]  # F, M, bucket
    assert groups["age"] == [encoder.n_features - 1]


def test_static_encoder_json_round_trip() -> None:
    stays, encoder, _ = _fitted()
    again = StaticEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    assert again == encoder
    np.testing.assert_array_equal(again.transform(stays), encoder.transform(stays))
    with pytest.raises(EventDatasetError, match="age_mean"):
        StaticEncoder.from_dict({"columns": [], "categories": {}})


def test_time_scaler_is_log1p_standardised() -> None:
    minutes = np.array([0.0, math.e**2 - 1.0])  # log1p: 0 and 2 -> mean 1, sd 1
    scaler = TimeScaler.fit(minutes)
    assert scaler.mean == pytest.approx(1.0) and scaler.sd == pytest.approx(1.0)
    np.testing.assert_allclose(scaler.transform([0.0, math.e - 1.0]), [-1.0, 0.0], atol=1e-6)
    assert TimeScaler.from_dict(json.loads(json.dumps(scaler.to_dict()))) == scaler
    with pytest.raises(EventDatasetError, match="minutes_to_end"):
        scaler.transform([-1.0])


def test_fit_preprocessors_uses_train_rows_only() -> None:
    stays, events = _stays(), _events()
    split = ["train", "val", "test", "test"]
    encoder, scaler = fit_preprocessors(events, stays, split)
    assert encoder.categories["gender"] == ("F",)
    train_minutes = np.array([1260.0, 1380.0, 1140.0, 1200.0])  # stay 10's events
    assert scaler.mean == pytest.approx(np.log1p(train_minutes).mean())


# --------------------------------------------------------------------------- tensors


def _build(max_events: int = 3) -> EventTensors:
    stays, encoder, scaler = _fitted()
    return build_tensors(
        _events(), stays, _embeddings(), encoder, scaler, max_events,
        split=["train", "train", "val", "test"],
    )  # fmt: skip


def test_layout_one_hot_order_recent_events_and_padding() -> None:
    tensors = _build(max_events=3)
    # prescription, procedure, lab, microbiology, ingredient | text (2) | log1p(minutes)
    assert tensors.seq.shape == (4, 3, 5 + 2 + 1)
    assert tensors.event_types == ("prescription", "procedure", "lab", "microbiology", "ingredient")
    # stay 10 has events at 01:00 (prescription, row 1), 03:00 (lab, row 0),
    # 04:00 (microbiology, row 5), 05:00 (ingredient, row 3): the oldest is dropped
    expected = np.array(
        [
            [0, 0, 1, 0, 0, 0.0, 1.0, np.log1p(1260.0)],
            [0, 0, 0, 1, 0, 50.0, 51.0, np.log1p(1200.0)],
            [0, 0, 0, 0, 1, 30.0, 31.0, np.log1p(1140.0)],
        ],
        dtype=np.float32,
    )
    np.testing.assert_allclose(tensors.seq[0], expected, rtol=1e-6)
    # stay 20: one procedure (row 4) in slot 0, then right padding (zeros)
    np.testing.assert_allclose(
        tensors.seq[1, 0], [0, 1, 0, 0, 0, 40.0, 41.0, np.log1p(600.0)], rtol=1e-6
    )
    assert not tensors.seq[1, 1:].any()
    np.testing.assert_array_equal(
        tensors.mask,
        [[False, False, False], [False, True, True], [True, True, True], [True, True, True]],
    )
    np.testing.assert_array_equal(tensors.stay_id, [10, 20, 30, 40])
    np.testing.assert_array_equal(tensors.subject_id, [1, 1, 2, 3])
    np.testing.assert_array_equal(tensors.label, [1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(tensors.split, ["train", "train", "val", "test"])


def test_minutes_last_and_stays_without_events() -> None:
    tensors = _build(max_events=3)
    # stay 10: its most recent event (05:00) is 1140 min before the end; stay 20: 600;
    # stay 30: no event, 00:00 -> 06:30 = 390 min; stay 40: no event, died at 03:00 = 180
    np.testing.assert_array_equal(tensors.minutes_last, [1140.0, 600.0, 390.0, 180.0])
    assert tensors.mask[2].all() and tensors.mask[3].all()


def test_width_is_the_longest_kept_sequence() -> None:
    assert _build(max_events=10).seq.shape[1] == 4  # stay 10 has 4 events
    one = _build(max_events=1)
    assert one.seq.shape[1] == 1
    assert one.seq[0, 0, 4] == 1.0  # the most recent event of stay 10: ingredient


def test_layout_does_not_depend_on_event_row_order() -> None:
    stays, encoder, scaler = _fitted()
    events, emb = _events(), _embeddings()
    order = np.array([5, 3, 0, 4, 2, 1])
    split = ["train", "train", "val", "test"]
    a = build_tensors(events, stays, emb, encoder, scaler, 3, split=split)
    b = build_tensors(
        events.iloc[order].reset_index(drop=True), stays, emb[order], encoder, scaler, 3,
        split=split,
    )  # fmt: skip
    np.testing.assert_array_equal(a.seq, b.seq)
    np.testing.assert_array_equal(a.mask, b.mask)


def test_bad_inputs_name_file_and_column() -> None:
    stays, encoder, scaler = _fitted()
    events = _events()
    events.loc[0, "event_type"] = "chartevent"
    split = ["train"] * 4
    with pytest.raises(EventDatasetError, match="events.parquet: column event_type.*chartevent"):
        build_tensors(events, stays, _embeddings(), encoder, scaler, 3, split=split)
    with pytest.raises(EventDatasetError, match="text_embeddings: expected shape \\(6, "):
        build_tensors(_events(), stays, _embeddings()[:5], encoder, scaler, 3, split=split)
    with pytest.raises(EventDatasetError, match="stays.parquet: column died"):
        build_tensors(
            _events(), stays.assign(died=[1, 0, None, 1]), _embeddings(), encoder, scaler, 3,
            split=split,
        )  # fmt: skip
    with pytest.raises(EventDatasetError, match="stays.parquet: split"):
        build_tensors(_events(), stays, _embeddings(), encoder, scaler, 3, split=["tr"] * 4)


def test_npz_round_trip_is_exact_and_byte_identical(tmp_path) -> None:
    tensors = _build()
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    tensors.save(first)
    _build().save(second)
    assert first.read_bytes() == second.read_bytes()
    loaded = EventTensors.load(first)
    for name in ("seq", "mask", "static", "label", "minutes_last", "stay_id", "subject_id",
                 "split"):  # fmt: skip
        np.testing.assert_array_equal(getattr(loaded, name), getattr(tensors, name))
        assert getattr(loaded, name).dtype == getattr(tensors, name).dtype
    assert loaded.event_types == tensors.event_types
    assert loaded.static_names == tensors.static_names
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(EventTensorsFileError, match="bad.npz"):
        EventTensors.load(tmp_path / "bad.npz")


def test_dataset_and_collate_cut_trailing_padding() -> None:
    tensors = _build(max_events=3)
    dataset = EventDataset(tensors, "train")
    assert len(dataset) == 2
    batch = collate_events([dataset[1]])  # stay 20: one event
    assert batch["seq"].shape == (1, 1, 8) and batch["mask"].shape == (1, 1)
    assert batch["row"].tolist() == [1]
    both = collate_events([dataset[0], dataset[1]])
    assert both["seq"].shape == (2, 3, 8)
    assert both["label"].tolist() == [1.0, 0.0]
    empty = collate_events([EventDataset(tensors, "val")[0]])  # no event: one padding slot
    assert empty["mask"].tolist() == [[True]]
    assert empty["minutes_last"].tolist() == [390.0]
