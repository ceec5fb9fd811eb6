"""Attributions of the event-sequence model: exact zeros at padding, IG completeness, real
ablation (checked against direct forward passes), a planted lab signal, tidy summaries."""

from __future__ import annotations

import pytest
import torch

import clinssl.events.explain as explain
from clinssl.events.explain import (
    ExplainInputError,
    explanation_table,
    feature_ablation,
    integrated_gradients,
    layer_integrated_gradients,
    per_event_attribution,
    per_time_bin_attribution,
    per_type_attribution,
)
from clinssl.events.model import EVENT_TYPES, EventModelConfig, EventSequenceModel
from clinssl.utils.seeding import torch_seeded

TEXT_DIM, STATIC_DIM, LAB = 3, 3, EVENT_TYPES.index("lab")
STATIC_GROUPS = {"sex": [0, 1], "age": [2]}


def _model(d_model: int = 16, n_layers: int = 2, seed: int = 0) -> EventSequenceModel:
    config = EventModelConfig(
        n_types=5, text_dim=TEXT_DIM, d_model=d_model, n_layers=n_layers, n_heads=2,
        d_ff=2 * d_model, dropout=0.1, pool_heads=2, static_dim=STATIC_DIM, mlp_hidden=(8,),
    )
    with torch_seeded(seed, "events-explain-test"):
        return EventSequenceModel(config)


def _stays(type_lists, length: int, seed: int):
    """Right-padded stays with the given event types; random text, time and static."""
    g = torch.Generator().manual_seed(seed)
    seq = torch.zeros(len(type_lists), length, 5 + TEXT_DIM + 1)
    mask = torch.ones(len(type_lists), length, dtype=torch.bool)
    for i, types in enumerate(type_lists):
        n = len(types)
        seq[i, torch.arange(n), torch.tensor(types, dtype=torch.long)] = 1.0
        seq[i, :n, 5:] = torch.randn(n, TEXT_DIM + 1, generator=g)
        mask[i, :n] = False
    static = 2 * torch.randn(len(type_lists), STATIC_DIM, generator=g)
    return seq, mask, static


# stay 0: every type; stay 1: no lab; stay 2: a single event; stay 3: no events
TYPES = ([0, 2, 1, 2, 3, 4], [0, 1, 1], [2], [])


def _double_batch():
    seq, mask, static = _stays(TYPES, length=6, seed=1)
    return _model().double(), seq.double(), mask, static.double()


def _logit(model, seq, mask, static) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(seq, mask, static)


def test_ig_padding_is_exactly_zero_and_completeness_holds() -> None:
    model, seq, mask, static = _double_batch()
    seq[mask] = 7.0  # garbage in padding must not matter
    result = integrated_gradients(model, seq, mask, static, n_steps=128)
    assert model.training  # the caller's mode comes back
    assert result.seq.shape == seq.shape and result.static.shape == static.shape
    assert torch.equal(result.seq[mask], torch.zeros_like(result.seq[mask]))
    assert torch.equal(result.seq[3], torch.zeros_like(result.seq[3]))  # no events at all
    # completeness against direct forward passes of the input and the zero baseline
    gain = _logit(model, seq, mask, static) - _logit(
        model, torch.zeros_like(seq), mask, torch.zeros_like(static)
    )
    total = result.seq.sum((1, 2)) + result.static.sum(1)
    assert (gain.abs() > 1e-3).all()
    assert ((total - gain).abs() <= 0.01 * gain.abs()).all()
    assert torch.allclose(result.delta, total - gain, atol=1e-9)


def test_ig_with_explicit_baselines_and_static_means() -> None:
    model, seq, mask, static = _double_batch()
    static_means = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    seq_base = torch.zeros(seq.shape[-1], dtype=torch.float64)
    result = integrated_gradients(model, seq, mask, static, baseline=(seq_base, static_means))
    gain = _logit(model, seq, mask, static) - _logit(
        model, torch.zeros_like(seq), mask, static_means.expand_as(static)
    )
    total = result.seq.sum((1, 2)) + result.static.sum(1)
    assert ((total - gain).abs() <= 0.01 * gain.abs()).all()
    with pytest.raises(ExplainInputError, match="static baseline"):
        integrated_gradients(model, seq, mask, static, baseline=(seq_base, torch.zeros(5)))


