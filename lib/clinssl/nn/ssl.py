"""SSL building blocks shared by branches: NT-Xent (SimCLR), EMA targets (BYOL, JEPA, SMART).

Every branch's contrastive or self-distillation objective builds on these, so the loss and
the momentum schedule are the same code wherever a paper's recipe names them.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ema_momentum", "ema_update_", "frozen_copy", "nt_xent"]


def ema_momentum(step: int, total_steps: int, start: float, end: float = 1.0) -> float:
    """Momentum rising linearly from ``start`` to ``end`` over training (per step)."""
    progress = min(max(step / max(1, total_steps), 0.0), 1.0)
    return start + (end - start) * progress


@torch.no_grad()
def ema_update_(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """``target = m·target + (1−m)·online`` for every parameter (buffers are copied)."""
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        t.mul_(momentum).add_(o.detach(), alpha=1.0 - momentum)
    for tb, ob in zip(target.buffers(), online.buffers(), strict=True):
        tb.copy_(ob)


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy with gradients off (an EMA target, or a frozen teacher)."""
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent over the 2B×2B similarity matrix (inputs L2-normalised)."""
    z = torch.cat([z1, z2], dim=0)
    sim = z @ z.T / temperature
    n = z1.shape[0]
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, targets)
