"""Mortality predictions of the event-sequence model and their evaluation.

:func:`evaluate_mortality` reports AUROC, AUPRC, Brier score and ECE with the percentile CIs
of a **patient-cluster** bootstrap (:func:`clinssl.stats.bootstrap.evaluate` with the
``subject_id`` of every stay as its group): stays of one patient are correlated, and
resampling them as independent rows would make the intervals too narrow. The metric
definitions (ECE with 15 equal-width bins) and the columns ``value``, ``ci_low``, ``ci_high``
are those of every other branch, so tables can be stacked. :func:`calibration_curve` bins
the probabilities the way the ECE does (equal width on [0, 1], the top edge in the last bin)
for a reliability plot; it keeps empty bins (``n`` = 0, NaN means) so every curve has the
same bin grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from torch import nn

from clinssl.events.dataset import EventDataset, EventTensors, collate_events, select_rows
from clinssl.events.files import EvaluationFiles
from clinssl.stats.bootstrap import evaluate
from clinssl.stats.metrics import BINARY_METRICS
from clinssl.utils import atomic_path, write_json

__all__ = [
    "EventEvaluationError",
    "calibration_curve",
    "evaluate_mortality",
    "evaluation_tables",
    "predict",
    "predict_logits",
]


class EventEvaluationError(ValueError):
    """Probabilities or labels handed to the evaluation have the wrong shape or values."""


def _model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def predict_logits(
    model: nn.Module, tensors: EventTensors, rows: Any = None, *, batch_size: int = 256
) -> np.ndarray:
    """float64 logits of the stays at ``rows`` (see :func:`predict`), in ``rows`` order."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise EventEvaluationError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    dataset = EventDataset(tensors, rows)
    device = _model_device(model)
    was_training = model.training
    model.eval()
    out: list[np.ndarray] = []
    try:
        with torch.no_grad():
            for start in range(0, len(dataset), batch_size):
                stop = min(start + batch_size, len(dataset))
                batch = collate_events([dataset[i] for i in range(start, stop)])
                logit = model(
                    batch["seq"].to(device), batch["mask"].to(device), batch["static"].to(device)
                )
                out.append(logit.detach().to("cpu", torch.float64).numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out) if out else np.empty(0)


def predict(
    model: nn.Module, tensors: EventTensors, rows: Any = None, *, batch_size: int = 256
) -> np.ndarray:
    """float64 death probabilities (sigmoid of the logit) of the stays at ``rows``: None =
    all, a split name, a boolean mask or integer indices. Runs in eval mode on the model's
    device and restores the model's mode afterwards."""
    logits = predict_logits(model, tensors, rows, batch_size=batch_size)
    return expit(logits)


def _checked_probabilities(prob: Any, n: int, where: str) -> np.ndarray:
    values = np.asarray(prob, dtype=float)
    if values.shape != (n,):
        raise EventEvaluationError(f"{where}: expected {n} probabilities, got shape {values.shape}")
    if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()):
        raise EventEvaluationError(f"{where}: expected probabilities in [0, 1] without NaN")
    return values


def evaluate_mortality(
    tensors: EventTensors,
    prob: Any,
    split: str = "test",
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per metric (auroc, auprc, brier, ece): ``metric, value, ci_low, ci_high``
    plus ``n_stays, n_patients, n_deaths`` of ``split``.

    ``prob`` holds either one probability per stay of ``tensors`` or one per stay of
    ``split`` (in ``tensors.rows(split)`` order). The CI resamples whole patients
    (``subject_id``) ``n_bootstrap`` times from ``seed``; ``n_bootstrap = 0`` gives NaN CIs.
    """
    rows = select_rows(tensors, split)
    if not rows.size:
        raise EventEvaluationError(f"split {split!r}: expected at least one stay to evaluate")
    values = np.asarray(prob, dtype=float)
    if values.shape == (len(tensors),) and rows.size != len(tensors):
        values = values[rows]
    values = _checked_probabilities(values, rows.size, f"prob of split {split!r}")
    label = tensors.label[rows].astype(float)
    groups = tensors.subject_id[rows]
    metrics = evaluate(
        "binary", label, values, groups=groups, n_resamples=n_bootstrap,
        confidence=confidence, seed=seed,
    )
    table = pd.DataFrame(
        [{"metric": name, **metrics[name]} for name in BINARY_METRICS],
        columns=["metric", "value", "ci_low", "ci_high"],
    )
    table["n_stays"] = int(rows.size)
    table["n_patients"] = int(np.unique(groups).size)
    table["n_deaths"] = int(label.sum())
    return table


def calibration_curve(label: Any, prob: Any, n_bins: int = 10) -> pd.DataFrame:
    """Reliability table: per equal-width bin of ``prob`` (``bin`` 0..n_bins-1 with edges
    ``bin_low``, ``bin_high``), ``mean_predicted``, ``observed`` (death rate) and ``n``."""
    if not isinstance(n_bins, int) or isinstance(n_bins, bool) or n_bins < 1:
        raise EventEvaluationError(f"n_bins: expected an integer >= 1, got {n_bins!r}")
    y = np.asarray(label, dtype=float).ravel()
    p = _checked_probabilities(np.asarray(prob, dtype=float).ravel(), y.size, "prob")
    if not np.isin(y, (0.0, 1.0)).all():
        raise EventEvaluationError("label: expected 0/1 values (died = 1)")
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    n = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(bins, weights=p, minlength=n_bins) / n
        observed = np.bincount(bins, weights=y, minlength=n_bins) / n
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins),
            "bin_low": edges[:-1],
            "bin_high": edges[1:],
            "mean_predicted": mean_predicted,
            "observed": observed,
            "n": n.astype(np.int64),
        }
    )


def evaluation_tables(
    model: nn.Module,
    tensors: EventTensors,
    out: EvaluationFiles,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    n_bins: int = 10,
) -> pd.DataFrame:
    """Predict every stay and write ``out``: metrics of the validation and test splits
    (``split`` column first; CSV and JSON), per-stay predictions (stay_id, subject_id, split,
    label, probability) and the test calibration curve. Returns the metrics table."""
    prob = predict(model, tensors)
    splits = [s for s in ("val", "test") if tensors.rows(s).size]
    if "test" not in splits:
        raise EventEvaluationError("split 'test': expected at least one stay to evaluate")
    tables = []
    for split in splits:
        table = evaluate_mortality(tensors, prob, split, n_bootstrap=n_bootstrap, seed=seed)
        table.insert(0, "split", split)
        tables.append(table)
    metrics = pd.concat(tables, ignore_index=True)
    predictions = pd.DataFrame({"stay_id": tensors.stay_id, "subject_id": tensors.subject_id,
                                "split": tensors.split.astype(str),
                                "label": tensors.label.astype(np.int64), "probability": prob})  # fmt: skip
    test = tensors.rows("test")
    curve = calibration_curve(tensors.label[test], prob[test], n_bins=n_bins)
    with atomic_path(out.metrics) as tmp:
        metrics.to_csv(tmp, index=False)
    with atomic_path(out.predictions) as tmp:
        predictions.to_parquet(tmp, index=False)
    with atomic_path(out.calibration) as tmp:
        curve.to_csv(tmp, index=False)
    write_json(out.summary, {"n_bootstrap": n_bootstrap, "seed": seed, "cluster": "subject_id",
                             "metrics": metrics.to_dict(orient="records")})  # fmt: skip
    return metrics
