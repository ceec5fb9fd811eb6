"""SimCLR and BYOL on an ECG encoder, built from the shared SSL pieces (:mod:`clinssl.nn.ssl`).

Departures from the seed, each a bug there: NT-Xent is the standard one (the seed's targets
pointed rows 0..N−1 at negatives); the two views are augmented per sample in one batched
call, so mixup and CutMix fire in SimCLR too; BYOL's target network (encoder *and*
projector) starts as a copy of the online one and follows it by EMA with τ from config
(the seed hard-coded 0.999 and re-initialised the target projector).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from clinssl.nn.ssl import ema_momentum, ema_update_, frozen_copy, nt_xent

__all__ = ["BYOL", "SimCLR", "build_objective"]

Views = Callable[[torch.Tensor], torch.Tensor]


def _mlp(d_in: int, hidden: int, d_out: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(d_in, hidden)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(hidden))
    layers += [nn.ReLU(inplace=True), nn.Linear(hidden, d_out)]
    return nn.Sequential(*layers)


class SimCLR(nn.Module):
    """Encoder → global average pool → projector ``Linear(d, 2048) → ReLU → Linear(2048,
    128)``; NT-Xent at temperature τ between the two views of each record."""

    def __init__(self, encoder: nn.Module, temperature: float = 0.07, hidden: int = 2048,
                 projection_dim: int = 128) -> None:  # fmt: skip
        super().__init__()
        self.encoder = encoder
        self.projector = _mlp(encoder.out_dim, hidden, projection_dim, batch_norm=False)
        self.temperature = temperature

    def loss(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        z1 = F.normalize(self.projector(self.encoder.embed(view1)), dim=1)
        z2 = F.normalize(self.projector(self.encoder.embed(view2)), dim=1)
        return nt_xent(z1.float(), z2.float(), self.temperature)

    def step_hook(self, step: int, total_steps: int) -> None:
        """Nothing to update between steps (the hook exists for a uniform interface)."""


class BYOL(nn.Module):
    """Online encoder + projector + predictor (``Linear → BN → ReLU → Linear``, 2048 hidden,
    256 out); the target (encoder + projector) is a frozen copy updated by EMA, momentum
    rising linearly from ``tau`` to 1 over training. Loss: symmetric 2 − 2·cos."""

    def __init__(self, encoder: nn.Module, tau: float = 0.99, hidden: int = 2048,
                 projection_dim: int = 256) -> None:  # fmt: skip
        super().__init__()
        self.encoder = encoder
        self.projector = _mlp(encoder.out_dim, hidden, projection_dim, batch_norm=True)
        self.predictor = _mlp(projection_dim, hidden, projection_dim, batch_norm=True)
        self.target_encoder = frozen_copy(self.encoder)
        self.target_projector = frozen_copy(self.projector)
        self.tau = tau

    def _online(self, x: torch.Tensor) -> torch.Tensor:
        return self.predictor(self.projector(self.encoder.embed(x)))

    @torch.no_grad()
    def _target(self, x: torch.Tensor) -> torch.Tensor:
        return self.target_projector(self.target_encoder.embed(x))

    def loss(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        p1, p2 = self._online(view1), self._online(view2)
        t1, t2 = self._target(view1), self._target(view2)
        return _byol_term(p1, t2) + _byol_term(p2, t1)

    def step_hook(self, step: int, total_steps: int) -> None:
        """EMA update of the target after each optimiser step."""
        m = ema_momentum(step, total_steps, self.tau)
        ema_update_(self.target_encoder, self.encoder, m)
        ema_update_(self.target_projector, self.projector, m)


def _byol_term(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    p, t = F.normalize(p.float(), dim=1), F.normalize(t.float(), dim=1)
    return (2.0 - 2.0 * (p * t).sum(dim=1)).mean()


def build_objective(method: str, encoder: nn.Module, settings: dict) -> nn.Module:
    """The objective of ``method`` (config ``ecg.simclr`` / ``ecg.byol`` as ``settings``)."""
    if method == "simclr":
        return SimCLR(encoder, float(settings["temperature"]), int(settings["hidden"]),
                      int(settings["projection_dim"]))  # fmt: skip
    if method == "byol":
        return BYOL(encoder, float(settings["tau"]), int(settings["hidden"]),
                    int(settings["projection_dim"]))  # fmt: skip
    raise ValueError(f"unknown ECG SSL method {method!r}; known: simclr, byol")
