"""Event-sequence model: padding never matters, empty stays, positions, attention weights,
the temporal-aware loss and the attention recorder."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from clinssl.events.model import (
    AttentionRecorder,
    EventModelConfig,
    EventModelConfigError,
    EventModelInputError,
    EventSequenceModel,
    event_positions,
    temporal_aware_loss,
)
from clinssl.events.model import _encoder_layer_forward as encoder_layer_forward
from clinssl.utils.seeding import torch_seeded

TEXT_DIM, STATIC_DIM = 3, 4
LENGTHS = (6, 3, 1, 0)  # the last stay has no events at all


def _config(**overrides) -> EventModelConfig:
    base = dict(
        n_types=5, text_dim=TEXT_DIM, d_model=16, n_layers=2, n_heads=2, d_ff=32,
        dropout=0.1, pool_heads=2, static_dim=STATIC_DIM, mlp_hidden=(8,),
    )
    return EventModelConfig(**{**base, **overrides})


def _model(**overrides) -> EventSequenceModel:
    with torch_seeded(0, "events-model-test"):
        model = EventSequenceModel(_config(**overrides))
    return model.eval()


def _batch(lengths=LENGTHS, length: int = 6, seed: int = 1):
    """Right-padded stays with one-hot types, random text/time; padding filled with zeros."""
    g = torch.Generator().manual_seed(seed)
    n_features = 5 + TEXT_DIM + 1
    seq = torch.zeros(len(lengths), length, n_features)
    mask = torch.ones(len(lengths), length, dtype=torch.bool)
    for i, n in enumerate(lengths):
        types = torch.randint(0, 5, (n,), generator=g)
        seq[i, torch.arange(n), types] = 1.0
        seq[i, :n, 5:] = torch.randn(n, TEXT_DIM + 1, generator=g)
        mask[i, :n] = False
    static = torch.randn(len(lengths), STATIC_DIM, generator=g)
    return seq, mask, static


def test_config_rejects_impossible_values_and_names_the_field() -> None:
    with pytest.raises(EventModelConfigError, match="n_heads"):
        _config(d_model=10, n_heads=4)
    with pytest.raises(EventModelConfigError, match="dropout"):
        _config(dropout=1.0)
    with pytest.raises(EventModelConfigError, match="mlp_hidden"):
        _config(mlp_hidden=[8, 0])
    assert _config(mlp_hidden=[8, 4]).mlp_hidden == (8, 4)
    assert _config().n_features == 5 + TEXT_DIM + 1


def test_wrong_input_shapes_name_the_argument() -> None:
    model = _model()
    seq, mask, static = _batch()
    with pytest.raises(EventModelInputError, match="static"):
        model(seq, mask, static[:, :2])
    with pytest.raises(EventModelInputError, match="mask"):
        model(seq, mask.float(), static)


def test_padded_values_do_not_change_the_logit() -> None:
    model = _model()
    seq, mask, static = _batch()
    garbage = seq.clone()
    garbage[mask] = 1e3 * torch.randn(int(mask.sum()), seq.shape[-1])
    with torch.no_grad():
        clean, noisy = model(seq, mask, static), model(garbage, mask, static)
    assert clean.shape == (len(LENGTHS),)
    assert torch.equal(clean, noisy)


def test_a_stay_without_events_gives_finite_logits_and_gradients() -> None:
    model = _model().train()
    seq, mask, static = _batch()
    logit = model(seq, mask, static)
    assert torch.isfinite(logit).all()
    logit.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    # documented handling: the empty stay's pooled vector is the learned empty embedding
    model.eval()
    with torch.no_grad():
        model.empty_embedding.copy_(torch.linspace(-1.0, 1.0, 16))
        expected = model.classifier(torch.cat([model.empty_embedding, static[3]])).squeeze(-1)
        assert torch.allclose(model(seq, mask, static)[3], expected, atol=1e-6)


def test_positions_count_real_events_only() -> None:
    mask = torch.tensor([[False, False, True], [True, False, False], [True, True, True]])
    assert event_positions(mask).tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_left_padding_gives_the_right_padding_logits() -> None:
    model = _model()
    seq, mask, static = _batch(lengths=(6, 3, 1))
    left_seq, left_mask = torch.zeros_like(seq), torch.ones_like(mask)
    for i, n in enumerate((6, 3, 1)):
        left_seq[i, 6 - n :] = seq[i, :n]
        left_mask[i, 6 - n :] = False
    with torch.no_grad():
        right, left = model(seq, mask, static), model(left_seq, left_mask, static)
    assert torch.allclose(right, left, atol=1e-5)


def test_positional_encoding_works_beyond_any_length_seen_before() -> None:
    model = _model()
    with torch.no_grad():
        short = model(*_batch(length=6))
        seq, mask, static = _batch(lengths=(700, 3), length=700)
        long = model(seq, mask, static)
    assert short.shape == (4,) and long.shape == (2,) and torch.isfinite(long).all()
    # more padding (a longer batch) leaves the positions, hence the logits, unchanged
    wider_seq = torch.cat([seq, torch.zeros(2, 200, seq.shape[-1])], dim=1)
    wider_mask = torch.cat([mask, torch.ones(2, 200, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        assert torch.allclose(model(wider_seq, wider_mask, static), long, atol=1e-6)


@pytest.mark.parametrize("norm_first", [False, True])
def test_layer_replay_matches_torch_transformer_encoder(norm_first: bool) -> None:
    model = _model(norm_first=norm_first)
    seq, mask, static = _batch(lengths=(6, 3, 1))
    with torch.no_grad():
        x = model._embed(seq, mask)
        reference = model.encoder(x, src_key_padding_mask=mask)
        replay = x
        for layer in model.encoder.layers:
            replay, _ = encoder_layer_forward(layer, replay, mask, need_weights=False)
        if model.encoder.norm is not None:
            replay = model.encoder.norm(replay)
    real = ~mask
    assert torch.allclose(replay[real], reference[real], atol=1e-5)


def test_attention_weights_shapes_rows_and_padding() -> None:
    model = _model()
    seq, mask, static = _batch()
    with torch.no_grad():
        logit, weights = model(seq, mask, static, return_attention=True)
        assert torch.equal(logit, model(seq, mask, static))
    batch, length = mask.shape
    assert len(weights.layers) == 2
    real = (~mask).float()
    for layer in weights.layers:
        assert layer.shape == (batch, 2, length, length)
        # real query rows sum to 1 over real keys; everything touching padding is 0
        assert torch.allclose(layer.sum(-1), real[:, None, :].expand(batch, 2, length), atol=1e-6)
        assert (layer * (1 - real)[:, None, None, :]).abs().max() == 0
    assert weights.pooling.shape == (batch, 2, length)
    pooled_sum = weights.pooling.sum(-1)
    assert torch.allclose(pooled_sum[:3], torch.ones(3, 2), atol=1e-6)
    assert torch.equal(pooled_sum[3], torch.zeros(2))  # the stay without events
    assert (weights.pooling * mask[:, None, :]).abs().max() == 0


def test_temporal_aware_loss_at_zero_decay_is_plain_bce() -> None:
    g = torch.Generator().manual_seed(3)
    logit = torch.randn(16, generator=g)
    label = (torch.rand(16, generator=g) < 0.3).float()
    minutes = 5000 * torch.rand(16, generator=g)
    plain = F.binary_cross_entropy_with_logits(logit, label)
    assert torch.allclose(temporal_aware_loss(logit, label, minutes, 0.0), plain, atol=1e-7)
    assert torch.allclose(temporal_aware_loss(logit, label, minutes), plain, atol=1e-7)


def test_temporal_aware_loss_weights_by_recency_as_documented() -> None:
    logit = torch.tensor([0.0, 2.0], dtype=torch.float64, requires_grad=True)
    label = torch.tensor([1.0, 0.0], dtype=torch.float64)
    minutes = torch.tensor([0.0, 1440.0], dtype=torch.float64)  # last event 0 and 24 h before
    # half-life of one day: the second stay weighs 0.5
    loss = temporal_aware_loss(logit, label, minutes, decay_per_day=math.log(2))
    by_hand = (math.log(2) * 1.0 + math.log1p(math.exp(2.0)) * 0.5) / 1.5
    assert loss.item() == pytest.approx(by_hand, rel=1e-12)
    # shifting every stay by the same time changes nothing (weights are normalised)
    shifted = temporal_aware_loss(logit, label, minutes + 999.0, decay_per_day=math.log(2))
    assert shifted.item() == pytest.approx(by_hand, rel=1e-12)
    # the stale stay's gradient is half what the same error would get if recent
    loss.backward()
    sigmoid = torch.sigmoid(logit.detach())
    expected = torch.tensor([(sigmoid[0] - 1) / 1.5, sigmoid[1] * 0.5 / 1.5], dtype=torch.float64)
    assert torch.allclose(logit.grad, expected, atol=1e-12)


def test_temporal_aware_loss_rejects_negative_minutes() -> None:
    with pytest.raises(EventModelInputError, match="minutes_to_end_of_last_event"):
        temporal_aware_loss(torch.zeros(2), torch.zeros(2), torch.tensor([1.0, -1.0]), 1.0)


def test_attention_recorder_keeps_every_nth_batch_and_writes_identical_npz(tmp_path) -> None:
    model = _model()
    seq, mask, static = _batch()
    recorder = AttentionRecorder(every_n_batches=2, stays_per_batch=3)
    for batch_index in range(3):
        if recorder.should_record(batch_index):
            with torch.no_grad():
                _, weights = model(seq, mask, static, return_attention=True)
            recorder.record(weights, mask, epoch=1, batch_index=batch_index)
    recorder.record(weights, mask, epoch=1, batch_index=1)  # not a recording batch: ignored
    names = ["padding", "pooling", "self_attention_layer_0", "self_attention_layer_1"]
    expected_keys = sorted(f"e0001_b{b:06d}_{n}" for b in (0, 2) for n in names)
    assert sorted(recorder.arrays()) == expected_keys
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    recorder.save(first)
    recorder.save(second)
    assert first.read_bytes() == second.read_bytes()
    with np.load(first) as loaded:
        assert sorted(loaded.files) == expected_keys
        layer0 = loaded["e0001_b000002_self_attention_layer_0"]
        assert layer0.shape == (3, 2, 6, 6)
        np.testing.assert_array_equal(layer0, weights.layers[0][:3].numpy())
        np.testing.assert_array_equal(loaded["e0001_b000000_padding"], mask[:3].numpy())
