"""``ICUDataset``: one split of an ingested ICU dataset as normalize-then-zero-filled tensors.

Reads the files written by ``icu_ingest`` and ``icu_splits``
(:class:`~clinssl.icu.files.IngestFiles`, :class:`~clinssl.icu.files.SplitFiles`).

Why normalize-then-zero-fill: SLICES uses one imputation for every paradigm so imputation is
not a confound; after z-normalization with train statistics a 0 is the train mean, and the
mask tells the model which entries were observed. Arrays are memmapped, so a dataset of any
size opens instantly and only the rows a batch touches are read.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from clinssl.icu.files import IngestFiles, SplitFiles
from clinssl.icu.labels import ICU_TASKS
from clinssl.io.splits import SPLITS


class ICUDataset(Dataset):
    """Items: ``values`` float32 (T, D), ``mask`` bool (T, D), ``label`` float (NaN when
    missing or no task), ``static`` {age, sex, race}, ``stay_id``, ``index`` (tensor row)."""

    def __init__(
        self,
        data: IngestFiles,
        split_files: SplitFiles,
        split: str,
        task: str | None = None,
        drop_missing_labels: bool = False,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be train, val or test, got {split!r}")
        if task is not None and task not in ICU_TASKS:
            raise ValueError(f"unknown ICU task {task!r}; known: {sorted(ICU_TASKS)}")
        self.task, self.split = task, split
        self.metadata = json.loads(data.metadata.read_text())
        self.feature_names: list[str] = self.metadata["feature_names"]
        self.values = np.load(data.values, mmap_mode="r")
        self.mask = np.load(data.mask, mmap_mode="r")
        static = pd.read_parquet(data.static)
        if len(static) != self.values.shape[0] or self.mask.shape != self.values.shape:
            raise ValueError(
                f"{data.values}: values {self.values.shape}, {data.mask.name} "
                f"{self.mask.shape} and {data.static.name} ({len(static)} rows) disagree; "
                "re-run icu_ingest"
            )
        splits = pd.read_parquet(split_files.splits)
        if not np.array_equal(splits["stay_id"].to_numpy(), static["stay_id"].to_numpy()):
            raise ValueError(f"{split_files.splits}: stay order differs from {data.static}")
        norm = json.loads(split_files.normalization.read_text())
        if norm["feature_names"] != self.feature_names:
            raise ValueError(
                f"{split_files.normalization}: feature_names differ from {data.metadata}"
            )
        self.mean = np.asarray(norm["mean"], dtype=np.float32)
        self.std = np.asarray(norm["std"], dtype=np.float32)
        rows = np.flatnonzero(splits["split"].to_numpy() == split)
        labels = pd.read_parquet(data.labels)
        if task is not None:
            self.labels = (
                labels[task].to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
            )
        else:
            self.labels = np.full(len(static), np.nan, dtype=np.float32)
        if drop_missing_labels and task is not None:
            rows = rows[~np.isnan(self.labels[rows])]
        self.rows = rows
        self.stay_ids = static["stay_id"].to_numpy()
        self.age = static["age"].to_numpy(dtype=np.float64, na_value=np.nan)
        self.sex = static["sex"].astype(str).to_numpy()
        self.race = static["race"].astype(str).to_numpy()

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, int]:
        """(T, D) of one item."""
        return int(self.values.shape[1]), int(self.values.shape[2])

    def normalized(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalize-then-zero-fill ``values``/``mask`` of tensor rows ``rows`` (vectorised)."""
        v = np.asarray(self.values[rows], dtype=np.float32)
        m = np.asarray(self.mask[rows], dtype=bool)
        z = (v - self.mean) / self.std
        return np.where(m, z, 0.0).astype(np.float32), m

    def get_batch(self, indices: np.ndarray | list[int]) -> dict[str, Any]:
        """A batch of items ``indices`` (positions in this split) as stacked tensors."""
        rows = self.rows[np.asarray(indices, dtype=np.int64)]
        v, m = self.normalized(rows)
        return {
            "values": torch.from_numpy(v),
            "mask": torch.from_numpy(m),
            "label": torch.from_numpy(self.labels[rows].copy()),
            "index": torch.from_numpy(rows.copy()),
        }

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = int(self.rows[i])
        v, m = self.normalized(np.array([row]))
        return {
            "values": torch.from_numpy(v[0]),
            "mask": torch.from_numpy(m[0]),
            "label": torch.tensor(float(self.labels[row]), dtype=torch.float32),
            "static": {
                "age": float(self.age[row]),
                "sex": str(self.sex[row]),
                "race": str(self.race[row]),
            },
            "stay_id": int(self.stay_ids[row]),
            "index": row,
        }
