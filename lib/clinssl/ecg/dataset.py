"""The loaded ECG store as training and evaluation inputs: normalisation, crops, windows.

Why crops: the PTB-XL benchmark trains on random 2.5-s crops of the 10-s records and
predicts at test time on sliding windows (stride 1.25 s) whose outputs are aggregated per
record; SSL pretraining uses the same random crops as its base view. Normalisation is the
benchmark's: one global mean and standard deviation over every training value (not per
record, which would erase the voltage differences hypertrophy shows).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from clinssl.ecg.names import SUPERCLASSES

__all__ = ["ECGStore", "IndexDataset", "collate_rows", "crop_length", "random_crops",
           "sliding_windows"]


def crop_length(fs: float, seconds: float, n_samples: int) -> int:
    """Samples of a ``seconds`` crop at ``fs``, at most the record length."""
    return max(1, min(n_samples, int(round(seconds * fs))))


@dataclass
class ECGStore:
    """``signals`` (N, 12, L) float32 (memmap), ``meta`` (one row per record), ``fs``, and
    the global train mean/std used to normalise every batch."""

    signals: np.ndarray
    meta: pd.DataFrame
    fs: float
    mean: float
    std: float

    @classmethod
    def open(cls, signals: str | os.PathLike[str], meta: str | os.PathLike[str],
             fs: float) -> ECGStore:  # fmt: skip
        x = np.load(signals, mmap_mode="r")
        table = pd.read_parquet(meta)
        if x.ndim != 3 or x.shape[0] != len(table):
            raise ValueError(f"{signals}: expected (N={len(table)}, 12, L) signals, got {x.shape}")
        missing = [c for c in ("ecg_id", "patient_id", "split", *SUPERCLASSES) if c not in table]
        if missing:
            raise ValueError(f"{meta}: missing columns {missing}")
        train = np.flatnonzero((table["split"] == "train").to_numpy())
        if train.size == 0:
            raise ValueError(f"{meta}: no record in the train split")
        mean, std = _global_moments(x, train)
        return cls(x, table.reset_index(drop=True), float(fs), mean, std)

    def rows(self, split: str) -> np.ndarray:
        return np.flatnonzero((self.meta["split"] == split).to_numpy())

    def labels(self, rows: np.ndarray | None = None) -> np.ndarray:
        """(n, 5) float32 multi-hot superclass labels in :data:`SUPERCLASSES` order."""
        table = self.meta if rows is None else self.meta.iloc[rows]
        return table[list(SUPERCLASSES)].to_numpy(dtype=np.float32)

    def batch(self, rows: np.ndarray) -> torch.Tensor:
        """Normalised float32 tensor (len(rows), 12, L) of ``rows`` (read in sorted order)."""
        rows = np.asarray(rows)
        order = np.argsort(rows, kind="stable")
        block = np.empty((rows.size, *self.signals.shape[1:]), dtype=np.float32)
        block[order] = self.signals[rows[order]]
        return (torch.from_numpy(block) - self.mean) / self.std


def _global_moments(x: np.ndarray, rows: np.ndarray, chunk: int = 512) -> tuple[float, float]:
    """Mean and SD of every value of ``x[rows]`` (float64 accumulation, chunked)."""
    total, total_sq, count = 0.0, 0.0, 0
    for start in range(0, rows.size, chunk):
        block = np.asarray(x[rows[start : start + chunk]], dtype=np.float64)
        total += float(block.sum())
        total_sq += float((block**2).sum())
        count += block.size
    mean = total / count
    std = float(np.sqrt(max(total_sq / count - mean**2, 1e-12)))
    return mean, std


class IndexDataset(Dataset):
    """Row indices as a dataset: the collate function reads, normalises and crops a batch
    at once (one memmap read per batch, crops drawn from torch's RNG, which the shared
    training loop seeds and restores on resume)."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getitem__(self, i: int) -> int:
        return int(self.rows[i])


def collate_rows(rows: list[int]) -> torch.Tensor:
    """A batch of :class:`IndexDataset` items as one index tensor (the loss reads the rows)."""
    return torch.as_tensor(rows, dtype=torch.long)


def random_crops(x: torch.Tensor, length: int) -> torch.Tensor:
    """One random crop of ``length`` samples per record (offsets from torch's global RNG)."""
    n = x.shape[-1]
    if length >= n:
        return x
    starts = torch.randint(0, n - length + 1, (x.shape[0],))
    index = starts[:, None] + torch.arange(length)[None, :]
    return torch.gather(x, 2, index[:, None, :].expand(-1, x.shape[1], -1).to(x.device))


def sliding_windows(x: torch.Tensor, length: int, stride: int) -> torch.Tensor:
    """(B, W, C, length) windows every ``stride`` samples; the last one ends at the record's
    end, so every sample is covered."""
    n = x.shape[-1]
    if length >= n:
        return x[:, None]
    starts = list(range(0, n - length + 1, max(1, stride)))
    if starts[-1] != n - length:
        starts.append(n - length)
    return torch.stack([x[..., s : s + length] for s in starts], dim=1)
