"""SSL objectives: the loss decreases on a fixed batch, EMA updates, registry errors."""

from __future__ import annotations

import pytest
import torch

from clinssl.icu.encoders import build_encoder
from clinssl.icu.names import PARADIGM_ENCODER
from clinssl.icu.objectives import OBJECTIVES, build_objective
from clinssl.nn.ssl import ema_momentum, nt_xent

D = 6


def _batch(seed: int = 0, batch: int = 16):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, 24, D, generator=gen) < 0.3
    severity = torch.randn(batch, 1, 1, generator=gen)
    values = (severity + 0.3 * torch.randn(batch, 24, D, generator=gen)) * mask
    return values, mask


def _small_encoder(paradigm: str):
    name = PARADIGM_ENCODER[paradigm]
    kwargs = {"d_model": 16, "d_ff": 32, "n_heads": 2, "dropout": 0.0}
    return build_encoder(name, D, **kwargs)


@pytest.mark.parametrize("paradigm", sorted(OBJECTIVES))
def test_loss_decreases_on_a_fixed_batch(paradigm: str) -> None:
    torch.manual_seed(0)
    objective = build_objective(paradigm, _small_encoder(paradigm))
    optimizer = torch.optim.AdamW([p for p in objective.parameters() if p.requires_grad], lr=3e-3)
    values, mask = _batch()

    def loss_at(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)  # same masks every time: a fixed problem to fit
        return objective.loss(values, mask)

    objective.eval()
    with torch.no_grad():
        before = float(loss_at(123))
    objective.train()
    for step in range(25):
        loss = loss_at(123)
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        objective.ema_update(step + 1, 25)
    objective.eval()
    with torch.no_grad():
        after = float(loss_at(123))
    assert after < 0.9 * before, (paradigm, before, after)


@pytest.mark.parametrize("paradigm", ["jepa", "smart"])
def test_ema_update_moves_target_towards_online(paradigm: str) -> None:
    torch.manual_seed(0)
    objective = build_objective(paradigm, _small_encoder(paradigm))
    online = dict(objective.encoder.named_parameters())
    target = dict(objective.target_encoder.named_parameters())
    assert all(not p.requires_grad for p in target.values())
    with torch.no_grad():
        for p in online.values():
            p.add_(1.0)
    name = next(iter(online))
    before = target[name].detach().clone()
    m = ema_momentum(0, 10, objective.momentum_start, objective.momentum_end)
    objective.ema_update(0, 10)
    expected = m * before + (1 - m) * online[name].detach()
    assert torch.allclose(target[name], expected, atol=1e-6)
    assert not torch.equal(target[name], before)
    objective.ema_update(10, 10)  # momentum 1.0 at the end: target frozen
    frozen = target[name].detach().clone()
    objective.ema_update(10, 10)
    assert torch.equal(target[name], frozen)


def test_momentum_schedule_is_linear() -> None:
    assert ema_momentum(0, 100, 0.996) == pytest.approx(0.996)
    assert ema_momentum(50, 100, 0.996) == pytest.approx(0.998)
    assert ema_momentum(100, 100, 0.996) == pytest.approx(1.0)


def test_nt_xent_prefers_matching_pairs() -> None:
    z = torch.nn.functional.normalize(torch.randn(16, 8), dim=-1)
    aligned = nt_xent(z, z, 0.1)
    shuffled = nt_xent(z, z[torch.randperm(16)], 0.1)
    assert aligned < shuffled


def test_paradigm_needs_its_encoder() -> None:
    with pytest.raises(ValueError, match="MARTEncoder"):
        build_objective("smart", build_encoder("transformer", D))
    with pytest.raises(ValueError, match="unknown SSL paradigm"):
        build_objective("byol", build_encoder("transformer", D))
