"""Masking shared by every ICU SSL objective (MAE, JEPA, contrastive, SMART).

Why shared: a fair paradigm comparison keeps the masking identical; only what an objective
predicts from the visible part differs (SLICES ``pretraining/masking.py``).

Conventions (SLICES): timestep masks are ``(B, T)`` booleans where **True = visible**. A
timestep is *valid* when at least one feature was observed in that hour; invalid hours are
never visible and never count toward the masking budget. For a sample with ``n_valid`` valid
hours, ``n_mask = min(max(round(n_valid * ratio), 1), n_valid - 1)`` hours are hidden, so at
least one valid hour always stays visible (a sample with one valid hour hides nothing).

Randomness comes from an optional ``torch.Generator`` (else the global torch RNG, which the
shared training loop seeds and checkpoints), so masks are a function of the config seed.
"""

from __future__ import annotations

import torch

__all__ = [
    "block_timestep_mask",
    "complementary_timestep_masks",
    "elementwise_mask",
    "n_masked",
    "random_timestep_mask",
    "valid_timesteps",
]


def valid_timesteps(obs_mask: torch.Tensor) -> torch.Tensor:
    """``(B, T)``: hours with at least one observed feature (``obs_mask`` is ``(B, T, D)``)."""
    return obs_mask.bool().any(dim=-1)


def n_masked(n_valid: torch.Tensor, ratio: float) -> torch.Tensor:
    """Hidden hours per sample: ``min(max(round(n_valid*ratio), 1), n_valid-1)``, ≥ 0."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")
    n = torch.clamp(torch.round(n_valid.float() * ratio).long(), min=1)
    return torch.clamp(torch.minimum(n, n_valid.long() - 1), min=0)


def _rand(shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None):
    return torch.rand(shape, generator=generator, device=device if generator is None else "cpu").to(
        device
    )


def random_timestep_mask(
    valid: torch.Tensor, ratio: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Hide a uniformly random ``n_masked`` subset of each sample's valid hours.

    Returns the ``(B, T)`` visibility mask (True = visible; invalid hours are False).
    """
    valid = valid.bool()
    scores = _rand(tuple(valid.shape), valid.device, generator)
    scores = scores.masked_fill(~valid, 2.0)  # invalid hours sort last, never chosen
    k = n_masked(valid.sum(dim=1), ratio)
    rank = scores.argsort(dim=1).argsort(dim=1)
    hidden = rank < k[:, None]
    return valid & ~hidden


def block_timestep_mask(
    valid: torch.Tensor,
    ratio: float,
    n_blocks: int = 3,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Hide up to ``n_blocks`` contiguous runs of valid hours (JEPA's default).

    Why blocks: with random single hours a latent predictor can interpolate neighbours and
    the representation collapses (SLICES). Blocks are taken on the sequence of *valid* hours
    (gaps of unobserved hours do not break a block); their lengths split ``n_masked`` at
    random and they are placed in order with random gaps, so they never overlap.
    """
    if n_blocks < 1:
        raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
    valid = valid.bool()
    batch, steps = valid.shape
    k = n_masked(valid.sum(dim=1), ratio).tolist()
    n_valid = valid.sum(dim=1).tolist()
    rand = _rand((batch, 2 * n_blocks + 2), torch.device("cpu"), generator)
    visible = valid.clone()
    for b in range(batch):
        if k[b] == 0:
            continue
        nb = min(n_blocks, k[b])
        # split k into nb positive lengths
        cuts = sorted(int(rand[b, i] * (k[b] - 1)) + 1 for i in range(nb - 1)) if nb > 1 else []
        bounds = [0, *cuts, k[b]]
        lengths = [bounds[i + 1] - bounds[i] for i in range(nb)]
        lengths = [length for length in lengths if length > 0]
        free = n_valid[b] - k[b]  # visible valid hours to distribute as gaps (>= 1)
        # nb + 1 gaps (before, between, after); inner gaps may be 0 (blocks then merge)
        weights = rand[b, n_blocks : n_blocks + len(lengths) + 1] + 1e-3
        gaps = torch.floor(weights / weights.sum() * free).long().tolist()
        valid_idx = valid[b].nonzero().flatten()
        pos = gaps[0]
        for i, length in enumerate(lengths):
            visible[b, valid_idx[pos : pos + length]] = False
            pos += length + gaps[i + 1]
    return visible


def complementary_timestep_masks(
    valid: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views with no visible hour in common (contrastive default).

    View 1 is a random timestep mask; view 2 sees exactly the valid hours view 1 hides.
    Fallback for samples with a single valid hour (nothing can be hidden): both views see it,
    so each view still has ≥ 1 visible hour.
    """
    valid = valid.bool()
    view1 = random_timestep_mask(valid, ratio, generator)
    view2 = valid & ~view1
    lonely = ~view2.any(dim=1)
    view2[lonely] = view1[lonely]
    return view1, view2


def elementwise_mask(
    obs_mask: torch.Tensor,
    min_ratio: float = 0.0,
    max_ratio: float = 0.75,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """SMART's element-wise masking: hide observed entries at a per-sample random ratio.

    Each sample draws its ratio from U[min_ratio, max_ratio]; each observed entry is hidden
    independently with that probability, but at least one observed entry per sample stays
    visible. Returns the ``(B, T, D)`` visibility mask (True = observed and visible).
    """
    if not 0.0 <= min_ratio <= max_ratio < 1.0:
        raise ValueError(f"need 0 <= min_ratio <= max_ratio < 1, got {min_ratio}, {max_ratio}")
    obs = obs_mask.bool()
    batch = obs.shape[0]
    ratios = min_ratio + (max_ratio - min_ratio) * _rand((batch,), obs.device, generator)
    draws = _rand(tuple(obs.shape), obs.device, generator)
    visible = obs & (draws >= ratios.view(batch, *([1] * (obs.dim() - 1))))
    # keep one observed entry visible where everything would be hidden
    empty = ~visible.flatten(1).any(dim=1) & obs.flatten(1).any(dim=1)
    if empty.any():
        flat_obs = obs.flatten(1)[empty]
        first = flat_obs.float().argmax(dim=1)
        flat_vis = visible.flatten(1).clone()
        rows = empty.nonzero().flatten()
        flat_vis[rows, first] = True
        visible = flat_vis.view_as(obs)
    return visible
