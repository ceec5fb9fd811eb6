"""Torch views of the PPG window store: indexable datasets and model-rate resampling.

Why: the store is a memmap of (N, 1250) float32 at 125 Hz that can exceed RAM; training and
embedding read only the rows they need, batch by batch. Models may run at a lower rate than
the store (config ``ppg.himae.input_fs``; PPG content lies below 12 Hz), so windows are
resampled with ``resample_poly`` when a batch is assembled.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from clinssl.io.signal import resample
from clinssl.ppg.windows import TARGET_FS


def model_length(fs: float, seconds: float = 10.0) -> int:
    """Samples per window at the model rate ``fs``."""
    return int(round(fs * seconds))


def resample_rows(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample rows of ``x`` from ``fs_in`` to ``fs_out`` (exact length ``10 s · fs_out``)."""
    if abs(fs_in - fs_out) < 1e-9:
        return np.asarray(x, dtype=np.float32)
    return resample(x, fs_in, fs_out, model_length(fs_out, x.shape[1] / fs_in)).astype(np.float32)


class WindowRows(Dataset):
    """Rows ``rows`` of a windows memmap; items are row positions, batches are assembled by
    :meth:`collate` (one sorted memmap read per batch, then resampling)."""

    def __init__(self, windows: np.ndarray, rows: np.ndarray, fs_out: float = TARGET_FS) -> None:
        self.windows = windows
        self.rows = np.asarray(rows, dtype=np.int64)
        self.fs_out = fs_out

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getitem__(self, i: int) -> int:
        return int(self.rows[i])

    def read(self, rows: np.ndarray) -> torch.Tensor:
        order = np.argsort(rows)
        block = np.empty((len(rows), self.windows.shape[1]), dtype=np.float32)
        block[order] = self.windows[np.asarray(rows)[order]]
        return torch.from_numpy(resample_rows(block, TARGET_FS, self.fs_out))

    def collate(self, rows: list[int]) -> torch.Tensor:
        return self.read(np.asarray(rows, dtype=np.int64))
