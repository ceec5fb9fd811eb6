"""Events training and evaluation: a planted signal is learned, training is reproducible,
model files round-trip, attention is recorded, and the mortality metrics agree with
scikit-learn and use the patient-cluster bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from clinssl.events.dataset import (
    EventTensors,
    build_tensors,
    fit_preprocessors,
    split_stays,
)
from clinssl.events.evaluation import calibration_curve, evaluate_mortality, predict
from clinssl.events.model import EventModelConfig
from clinssl.events.training import (
    EventModelFileError,
    EventTrainConfig,
    EventTrainingError,
    event_model_config,
    load_event_model,
    save_event_model,
    train_event_model,
)
from clinssl.stats.bootstrap import evaluate
from clinssl.train import save_model_file

TYPES = np.array(["prescription", "procedure", "lab", "microbiology", "ingredient"])
ARCHITECTURE = dict(d_model=32, n_layers=1, n_heads=2, d_ff=64, dropout=0.0, pool_heads=2,
                    mlp_hidden=(32,))  # fmt: skip


def _planted(n_stays: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Death = the stay has a lab event whose first embedding value is 3 (other values are
    N(0, 0.5)); half of the survivors carry the same value on a *prescription*, so neither
    the type nor the value alone separates the classes."""
    rng = np.random.default_rng(seed)
    subject = np.sort(rng.integers(0, int(n_stays * 0.7), n_stays)) + 1000
    stay_ids = np.arange(n_stays) + 30000
    intime = pd.Timestamp("2150-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n_stays), "min")
    length = rng.integers(600, 6000, n_stays)
    died = rng.random(n_stays) < 0.35
    frames, embeddings = [], []
    for i in range(n_stays):
        k = int(rng.integers(4, 11))
        types, emb = rng.choice(TYPES, k), rng.normal(0.0, 0.5, (k, 4))
        offsets = np.sort(rng.uniform(0, length[i], k))
        j = rng.integers(k)
        if died[i]:
            types[j], emb[j, 0] = "lab", 3.0
        elif rng.random() < 0.5:
            types[j], emb[j, 0] = "prescription", 3.0
        frames.append(pd.DataFrame({
            "stay_id": stay_ids[i], "subject_id": subject[i],
            "event_time": intime[i] + pd.to_timedelta(offsets, "min"), "event_type": types,
            "event_text": [f"{t} {a}" for a, t in enumerate(types)],
            "minutes_to_end": length[i] - offsets,
        }))  # fmt: skip
        embeddings.append(emb)
    stays = pd.DataFrame({
        "stay_id": stay_ids, "subject_id": subject, "intime": intime,
        "outtime": intime + pd.to_timedelta(length, "min"), "died": died,
        "gender": rng.choice(["F", "M"], n_stays), "race": "WHITE", "marital_status": None,
        "admission_type": "EW EMER.", "admission_location": "EMERGENCY ROOM",
        "insurance": "Medicare", "first_careunit": "MICU", "age": rng.integers(20, 90, n_stays),
    })  # fmt: skip
    return pd.concat(frames, ignore_index=True), stays, np.concatenate(embeddings)


@pytest.fixture(scope="module")
def tensors() -> EventTensors:
    events, stays, emb = _planted()
    split = split_stays(stays, seed=0)
    encoder, scaler = fit_preprocessors(events, stays, split)
    return build_tensors(events, stays, emb, encoder, scaler, 16, split=split)


def _train_config(**overrides) -> EventTrainConfig:
    base = dict(epochs=10, batch_size=32, lr=3e-3, weight_decay=0.0, patience=None,
                device="cpu", seed=0)  # fmt: skip
    return EventTrainConfig(**{**base, **overrides})


@pytest.fixture(scope="module")
def trained(tensors):
    config = event_model_config(tensors, **ARCHITECTURE)
    return (config, *train_event_model(tensors, config, _train_config()))


def test_planted_signal_is_learned(tensors, trained) -> None:
    _, model, result, history = trained
    assert history["best_val_auroc"] > 0.9
    val = tensors.rows("val")
    prob = predict(model, tensors, "val")
    assert roc_auc_score(tensors.label[val], prob) == pytest.approx(history["best_val_auroc"])
    assert history["epoch"] == list(range(1, 11)) and result.best_epoch == history["best_epoch"]
    assert history["n_train"] + history["n_val"] + tensors.rows("test").size == len(tensors)


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_same_seed_same_weights_and_attention_does_not_change_training(
    tensors, tmp_path
) -> None:
    config = event_model_config(tensors, **{**ARCHITECTURE, "dropout": 0.1})
    short = _train_config(epochs=2, decay_per_day=0.5)
    a, _, hist_a = train_event_model(tensors, config, short)
    b, _, hist_b = train_event_model(
        tensors, config, _train_config(epochs=2, decay_per_day=0.5, attention_every=2),
        attention_path=tmp_path / "attention.npz",
    )  # fmt: skip
    other, _, _ = train_event_model(tensors, config, _train_config(epochs=2, seed=1))
    state_a, state_b = _state(a), _state(b)
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert hist_a == hist_b
    assert not all(torch.equal(state_a[k], v) for k, v in _state(other).items())
    # 169 train stays / 32 = 6 batches per epoch: batches 0, 2, 4 of epochs 1 and 2
    with np.load(tmp_path / "attention.npz", allow_pickle=False) as archive:
        keys = set(archive.files)
        pooling = archive["e0001_b000000_pooling"]
        padding = archive["e0001_b000000_padding"]
    prefixes = {f"e{e:04d}_b{b:06d}_" for e in (1, 2) for b in (0, 2, 4)}
    assert {k[:14] for k in keys} == prefixes
    assert pooling.shape[:2] == (4, 2)  # 4 stays kept, 2 pooling heads
    np.testing.assert_allclose(pooling.sum(axis=-1), 1.0, rtol=1e-5)
    assert (pooling[np.broadcast_to(padding[:, None, :], pooling.shape)] == 0).all()


def test_save_load_round_trip_gives_identical_predictions(tensors, trained, tmp_path) -> None:
    config, model, _, _ = trained
    path = tmp_path / "model.pt"
    save_event_model(path, model, config)
    loaded = load_event_model(path)
    assert loaded.config == config and not loaded.training
    np.testing.assert_array_equal(predict(loaded, tensors), predict(model, tensors))
    save_event_model(tmp_path / "again.pt", loaded, config)
    assert (tmp_path / "again.pt").read_bytes() == path.read_bytes()
    save_model_file(tmp_path / "foreign.pt", model, {"format": "something else"})
    with pytest.raises(EventModelFileError, match="foreign.pt: metadata field format"):
        load_event_model(tmp_path / "foreign.pt")


def test_config_must_fit_the_tensors(tensors) -> None:
    wrong = EventModelConfig(**ARCHITECTURE, text_dim=tensors.text_dim + 1,
                             static_dim=tensors.static_dim)  # fmt: skip
    with pytest.raises(EventTrainingError, match="text_dim"):
        train_event_model(tensors, wrong, _train_config(epochs=1))
    with pytest.raises(EventTrainingError, match="attention_every"):
        EventTrainConfig(attention_every=-1)


# --------------------------------------------------------------------------- evaluation


def _known_tensors() -> tuple[EventTensors, np.ndarray]:
    """40 test stays of 20 patients (two stays each) with overlapping probabilities."""
    rng = np.random.default_rng(5)
    n = 40
    label = (rng.random(n) < 0.4).astype(np.float32)
    prob = np.clip(0.3 * label + rng.uniform(0.0, 0.7, n), 0.0, 1.0)
    tensors = EventTensors(
        seq=np.zeros((n, 1, 6), np.float32), mask=np.ones((n, 1), bool),
        static=np.zeros((n, 0), np.float32), label=label,
        minutes_last=np.ones(n, np.float32), stay_id=np.arange(n),
        subject_id=np.repeat(np.arange(20), 2), split=np.array(["test"] * n),
    )  # fmt: skip
    return tensors, prob


def test_evaluate_mortality_matches_sklearn_and_resamples_patients() -> None:
    tensors, prob = _known_tensors()
    table = evaluate_mortality(tensors, prob, n_bootstrap=300, seed=3).set_index("metric")
    assert list(table.index) == ["auroc", "auprc", "brier", "ece"]
    assert table.loc["auroc", "value"] == pytest.approx(roc_auc_score(tensors.label, prob))
    assert table.loc["auprc", "value"] == pytest.approx(
        average_precision_score(tensors.label, prob)
    )
    assert table.loc["brier", "value"] == pytest.approx(brier_score_loss(tensors.label, prob))
    for metric in table.index:
        assert table.loc[metric, "ci_low"] <= table.loc[metric, "value"]
        assert table.loc[metric, "value"] <= table.loc[metric, "ci_high"]
    # the CI is the patient-cluster one: the same resamples as grouping by subject_id
    clustered = evaluate("binary", tensors.label, prob, groups=tensors.subject_id,
                         n_resamples=300, seed=3)  # fmt: skip
    assert table.loc["auroc", "ci_low"] == clustered["auroc"]["ci_low"]
    assert table.loc["auroc", "ci_high"] == clustered["auroc"]["ci_high"]
    assert table["n_patients"].iloc[0] == 20 and table["n_stays"].iloc[0] == 40


def test_evaluate_mortality_rejects_bad_probabilities() -> None:
    tensors, prob = _known_tensors()
    with pytest.raises(ValueError, match="expected probabilities in \\[0, 1\\]"):
        evaluate_mortality(tensors, prob * 2, n_bootstrap=0)
    with pytest.raises(ValueError, match="expected at least one stay"):
        evaluate_mortality(tensors, prob, split="val", n_bootstrap=0)


def test_calibration_curve_bins() -> None:
    label = np.array([0, 1, 0, 1, 1, 0])
    prob = np.array([0.05, 0.15, 0.12, 0.95, 1.0, 0.5])
    curve = calibration_curve(label, prob, n_bins=10)
    assert len(curve) == 10 and curve["n"].sum() == label.size
    assert curve["n"].tolist() == [1, 2, 0, 0, 0, 1, 0, 0, 0, 2]  # 1.0 falls in the last bin
    row = curve.set_index("bin").loc[1]
    assert row["mean_predicted"] == pytest.approx(0.135) and row["observed"] == 0.5
    assert np.isnan(curve.loc[2, "observed"])
    assert curve.loc[9, "observed"] == 1.0