def test_layer_ig_is_per_event_zero_at_padding_and_complete() -> None:
    model, seq, mask, static = _double_batch()
    per_event, delta = layer_integrated_gradients(model, seq, mask, static, n_steps=128)
    assert per_event.shape == mask.shape
    assert torch.equal(per_event[mask], torch.zeros_like(per_event[mask]))
    gain = _logit(model, seq, mask, static) - _logit(model, torch.zeros_like(seq), mask, static)
    nonempty = torch.tensor([True, True, True, False])  # the empty stay has nothing to explain
    total = per_event.sum(1)
    assert ((total - gain).abs()[nonempty] <= 0.01 * gain.abs()[nonempty]).all()
    assert torch.allclose(delta, total - gain, atol=1e-9)


def test_feature_ablation_really_removes_groups(monkeypatch) -> None:
    model, seq, mask, static = _double_batch()

    def no_ig(*args, **kwargs):
        raise AssertionError("feature ablation must not use integrated gradients")

    monkeypatch.setattr(explain, "IntegratedGradients", no_ig)
    result = feature_ablation(model, seq, mask, static, static_groups=STATIC_GROUPS)
    assert result.names == (*EVENT_TYPES, "sex", "age")
    assert result.kinds == ("event_type",) * 5 + ("static",) * 2
    full = _logit(model, seq, mask, static)
    types = seq[..., :5].argmax(-1)
    for g in range(5):
        removed = mask | ((types == g) & ~mask)
        expected = full - _logit(model, seq, removed, static)
        assert torch.allclose(result.values[:, g], expected, atol=1e-10)
    for j, cols in enumerate(STATIC_GROUPS.values()):
        ablated = static.clone()
        ablated[:, cols] = 0.0
        expected = full - _logit(model, seq, mask, ablated)
        assert torch.allclose(result.values[:, 5 + j], expected, atol=1e-10)
    # a type a stay does not have contributes exactly 0 (stay 1 has no lab, stay 3 nothing)
    assert result.values[1, LAB] == 0.0 and torch.equal(result.values[3, :5], torch.zeros(5))
    assert result.values[0, LAB] != 0.0
    frame = result.to_frame(stay_ids=[10, 11, 12, 13])
    assert len(frame) == 4 * 7 and frame.loc[2, "group"] == "lab" and frame.loc[2, "stay_id"] == 10


def test_feature_ablation_rejects_static_groups_that_are_not_a_partition() -> None:
    model, seq, mask, static = _double_batch()
    with pytest.raises(ExplainInputError, match="static_groups"):
        feature_ablation(model, seq, mask, static, static_groups={"sex": [0, 1]})


def _planted(n_stays: int, seed: int):
    """Died = 1 exactly when the stay has a lab event; other types are pure noise."""
    g = torch.Generator().manual_seed(seed)
    type_lists, labels = [], []
    for _ in range(n_stays):
        n_other = int(torch.randint(3, 8, (1,), generator=g))
        others = [[0, 1, 3, 4][int(i)] for i in torch.randint(0, 4, (n_other,), generator=g)]
        has_lab = bool(torch.rand(1, generator=g) < 0.5)
        n_lab = int(torch.randint(1, 3, (1,), generator=g)) if has_lab else 0
        types = others + [LAB] * n_lab
        order = torch.randperm(len(types), generator=g).tolist()
        type_lists.append([types[i] for i in order])
        labels.append(float(has_lab))
    seq, mask, static = _stays(type_lists, length=10, seed=seed + 1)
    return seq, mask, static, torch.tensor(labels)


def _train_planted_model() -> EventSequenceModel:
    seq, mask, static, label = _planted(256, seed=5)
    model = _model(d_model=16, n_layers=1, seed=2)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(6)
    model.train()
    with torch_seeded(3, "planted-dropout"):  # dropout draws from the global generator
        for _ in range(150):
            idx = torch.randint(0, 256, (64,), generator=g)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(seq[idx], mask[idx], static[idx]), label[idx]
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    accuracy = ((_logit(model, seq, mask, static) > 0).float() == label).float().mean()
    assert accuracy > 0.95, f"the tiny model did not learn the planted rule ({accuracy:.2f})"
    return model


