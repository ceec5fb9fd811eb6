"""Linear probes of the PPG branch, each next to its floors: PVC, age, hypertension, diabetes.

Why floors: a frozen-embedding probe score only says something about pretraining next to
what the same probe reaches on (a) the same architecture at its random initialisation and
(b) classical beat features (:mod:`clinssl.ppg.features`). Every feature set of a task is
probed on the same rows, with the same patient-grouped folds and, per label fraction, the
same labelled training patients (:mod:`clinssl.stats.probes`), so paired margins
(pretrained − floor, resampling patients) are paired.

Levels: PVC and age are probed per window (QC-passed windows with a label); hypertension
and diabetes are patient attributes and are probed per patient on the mean of the patient's
QC-passed window features (one row per patient — a window-level probe would count a
patient thirty times for one label). CIs resample **patients** either way; metric names
and CI fields are those of every branch (``{metric: {value, ci_low, ci_high}}``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clinssl.ppg.names import FLOORS, PRETRAINED_ENCODERS, PROBE_TASKS
from clinssl.stats.bootstrap import evaluate, paired_margin, paired_replicates
from clinssl.stats.probes import (
    RIDGE_ALPHAS,
    fit_predict_folds,
    fraction_training_rows,
    grouped_folds,
)

__all__ = ["ProbeConfig", "ProbeRows", "probe_rows", "run_probe", "fraction_key"]

#: the probe level of each task (see the module docstring)
TASK_LEVEL = {"pvc": "window", "age": "window", "htn": "subject", "diabetes": "subject"}
#: metric of the paired margins and of "above chance" per task kind, and its chance level
MARGIN_METRIC = {"binary": "auroc", "regression": "r2"}
CHANCE = {"auroc": 0.5, "r2": 0.0}


@dataclass(frozen=True)
class ProbeConfig:
    """Probe settings (config ``ppg.probe``)."""

    n_folds: int = 5
    n_bootstrap: int = 1000
    C_grid: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)
    alpha_grid: tuple[float, ...] = RIDGE_ALPHAS
    penalty_max_rows: int = 2000
    ci_level: float = 0.95
    label_fractions: tuple[float, ...] = field(default=(0.1, 1.0))

    def __post_init__(self) -> None:
        for name in ("C_grid", "alpha_grid", "label_fractions"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        bad = [f for f in self.label_fractions if not 0.0 < f <= 1.0]
        if bad or not self.label_fractions:
            raise ValueError(f"ppg.probe.label_fractions must be in (0, 1], got {bad or '[]'}")


def fraction_key(fraction: float) -> str:
    """The JSON key of a label fraction ('0.1', '1.0')."""
    return str(float(fraction))


@dataclass
class ProbeRows:
    """What a task is probed on: ``y`` and patient ``groups`` per probe row, the store rows
    each probe row pools (one per row at window level), and the rows' identifiers."""

    task: str
    kind: str
    level: str
    y: np.ndarray
    groups: np.ndarray
    members: list[np.ndarray]
    ids: pd.DataFrame

    def features(self, x: np.ndarray) -> np.ndarray:
        """Feature matrix of the probe rows (window rows, or the nan-mean of a patient's)."""
        if self.level == "window":
            return np.asarray(x[np.concatenate(self.members)], dtype=np.float64)
        out = np.empty((len(self.members), x.shape[1]))
        for i, rows in enumerate(self.members):
            block = np.asarray(x[rows], dtype=np.float64)
            with warnings.catch_warnings():  # all-NaN columns (no beats) stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                out[i] = np.nanmean(block, axis=0)
        return out


def probe_rows(table: pd.DataFrame, task: str, source: str = "windows.parquet") -> ProbeRows:
    """The rows of ``task`` in a window table: QC-passed windows whose label is known."""
    if task not in PROBE_TASKS:
        raise ValueError(f"unknown probe task {task!r}; known: {list(PROBE_TASKS)}")
    if task not in table.columns:
        raise ValueError(f"{source}: no column {task!r} for the {task} probe "
                         "(add it to the dataset's label_columns or drop the task)")  # fmt: skip
    kind, level = PROBE_TASKS[task], TASK_LEVEL[task]
    ok = table["qc_pass"].to_numpy(dtype=bool) & table[task].notna().to_numpy()
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        raise ValueError(f"{source}: no QC-passed window has a value in column {task!r}")
    sub = table.iloc[rows]
    if level == "window":
        y = sub[task].to_numpy(dtype=float)
        ids = pd.DataFrame({"subject": sub["subject_id"].to_numpy(),
                            "record": sub["record"].to_numpy(),
                            "window": sub["window_index"].to_numpy()})  # fmt: skip
        return ProbeRows(task, kind, level, y, ids["subject"].to_numpy(),
                         [r[None] for r in rows], ids)  # fmt: skip
    per_subject = sub.groupby("subject_id", sort=True)[task].agg(["min", "max"])
    mixed = per_subject.index[per_subject["min"] != per_subject["max"]]
    if len(mixed):
        raise ValueError(f"{source}: column {task!r} is a patient attribute but differs "
                         f"between windows of {list(mixed[:5])}")  # fmt: skip
    subjects = per_subject.index.to_numpy()
    members = [rows[(sub["subject_id"] == s).to_numpy()] for s in subjects]
    ids = pd.DataFrame({"subject": subjects, "record": "", "window": -1})
    return ProbeRows(task, kind, level, per_subject["min"].to_numpy(dtype=float), subjects,
                     members, ids)  # fmt: skip


