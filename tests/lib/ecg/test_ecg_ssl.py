"""ECG SSL objectives: NT-Xent against its formula, BYOL's target and EMA, crops/windows."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clinssl.ecg.dataset import random_crops, sliding_windows
from clinssl.ecg.objectives import BYOL, SimCLR
from clinssl.nn.ssl import nt_xent


class _Tiny(nn.Module):
    """A stand-in encoder with the ECG encoder interface (forward (B, d, T), embed, out_dim)."""

    def __init__(self, d: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv1d(12, d, 5, padding=2)
        self.out_dim = d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x).mean(dim=-1)


def _reference_nt_xent(z1: np.ndarray, z2: np.ndarray, tau: float) -> float:
    """SimCLR's loss written out: for each of the 2N views, −log of the softmax (over the
    other 2N − 1 views) at its positive, averaged."""
    z = np.concatenate([z1, z2])
    n = len(z1)
    sim = z @ z.T / tau
    total = 0.0
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        others = [k for k in range(2 * n) if k != i]
        total += -sim[i, positive] + np.log(np.exp(sim[i, others]).sum())
    return total / (2 * n)


def test_nt_xent_matches_the_formula_for_every_row() -> None:
    g = torch.Generator().manual_seed(0)
    z1 = F.normalize(torch.randn(6, 4, generator=g), dim=1)
    z2 = F.normalize(torch.randn(6, 4, generator=g), dim=1)
    ours = float(nt_xent(z1, z2, 0.5))
    assert abs(ours - _reference_nt_xent(z1.numpy(), z2.numpy(), 0.5)) < 1e-5
    # identical views are the easy case: the loss drops when positives agree
    assert float(nt_xent(z1, z1, 0.5)) < ours


def test_simclr_loss_and_gradient() -> None:
    model = SimCLR(_Tiny(), temperature=0.07, hidden=16, projection_dim=4)
    x = torch.randn(5, 12, 50)
    loss = model.loss(x, x + 0.01 * torch.randn_like(x))
    loss.backward()
    assert torch.isfinite(loss) and model.encoder.conv.weight.grad is not None


def test_byol_target_starts_as_a_copy_and_follows_by_ema() -> None:
    model = BYOL(_Tiny(), tau=0.9, hidden=16, projection_dim=4)
    for online, target in ((model.encoder, model.target_encoder),
                           (model.projector, model.target_projector)):  # fmt: skip
        for a, b in zip(online.parameters(), target.parameters(), strict=True):
            assert torch.equal(a, b) and not b.requires_grad
    x = torch.randn(6, 12, 50)
    model.loss(x, x.flip(-1)).backward()
    assert all(p.grad is None for p in model.target_encoder.parameters())
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    before = [p.clone() for p in model.target_encoder.parameters()]
    model.step_hook(0, 10)  # momentum 0.9 at step 0
    for b, t, o in zip(before, model.target_encoder.parameters(), model.encoder.parameters(),
                       strict=True):  # fmt: skip
        assert torch.allclose(t, 0.9 * b + 0.1 * o, atol=1e-6)
    model.step_hook(10, 10)  # momentum 1 at the end: the target stays
    frozen = [p.clone() for p in model.target_encoder.parameters()]
    model.step_hook(10, 10)
    assert all(torch.equal(a, b) for a, b in zip(frozen, model.target_encoder.parameters(), strict=True))


def test_crops_and_windows() -> None:
    x = torch.arange(2 * 12 * 100, dtype=torch.float32).reshape(2, 12, 100)
    torch.manual_seed(0)
    crops = random_crops(x, 25)
    assert crops.shape == (2, 12, 25)
    for b in range(2):  # a contiguous slice of the record, the same offset on every lead
        start = int(crops[b, 0, 0] - x[b, 0, 0])
        assert torch.equal(crops[b], x[b, :, start : start + 25])
    windows = sliding_windows(x, 25, 12)
    assert windows.shape[:2] == (2, 8) and torch.equal(windows[:, -1], x[..., 75:])
    assert torch.equal(windows[:, 1], x[..., 12:37])