def test_planted_lab_signal_ranks_lab_first_under_ig_and_ablation() -> None:
    model = _train_planted_model()
    seq, mask, static, _ = _planted(32, seed=11)
    ig = integrated_gradients(model, seq, mask, static, n_steps=32)
    events = per_event_attribution(ig.seq, seq, mask, torch.zeros(mask.shape))
    # rank types by their mean |contribution| over the stays that have them: averaging in the
    # zeros of stays without the type would penalise lab for being present in half the stays
    by_type = per_type_attribution(events)
    present = by_type[by_type["n_events"] > 0].assign(magnitude=lambda t: t["attribution"].abs())
    ig_strength = present.groupby("event_type")["magnitude"].mean().sort_values()
    assert ig_strength.index[-1] == "lab" and ig_strength["lab"] > 2 * ig_strength.iloc[-2]
    ablation = feature_ablation(model, seq, mask, static, static_groups=STATIC_GROUPS)
    has_type = torch.stack([(seq[..., g] == 1) & ~mask for g in range(5)], dim=-1).any(1)
    type_values = ablation.values[:, :5].abs()
    ablation_strength = (type_values * has_type).sum(0) / has_type.sum(0)
    assert int(ablation_strength.argmax()) == LAB
    assert ablation_strength[LAB] > 2 * ablation_strength.sort().values[-2]


def test_summaries_by_event_type_and_time_bin_and_top_events() -> None:
    seq, mask, _ = _stays(([2, 0, 2], [1]), length=4, seed=3)
    attribution = torch.zeros(2, 4, seq.shape[-1])
    attribution[0, :3, 0] = torch.tensor([0.5, -2.0, 1.0])
    attribution[0, :3, 1] = torch.tensor([0.25, 0.0, 0.0])  # summed per event: 0.75, -2, 1
    attribution[1, 0, 3] = 0.1
    attribution[1, 3, 3] = 99.0  # padding: never reported
    minutes = torch.tensor([[5000.0, 1439.0, 60.0, 0.0], [360.0, 0.0, 0.0, 0.0]])
    texts = [["k 5.1", "vanco 1g", "lactate 4"], ["cvc"]]
    events = per_event_attribution(
        attribution, seq, mask, minutes, texts=texts, stay_ids=["a", "b"]
    )
    assert events["attribution"].tolist() == pytest.approx([0.75, -2.0, 1.0, 0.1])
    assert events["event_type"].tolist() == ["lab", "prescription", "lab", "procedure"]
    by_type = per_type_attribution(events, stay_ids=["a", "b", "c"]).set_index(
        ["stay_id", "event_type"]
    )
    assert len(by_type) == 3 * 5
    assert by_type.loc[("a", "lab"), "attribution"] == pytest.approx(1.75)
    assert by_type.loc[("a", "lab"), "n_events"] == 2
    assert by_type.loc[("c", "lab"), "attribution"] == 0.0
    bins = per_time_bin_attribution(events).set_index(["stay_id", "time_bin"])["attribution"]
    assert bins["a"].to_dict() == pytest.approx(
        {"0-6h": 1.0, "6-24h": -2.0, "24-72h": 0.0, "72h+": 0.75}
    )
    assert bins["b"].to_dict() == pytest.approx(
        {"0-6h": 0.0, "6-24h": 0.1, "24-72h": 0.0, "72h+": 0.0}
    )
    top = explanation_table(events, k=2)
    assert top[["stay_id", "rank", "text"]].values.tolist() == [
        ["a", 1, "vanco 1g"], ["a", 2, "lactate 4"], ["b", 1, "cvc"],
    ]
    assert top["minutes_to_end"].tolist() == [1439.0, 60.0, 360.0]


def test_summaries_reject_bad_inputs() -> None:
    seq, mask, _ = _stays(([2, 0],), length=3, seed=4)
    with pytest.raises(ExplainInputError, match="minutes_to_end"):
        per_event_attribution(torch.zeros(1, 3), seq, mask, torch.tensor([[1.0, -5.0, 0.0]]))
    broken = seq.clone()
    broken[0, 1, :5] = 0.0  # a real event without a type
    with pytest.raises(ExplainInputError, match="one-hot"):
        per_event_attribution(torch.zeros(1, 3), broken, mask, torch.zeros(1, 3))