def run_probe(
    rows: ProbeRows, features: dict[str, np.ndarray], cfg: ProbeConfig, seed: int
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Probe every feature set at every label fraction; metrics with patient-level CIs and
    the paired margins of each pretrained encoder over each floor."""
    y = rows.y.astype(int) if rows.kind == "binary" else rows.y
    if rows.kind == "binary" and len(np.unique(y)) < 2:
        raise ValueError(f"{rows.task} probe: labels have a single class")
    fold_of = grouped_folds(y, rows.groups, cfg.n_folds, seed, stratify=rows.kind == "binary")
    n_folds = int(fold_of.max()) + 1
    positive = (y == 1) if rows.kind == "binary" else None
    matrices = {name: rows.features(x) for name, x in features.items()}
    results: dict[str, dict[str, Any]] = {name: {} for name in features}
    scores: dict[tuple[str, str], np.ndarray] = {}
    frames = []
    for fraction in cfg.label_fractions:
        key = fraction_key(fraction)
        training = [fraction_training_rows(fold_of, rows.groups, positive, k, fraction, seed)
                    for k in range(n_folds)]  # fmt: skip
        grid = cfg.C_grid if rows.kind == "binary" else cfg.alpha_grid
        for name, x in matrices.items():
            score, penalties = fit_predict_folds(rows.kind, x, y, rows.groups, fold_of, training,
                                                 grid, seed, cfg.penalty_max_rows)  # fmt: skip
            scores[name, key] = score
            results[name][key] = {
                "n_train_subjects": [int(len(np.unique(rows.groups[t]))) for t in training],
                "C" if rows.kind == "binary" else "alpha": penalties,
                **evaluate(rows.kind, y, score, groups=rows.groups, n_resamples=cfg.n_bootstrap,
                           confidence=cfg.ci_level, seed=seed),  # fmt: skip
            }
            frames.append(rows.ids.assign(encoder=name, label_fraction=fraction, label=y,
                                          score=score, fold=fold_of))  # fmt: skip
    metric = MARGIN_METRIC[rows.kind]
    margins: dict[str, dict[str, Any]] = {}
    for fraction in cfg.label_fractions:
        key = fraction_key(fraction)
        margins[key] = {}
        for a in (e for e in PRETRAINED_ENCODERS if e in features):
            for b in (f for f in FLOORS if f in features):
                _, delta, reps = paired_replicates(
                    rows.kind, y, scores[a, key], scores[b, key], metric=metric,
                    groups=rows.groups, n_resamples=cfg.n_bootstrap, seed=seed)  # fmt: skip
                m = paired_margin(delta, reps, cfg.ci_level)
                margins[key][f"{a} - {b}"] = {"metric": metric, "delta": m.delta,
                                              "ci_low": m.ci_low, "ci_high": m.ci_high,
                                              "p_value": m.p_value}  # fmt: skip
    meta = {
        "task": rows.task,
        "kind": rows.kind,
        "level": rows.level,
        "n_rows": int(len(y)),
        "n_subjects": int(len(np.unique(rows.groups))),
        "n_folds": n_folds,
        "label_fractions": list(cfg.label_fractions),
        "feature_sets": list(features),
        "bootstrap": {"resamples": cfg.n_bootstrap, "confidence": cfg.ci_level,
                      "unit": "subject"},  # fmt: skip
        "margin_metric": metric,
        "chance": CHANCE[metric],
    }
    if rows.kind == "binary":
        meta.update(n_positive=int(y.sum()), prevalence=float(y.mean()))
    predictions = pd.concat(frames, ignore_index=True)[
        ["encoder", "label_fraction", "subject", "record", "window", "label", "score", "fold"]
    ]
    return {**meta, "results": results, "margins": margins}, predictions
