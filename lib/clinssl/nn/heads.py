"""Task heads and the encoder+head model used by fine-tuning and supervised training.

SLICES' downstream recipe: a linear head for probes (no hidden layer, no dropout) and an MLP
head ``[64]`` with ReLU and dropout 0.3 for full fine-tuning and supervised training. Binary
tasks use two logits (cross-entropy with label smoothing), regression one output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLPHead", "TaskModel", "build_head"]


class MLPHead(nn.Module):
    """``Linear → ReLU → Dropout`` per hidden size, then ``Linear`` to ``n_out`` (no hidden =
    a linear head)."""

    def __init__(
        self, d_in: int, n_out: int, hidden: Sequence[int] = (64,), dropout: float = 0.3
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(d_in, width), nn.ReLU(), nn.Dropout(dropout)]
            d_in = width
        layers.append(nn.Linear(d_in, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def build_head(d_in: int, task_kind: str, hidden: Sequence[int], dropout: float) -> MLPHead:
    """Head for a ``binary`` (2 logits) or ``regression`` (1 output) task."""
    if task_kind not in ("binary", "regression"):
        raise ValueError(f"task kind must be 'binary' or 'regression', got {task_kind!r}")
    return MLPHead(d_in, 2 if task_kind == "binary" else 1, hidden, dropout)


class TaskModel(nn.Module):
    """``head(encoder(values, mask))``, trained end to end (fine-tuning, supervised training;
    linear probes fit scikit-learn models on frozen embeddings instead)."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(values, mask))
