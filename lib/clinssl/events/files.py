"""The files of the events branch, named once.

Every output of one MIMIC-IV-layout dataset lives under ``results/events/<dataset>/``. Rules
build their paths from these classes, scripts pick them back, library code takes them.

Layout::

    <root>/events.parquet, stays.parquet, extract_report.json          (extraction)
    <root>/tensors/tensors.npz, splits.parquet, preprocessing.json      (model inputs)
    <root>/tensors/text_encoder/                                         (fitted text encoder)
    <root>/model/model.pt, latest.pt, history.json, attention.npz       (training)
    <root>/evaluation/metrics.csv, metrics.json, predictions.parquet, calibration.csv
    <root>/explain/events.parquet, types.csv, time_bins.csv, explanations.csv,
                   attention.csv, attention_example.npz, explain.json
    <root>/planted_checks.json

The text-embedding cache is not an output of any job: it lives under the configured
``events.text_encoder.cache_dir`` (one parquet table per fitted encoder, keyed by text hash)
and persists across runs, so a rerun or a second dataset encodes only unseen texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from clinssl.utils.files import FileSet

__all__ = ["EVENTS_ROOT", "EvaluationFiles", "ExplainFiles", "ExtractFiles", "ModelFiles",
           "TensorFiles"]  # fmt: skip

#: results of one dataset (``{dataset}`` is the rules' wildcard)
EVENTS_ROOT = "results/events/{dataset}"


@dataclass(frozen=True)
class ExtractFiles(FileSet):
    """The extractor's event table, stay table (static features + label) and report."""

    NAMES: ClassVar[dict[str, str]] = {"events": "events.parquet", "stays": "stays.parquet",
                                       "report": "extract_report.json"}  # fmt: skip

    events: Path
    stays: Path
    report: Path


@dataclass(frozen=True)
class TensorFiles(FileSet):
    """Padded model tensors of every stay, the patient-level split, the train-fitted
    preprocessing (static encoder, time scaler, text encoder identity and cache counts) and
    the fitted text encoder's directory."""

    NAMES: ClassVar[dict[str, str]] = {
        "tensors": "tensors/tensors.npz", "splits": "tensors/splits.parquet",
        "preprocessing": "tensors/preprocessing.json", "text_encoder": "tensors/text_encoder",
    }  # fmt: skip

    tensors: Path
    splits: Path
    preprocessing: Path
    text_encoder: Path


@dataclass(frozen=True)
class ModelFiles(FileSet):
    """The selected (best validation AUROC) model, the last epoch's model, the training
    history and the attention weights recorded during training."""

    NAMES: ClassVar[dict[str, str]] = {"model": "model/model.pt", "latest": "model/latest.pt",
                                       "history": "model/history.json",
                                       "attention": "model/attention.npz"}  # fmt: skip

    model: Path
    latest: Path
    history: Path
    attention: Path


@dataclass(frozen=True)
class EvaluationFiles(FileSet):
    """Test metrics with patient-cluster bootstrap CIs (CSV + JSON), per-stay predictions and
    the calibration curve."""

    NAMES: ClassVar[dict[str, str]] = {
        "metrics": "evaluation/metrics.csv", "summary": "evaluation/metrics.json",
        "predictions": "evaluation/predictions.parquet", "calibration": "evaluation/calibration.csv",
    }  # fmt: skip

    metrics: Path
    summary: Path
    predictions: Path
    calibration: Path


@dataclass(frozen=True)
class ExplainFiles(FileSet):
    """Attributions of the explained test stays: per event (IG, layer IG), per event type
    (with feature ablation), per time-before-end bin, the per-patient top events, the
    pooling attention per head, one stay's attention maps, and the correctness checks."""

    NAMES: ClassVar[dict[str, str]] = {
        "events": "explain/events.parquet", "types": "explain/types.csv",
        "time_bins": "explain/time_bins.csv", "explanations": "explain/explanations.csv",
        "attention": "explain/attention.csv", "attention_example": "explain/attention_example.npz",
        "summary": "explain/explain.json",
    }  # fmt: skip

    events: Path
    types: Path
    time_bins: Path
    explanations: Path
    attention: Path
    attention_example: Path
    summary: Path
