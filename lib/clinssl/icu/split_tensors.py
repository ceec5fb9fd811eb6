"""One split's model inputs and labels, as numpy arrays: what every ICU job loads.

Why a module of its own: the pretraining, fairness and summary jobs read splits but train
no probe, so the containers must not pull in scikit-learn or the downstream protocols
(a second of import time in every one of those jobs).

* :class:`SplitTensors` — one split with every task's labels (NaN = missing);
  :meth:`SplitTensors.for_task` drops the stays without that task's label, after the
  split, as SLICES does.
* :class:`SplitData` — one split and one task (unlabelled rows dropped): what a protocol
  trains or scores on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SplitData", "SplitTensors"]


@dataclass
class SplitData:
    """One split's model inputs and one task's labels (NaN rows already dropped)."""

    values: np.ndarray  # (N, T, D) float32, normalized then zero-filled
    mask: np.ndarray  # (N, T, D) bool, True = observed
    y: np.ndarray  # (N,) float: 0/1 or days
    stay_id: np.ndarray
    patient_id: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.values)
        if self.values.ndim != 3 or self.mask.shape != self.values.shape:
            raise ValueError(
                f"values must be (N, T, D) with a mask of the same shape, got "
                f"{self.values.shape} and {self.mask.shape}"
            )
        for name in ("y", "stay_id", "patient_id"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, values {n}")

    def subset(self, idx: np.ndarray) -> SplitData:
        return SplitData(
            self.values[idx], self.mask[idx], self.y[idx], self.stay_id[idx], self.patient_id[idx]
        )

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class SplitTensors:
    """One split: normalized zero-filled values, observation mask, ids and task labels."""

    values: np.ndarray
    mask: np.ndarray
    stay_id: np.ndarray
    patient_id: np.ndarray
    labels: pd.DataFrame  # one column per task, NaN = missing, same row order

    def labelled_rows(self, task: str) -> np.ndarray:
        """Row indices of the stays with a ``task`` label (what :meth:`for_task` keeps)."""
        if task not in self.labels:
            raise ValueError(f"no labels for task {task!r}; have {list(self.labels.columns)}")
        return np.flatnonzero(~np.isnan(self.labels[task].to_numpy(dtype=float)))

    def for_task(self, task: str) -> SplitData:
        keep = self.labelled_rows(task)
        y = self.labels[task].to_numpy(dtype=float)[keep]
        return SplitData(
            np.asarray(self.values)[keep],
            np.asarray(self.mask)[keep],
            y,
            self.stay_id[keep],
            self.patient_id[keep],
        )
