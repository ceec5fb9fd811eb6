"""Run every protocol of one paradigm and seed: the long metrics table and test predictions.

Schemas (also what the workflow writes): ``metrics``: paradigm, encoder, protocol, task,
kind, label_fraction, seed, n_train, n_test, selection (what model selection read on the
validation stays: ``val_auprc``, ``val_log_loss`` or ``val_mae``), val_metric (its best value),
best_epoch, epochs_run (trained protocols), regularization (the probe's chosen C or alpha),
metric, value, ci_low, ci_high.
``predictions``: paradigm, encoder, protocol, task, label_fraction, seed, stay_id,
patient_id, y_true, y_score. CIs resample test **patients**: a patient's stays are
correlated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from clinssl.icu.downstream import (
    DownstreamConfig,
    TaskResult,
    embed,
    finetune,
    label_fraction_indices,
    linear_probe,
)
from clinssl.icu.names import PROTOCOLS
from clinssl.icu.split_tensors import SplitData, SplitTensors
from clinssl.stats.bootstrap import evaluate
from clinssl.utils.seeding import derive_seed

log = logging.getLogger(__name__)

__all__ = [
    "METRIC_COLUMNS", "PREDICTION_COLUMNS", "SplitTensors", "result_records", "run_protocols",
]  # fmt: skip

METRIC_COLUMNS = [
    "paradigm", "encoder", "protocol", "task", "kind", "label_fraction", "seed", "n_train",
    "n_test", "selection", "val_metric", "best_epoch", "epochs_run", "regularization", "metric",
    "value", "ci_low", "ci_high",
]  # fmt: skip
PREDICTION_COLUMNS = [
    "paradigm", "encoder", "protocol", "task", "label_fraction", "seed", "stay_id",
    "patient_id", "y_true", "y_score",
]  # fmt: skip


def _metric_rows(
    base: dict, kind: str, test: SplitData, scores: np.ndarray, n_resamples: int, seed: int
) -> list[dict]:
    """One row per metric; CIs resample test *patients* (a patient's stays are correlated)."""
    results = evaluate(
        kind, test.y, scores, groups=test.patient_id, n_resamples=n_resamples, seed=seed
    )
    return [{**base, "metric": m, **v} for m, v in results.items()]


def result_records(
    result: TaskResult,
    test: SplitData,
    *,
    n_resamples: int,
    paradigm: str,
    encoder: str,
    protocol: str,
    task: str,
    kind: str,
    fraction: float,
    seed: int,
) -> tuple[list[dict], pd.DataFrame]:
    """The metric rows (with patient-bootstrap CIs) and the test-prediction frame of one
    fitted model: the one place that decides what a benchmark row holds, for the encoder
    protocols and the classical baselines alike."""
    base = {
        "paradigm": paradigm, "encoder": encoder, "protocol": protocol, "task": task,
        "kind": kind, "label_fraction": float(fraction), "seed": int(seed),
        "n_train": int(result.n_train), "n_test": len(test), "selection": result.selection,
        "val_metric": float(result.val_metric),
        "best_epoch": float(result.best_epoch) if result.best_epoch else np.nan,
        "epochs_run": float(result.epochs_run) if result.epochs_run else np.nan,
        "regularization": result.regularization if result.regularization is not None else np.nan,
    }  # fmt: skip
    rows = _metric_rows(
        base, kind, test, result.scores, n_resamples, derive_seed(seed, "bootstrap", task)
    )
    log.info(
        "%s %s %s frac=%g: %s", paradigm, protocol, task, fraction,
        {r["metric"]: round(r["value"], 4) for r in rows},
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "paradigm": paradigm, "encoder": encoder, "protocol": protocol, "task": task,
            "label_fraction": float(fraction), "seed": int(seed), "stay_id": test.stay_id,
            "patient_id": test.patient_id, "y_true": test.y, "y_score": result.scores,
        }  # fmt: skip
    )
    return rows, frame


def run_protocols(
    paradigm: str,
    protocols: Sequence[str],
    encoder_factory: Callable[[], nn.Module],
    encoder_name: str,
    splits: dict[str, SplitTensors],
    tasks: dict[str, str],
    label_fractions: Sequence[float],
    config: DownstreamConfig,
    seed: int,
    *,
    n_resamples: int = 1000,
    checkpoint_dir: str | Path | None = None,
    job: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every task × fraction × protocol for one paradigm/seed (module docstring).

    ``encoder_factory()`` returns a fresh copy of the encoder each protocol starts from
    (pretrained weights, or a new initialisation for ``supervised``/random probes). ``job``
    (:func:`clinssl.train.fingerprint.job_fingerprint`) ties each fine-tuning checkpoint to
    the workflow job and its inputs.
    """
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown protocols {unknown}; known: {PROTOCOLS}")
    metric_rows: list[dict] = []
    prediction_frames: list[pd.DataFrame] = []
    embeddings: dict[str, np.ndarray] = {}
    if "linear_probe" in protocols:
        frozen = encoder_factory()
        for name, split in splits.items():
            embeddings[name] = embed(frozen, split.values, split.mask, device=config.device)
    for task, kind in tasks.items():
        data = {name: split.for_task(task) for name, split in splits.items()}
        train_all, val, test = data["train"], data["val"], data["test"]
        label_rows = {name: split.labelled_rows(task) for name, split in splits.items()}
        for fraction in label_fractions:
            idx = label_fraction_indices(train_all.y, fraction, seed, task, kind)
            train = train_all.subset(idx)
            for protocol in protocols:
                if protocol == "linear_probe":
                    result = linear_probe(
                        kind,
                        embeddings["train"][label_rows["train"]][idx],
                        train.y,
                        embeddings["val"][label_rows["val"]],
                        val.y,
                        embeddings["test"][label_rows["test"]],
                        config,
                        seed,
                    )
                else:
                    lr = config.finetune_lr if protocol == "finetune" else config.supervised_lr
                    ckpt = (
                        Path(checkpoint_dir) / f"{paradigm}_{protocol}_{task}_{fraction}.ckpt"
                        if checkpoint_dir
                        else None
                    )
                    result = finetune(
                        kind,
                        encoder_factory(),
                        train,
                        val,
                        test,
                        config,
                        lr=lr,
                        seed=derive_seed(seed, protocol, task, round(fraction * 1e6)),
                        checkpoint_path=ckpt,
                        fingerprint={"paradigm": paradigm, "protocol": protocol, "task": task,
                                     "fraction": fraction, "job": job or {}},  # fmt: skip
                    )
                rows, frame = result_records(
                    result, test, n_resamples=n_resamples, paradigm=paradigm,
                    encoder=encoder_name, protocol=protocol, task=task, kind=kind,
                    fraction=fraction, seed=seed,
                )  # fmt: skip
                metric_rows += rows
                prediction_frames.append(frame)
    metrics = pd.DataFrame(metric_rows, columns=METRIC_COLUMNS)
    predictions = pd.concat(prediction_frames, ignore_index=True)[PREDICTION_COLUMNS]
    return metrics, predictions
