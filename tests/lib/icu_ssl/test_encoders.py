"""Encoders: shapes, masked pooling ignores unobserved hours, token cap and packing."""

from __future__ import annotations

import pytest
import torch

from clinssl.icu.encoders import ENCODERS, ObservationTransformerEncoder, build_encoder

D = 5


def _batch(batch: int = 8, density: float = 0.3):
    gen = torch.Generator().manual_seed(0)
    mask = torch.rand(batch, 24, D, generator=gen) < density
    mask[:, 0, 0] = True
    return torch.randn(batch, 24, D, generator=gen) * mask, mask


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_every_encoder_pools_to_out_dim(name: str) -> None:
    encoder = build_encoder(name, D, d_model=16) if name != "linear" else build_encoder(name, D)
    values, mask = _batch()
    out = encoder.eval()(values, mask)
    assert out.shape == (8, encoder.out_dim)
    assert torch.isfinite(out).all()


def test_timestep_transformer_ignores_unobserved_hours() -> None:
    torch.manual_seed(0)
    encoder = build_encoder("transformer", D, d_model=16, d_ff=32).eval()
    values, mask = _batch()
    mask[:, 12:] = False
    values = values * mask
    base = encoder(values, mask)
    # garbage values at unobserved hours are invisible to tokens that are never attended to
    noisy = values.clone()
    noisy[:, 12:] = 5.0
    assert torch.allclose(encoder(noisy, mask), base, atol=1e-5)
    tokens, valid = encoder.tokenize(values, mask)
    assert tokens.shape == (8, 24, 16) and torch.equal(valid, mask.any(-1))


def test_observation_transformer_caps_and_packs_tokens() -> None:
    encoder = ObservationTransformerEncoder(D, d_model=16, max_tokens=10)
    values, mask = _batch(density=0.5)
    vals, feat, hour, keep = encoder.pack(values, mask)
    assert vals.shape[1] == 10  # capped
    # kept tokens are the most recent observations, in order, and equal the input values
    for b in range(3):
        flat = mask[b].flatten().nonzero().flatten()
        recent = flat.flip(0)[:10]
        assert torch.equal(hour[b] * D + feat[b], recent)
        assert torch.equal(vals[b], values[b].flatten()[recent])
    sparse = torch.zeros_like(mask)
    sparse[:, 2, 1] = True
    _, _, _, keep = ObservationTransformerEncoder(D, max_tokens=99).pack(values, sparse)
    assert keep.shape[1] == 1  # packing: a batch is as long as its fullest stay


def test_unknown_encoder_is_named() -> None:
    with pytest.raises(ValueError, match="unknown encoder 'gru'"):
        build_encoder("gru", D)


def test_mart_query_readout_sees_every_variable_and_pools_by_config() -> None:
    torch.manual_seed(0)
    values, mask = _batch()
    flat = build_encoder("mart", D, d_model=16, d_ff=32).eval()
    assert flat.out_dim == D * 16 and flat(values, mask).shape == (8, D * 16)
    assert flat.forward_tokens(values, mask).shape == (8, D, 24, 16)
    # variable attention mixes whole trajectories: a new observation of variable 3 moves
    # every variable's query token, and only in the stay that has it
    changed_values, changed_mask = values.clone(), mask.clone()
    changed_values[0, 5, 3], changed_mask[0, 5, 3] = 2.0, True
    moved = (flat(changed_values, changed_mask) - flat(values, mask)).reshape(8, D, 16)
    assert (moved[0].abs().amax(-1) > 1e-4).all()
    assert torch.allclose(moved[1:], torch.zeros_like(moved[1:]), atol=1e-6)
    mean = build_encoder("mart", D, d_model=16, pooling="query_mean").eval()
    assert mean.out_dim == 16 and mean(values, mask).shape == (8, 16)
    with pytest.raises(ValueError, match="pooling must be 'query' or 'query_mean'"):
        build_encoder("mart", D, pooling="max")
