"""Gradient accumulation over micro-batches (TrainConfig.micro_batch_size): one optimizer
step per batch whose gradient equals the whole batch's for a mean loss, the same schedule
and the same reported loss; uneven last chunks are weighted by their share."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from clinssl.train import TrainConfig, fit
from clinssl.train.loop import _micro_batches


def _run(micro: int | None) -> tuple[nn.Module, list[dict]]:
    torch.manual_seed(0)
    x = torch.randn(40, 5)
    y = x @ torch.arange(5.0) + 0.1 * torch.randn(40)
    model = nn.Linear(5, 1)
    torch.manual_seed(1)
    model.reset_parameters()

    def loss_fn(m: nn.Module, batch, device: torch.device) -> torch.Tensor:
        xb, yb = (t.to(device) for t in batch)
        return ((m(xb)[:, 0] - yb) ** 2).mean()

    config = TrainConfig(epochs=3, batch_size=16, lr=0.05, device="cpu", seed=3,
                         micro_batch_size=micro)  # fmt: skip
    result = fit(model, loss_fn, TensorDataset(x, y), config)
    return model, result.history


def test_micro_batches_give_the_whole_batch_step() -> None:
    whole, h_whole = _run(None)
    chunked, h_chunked = _run(5)  # 16 = 5 + 5 + 5 + 1, last batch 8 = 5 + 3
    for a, b in zip(whole.parameters(), chunked.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(h_whole, h_chunked, strict=True):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-5
        assert a["lr"] == b["lr"]


def test_chunk_shares_sum_to_one() -> None:
    batch = (torch.zeros(11, 2), torch.zeros(11))
    chunks = _micro_batches(batch, 4)
    assert [len(c[0][0]) for c in chunks] == [4, 4, 3]
    assert abs(sum(share for _, share in chunks) - 1.0) < 1e-12
    assert _micro_batches(batch, None) == [(batch, 1.0)] and _micro_batches(batch, 16) == [(batch, 1.0)]
