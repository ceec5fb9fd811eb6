"""Masking invariants: only valid hours are hidden, >= 1 visible hour, budgets, determinism."""

from __future__ import annotations

import pytest
import torch

from clinssl.icu.masking import (
    block_timestep_mask,
    complementary_timestep_masks,
    elementwise_mask,
    n_masked,
    random_timestep_mask,
    valid_timesteps,
)


def _valid(batch: int = 64, steps: int = 24, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    valid = torch.rand(batch, steps, generator=gen) < torch.linspace(0.05, 0.9, batch)[:, None]
    valid[0] = False
    valid[0, 3] = True  # a stay with a single valid hour
    valid[1] = True  # a fully observed stay
    return valid


def test_n_masked_formula() -> None:
    n_valid = torch.tensor([0, 1, 2, 3, 10, 24])
    assert n_masked(n_valid, 0.5).tolist() == [0, 0, 1, 2, 5, 12]  # round(1.5) = 2
    assert n_masked(n_valid, 0.0).tolist() == [0, 0, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="mask ratio"):
        n_masked(n_valid, 1.0)


@pytest.mark.parametrize("kind", ["random", "block"])
def test_timestep_masks_hide_only_valid_hours_and_keep_one(kind: str) -> None:
    valid = _valid()
    gen = torch.Generator().manual_seed(1)
    visible = (
        random_timestep_mask(valid, 0.5, gen)
        if kind == "random"
        else block_timestep_mask(valid, 0.5, 3, gen)
    )
    assert not (visible & ~valid).any(), "an invalid hour became visible"
    has_valid = valid.any(dim=1)
    assert visible[has_valid].any(dim=1).all(), "a stay lost all its visible hours"
    hidden = (valid & ~visible).sum(dim=1)
    assert torch.equal(hidden, n_masked(valid.sum(dim=1), 0.5))
    assert hidden[0] == 0  # single valid hour: nothing hidden


def test_block_mask_makes_at_most_n_blocks_runs() -> None:
    valid = torch.ones(200, 24, dtype=torch.bool)
    visible = block_timestep_mask(valid, 0.5, 3, torch.Generator().manual_seed(2))
    hidden = (~visible).int()
    runs = ((hidden[:, 1:] - hidden[:, :-1]) == 1).sum(dim=1) + hidden[:, 0]
    assert runs.max() <= 3 and runs.min() >= 1
    assert (runs > 1).any(), "blocks never split: n_blocks has no effect"


def test_masks_are_deterministic_in_the_generator() -> None:
    valid = _valid()
    a = random_timestep_mask(valid, 0.5, torch.Generator().manual_seed(5))
    b = random_timestep_mask(valid, 0.5, torch.Generator().manual_seed(5))
    c = random_timestep_mask(valid, 0.5, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_complementary_views_are_disjoint_and_cover_valid_hours() -> None:
    valid = _valid()
    v1, v2 = complementary_timestep_masks(valid, 0.5, torch.Generator().manual_seed(3))
    multi = valid.sum(dim=1) >= 2
    assert not (v1 & v2)[multi].any()
    assert torch.equal((v1 | v2)[multi], valid[multi])
    has_valid = valid.any(dim=1)
    assert v1[has_valid].any(dim=1).all() and v2[has_valid].any(dim=1).all()
    assert torch.equal(v1[0], v2[0])  # single-hour fallback: both views see it


def test_elementwise_mask_hides_observed_entries_only() -> None:
    gen = torch.Generator().manual_seed(4)
    obs = torch.rand(128, 24, 8, generator=gen) < 0.2
    obs[0] = False
    obs[0, 5, 2] = True
    visible = elementwise_mask(obs, 0.0, 0.75, torch.Generator().manual_seed(7))
    assert not (visible & ~obs).any()
    assert visible.flatten(1)[obs.flatten(1).any(dim=1)].any(dim=1).all()
    hidden_frac = (obs & ~visible).sum() / obs.sum()
    assert 0.2 < hidden_frac < 0.55  # mean of U[0, 0.75] is 0.375
    assert valid_timesteps(obs).shape == (128, 24)
