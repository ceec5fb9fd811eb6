"""Load an ingested ICU dataset's splits as whole arrays for the SSL benchmark.

Reads the data branch's contract through :class:`clinssl.icu.dataset.ICUDataset` (so
normalization — train statistics of the seed's split, then zero-fill — is exactly the one
every consumer uses) and returns :class:`~clinssl.icu.split_tensors.SplitTensors` with all
task labels. Whole arrays rather than per-item loading: the synthetic and CPU-sized cohorts
fit in memory, and vectorised batches keep the benchmark within its time budget.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from clinssl.icu.files import IngestFiles, SplitFiles
from clinssl.icu.labels import ICU_TASKS
from clinssl.icu.split_tensors import SplitTensors
from clinssl.icu.tasks import check_task_labels
from clinssl.io.splits import SPLITS
from clinssl.stats.fairness import age_group

__all__ = ["load_splits", "load_static", "planned_tasks"]

log = logging.getLogger(__name__)


def load_splits(
    data: IngestFiles, split_files: SplitFiles, splits: tuple[str, ...] = SPLITS
) -> dict[str, SplitTensors]:
    """``{split: SplitTensors}`` of one ingested dataset and one split seed."""
    # imported here: ICUDataset is a torch Dataset, and the fairness job, which only reads
    # the static table through this module, need not import torch
    from clinssl.icu.dataset import ICUDataset

    static = pd.read_parquet(data.static, columns=["stay_id", "patient_id"])
    labels = pd.read_parquet(data.labels)
    if not np.array_equal(labels["stay_id"].to_numpy(), static["stay_id"].to_numpy()):
        raise ValueError(f"{data.labels}: stay_id order differs from {data.static}")
    missing = [t for t in ICU_TASKS if t not in labels]
    if missing:
        raise ValueError(f"{data.labels}: missing task columns {missing}")
    task_labels = pd.DataFrame(
        {t: labels[t].to_numpy(dtype=np.float64, na_value=np.nan) for t in ICU_TASKS}
    )
    out = {}
    for split in splits:
        ds = ICUDataset(data, split_files, split)
        rows = ds.rows
        values, mask = ds.normalized(rows)
        out[split] = SplitTensors(
            values=values,
            mask=mask,
            stay_id=static["stay_id"].to_numpy()[rows],
            patient_id=static["patient_id"].to_numpy()[rows],
            labels=task_labels.iloc[rows].reset_index(drop=True),
        )
    return out


def load_static(static_file: str | Path, age_bins: list[int] | tuple[int, ...]) -> pd.DataFrame:
    """``stay_id, patient_id, sex, race, age_group`` for fairness analysis."""
    static = pd.read_parquet(static_file)
    needed = {"stay_id", "patient_id", "age", "sex", "race"}
    missing = sorted(needed - set(static.columns))
    if missing:
        raise ValueError(f"{static_file}: missing columns {missing}")
    frame = static[["stay_id", "patient_id", "sex", "race"]].copy()
    frame["sex"] = frame["sex"].astype("string")
    frame["race"] = frame["race"].astype("string")
    frame["age_group"] = age_group(static["age"], age_bins)
    return frame


def planned_tasks(
    dataset: str,
    tasks: Sequence[str],
    left_out: Mapping[str, str],
    splits: Mapping[str, SplitTensors],
    labels_file: str | Path,
) -> dict[str, str]:
    """``{task: kind}`` of the planned ``tasks`` after checking every split has labels.

    Logs the tasks the planner left out and why (clinssl.icu.tasks.plan_tasks); a planned
    task without labels in a split stops the job naming dataset, task and split.
    """
    for task, reason in left_out.items():
        log.info("dataset %r: task %s left out (%s)", dataset, task, reason)
    for task in tasks:
        counts = {}
        for name, split in splits.items():
            y = split.labels[task].to_numpy(dtype=float)
            labelled = y[~np.isnan(y)]
            counts[name] = (int(labelled.size), int((labelled == 1).sum()))
        check_task_labels(dataset, task, ICU_TASKS[task], counts, str(labels_file))
    return {t: ICU_TASKS[t] for t in tasks}
